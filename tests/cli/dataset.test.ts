/** `rxrec dataset synth|download|info`, driven through the command object as main.ts mounts it. */
import assert from 'node:assert/strict';
import { mkdirSync, mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { PassThrough } from 'node:stream';
import { after, describe, it } from 'node:test';
import type { Command } from 'commander';
import { openDataset } from '../../src/datasets/detect.js';
import { datasetInfo } from '../../src/datasets/info.js';
import { datasetCommand } from '../../streams/cli/commands/dataset.js';
import { UsageError } from '../../streams/cli/errors.js';
import { freePorts } from '../fixtures.js';

const scratch = mkdtempSync(join(tmpdir(), 'rxrec-dataset-cli-'));
after(() => rmSync(scratch, { recursive: true, force: true }));

/** Runs `rxrec dataset <args>`; returns its stdout lines and any help text commander printed. */
async function run(...args: string[]): Promise<{ lines: string[]; help: string }> {
  const lines: string[] = [];
  let help = '';
  const progress = new PassThrough() as unknown as NodeJS.WriteStream;
  const command = datasetCommand({ line: (text) => lines.push(text), progress });
  const quiet = (cmd: Command): void => {
    cmd.exitOverride().configureOutput({ writeOut: (text) => (help += text), writeErr: (text) => (help += text) });
    cmd.commands.forEach(quiet);
  };
  quiet(command);
  try {
    await command.parseAsync(args, { from: 'user' });
  } catch (error) {
    if ((error as { code?: string }).code !== 'commander.helpDisplayed') throw error;
  }
  return { lines, help };
}

describe('rxrec dataset synth', () => {
  it('writes an ml-100k-format folder and prints a one-line summary', async () => {
    const out = join(scratch, 'synth');
    const { lines } = await run('synth', '--users', '50', '--items', '120', '--ratings', '2500', '--seed', '7', '--out', out);
    assert.equal(lines.length, 1);
    assert.match(lines[0]!, new RegExp(`^wrote a synthetic dataset to ${out}: 50 users, 120 items, 2,500 ratings \\(seed 7\\) in \\d+\\.\\d s$`));
    const info = await datasetInfo(await openDataset(out));
    assert.equal(info.format, 'ml-100k');
    assert.equal(info.ratings, 2500);
    assert.equal(info.users, 50);
    assert.equal(info.malformedLines, 0);
  });

  it('rejects option values it cannot use, naming the flag and the limit', async () => {
    const out = join(scratch, 'never');
    await assert.rejects(run('synth', '--users', 'many', '--out', out), new UsageError("--users must be a positive integer, got 'many'"));
    await assert.rejects(run('synth', '--items', '0', '--out', out), new UsageError("--items must be a positive integer, got '0'"));
    await assert.rejects(run('synth', '--ratings', '1.5', '--out', out), new UsageError("--ratings must be a positive integer, got '1.5'"));
    await assert.rejects(run('synth', '--seed', 'x', '--out', out), new UsageError("--seed must be an integer, got 'x'"));
    await assert.rejects(
      run('synth', '--users', '100', '--ratings', '1999', '--out', out),
      new UsageError('cannot generate: ratings (1999) must be at least 20 per user (2000 for 100 users) — adjust --users, --items or --ratings'),
    );
    await assert.rejects(
      run('synth', '--users', '10', '--items', '30', '--ratings', '301', '--out', out),
      new UsageError(
        'cannot generate: ratings (301) cannot exceed users × items (300): a user rates an item at most once — adjust --users, --items or --ratings',
      ),
    );
  });
});

describe('rxrec dataset info', () => {
  const dir = join(scratch, 'info');
  mkdirSync(dir);
  writeFileSync(join(dir, 'ratings.csv'), 'userId,movieId,rating,timestamp\n1,1,4.0,964982703\n1,3,4.5,964981247\n2,3,oops,964981247\n');

  it('prints a readable summary', async () => {
    const { lines } = await run('info', dir);
    assert.deepEqual(lines, [
      `dir          ${dir}`,
      'format       ml-csv (rating scale 0.5-5)',
      'ratings      2',
      'users        1',
      'items        2 rated, 0 in the item file',
      'mean rating  4.250',
      'time span    2000-07-30T18:20:47Z → 2000-07-30T18:45:03Z (0 days)',
      'malformed    1 lines',
      "  line 4: rating 'oops' is not a number",
    ]);
  });

  it('prints JSON with --json', async () => {
    const { lines } = await run('info', dir, '--json');
    assert.deepEqual(JSON.parse(lines.join('\n')), await datasetInfo(await openDataset(dir)));
  });

  it('fails with the reader’s one-line reason', async () => {
    await assert.rejects(run('info', join(scratch, 'absent')), { message: `dataset directory ${join(scratch, 'absent')} does not exist` });
  });
});

describe('rxrec dataset download', () => {
  it('fails fast and in one line when the archive cannot be fetched', async () => {
    const port = (await freePorts(1))[0]!;
    const cache = join(scratch, 'cache');
    await assert.rejects(run('download', 'ml-100k', '--cache', cache, '--mirror', `http://127.0.0.1:${port}`), {
      message: `cannot download ml-100k from 127.0.0.1:${port}: connect ECONNREFUSED 127.0.0.1:${port} — check your network, or put the extracted folder in ${join(cache, 'ml-100k')}`,
    });
  });

  it('uses a folder already in the cache', async () => {
    const cache = join(scratch, 'cache-placed');
    mkdirSync(join(cache, 'ml-100k'), { recursive: true });
    writeFileSync(join(cache, 'ml-100k', 'u.data'), '1\t1\t3\t881250949\n');
    const { lines } = await run('download', 'ml-100k', '--cache', cache);
    assert.deepEqual(lines, [`ml-100k: using ${join(cache, 'ml-100k')}, placed there by hand (no archive, so no checksum was verified)`]);
  });

  it('names the datasets it knows', async () => {
    await assert.rejects(run('download', 'ml-20m'), new UsageError("unknown dataset 'ml-20m': choose one of ml-100k, ml-1m, ml-latest-small"));
  });
});

describe('rxrec dataset --help', () => {
  it('documents every subcommand and its options', async () => {
    const expected: Record<string, string[]> = {
      synth: ['--users <n>', '--items <n>', '--ratings <n>', '--seed <n>', '--out <dir>', 'default: "943"'],
      download: ['<name>', 'ml-100k | ml-1m | ml-latest-small', '--cache <dir>', '--mirror <url>'],
      info: ['<dir>', '--json'],
    };
    for (const [sub, fragments] of Object.entries(expected)) {
      const { help } = await run(sub, '--help');
      for (const fragment of fragments) assert.ok(help.includes(fragment), `${sub} --help lacks ${fragment}:\n${help}`);
    }
    const { help } = await run('--help');
    for (const sub of Object.keys(expected)) assert.match(help, new RegExp(`\\n  ${sub}\\b`));
  });
});
