/**
 * npm run dashboard:check — every query of the Grafana dashboard, sent to a real Prometheus that
 * scrapes a running rxrec. Starts Prometheus (the `prometheus` on PATH, or $PROMETHEUS) with
 * deploy/prometheus.yml pointed at the worker, a temporary TSDB and a free port; starts a paced
 * replay with --http-port (the synthetic set with one off-scale copy of every 200th rating, so
 * dead letters flow, and the two-tower, so the training panels have data), unless
 * RXREC_METRICS_TARGET=host:port names a worker already running (e.g. `rxrec serve`). After
 * CHECK_SECONDS (default 60) of scrapes it asks /api/v1/query for each query, Grafana's
 * variables replaced as Grafana would ($instance: every worker, $__rate_interval: four scrape
 * intervals). Prints one line per query on standard error, then as the last line of standard
 * output {"prometheus", "target", "queries", "withData", "empty": [...], "errors": [...]}.
 * Exit 0 only when every query returned data. Without a Prometheus binary it says so and exits
 * 1: a check that did not run has not passed.
 */
import { spawn, spawnSync, type ChildProcess } from 'node:child_process';
import { mkdtempSync, openSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { freePorts } from '../kafka/free-ports.js';
import dashboard from './dashboards/rxrec.json' with { type: 'json' };
import { dashboardQueries } from './dashboard-queries.js';

const repo = join(import.meta.dirname, '..', '..', '..');
const cli = join(import.meta.dirname, '..', '..', 'streams', 'cli', 'main.js');
const prometheusBin = process.env.PROMETHEUS ?? 'prometheus';
const seconds = Number(process.env.CHECK_SECONDS ?? 60);
const rate = Number(process.env.CHECK_EVENTS_PER_SECOND ?? 500);
const models = process.env.CHECK_MODELS ?? 'baseline,mf,popularity,implicit-als,two-tower,ensemble';

const version = spawnSync(prometheusBin, ['--version'], { encoding: 'utf8' });
if (version.error || version.status !== 0) {
  process.stderr.write(
    `dashboard check NOT RUN (this is not a pass): no Prometheus at "${prometheusBin}" (${version.error?.message ?? version.stderr.trim()}). ` +
      'Install it (Debian: apt-get install prometheus) or set PROMETHEUS=/path/to/prometheus.\n',
  );
  process.exit(1);
}
const prometheusVersion = /version (\S+)/.exec(version.stdout)?.[1] ?? 'unknown';

const work = mkdtempSync(join(tmpdir(), 'rxrec-dashboard-check-'));
const children: ChildProcess[] = [];
let stopping = false;
const stopAll = () => {
  for (const child of children) if (child.exitCode === null) child.kill('SIGTERM');
};
process.on('exit', stopAll);
process.on('SIGINT', () => process.exit(130));

function start(name: string, command: string, args: string[]): ChildProcess {
  const log = openSync(join(work, `${name}.log`), 'w');
  const child = spawn(command, args, { stdio: ['ignore', log, log] });
  child.on('exit', (code, signal) => {
    if (!stopping) process.stderr.write(`${name} exited early (${signal ?? code}); its log: ${join(work, `${name}.log`)}\n`);
  });
  children.push(child);
  return child;
}

async function until<T>(what: string, timeoutMs: number, probe: () => Promise<T | undefined>): Promise<T> {
  const deadline = Date.now() + timeoutMs;
  while (Date.now() < deadline) {
    const value = await probe().catch(() => undefined);
    if (value !== undefined) return value;
    await new Promise((resolve) => setTimeout(resolve, 500));
  }
  throw new Error(`${what}: not within ${timeoutMs / 1000} s (logs in ${work})`);
}

/** The synthetic set, plus an off-scale copy (rating 9) of every 200th rating at the same time: dead letters all along the stream. */
function datasetWithDeadLetters(dir: string): void {
  const synth = spawnSync(process.execPath, [cli, 'dataset', 'synth', '--out', dir], { encoding: 'utf8' });
  if (synth.status !== 0) throw new Error(`rxrec dataset synth failed: ${synth.stderr}`);
  const file = join(dir, 'u.data');
  const lines = readFileSync(file, 'utf8').trimEnd().split('\n');
  const withCopies = lines.flatMap((line, i) =>
    i % 200 === 0 ? [line, line.replace(/^(\S+\t\S+\t)\S+/, (_, userAndItem: string) => `${userAndItem}9`)] : [line],
  );
  writeFileSync(file, withCopies.join('\n') + '\n');
}

const [httpPort, prometheusPort] = await freePorts(2);
let target = process.env.RXREC_METRICS_TARGET;
let targetKind = `worker at ${target}`;
if (target === undefined) {
  target = `127.0.0.1:${httpPort}`;
  const dataset = join(work, 'dataset');
  datasetWithDeadLetters(dataset);
  const state = join(work, 'state');
  start('replay', process.execPath, [
    cli,
    'replay',
    '--dataset',
    dataset,
    '--state',
    state,
    '--fresh',
    '--rate',
    String(rate),
    '--models',
    models,
    '--http-port',
    String(httpPort),
  ]);
  targetKind = `replay --rate ${rate} --models ${models}`;
  await until('the replay to be ready', 120_000, async () => ((await fetch(`http://${target}/health/ready`)).ok ? true : undefined));
}

// deploy/prometheus.yml as it is, but for the target: the check reads the configuration that ships.
const shipped = readFileSync(join(repo, 'deploy', 'prometheus.yml'), 'utf8');
if (!shipped.includes("'rxrec:8080'")) throw new Error("deploy/prometheus.yml no longer targets 'rxrec:8080': update this check");
const scrapeSeconds = Number(/scrape_interval:\s*(\d+)s/.exec(shipped)?.[1] ?? 15);
writeFileSync(join(work, 'prometheus.yml'), shipped.replace("'rxrec:8080'", `'${target}'`));
start('prometheus', prometheusBin, [
  `--config.file=${join(work, 'prometheus.yml')}`,
  `--storage.tsdb.path=${join(work, 'tsdb')}`,
  `--web.listen-address=127.0.0.1:${prometheusPort}`,
]);
const api = `http://127.0.0.1:${prometheusPort}/api/v1`;

interface Sample {
  readonly metric: Record<string, string>;
  readonly value: [number, string];
}
async function query(expr: string): Promise<Sample[]> {
  const response = await fetch(`${api}/query?query=${encodeURIComponent(expr)}`);
  const body = (await response.json()) as { status: string; error?: string; data?: { resultType: string; result: Sample[] } };
  if (body.status !== 'success') throw new Error(body.error ?? `HTTP ${response.status}`);
  return body.data?.result ?? [];
}

await until('Prometheus to scrape the target', 60_000, async () => ((await query('up{job="rxrec"} == 1')).length > 0 ? true : undefined));
process.stderr.write(`Prometheus ${prometheusVersion} scrapes ${targetKind} every ${scrapeSeconds} s; querying the dashboard in ${seconds} s\n`);
await new Promise((resolve) => setTimeout(resolve, seconds * 1000));

// Grafana's values: all workers; $__rate_interval = max($__interval + scrape, 4 × scrape), at least 4 scrapes.
const variables: Record<string, string> = { instance: '.+', __rate_interval: `${4 * scrapeSeconds}s`, __interval: `${scrapeSeconds}s` };
const grafanaExpr = (expr: string) =>
  expr.replace(/\$\{(\w+)(?::\w+)?\}|\$(\w+)/g, (whole, braced: string | undefined, bare: string | undefined) => {
    const value = variables[braced ?? bare ?? ''];
    if (value === undefined) throw new Error(`no value for the Grafana variable ${whole} in ${expr}`);
    return value;
  });

/** A series' own labels (not job, instance or name), for the log line. */
const seriesLabels = (metric: Record<string, string>) => {
  const own = Object.entries(metric).filter(([name]) => !['__name__', 'job', 'instance'].includes(name));
  return own.length === 0 ? '' : `{${own.map(([name, value]) => `${name}=${value}`).join(',')}}=`;
};

const empty: string[] = [];
const errors: string[] = [];
const queries = dashboardQueries(dashboard);
for (const { where, expr } of queries) {
  try {
    const result = await query(grafanaExpr(expr));
    const shown = result
      .slice(0, 8)
      .map((sample) => `${seriesLabels(sample.metric)}${Number(sample.value[1]).toPrecision(4)}`)
      .join(' ');
    process.stderr.write(`${result.length > 0 ? 'data ' : 'EMPTY'} ${where}: ${result.length} series ${shown}\n`);
    if (result.length === 0) empty.push(where);
  } catch (error) {
    process.stderr.write(`ERROR ${where}: ${(error as Error).message}\n`);
    errors.push(`${where}: ${(error as Error).message}`);
  }
}

stopping = true;
stopAll();
if (empty.length === 0 && errors.length === 0) rmSync(work, { recursive: true, force: true });
else process.stderr.write(`logs kept in ${work}\n`);
const withData = queries.length - empty.length - errors.length;
process.stdout.write(JSON.stringify({ prometheus: prometheusVersion, target: targetKind, queries: queries.length, withData, empty, errors }) + '\n');
process.exit(empty.length === 0 && errors.length === 0 ? 0 : 1);
