/** Each MovieLens reader on small fixtures in the real formats, written here (never MovieLens itself). */
import assert from 'node:assert/strict';
import { writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { describe, it } from 'node:test';
import { readLines } from '../../src/datasets/lines.js';
import { readMl100kItems, readMl100kRatings, readMl100kUsers } from '../../src/datasets/ml100k.js';
import { readDatMovies, readDatRatings, readDatUsers } from '../../src/datasets/ml1m.js';
import { readCsvMovies, readCsvRatings } from '../../src/datasets/mlcsv.js';
import { tempDir } from '../fixtures.js';

/** The rows, each rating row without its `raw` line (checked on its own below). */
async function collect<T>(rows: AsyncIterable<T>): Promise<T[]> {
  const out: T[] = [];
  for await (const row of rows) out.push(withoutRaw(row));
  return out;
}

function withoutRaw<T>(row: T): T {
  if (typeof row !== 'object' || row === null || !('rating' in row) || !('raw' in row)) return row;
  const { raw: _raw, ...rest } = row as T & { raw: unknown };
  return rest as T;
}

it('a rating row keeps its line as read, for the dead letter of a row that fails validation', async () => {
  const path = write('u.data', '196\t242\t3\t881250949\n');
  const rows: unknown[] = [];
  for await (const row of readMl100kRatings(path)) rows.push(row);
  assert.deepEqual(rows, [{ userId: '196', itemId: '242', rating: 3, ts: 881250949000, line: 1, raw: '196\t242\t3\t881250949' }]);
});

function write(name: string, text: string, encoding: BufferEncoding = 'utf8'): string {
  const path = join(tempDir(), name);
  writeFileSync(path, Buffer.from(text, encoding));
  return path;
}

const flags = (...genres: number[]): string => Array.from({ length: 19 }, (_, g) => (genres.includes(g) ? '1' : '0')).join('|');

describe('ml-100k readers', () => {
  it('reads u.data, converting seconds to milliseconds, and reports bad lines with their numbers', async () => {
    const path = write(
      'u.data',
      [
        '196\t242\t3\t881250949',
        '186\t302\t3\t891717742',
        '\t5\t3\t881250949',
        '244\t51\t2',
        '166\t346\tfive\t886397596',
        '298\t474\t4\tsoon',
        '',
        '115\t265\t2\t881171488',
        '22\t377\t9\t878887116',
        '',
        '',
      ].join('\n'),
    );
    assert.deepEqual(await collect(readMl100kRatings(path)), [
      { userId: '196', itemId: '242', rating: 3, ts: 881250949000, line: 1 },
      { userId: '186', itemId: '302', rating: 3, ts: 891717742000, line: 2 },
      { malformed: 'empty user id', raw: '\t5\t3\t881250949', line: 3 },
      { malformed: 'expected 4 fields separated by tabs, found 3', raw: '244\t51\t2', line: 4 },
      { malformed: "rating 'five' is not a number", raw: '166\t346\tfive\t886397596', line: 5 },
      { malformed: "timestamp 'soon' is not a number", raw: '298\t474\t4\tsoon', line: 6 },
      { malformed: 'empty line', raw: '', line: 7 },
      { userId: '115', itemId: '265', rating: 2, ts: 881171488000, line: 8 },
      // Off-scale ratings are the pipeline's to reject, with the scale's reason.
      { userId: '22', itemId: '377', rating: 9, ts: 878887116000, line: 9 },
    ]);
  });

  it('reads latin-1 u.item with genre flags and years from release dates, some empty', async () => {
    const path = write(
      'u.item',
      [
        `1|Toy Story (1995)|01-Jan-1995||http://us.imdb.com/M/title-exact?Toy%20Story%20(1995)|${flags(3, 4, 5)}`,
        `267|unknown||||${flags(0)}`,
        `1300|Café au Lait (1993)|01-Jan-1993||http://us.imdb.com/Title?Caf%E9+au+lait|${flags(5, 18)}`,
        '5|Short|x',
        `6|Odd Flags (1990)|01-Jan-1990|||${flags(1).replace(/1/, '2')}`,
        `|No Id (1990)|01-Jan-1990|||${flags(1)}`,
      ].join('\n') + '\n',
      'latin1',
    );
    assert.deepEqual(await collect(readMl100kItems(path)), [
      { itemId: '1', title: 'Toy Story (1995)', genres: ['Animation', "Children's", 'Comedy'], year: 1995 },
      { itemId: '267', title: 'unknown', genres: ['unknown'] },
      { itemId: '1300', title: 'Café au Lait (1993)', genres: ['Comedy', 'Western'], year: 1993 },
      { malformed: "expected 24 fields separated by '|', found 3", raw: '5|Short|x', line: 4 },
      {
        malformed: "genre flag '2' for Action is not 0 or 1",
        raw: `6|Odd Flags (1990)|01-Jan-1990|||${flags(1).replace(/1/, '2')}`,
        line: 5,
      },
      { malformed: 'empty item id', raw: `|No Id (1990)|01-Jan-1990|||${flags(1)}`, line: 6 },
    ]);
  });

  it('reads u.user, keeping non-numeric zip codes', async () => {
    const path = write('u.user', '1|24|M|technician|85711\n2|53|F|other|94043\n3|x|M|writer|32067\n4|33|M|educator|V3N4P\n5|20|M\n');
    assert.deepEqual(await collect(readMl100kUsers(path)), [
      { userId: '1', age: 24, gender: 'M', occupation: 'technician', zip: '85711' },
      { userId: '2', age: 53, gender: 'F', occupation: 'other', zip: '94043' },
      { malformed: "age 'x' is not a number", raw: '3|x|M|writer|32067', line: 3 },
      { userId: '4', age: 33, gender: 'M', occupation: 'educator', zip: 'V3N4P' },
      { malformed: "expected 5 fields separated by '|', found 3", raw: '5|20|M', line: 5 },
    ]);
  });
});

describe('ml-1m and ml-10m readers', () => {
  it('reads ratings.dat, whole or half stars', async () => {
    const path = write('ratings.dat', '1::1193::5::978300760\n1::185::4.5::838983525\nbad::line\n2::3::x::978300000\n2::::3::978300000\n');
    assert.deepEqual(await collect(readDatRatings(path)), [
      { userId: '1', itemId: '1193', rating: 5, ts: 978300760000, line: 1 },
      { userId: '1', itemId: '185', rating: 4.5, ts: 838983525000, line: 2 },
      { malformed: "expected 4 fields separated by '::', found 2", raw: 'bad::line', line: 3 },
      { malformed: "rating 'x' is not a number", raw: '2::3::x::978300000', line: 4 },
      { malformed: 'empty item id', raw: '2::::3::978300000', line: 5 },
    ]);
  });

  it('reads latin-1 movies.dat (ml-1m) with the year from the title', async () => {
    const path = write('movies.dat', "1::Toy Story (1995)::Animation|Children's|Comedy\n73::Misérables, Les (1995)::Drama|Musical\n3::No Genres\n", 'latin1');
    assert.deepEqual(await collect(readDatMovies(path, 'latin1')), [
      { itemId: '1', title: 'Toy Story (1995)', genres: ['Animation', "Children's", 'Comedy'], year: 1995 },
      { itemId: '73', title: 'Misérables, Les (1995)', genres: ['Drama', 'Musical'], year: 1995 },
      { malformed: "expected 3 fields separated by '::', found 2", raw: '3::No Genres', line: 3 },
    ]);
  });

  it('reads UTF-8 movies.dat (ml-10m)', async () => {
    const path = write('movies.dat', '5::Amélie (2001)::Comedy|Romance\n');
    assert.deepEqual(await collect(readDatMovies(path, 'utf8')), [{ itemId: '5', title: 'Amélie (2001)', genres: ['Comedy', 'Romance'], year: 2001 }]);
  });

  it('reads users.dat, mapping occupation codes to the README names', async () => {
    const path = write('users.dat', '1::F::1::10::48067\n2::M::56::16::70072\n3::M::25::21::55117\n4::M::18::4::V6T1Z\n');
    assert.deepEqual(await collect(readDatUsers(path)), [
      { userId: '1', age: 1, occupation: 'K-12 student', gender: 'F', zip: '48067' },
      { userId: '2', age: 56, occupation: 'self-employed', gender: 'M', zip: '70072' },
      { malformed: "occupation code '21' is not one of 0–20", raw: '3::M::25::21::55117', line: 3 },
      { userId: '4', age: 18, occupation: 'college/grad student', gender: 'M', zip: 'V6T1Z' },
    ]);
  });
});

describe('ml-latest / ml-20m / ml-25m csv readers', () => {
  it('reads ratings.csv after its header, CRLF or not', async () => {
    const path = write('ratings.csv', 'userId,movieId,rating,timestamp\r\n1,1,4.0,964982703\r\n1,3,4.5,964981247\r\n1,,4,964982224\r\n1,6,4\r\n');
    assert.deepEqual(await collect(readCsvRatings(path)), [
      { userId: '1', itemId: '1', rating: 4, ts: 964982703000, line: 2 },
      { userId: '1', itemId: '3', rating: 4.5, ts: 964981247000, line: 3 },
      { malformed: 'empty item id', raw: '1,,4,964982224', line: 4 },
      { malformed: 'expected 4 fields separated by commas, found 3', raw: '1,6,4', line: 5 },
    ]);
  });

  it('reads movies.csv with quoted titles, escaped quotes, no-genre markers and year ranges', async () => {
    const path = write(
      'movies.csv',
      [
        '\uFEFFmovieId,title,genres',
        '1,Toy Story (1995),Adventure|Animation|Children|Comedy|Fantasy',
        '11,"American President, The (1995)",Comedy|Drama|Romance',
        '99,"Crème ""Brûlée"", The (2005)",(no genres listed)',
        '100,"broken,Drama',
        '150,Cosmos,Documentary',
        '200,Game of Thrones (2006–2007),Drama',
      ].join('\n'),
    );
    assert.deepEqual(await collect(readCsvMovies(path)), [
      { itemId: '1', title: 'Toy Story (1995)', genres: ['Adventure', 'Animation', 'Children', 'Comedy', 'Fantasy'], year: 1995 },
      { itemId: '11', title: 'American President, The (1995)', genres: ['Comedy', 'Drama', 'Romance'], year: 1995 },
      { itemId: '99', title: 'Crème "Brûlée", The (2005)', genres: [], year: 2005 },
      { malformed: 'unterminated quoted field starting at column 5', raw: '100,"broken,Drama', line: 5 },
      { itemId: '150', title: 'Cosmos', genres: ['Documentary'] },
      { itemId: '200', title: 'Game of Thrones (2006–2007)', genres: ['Drama'], year: 2006 },
    ]);
  });
});

describe('readLines', () => {
  it('keeps lines and multi-byte characters whole across 1 MiB chunk boundaries', async () => {
    const lines = Array.from({ length: 60_000 }, (_, i) => `${i}|Crème Brûlée ${'é'.repeat(i % 7)}`);
    const path = write('big.txt', lines.join('\n'));
    const read = await collect(readLines(path, 'utf8'));
    assert.equal(read.length, lines.length);
    for (let i = 0; i < lines.length; i++) {
      if (read[i]!.text !== lines[i] || read[i]!.line !== i + 1) assert.fail(`line ${i + 1} read as ${JSON.stringify(read[i])}`);
    }
  });

  it('reads a last line without a newline and skips only trailing blank lines', async () => {
    const path = write('t.txt', 'a\n\n  \nb\r\nc\n\n \n');
    assert.deepEqual(await collect(readLines(path, 'latin1')), [
      { text: 'a', line: 1 },
      { text: '', line: 2 },
      { text: '', line: 3 },
      { text: 'b', line: 4 },
      { text: 'c', line: 5 },
    ]);
    assert.deepEqual(await collect(readLines(write('u.txt', 'x\ny'), 'latin1')), [
      { text: 'x', line: 1 },
      { text: 'y', line: 2 },
    ]);
  });
});
