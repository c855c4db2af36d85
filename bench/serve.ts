/**
 * npm run bench:serve — the HTTP API under load while a replay runs. A replay of the default
 * synthetic set at a steady 1,000 events/s runs in a child process with --http-port; once it is
 * ready, autocannon asks GET /recommendations/:userId for random users at a fixed 1,000
 * requests/s over 10 connections for 10 s (loopback). Three runs: a Node server answering a
 * constant (the floor of this machine and load generator), the replay with its defaults, and the
 * replay with --pipeline-nice 10 (every thread but the HTTP front yields the CPU to it). Prints
 * autocannon's figures on standard error, then as the last line of standard output
 * {"requestsPerSecond": x, "latencyMs": {"p50": x, "p99": x}, "pipelineNice": 10,
 *  "withoutPipelineNice": {...}, "constantServer": {"latencyMs": {...}}} (the first figures with
 * --pipeline-nice 10).
 */
import { spawn } from 'node:child_process';
import { createServer } from 'node:http';
import type { AddressInfo } from 'node:net';
import { mkdtempSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import autocannon from 'autocannon';
import { freePorts } from '../deploy/kafka/free-ports.js';
import { ML100K_SHAPE } from '../src/datasets/synthetic.js';

const RATE = Number(process.env.BENCH_REQUESTS_PER_SECOND ?? 1000);
const SECONDS = Number(process.env.BENCH_SECONDS ?? 10);
const EVENTS_PER_SECOND = 1000;
/** The nice value of the headline figure; BENCH_PIPELINE_NICE sets another. */
const PIPELINE_NICE = Number(process.env.BENCH_PIPELINE_NICE ?? 10);

async function ready(base: string): Promise<void> {
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

/** One measurement: a replay with `extraFlags` in a child process, autocannon against it. */
async function measure(extraFlags: readonly string[]) {
  const [port] = await freePorts(1);
  const base = `http://127.0.0.1:${port}`;
  const cli = join(import.meta.dirname, '..', 'streams', 'cli', 'main.js');
  const replay = spawn(
    process.execPath,
    [
      cli,
      'replay',
      '--fresh',
      '--state',
      mkdtempSync(join(tmpdir(), 'rxrec-bench-serve-')),
      '--rate',
      String(EVENTS_PER_SECOND),
      '--http-port',
      String(port),
      ...extraFlags,
    ],
    { stdio: 'ignore' },
  );
  const stop = () => replay.kill('SIGKILL');
  process.on('exit', stop);
  try {
    await ready(base);
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
    const failures = result.errors + result.timeouts + result.non2xx;
    process.stderr.write(
      `${extraFlags.join(' ') || 'defaults'}: ${result.requests.total} requests in ${SECONDS} s at a target of ${RATE}/s while the replay ran at ${EVENTS_PER_SECOND} events/s: ` +
        `latency p50 ${result.latency.p50} ms, p99 ${result.latency.p99} ms, max ${result.latency.max} ms; ${failures} failed (errors, timeouts, non-2xx)\n`,
    );
    if (failures > 0) process.exitCode = 1;
    return { requestsPerSecond: Math.round(result.requests.average), latencyMs: { p50: result.latency.p50, p99: result.latency.p99 } };
  } finally {
    stop();
    process.off('exit', stop);
  }
}

// The floor of this machine and load generator: a Node server answering a constant, no replay.
const floor = await constantServerFloor();
const withDefaults = await measure([]);
const favoured = await measure(['--pipeline-nice', String(PIPELINE_NICE)]);
process.stdout.write(JSON.stringify({ ...favoured, pipelineNice: PIPELINE_NICE, withoutPipelineNice: withDefaults, constantServer: floor }) + '\n');

async function constantServerFloor() {
  const server = createServer((_request, response) => response.writeHead(200, { 'content-type': 'application/json' }).end('{"items":[]}'));
  await new Promise<void>((resolve) => server.listen(0, '127.0.0.1', resolve));
  const { port } = server.address() as AddressInfo;
  // autocannon's own code warms up first (its first seconds measure its JIT, not the server).
  await autocannon({ url: `http://127.0.0.1:${port}`, connections: 10, overallRate: RATE, duration: 3 });
  const result = await autocannon({ url: `http://127.0.0.1:${port}`, connections: 10, overallRate: RATE, duration: SECONDS });
  server.close();
  process.stderr.write(`a constant answer, no replay: latency p50 ${result.latency.p50} ms, p99 ${result.latency.p99} ms, max ${result.latency.max} ms\n`);
  return { latencyMs: { p50: result.latency.p50, p99: result.latency.p99 } };
}
