/**
 * npm run bench:scale-curve — the embedded replay with the default models (what `npm start`
 * runs, batch 5,000) on synthetic streams of growing size, users and items scaled like
 * MovieLens: 100K (943 × 1,682), 1M (6,040 × 3,706) and 10M (69,878 × 10,677, ML-10M's counts).
 * Each size is written once to a cache folder (bench/.cache, or BENCH_CACHE) and replayed in a
 * child process of its own (its peak RSS is that process's). Prints one line per size on
 * standard error, and as the last line of standard output
 * {"sizes": {"100k": {"events", "eventsPerSecond", "microsPerEvent", "peakRssMb", "seconds"}, …},
 *  "perEventCostGrowth": {"1m": x, "10m": x}} (µs per event relative to 100K).
 * The same, with the machine, is written to bench/results/scale-curve-<sizes>.json and a Markdown
 * table beside it, after each size (a 10M run takes hours: what it measured so far is kept).
 *
 *   npm run bench:scale-curve [-- --sizes 100k,1m]
 */
import { spawn } from 'node:child_process';
import { existsSync, mkdirSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { parseArgs } from 'node:util';
import type { SyntheticSpec } from '../src/datasets/synthetic.js';
import { writeSyntheticDataset } from '../streams/datasets/write-synthetic.js';
import { describeMachine, RESULTS_DIR, thisMachine } from './machine.js';

const SIZES: Record<string, SyntheticSpec> = {
  '100k': { users: 943, items: 1682, ratings: 100_000, seed: 42 },
  '1m': { users: 6040, items: 3706, ratings: 1_000_209, seed: 42 },
  '10m': { users: 69_878, items: 10_677, ratings: 10_000_054, seed: 42 },
};

const { values: flags } = parseArgs({ options: { sizes: { type: 'string', default: '100k,1m,10m' } } });
const sizes = flags.sizes.split(',');
for (const size of sizes) if (!SIZES[size]) throw new Error(`unknown size '${size}': use ${Object.keys(SIZES).join(', ')}`);
const cache = process.env.BENCH_CACHE ?? join(import.meta.dirname, '..', '..', 'bench', '.cache');

interface SizeFigures {
  readonly events: number;
  readonly eventsPerSecond: number;
  readonly microsPerEvent: number;
  readonly peakRssMb: number;
  readonly seconds: number;
}

const machine = thisMachine();
const resultsFile = join(RESULTS_DIR, `scale-curve-${sizes.join('-')}`);
const results: Record<string, SizeFigures> = {};
for (const size of sizes) {
  const spec = SIZES[size]!;
  const dir = join(cache, `synthetic-${size}`);
  if (!existsSync(join(dir, 'u.data'))) {
    mkdirSync(dir, { recursive: true });
    process.stderr.write(`writing the ${size} synthetic set to ${dir}\n`);
    await writeSyntheticDataset(dir, spec);
  }
  const figures = await replayIn(dir);
  results[size] = figures;
  process.stderr.write(
    `${size}: ${figures.events} events at ${figures.eventsPerSecond} events/s (${figures.microsPerEvent} µs/event), peak RSS ${figures.peakRssMb} MB, ${figures.seconds} s\n`,
  );
  writeResults();
}
process.stderr.write(`written to ${resultsFile}.json and .md\n`);
console.log(JSON.stringify({ sizes: results, perEventCostGrowth: costGrowth() }));

/** µs per event of each size over 100K's. */
function costGrowth(): Record<string, number> {
  const base = results['100k']?.microsPerEvent;
  if (base === undefined) return {};
  return Object.fromEntries(
    Object.entries(results)
      .filter(([size]) => size !== '100k')
      .map(([size, f]) => [size, Math.round((f.microsPerEvent / base) * 100) / 100]),
  );
}

function writeResults(): void {
  mkdirSync(RESULTS_DIR, { recursive: true });
  const growth = costGrowth();
  writeFileSync(`${resultsFile}.json`, JSON.stringify({ machine, sizes: results, perEventCostGrowth: growth }, null, 2) + '\n');
  const rows = Object.entries(results).map(([size, f]) => {
    const spec = SIZES[size]!;
    const cost = growth[size] === undefined ? '1' : `${growth[size]}`;
    return `| ${size} | ${spec.users.toLocaleString('en-US')} × ${spec.items.toLocaleString('en-US')} | ${f.events.toLocaleString('en-US')} | ${f.eventsPerSecond.toLocaleString('en-US')} | ${f.microsPerEvent} | ${cost}× | ${f.peakRssMb.toLocaleString('en-US')} MB | ${f.seconds} |`;
  });
  const table = [
    `Scaling curve: the embedded replay with the default models (batch 5,000), one run per size, measured ${describeMachine(machine)}.`,
    '',
    '| stream | users × items | events | events/s | µs per event | cost per event vs 100K | peak RSS | seconds |',
    '|---|---|---|---|---|---|---|---|',
    ...rows,
  ];
  writeFileSync(`${resultsFile}.md`, table.join('\n') + '\n');
}

function replayIn(dir: string): Promise<SizeFigures> {
  return new Promise((resolve, reject) => {
    const child = spawn(process.execPath, [join(import.meta.dirname, 'scale-run.js'), dir], { stdio: ['ignore', 'pipe', 'inherit'] });
    let out = '';
    child.stdout.setEncoding('utf8').on('data', (chunk: string) => (out += chunk));
    child.on('error', reject);
    child.on('close', (code) => {
      if (code !== 0) return reject(new Error(`the replay of ${dir} exited with ${code}`));
      resolve(JSON.parse(out.trim().split('\n').pop()!) as SizeFigures);
    });
  });
}
