/**
 * npm run bench — every bench script, each run as a child process several times (3 by default),
 * its figures (the numbers of the JSON object on its last line of standard output) reduced to
 * median, min and max. Writes bench/results/latest.json and bench/results/latest.md (a Markdown
 * table: what was measured, on which data, runs, median [min–max], and the machine), and prints
 * the table. A script that fails is reported as failed, with its exit code, and the others run.
 *
 *   npm run bench [-- --runs N] [-- --only replay,serve] [-- --skip kafka]
 */
import { spawn } from 'node:child_process';
import { mkdirSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { parseArgs } from 'node:util';
import { BENCHES, type BenchScript } from './catalogue.js';
import { describeMachine, RESULTS_DIR, thisMachine } from './machine.js';

interface Figure {
  readonly median: number;
  readonly min: number;
  readonly max: number;
  readonly values: readonly number[];
}

interface ScriptResult {
  readonly script: string;
  readonly what: string;
  readonly data: string;
  readonly runs: number;
  readonly seconds: number;
  readonly figures: Record<string, Figure>;
  readonly failed?: string;
}

const { values: flags } = parseArgs({
  options: { runs: { type: 'string', default: '3' }, only: { type: 'string' }, skip: { type: 'string' } },
});
const runs = Number(flags.runs);
if (!(Number.isInteger(runs) && runs >= 1)) throw new Error(`--runs must be a whole number >= 1, got '${flags.runs}'`);
const only = flags.only?.split(',');
const skip = new Set(flags.skip?.split(',') ?? []);
const unknown = [...(only ?? []), ...skip].filter((name) => !BENCHES.some((b) => b.name === name));
if (unknown.length > 0) throw new Error(`unknown bench ${unknown.join(', ')}: the benches are ${BENCHES.map((b) => b.name).join(', ')}`);

const machine = thisMachine();

const results: ScriptResult[] = [];
for (const bench of BENCHES.filter((b) => (only ? only.includes(b.name) : !skip.has(b.name)))) {
  results.push(await measure(bench));
}

const resultsDir = RESULTS_DIR;
mkdirSync(resultsDir, { recursive: true });
const table = markdown(results);
writeFileSync(join(resultsDir, 'latest.json'), JSON.stringify({ machine, runsPerScript: runs, results }, null, 2) + '\n');
writeFileSync(join(resultsDir, 'latest.md'), table);
process.stdout.write(table);
process.stdout.write(`written to ${join(resultsDir, 'latest.json')} and latest.md\n`);
if (results.some((r) => r.failed)) process.exitCode = 1;

async function measure(bench: BenchScript): Promise<ScriptResult> {
  const samples: Array<Record<string, number>> = [];
  const started = performance.now();
  let failed: string | undefined;
  for (let run = 1; run <= runs && !failed; run++) {
    process.stderr.write(`bench ${bench.name}: run ${run}/${runs}\n`);
    const outcome = await runScript(bench);
    if ('error' in outcome) failed = outcome.error;
    else samples.push(outcome.figures);
  }
  const names = [...new Set(samples.flatMap((s) => Object.keys(s)))];
  const figures = Object.fromEntries(names.map((name) => [name, summarise(samples.map((s) => s[name]).filter((v): v is number => v !== undefined))]));
  const seconds = Math.round((performance.now() - started) / 100) / 10;
  return { script: bench.name, what: bench.what, data: bench.data, runs: samples.length, seconds, figures, ...(failed ? { failed } : {}) };
}

function runScript(bench: BenchScript): Promise<{ figures: Record<string, number> } | { error: string }> {
  return new Promise((resolve) => {
    const child = spawn(process.execPath, [join(import.meta.dirname, `${bench.file}.js`), ...(bench.args ?? [])], {
      env: { ...process.env, ...bench.env },
      stdio: ['ignore', 'pipe', 'inherit'],
    });
    let stdout = '';
    child.stdout.setEncoding('utf8').on('data', (chunk: string) => (stdout += chunk));
    child.on('error', (error) => resolve({ error: error.message }));
    child.on('close', (code, signal) => {
      if (code !== 0) return resolve({ error: `exited with ${signal ?? code}` });
      const last = stdout.trim().split('\n').pop() ?? '';
      try {
        resolve({ figures: numbersIn(JSON.parse(last)) });
      } catch {
        resolve({ error: `its last line is not JSON: ${last.slice(0, 200)}` });
      }
    });
  });
}

/** Every number of a JSON value, by dotted path. */
function numbersIn(value: unknown, path = '', into: Record<string, number> = {}): Record<string, number> {
  if (typeof value === 'number' && Number.isFinite(value)) into[path] = value;
  else if (value && typeof value === 'object')
    for (const [key, inner] of Object.entries(value)) numbersIn(inner, path ? `${path}.${rowName(inner) ?? key}` : key, into);
  return into;
}

/** A table row (bench:reference's) is named by its model and protocol rather than its index. */
function rowName(row: unknown): string | undefined {
  const { model, protocol } = (row ?? {}) as { model?: unknown; protocol?: unknown };
  return typeof model === 'string' ? (typeof protocol === 'string' ? `${model} (${protocol})` : model) : undefined;
}

function summarise(values: number[]): Figure {
  const sorted = [...values].sort((a, b) => a - b);
  const middle = sorted.length / 2;
  const median = sorted.length % 2 === 1 ? sorted[Math.floor(middle)]! : (sorted[middle - 1]! + sorted[middle]!) / 2;
  return { median, min: sorted[0]!, max: sorted[sorted.length - 1]!, values };
}

function markdown(all: readonly ScriptResult[]): string {
  const lines = [`Measured ${describeMachine(machine)}. Each figure: the median of the runs, then min and max.`];
  for (const result of all) {
    lines.push(
      '',
      `**${result.script}**: ${result.what}. Data: ${result.data}. ${result.runs} run${result.runs === 1 ? '' : 's'}, ${result.seconds} s in all.`,
    );
    if (result.failed) lines.push('', `**Failed**: ${result.failed}.`);
    const figures = Object.entries(result.figures);
    if (figures.length === 0) continue;
    lines.push('', '| figure | median | min | max |', '|---|---|---|---|');
    for (const [name, f] of figures) lines.push(`| ${name} | ${format(f.median)} | ${format(f.min)} | ${format(f.max)} |`);
  }
  return lines.join('\n') + '\n';
}

function format(x: number): string {
  if (Number.isInteger(x) || Math.abs(x) >= 100) return Math.round(x).toLocaleString('en-US');
  return x.toPrecision(4);
}
