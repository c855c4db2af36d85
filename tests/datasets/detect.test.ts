import assert from 'node:assert/strict';
import { mkdirSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { describe, it } from 'node:test';
import { openDataset } from '../../src/datasets/detect.js';
import { datasetInfo } from '../../src/datasets/info.js';
import { HALF_STARS, WHOLE_STARS } from '../../src/events/scale.js';
import { tempDir } from '../fixtures.js';

function folder(files: Record<string, string>, parent = tempDir(), name = ''): string {
  const dir = name ? join(parent, name) : parent;
  mkdirSync(dir, { recursive: true });
  for (const [file, text] of Object.entries(files)) writeFileSync(join(dir, file), Buffer.from(text, 'latin1'));
  return dir;
}

async function count(rows: AsyncIterable<unknown>): Promise<number> {
  let n = 0;
  for await (const _ of rows) n++;
  return n;
}

const flags = Array.from({ length: 19 }, (_, g) => (g === 8 ? '1' : '0')).join('|');

describe('openDataset', () => {
  it('detects ml-100k from u.data and binds its item and user readers', async () => {
    const dir = folder({
      'u.data': '1\t10\t4\t881250949\n2\t10\t5\t881250950\n',
      'u.item': `10|Café (1995)|01-Jan-1995|||${flags}\n`,
      'u.user': '1|24|M|technician|85711\n2|30|F|writer|V3N4P\n',
    });
    const dataset = await openDataset(dir);
    assert.equal(dataset.format, 'ml-100k');
    assert.equal(dataset.scale, WHOLE_STARS);
    assert.equal(dataset.ratingsFile, join(dir, 'u.data'));
    assert.equal(await count(dataset.ratings()), 2);
    assert.equal(await count(dataset.users()), 2);
    for await (const item of dataset.items()) assert.deepEqual(item, { itemId: '10', title: 'Café (1995)', genres: ['Drama'], year: 1995 });
  });

  it('tells ml-1m (users.dat beside ratings.dat) from ml-10m (half stars, no users)', async () => {
    const oneM = await openDataset(
      folder({ 'ratings.dat': '1::1::5::978300760\n', 'users.dat': '1::F::1::10::48067\n', 'movies.dat': '1::Toy Story (1995)::Comedy\n' }),
    );
    assert.equal(oneM.format, 'ml-1m');
    assert.equal(oneM.scale, WHOLE_STARS);
    assert.equal(await count(oneM.users()), 1);

    const tenM = await openDataset(folder({ 'ratings.dat': '1::1::4.5::978300760\n', 'movies.dat': '1::Toy Story (1995)::Comedy\n' }, tempDir(), 'ml-10M100K'));
    assert.equal(tenM.format, 'ml-10m');
    assert.equal(tenM.scale, HALF_STARS);
    assert.equal(await count(tenM.users()), 0);
    assert.equal(await count(tenM.items()), 1);
  });

  it('detects the csv formats; a missing item file reads as no items', async () => {
    const dataset = await openDataset(folder({ 'ratings.csv': 'userId,movieId,rating,timestamp\n1,1,3.5,964982703\n' }));
    assert.equal(dataset.format, 'ml-csv');
    assert.equal(dataset.scale, HALF_STARS);
    assert.equal(await count(dataset.items()), 0);
    assert.equal(await count(dataset.users()), 0);
  });

  it('accepts the parent of exactly one MovieLens folder', async () => {
    const parent = tempDir();
    const inner = folder({ 'u.data': '1\t1\t3\t881250949\n' }, parent, 'ml-100k');
    writeFileSync(join(parent, 'notes.txt'), 'not a dataset');
    const dataset = await openDataset(parent);
    assert.equal(dataset.dir, inner);
    assert.equal(dataset.format, 'ml-100k');
  });

  it('fails with one clear line when the folder is missing, empty, ambiguous or not a folder', async () => {
    const missing = join(tempDir(), 'nope');
    await assert.rejects(openDataset(missing), { message: `dataset directory ${missing} does not exist` });

    const empty = tempDir();
    await assert.rejects(openDataset(empty), {
      message: `no MovieLens ratings file in ${empty}: looked for u.data (ml-100k), ratings.dat (ml-1m, ml-10m) or ratings.csv (ml-20m, ml-25m, ml-latest), there and one folder down`,
    });

    const parent = tempDir();
    folder({ 'u.data': '' }, parent, 'a');
    folder({ 'ratings.csv': '' }, parent, 'b');
    await assert.rejects(openDataset(parent), {
      message: `${parent} holds several MovieLens folders (${join(parent, 'a')}, ${join(parent, 'b')}): give one of them`,
    });

    const file = join(folder({ 'u.data': '' }), 'u.data');
    await assert.rejects(openDataset(file), { message: `${file} is not a directory: give the folder that holds the MovieLens files` });
  });

  it('fails clearly when the ratings file cannot be read', async () => {
    const dir = folder({});
    mkdirSync(join(dir, 'u.data'));
    await assert.rejects(openDataset(dir), { message: `cannot read ratings file ${join(dir, 'u.data')}: it is not a regular file` });
  });
});

describe('datasetInfo', () => {
  it('counts ratings, users, items, time span and malformed lines in one pass', async () => {
    const dir = folder({
      'u.data': ['1\t10\t4\t881250949', '2\t10\t5\t881250900', 'junk', '2\t11\t3\t881260000', '3\t12\tx\t1'].join('\n') + '\n',
      'u.item': `10|A (1995)|01-Jan-1995|||${flags}\n11|B (1996)|01-Jan-1996|||${flags}\n12|C (1997)|01-Jan-1997|||${flags}\n`,
    });
    const info = await datasetInfo(await openDataset(dir));
    assert.deepEqual(info, {
      dir,
      format: 'ml-100k',
      scale: '1-5',
      ratingsFile: join(dir, 'u.data'),
      ratings: 3,
      users: 2,
      ratedItems: 2,
      catalogItems: 3,
      meanRating: 4,
      firstTs: 881250900000,
      lastTs: 881260000000,
      malformedLines: 2,
      malformedExamples: [
        { line: 3, reason: 'expected 4 fields separated by tabs, found 1' },
        { line: 5, reason: "rating 'x' is not a number" },
      ],
    });
  });
});
