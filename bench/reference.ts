/**
 * npm run bench:reference [-- --dataset <MovieLens folder>] — rxrec beside the toolkits people
 * would otherwise pick, on the very same data: `rxrec eval --export` writes the seeds split, the
 * ranking split and the replay order; rxrec's own eval (both protocols) and replay run on the
 * dataset, and Surprise (seeds), cornac (ranking) and River (prequential) on the exported
 * files (bench/reference/*.py, in the virtual environment bench/reference/setup.sh makes).
 *
 * One table on standard output: model, protocol, RMSE, MAE, P@10, hit@10, seconds, events/s;
 * its last line is the JSON of every row, also written to bench/results/reference.json (or
 * --out). seconds: a model's own fit and scoring time for the offline protocols (rxrec: its
 * learning plus scoring, as `rxrec eval` reports), the whole test-then-train loop for the
 * prequential one (rxrec: the replay of all its models at once, lists and state included);
 * events/s: training ratings (offline) or stream events (prequential) per second of those.
 * `rxrec baseline alone` and `rxrec mf alone` replay that model by itself, the counterparts of
 * River's two models for speed (their figures equal the full replay's: per-event learners).
 * Runs one thing at a time, so that no two compete for the cores.
 */
import { spawn } from 'node:child_process';
import { mkdirSync, mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import { cpus, tmpdir } from 'node:os';
import { dirname, join, resolve } from 'node:path';
import { parseArgs } from 'node:util';

const root = join(import.meta.dirname, '..', '..');
const cli = join(import.meta.dirname, '..', 'streams', 'cli', 'main.js');
const referenceDir = join(root, 'bench', 'reference');
const python = join(referenceDir, '.venv', 'bin', 'python');

const { values: args } = parseArgs({
  options: {
    dataset: { type: 'string', default: 'synthetic' },
    out: { type: 'string', default: join(root, 'bench', 'results', 'reference.json') },
    models: { type: 'string' },
    surprise: { type: 'string' },
  },
});
const dataset = args.dataset === 'synthetic' ? 'synthetic' : resolve(args.dataset);
const modelFlags = args.models ? ['--models', args.models] : [];

type Protocol = 'seeds' | 'ranking' | 'prequential';

interface Row {
  readonly model: string;
  readonly protocol: Protocol;
  readonly rmse: number | null;
  readonly mae: number | null;
  readonly precisionAt10: number | null;
  readonly hitAt10: number | null;
  readonly seconds: number;
  readonly eventsPerSecond: number;
}

interface Figures {
  rmse?: number | null;
  mae?: number | null;
  precisionAt10?: number | null;
  hitAt10?: number | null;
  seconds?: number;
  eventsPerSecond?: number;
}

/** Runs a command with standard error passed through; resolves to the JSON of its last line of standard output. */
function runJson<T>(command: string, commandArgs: readonly string[]): Promise<T> {
  process.stderr.write(`\n$ ${[command, ...commandArgs].join(' ')}\n`);
  return new Promise((done, fail) => {
    const child = spawn(command, commandArgs, { cwd: root, stdio: ['ignore', 'pipe', 'inherit'] });
    let stdout = '';
    child.stdout.setEncoding('utf8').on('data', (chunk: string) => (stdout += chunk));
    child.on('error', fail);
    child.on('close', (code) => {
      if (code !== 0) return fail(new Error(`${command} ${commandArgs.join(' ')} exited with code ${code}`));
      const last = stdout.trim().split('\n').pop() ?? '';
      try {
        done(JSON.parse(last) as T);
      } catch {
        fail(new Error(`${command} ${commandArgs.join(' ')} did not end with a JSON line: ${last.slice(0, 200)}`));
      }
    });
  });
}

function run(command: string, commandArgs: readonly string[]): Promise<void> {
  process.stderr.write(`\n$ ${[command, ...commandArgs].join(' ')}\n`);
  return new Promise((done, fail) => {
    const child = spawn(command, commandArgs, { cwd: root, stdio: ['ignore', 'inherit', 'inherit'] });
    child.on('error', fail);
    child.on('close', (code) => (code === 0 ? done() : fail(new Error(`${command} ${commandArgs.join(' ')} exited with code ${code}`))));
  });
}

function row(model: string, protocol: Protocol, figures: Figures, seconds: number, eventsPerSecond: number): Row {
  return {
    model,
    protocol,
    rmse: figures.rmse ?? null,
    mae: figures.mae ?? null,
    precisionAt10: figures.precisionAt10 ?? null,
    hitAt10: figures.hitAt10 ?? null,
    seconds,
    eventsPerSecond,
  };
}

interface Manifest {
  readonly splitSeed: number;
  readonly dataset: { readonly format: string; readonly dir: string };
  readonly counts: { readonly ratings: number; readonly users: number; readonly items: number };
  readonly protocols: Record<'seeds' | 'ranking', { readonly train: number; readonly test: number }>;
}
interface ModelsJson {
  readonly models: Record<string, Figures>;
}
interface ReplayJson extends ModelsJson {
  readonly events: number;
  readonly seconds: number;
  readonly eventsPerSecond: number;
}

await run('bash', [join(referenceDir, 'setup.sh')]);
const work = mkdtempSync(join(tmpdir(), 'rxrec-bench-reference-'));
const started = new Date();
try {
  const exportDir = join(work, 'export');
  const manifest = await runJson<Manifest>(process.execPath, [cli, 'eval', '--export', exportDir, '--dataset', dataset, '--json']);
  const rows: Row[] = [];
  for (const protocol of ['seeds', 'ranking'] as const) {
    const train = manifest.protocols[protocol].train;
    const rxrec = await runJson<ModelsJson>(process.execPath, [cli, 'eval', '--protocol', protocol, '--dataset', dataset, ...modelFlags, '--json']);
    for (const [name, figures] of Object.entries(rxrec.models)) rows.push(row(`rxrec ${name}`, protocol, figures, figures.seconds!, train / figures.seconds!));
    const script = protocol === 'seeds' ? 'seeds.py' : 'ranking.py';
    const extra = protocol === 'seeds' && args.surprise ? ['--algorithms', args.surprise] : [];
    const toolkit = protocol === 'seeds' ? 'Surprise' : 'cornac';
    const reference = await runJson<ModelsJson>(python, [join(referenceDir, script), exportDir, ...extra]);
    for (const [name, figures] of Object.entries(reference.models))
      rows.push(row(`${toolkit} ${name}`, protocol, figures, figures.seconds!, figures.eventsPerSecond!));
  }
  const replay = await runJson<ReplayJson>(process.execPath, [
    cli,
    'replay',
    '--fresh',
    '--state',
    join(work, 'state'),
    '--dataset',
    dataset,
    ...modelFlags,
    '--json',
  ]);
  for (const [name, figures] of Object.entries(replay.models)) rows.push(row(`rxrec ${name}`, 'prequential', figures, replay.seconds, replay.eventsPerSecond));
  // River's two models' own counterparts, each replayed alone: their speed, not the whole pipeline's.
  for (const name of ['baseline', 'mf']) {
    const state = join(work, `state-${name}`);
    const alone = await runJson<ReplayJson>(process.execPath, [
      cli,
      'replay',
      '--fresh',
      '--state',
      state,
      '--dataset',
      dataset,
      '--models',
      name,
      '--rank-model',
      name,
      '--json',
    ]);
    rows.push(row(`rxrec ${name} alone`, 'prequential', alone.models[name]!, alone.seconds, alone.eventsPerSecond));
  }
  const river = await runJson<ModelsJson>(python, [join(referenceDir, 'prequential.py'), exportDir]);
  for (const [name, figures] of Object.entries(river.models)) rows.push(row(name, 'prequential', figures, figures.seconds!, figures.eventsPerSecond!));

  const result = {
    dataset: { ...manifest.dataset, ...manifest.counts },
    startedAt: started.toISOString(),
    machine: { cpu: cpus()[0]?.model ?? 'unknown', cores: cpus().length, node: process.version },
    rows: rows.map(rounded),
  };
  mkdirSync(dirname(args.out), { recursive: true });
  writeFileSync(args.out, `${JSON.stringify(result, null, 2)}\n`);
  process.stdout.write(table(rows, manifest));
  process.stdout.write(`${JSON.stringify(result)}\n`);
} finally {
  rmSync(work, { recursive: true, force: true });
}

function rounded(r: Row): Row {
  const round = (value: number | null, digits: number) => (value === null ? null : Math.round(value * 10 ** digits) / 10 ** digits);
  return {
    ...r,
    rmse: round(r.rmse, 4),
    mae: round(r.mae, 4),
    precisionAt10: round(r.precisionAt10, 4),
    hitAt10: round(r.hitAt10, 4),
    seconds: round(r.seconds, 3)!,
    eventsPerSecond: Math.round(r.eventsPerSecond),
  };
}

function table(rows: readonly Row[], manifest: Manifest): string {
  const fixed = (value: number | null, digits: number) => (value === null ? '–' : value.toFixed(digits));
  const header = ['model', 'protocol', 'RMSE', 'MAE', 'P@10', 'hit@10', 'seconds', 'events/s'];
  const cells = rows.map((r) => [
    r.model,
    r.protocol,
    fixed(r.rmse, 4),
    fixed(r.mae, 4),
    fixed(r.precisionAt10, 4),
    fixed(r.hitAt10, 4),
    fixed(r.seconds, 2),
    Math.round(r.eventsPerSecond).toLocaleString('en-US'),
  ]);
  const widths = header.map((title, column) => Math.max(title.length, ...cells.map((line) => line[column]!.length)));
  const format = (line: readonly string[]) =>
    line.map((cell, column) => (column < 2 ? cell.padEnd(widths[column]!) : cell.padStart(widths[column]!))).join('  ');
  const { counts, protocols } = manifest;
  return [
    `${manifest.dataset.format} from ${manifest.dataset.dir}: ${counts.ratings} ratings, ${counts.users} users, ${counts.items} items; ` +
      `seeds ${protocols.seeds.train}/${protocols.seeds.test}, ranking ${protocols.ranking.train}/${protocols.ranking.test}, split seed ${manifest.splitSeed}`,
    format(header),
    ...cells.map(format),
    "seconds: offline, each model's own fit and scoring; prequential, the whole test-then-train loop (rxrec: the replay of all its models at once, or of one model alone)",
    '',
  ].join('\n');
}
