/** The downloader against a local server on 127.0.0.1 serving zips built here (never MovieLens itself). */
import AdmZip from 'adm-zip';
import assert from 'node:assert/strict';
import { createHash } from 'node:crypto';
import { existsSync, mkdirSync, readFileSync, readdirSync, writeFileSync } from 'node:fs';
import { createServer, type Server } from 'node:http';
import type { AddressInfo } from 'node:net';
import { join } from 'node:path';
import { after, before, describe, it } from 'node:test';
import { openDataset } from '../../src/datasets/detect.js';
import { defaultCacheDir, downloadDataset } from '../../streams/datasets/download.js';
import { tempDir } from '../fixtures.js';

const RATINGS_CSV = 'userId,movieId,rating,timestamp\n1,1,4.0,964982703\n1,3,4.5,964981247\n';
const MOVIES_CSV = 'movieId,title,genres\n1,Toy Story (1995),Comedy\n3,"Grumpier Old Men, The (1995)",Comedy|Romance\n';

function zipOf(files: Record<string, string>): Buffer {
  const zip = new AdmZip();
  for (const [name, text] of Object.entries(files)) zip.addFile(name, Buffer.from(text));
  return zip.toBuffer();
}

const md5 = (bytes: Buffer): string => createHash('md5').update(bytes).digest('hex');

const goodZip = zipOf({ 'ml-latest-small/ratings.csv': RATINGS_CSV, 'ml-latest-small/movies.csv': MOVIES_CSV });
const strayZip = zipOf({ 'ml-latest-small/ratings.csv': RATINGS_CSV, 'elsewhere/evil.txt': 'x' });
const fake100k = zipOf({ 'ml-100k/u.data': '1\t1\t3\t881250949\n' });

/** path → body; '/hang/…' never answers. */
const routes = new Map<string, Buffer | string>([
  ['/good/ml-latest-small.zip', goodZip],
  ['/good/ml-latest-small.zip.md5', `MD5 (ml-latest-small.zip) = ${md5(goodZip)}\n`],
  ['/corrupt/ml-latest-small.zip', goodZip],
  ['/corrupt/ml-latest-small.zip.md5', `${'0'.repeat(32)}  ml-latest-small.zip\n`],
  ['/stray/ml-latest-small.zip', strayZip],
  ['/stray/ml-latest-small.zip.md5', md5(strayZip)],
  ['/good/ml-100k.zip', fake100k],
  ['/nochecksum/ml-latest-small.zip.md5', 'checksums are published elsewhere'],
]);

let server: Server;
let baseUrl: string;
let requests: string[] = [];

before(async () => {
  server = createServer((request, response) => {
    requests.push(request.url ?? '');
    if (request.url?.startsWith('/hang/')) return;
    const body = routes.get(request.url ?? '');
    if (body === undefined) {
      response.writeHead(404, 'Not Found').end();
      return;
    }
    response.writeHead(200, { 'content-length': Buffer.byteLength(body) }).end(body);
  });
  await new Promise<void>((resolve) => server.listen(0, '127.0.0.1', resolve));
  baseUrl = `http://127.0.0.1:${(server.address() as AddressInfo).port}`;
});

after(() => {
  server.closeAllConnections();
  server.close();
});

describe('downloadDataset', () => {
  it('downloads, checks the published MD5, extracts into <cache>/<name> and reuses it afterwards', async () => {
    const cache = tempDir();
    const progress: Array<[number, number | undefined]> = [];
    requests = [];
    const result = await downloadDataset('ml-latest-small', cache, {
      baseUrl: `${baseUrl}/good/`,
      onProgress: (received, total) => progress.push([received, total]),
    });
    assert.deepEqual(result, { dir: join(cache, 'ml-latest-small'), status: 'downloaded', md5: md5(goodZip) });
    assert.deepEqual(requests, ['/good/ml-latest-small.zip.md5', '/good/ml-latest-small.zip']);
    assert.deepEqual(progress.at(-1), [goodZip.length, goodZip.length]);
    assert.equal(readFileSync(join(cache, 'ml-latest-small', 'movies.csv'), 'utf8'), MOVIES_CSV);
    assert.deepEqual(readdirSync(cache), ['ml-latest-small'], 'no archive or scratch folder is left behind');
    assert.equal((await openDataset(result.dir)).format, 'ml-csv');

    requests = [];
    const again = await downloadDataset('ml-latest-small', cache, { baseUrl: `${baseUrl}/good/` });
    assert.deepEqual(again, { dir: join(cache, 'ml-latest-small'), status: 'cached', md5: md5(goodZip) });
    assert.deepEqual(requests, []);
  });

  it('rejects an archive whose MD5 does not match, and keeps nothing of it', async () => {
    const cache = tempDir();
    await assert.rejects(downloadDataset('ml-latest-small', cache, { baseUrl: `${baseUrl}/corrupt` }), {
      message: `checksum mismatch for ml-latest-small.zip: expected MD5 ${'0'.repeat(32)}, got ${md5(goodZip)} — the download is corrupt or was changed upstream; try again`,
    });
    assert.deepEqual(readdirSync(cache), []);
  });

  it('checks ml-100k against the MD5 known from GroupLens, not one served beside it', async () => {
    const cache = tempDir();
    await assert.rejects(downloadDataset('ml-100k', cache, { baseUrl: `${baseUrl}/good` }), {
      message: `checksum mismatch for ml-100k.zip: expected MD5 0e33842e24a9c977be4e0107933c0723, got ${md5(fake100k)} — the download is corrupt or was changed upstream; try again`,
    });
  });

  it('refuses to extract entries outside the dataset folder', async () => {
    const cache = tempDir();
    await assert.rejects(downloadDataset('ml-latest-small', cache, { baseUrl: `${baseUrl}/stray` }), {
      message: "ml-latest-small.zip holds 'elsewhere/evil.txt' outside its ml-latest-small/ folder: refusing to extract it",
    });
    assert.equal(existsSync(join(cache, 'elsewhere')), false);
  });

  it('uses a folder placed in the cache by hand without downloading', async () => {
    const cache = tempDir();
    mkdirSync(join(cache, 'ml-1m'));
    writeFileSync(join(cache, 'ml-1m', 'ratings.dat'), '1::1::5::978300760\n');
    writeFileSync(join(cache, 'ml-1m', 'users.dat'), '1::F::1::10::48067\n');
    assert.deepEqual(await downloadDataset('ml-1m', cache, { baseUrl: 'http://127.0.0.1:9/unused' }), { dir: join(cache, 'ml-1m'), status: 'placed' });
  });

  it('fails with one line naming the host, the cause and what to do: no network, HTTP error, silence, no checksum', async () => {
    const cache = tempDir();
    const advice = `check your network, or put the extracted folder in ${join(cache, 'ml-100k')}`;
    // .invalid never resolves; a resolver without upstream may say EAI_AGAIN instead of ENOTFOUND.
    await assert.rejects(downloadDataset('ml-100k', cache, { baseUrl: 'http://files.rxrec-test.invalid/movielens' }), (error: Error) => {
      assert.match(error.message, /^cannot download ml-100k from files\.rxrec-test\.invalid: getaddrinfo (ENOTFOUND|EAI_AGAIN) files\.rxrec-test\.invalid — /);
      assert.ok(error.message.endsWith(advice) && !error.message.includes('\n'));
      return true;
    });
    await assert.rejects(downloadDataset('ml-100k', cache, { baseUrl: `${baseUrl}/missing` }), {
      message: `cannot download ml-100k from ${new URL(baseUrl).host}: HTTP 404 Not Found for ${baseUrl}/missing/ml-100k.zip — ${advice}`,
    });
    const started = Date.now();
    await assert.rejects(downloadDataset('ml-100k', cache, { baseUrl: `${baseUrl}/hang`, timeoutMs: 200 }), {
      message: `cannot download ml-100k from ${new URL(baseUrl).host}: no response within 0.2 s — ${advice}`,
    });
    assert.ok(Date.now() - started < 5000);
    await assert.rejects(downloadDataset('ml-latest-small', cache, { baseUrl: `${baseUrl}/nochecksum` }), {
      message: `cannot download ml-latest-small from ${new URL(baseUrl).host}: ${baseUrl}/nochecksum/ml-latest-small.zip.md5 holds no MD5 checksum — check your network, or put the extracted folder in ${join(cache, 'ml-latest-small')}`,
    });
  });

  it('names the datasets it can fetch', async () => {
    await assert.rejects(downloadDataset('ml-25m', tempDir()), { message: "unknown dataset 'ml-25m': choose one of ml-100k, ml-1m, ml-latest-small" });
  });

  it('caches under $RXREC_CACHE/datasets', () => {
    const saved = process.env.RXREC_CACHE;
    process.env.RXREC_CACHE = '/somewhere/cache';
    try {
      assert.equal(defaultCacheDir(), '/somewhere/cache/datasets');
    } finally {
      if (saved === undefined) delete process.env.RXREC_CACHE;
      else process.env.RXREC_CACHE = saved;
    }
  });
});
