/**
 * Writes a synthetic dataset in the ML-100K file formats (u.data, u.item in latin-1 with 19
 * genre flags, u.user, u.genre, u.occupation, u.info), so every reader and the replay treat it
 * exactly like the real folder. A marker file records the spec and keeps the writer from
 * overwriting a folder it did not make (a real MovieLens download, say).
 */
import { createWriteStream } from 'node:fs';
import { mkdir, readdir, writeFile } from 'node:fs/promises';
import { once } from 'node:events';
import { join } from 'node:path';
import { finished } from 'node:stream/promises';
import { createSyntheticMovieLens, type SyntheticSpec } from '../../src/datasets/synthetic.js';
import { ML100K_GENRES, ML100K_OCCUPATIONS } from '../../src/datasets/vocabulary.js';

export const SYNTHETIC_MARKER_FILE = 'rxrec-synthetic.json';

/** Called as u.data fills, with ratings written so far and the total. */
export type WriteProgress = (written: number, total: number) => void;

const FLUSH_CHARS = 1 << 20;

export async function writeSyntheticDataset(dir: string, spec: SyntheticSpec, onProgress?: WriteProgress): Promise<void> {
  const synthetic = createSyntheticMovieLens(spec);
  await prepareDirectory(dir);
  // Written first, so an interrupted run can be repeated into the same folder.
  const marker = { generator: 'rxrec dataset synth', note: 'synthetic data in the MovieLens 100K file formats; not MovieLens', ...spec };
  await writeFile(join(dir, SYNTHETIC_MARKER_FILE), `${JSON.stringify(marker, null, 2)}\n`);

  const itemLines: string[] = [];
  for (const item of synthetic.items()) {
    const flags = ML100K_GENRES.map((_, genre) => (item.genreIndices.includes(genre) ? '1' : '0')).join('|');
    const url = item.releaseDate ? `http://us.imdb.com/M/title-exact?${encodeURIComponent(item.title)}` : '';
    itemLines.push(`${item.itemId}|${item.title}|${item.releaseDate}||${url}|${flags}\n`);
  }
  await writeFile(join(dir, 'u.item'), Buffer.from(itemLines.join(''), 'latin1'));

  const userLines: string[] = [];
  for (const user of synthetic.users()) {
    userLines.push(`${user.userId}|${user.age}|${user.gender}|${user.occupation}|${user.zip}\n`);
  }
  await writeFile(join(dir, 'u.user'), userLines.join(''), 'latin1');
  await writeFile(join(dir, 'u.genre'), ML100K_GENRES.map((name, index) => `${name}|${index}\n`).join(''), 'latin1');
  await writeFile(join(dir, 'u.occupation'), ML100K_OCCUPATIONS.map((name) => `${name}\n`).join(''), 'latin1');
  await writeFile(join(dir, 'u.info'), `${spec.users} users\n${spec.items} items\n${spec.ratings} ratings\n`);

  await writeRatings(join(dir, 'u.data'), synthetic.ratingsByUser(), spec.ratings, onProgress);
}

async function writeRatings(
  path: string,
  users: Iterable<{ userId: number; itemIds: Int32Array; ratings: Uint8Array; seconds: Float64Array }>,
  total: number,
  onProgress: WriteProgress | undefined,
): Promise<void> {
  const out = createWriteStream(path, { encoding: 'latin1' });
  let pending = '';
  let written = 0;
  for (const user of users) {
    const prefix = `${user.userId}\t`;
    for (let j = 0; j < user.itemIds.length; j++) {
      pending += `${prefix}${user.itemIds[j]}\t${user.ratings[j]}\t${user.seconds[j]}\n`;
    }
    written += user.itemIds.length;
    if (pending.length >= FLUSH_CHARS) {
      if (!out.write(pending)) await once(out, 'drain');
      pending = '';
      onProgress?.(written, total);
    }
  }
  out.end(pending);
  await finished(out);
  onProgress?.(written, total);
}

/** Creates `dir`, or accepts it when empty or made by this writer before. */
async function prepareDirectory(dir: string): Promise<void> {
  await mkdir(dir, { recursive: true }).catch((error: NodeJS.ErrnoException) => {
    throw new Error(`cannot create output directory ${dir}: ${error.code ?? error.message}`);
  });
  const names = await readdir(dir);
  if (names.length > 0 && !names.includes(SYNTHETIC_MARKER_FILE)) {
    throw new Error(`refusing to write into ${dir}: it is not empty and was not made by the synthetic generator — choose a new or empty --out directory`);
  }
}
