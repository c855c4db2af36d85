/**
 * npm run bench:serve — the HTTP API under load while a replay runs. A replay of the default
 * synthetic set at a steady 1,000 events/s runs in a child process with --http-port; once it is
 * ready, autocannon asks GET /recommendations/:userId for random users at a fixed 1,000
 * requests/s over 10 connections for 10 s (loopback). Prints autocannon's figures on standard
 * error, then as the last line of standard output
 * {"requestsPerSecond": x, "latencyMs": {"p50": x, "p99": x}}.
 */
import { spawn } from 'node:child_process';
import { mkdtempSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import autocannon from 'autocannon';
import { freePorts } from '../deploy/kafka/free-ports.js';
import { ML100K_SHAPE } from '../src/datasets/synthetic.js';

const RATE = Number(process.env.BENCH_REQUESTS_PER_SECOND ?? 1000);
const SECONDS = Number(process.env.BENCH_SECONDS ?? 10);
const EVENTS_PER_SECOND = 1000;

const [port] = await freePorts(1);
const base = `http://127.0.0.1:${port}`;
const cli = join(import.meta.dirname, '..', 'streams', 'cli', 'main.js');
const replay = spawn(
  process.execPath,
  [cli, 'replay', '--fresh', '--state', mkdtempSync(join(tmpdir(), 'rxrec-bench-serve-')), '--rate', String(EVENTS_PER_SECOND), '--http-port', String(port)],
  { stdio: 'ignore' },
);
const stop = () => replay.kill('SIGTERM');
process.on('exit', stop);

async function ready(): Promise<void> {
  const deadline = Date.now() + 60_000;
  while (Date.now() < deadline) {
    const status = await fetch(`${base}/health/ready`).then(
      (response) => response.status,
      () => 0,
    );
    if (status === 200) return;
    await new Promise((resolve) => setTimeout(resolve, 200));
  }
  throw new Error(`the replay's HTTP API at ${base} did not become ready within 60 s`);
}

await ready();
// Let a few thousand events in, so most users asked for are known.
await new Promise((resolve) => setTimeout(resolve, 3000));
let next = 0;
const result = await autocannon({
  url: base,
  connections: 10,
  overallRate: RATE,
  duration: SECONDS,
  requests: [{ method: 'GET', setupRequest: (request) => ({ ...request, path: `/recommendations/${1 + ((next++ * 7919) % ML100K_SHAPE.users)}` }) }],
});
stop();
const failures = result.errors + result.timeouts + result.non2xx;
process.stderr.write(
  `${result.requests.total} requests in ${SECONDS} s at a target of ${RATE}/s while the replay ran at ${EVENTS_PER_SECOND} events/s: ` +
    `latency p50 ${result.latency.p50} ms, p99 ${result.latency.p99} ms, max ${result.latency.max} ms; ${failures} failed (errors, timeouts, non-2xx)\n`,
);
if (failures > 0) process.exitCode = 1;
process.stdout.write(
  JSON.stringify({ requestsPerSecond: Math.round(result.requests.average), latencyMs: { p50: result.latency.p50, p99: result.latency.p99 } }) + '\n',
);
