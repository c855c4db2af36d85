/**
 * Opens a MovieLens-shaped directory: the format is told by the files present, and the readers
 * for its ratings, items and users are bound to it. The parent of exactly one MovieLens folder
 * (e.g. the download cache holding `ml-100k/`) is accepted too.
 */
import { constants } from 'node:fs';
import { access, readdir, stat } from 'node:fs/promises';
import { join } from 'node:path';
import { HALF_STARS, WHOLE_STARS } from '../events/scale.js';
import { readMl100kItems, readMl100kRatings, readMl100kUsers } from './ml100k.js';
import { readDatMovies, readDatRatings, readDatUsers } from './ml1m.js';
import { readCsvMovies, readCsvRatings } from './mlcsv.js';
import type { Dataset, ItemRow, MalformedRow, MovieLensFormat, UserRow } from './rows.js';

const LOOKED_FOR = 'u.data (ml-100k), ratings.dat (ml-1m, ml-10m) or ratings.csv (ml-20m, ml-25m, ml-latest)';

export async function openDataset(dir: string): Promise<Dataset> {
  const names = await listDirectory(dir);
  const format = formatOf(names);
  if (format) return bindDataset(dir, format, names);

  const nested: Array<{ dir: string; names: Set<string>; format: MovieLensFormat }> = [];
  for (const name of [...names].sort()) {
    const child = join(dir, name);
    const childNames = await listDirectory(child).catch(() => undefined);
    const childFormat = childNames && formatOf(childNames);
    if (childNames && childFormat) nested.push({ dir: child, names: childNames, format: childFormat });
  }
  if (nested.length === 1) return bindDataset(nested[0]!.dir, nested[0]!.format, nested[0]!.names);
  if (nested.length > 1) {
    const folders = nested.map((found) => found.dir).join(', ');
    throw new Error(`${dir} holds several MovieLens folders (${folders}): give one of them`);
  }
  throw new Error(`no MovieLens ratings file in ${dir}: looked for ${LOOKED_FOR}, there and one folder down`);
}

/** ratings.dat is ml-1m when users.dat lies beside it; ml-10m has no users file. */
export function formatOf(names: ReadonlySet<string>): MovieLensFormat | undefined {
  if (names.has('u.data')) return 'ml-100k';
  if (names.has('ratings.dat')) return names.has('users.dat') ? 'ml-1m' : 'ml-10m';
  if (names.has('ratings.csv')) return 'ml-csv';
  return undefined;
}

async function bindDataset(dir: string, format: MovieLensFormat, names: ReadonlySet<string>): Promise<Dataset> {
  const path = (name: string): string => join(dir, name);
  const optional = <Row>(name: string, read: (file: string) => AsyncIterable<Row>): (() => AsyncIterable<Row>) =>
    names.has(name) ? () => read(path(name)) : () => noRows<Row>();

  let dataset: Dataset;
  switch (format) {
    case 'ml-100k':
      dataset = {
        dir,
        format,
        scale: WHOLE_STARS,
        ratingsFile: path('u.data'),
        ratings: () => readMl100kRatings(path('u.data')),
        items: optional<ItemRow | MalformedRow>('u.item', readMl100kItems),
        users: optional<UserRow | MalformedRow>('u.user', readMl100kUsers),
      };
      break;
    case 'ml-1m':
    case 'ml-10m':
      dataset = {
        dir,
        format,
        scale: format === 'ml-1m' ? WHOLE_STARS : HALF_STARS,
        ratingsFile: path('ratings.dat'),
        ratings: () => readDatRatings(path('ratings.dat')),
        items: optional<ItemRow | MalformedRow>('movies.dat', (file) => readDatMovies(file, format === 'ml-1m' ? 'latin1' : 'utf8')),
        users: optional<UserRow | MalformedRow>('users.dat', readDatUsers),
      };
      break;
    case 'ml-csv':
      dataset = {
        dir,
        format,
        scale: HALF_STARS,
        ratingsFile: path('ratings.csv'),
        ratings: () => readCsvRatings(path('ratings.csv')),
        items: optional<ItemRow | MalformedRow>('movies.csv', readCsvMovies),
        users: () => noRows<UserRow | MalformedRow>(),
      };
      break;
  }
  await access(dataset.ratingsFile, constants.R_OK).catch((error: NodeJS.ErrnoException) => {
    throw new Error(`cannot read ratings file ${dataset.ratingsFile}: ${error.code ?? error.message}`);
  });
  if (!(await stat(dataset.ratingsFile)).isFile()) throw new Error(`cannot read ratings file ${dataset.ratingsFile}: it is not a regular file`);
  return dataset;
}

async function listDirectory(dir: string): Promise<Set<string>> {
  const info = await stat(dir).catch((error: NodeJS.ErrnoException) => {
    if (error.code === 'ENOENT') throw new Error(`dataset directory ${dir} does not exist`);
    throw new Error(`cannot read dataset directory ${dir}: ${error.code ?? error.message}`);
  });
  if (!info.isDirectory()) {
    throw new Error(`${dir} is not a directory: give the folder that holds the MovieLens files`);
  }
  const names = await readdir(dir).catch((error: NodeJS.ErrnoException) => {
    throw new Error(`cannot read dataset directory ${dir}: ${error.code ?? error.message}`);
  });
  return new Set(names);
}

async function* noRows<Row>(): AsyncGenerator<Row> {}
