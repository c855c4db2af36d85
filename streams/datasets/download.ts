/**
 * Fetches a MovieLens archive from GroupLens into a local cache, checks its MD5 and extracts it,
 * as other recommender toolkits do (Surprise, RecBole). The archive is never kept or committed:
 * the licence forbids redistribution. Without network it fails at once with one line that says
 * where to put a folder fetched by other means.
 *
 * The cache is `$RXREC_CACHE/datasets`, else `~/.cache/rxrec/datasets`; a dataset lands in
 * `<cache>/<name>/` with a `.rxrec-verified` file holding the checked MD5.
 */
import AdmZip from 'adm-zip';
import { createHash } from 'node:crypto';
import { createWriteStream } from 'node:fs';
import { mkdir, readFile, rename, rm, writeFile } from 'node:fs/promises';
import { once } from 'node:events';
import { homedir } from 'node:os';
import { join } from 'node:path';
import { finished } from 'node:stream/promises';
import { openDataset } from '../../src/datasets/detect.js';

export const DOWNLOADABLE_DATASETS = ['ml-100k', 'ml-1m', 'ml-latest-small'] as const;
export type DownloadableDataset = (typeof DOWNLOADABLE_DATASETS)[number];

export const GROUPLENS_BASE_URL = 'https://files.grouplens.org/datasets/movielens';

/** From movielens.md; ml-latest-small changes with each release, so its `.md5` file is fetched. */
const KNOWN_MD5: Partial<Record<DownloadableDataset, string>> = {
  'ml-100k': '0e33842e24a9c977be4e0107933c0723',
  'ml-1m': 'c4d9eecfca2ab87c1945afe126590906',
};

const VERIFIED_MARKER = '.rxrec-verified';
const DEFAULT_TIMEOUT_MS = 15_000;

export interface DownloadOptions {
  /** Where the archives are served; GroupLens unless a test serves its own. */
  readonly baseUrl?: string;
  /** Longest wait for a response or for the next chunk of the body. */
  readonly timeoutMs?: number;
  readonly onProgress?: (receivedBytes: number, totalBytes: number | undefined) => void;
}

export interface DownloadResult {
  readonly dir: string;
  /** 'placed' is a folder put in the cache by hand: usable, but its archive was never checked. */
  readonly status: 'downloaded' | 'cached' | 'placed';
  readonly md5?: string;
}

/** `datasets/` under rxrec's cache root ($RXREC_CACHE, else ~/.cache/rxrec), as the CLI's defaults use it. */
export function defaultCacheDir(): string {
  return join(process.env.RXREC_CACHE || join(homedir(), '.cache', 'rxrec'), 'datasets');
}

export function isDownloadable(name: string): name is DownloadableDataset {
  return (DOWNLOADABLE_DATASETS as readonly string[]).includes(name);
}

export async function downloadDataset(name: string, cacheDir: string = defaultCacheDir(), options: DownloadOptions = {}): Promise<DownloadResult> {
  if (!isDownloadable(name)) {
    throw new Error(`unknown dataset '${name}': choose one of ${DOWNLOADABLE_DATASETS.join(', ')}`);
  }
  const target = join(cacheDir, name);
  const cached = await readFile(join(target, VERIFIED_MARKER), 'utf8').catch(() => undefined);
  if (cached !== undefined && (await isDataset(target))) return { dir: target, status: 'cached', md5: cached.trim() };
  if (cached === undefined && (await isDataset(target))) return { dir: target, status: 'placed' };

  const baseUrl = (options.baseUrl ?? GROUPLENS_BASE_URL).replace(/\/+$/, '');
  const timeoutMs = options.timeoutMs ?? DEFAULT_TIMEOUT_MS;
  const archiveUrl = `${baseUrl}/${name}.zip`;
  const failure = (reason: string): Error =>
    new Error(`cannot download ${name} from ${new URL(archiveUrl).host}: ${reason} — check your network, or put the extracted folder in ${target}`);

  await mkdir(cacheDir, { recursive: true }).catch((error: NodeJS.ErrnoException) => {
    throw new Error(`cannot create the dataset cache ${cacheDir}: ${error.code ?? error.message} — set RXREC_CACHE or --cache to a writable folder`);
  });
  const expectedMd5 = KNOWN_MD5[name] ?? (await fetchPublishedMd5(`${archiveUrl}.md5`, timeoutMs, failure));

  const archivePath = join(cacheDir, `${name}.zip.part`);
  try {
    const actualMd5 = await fetchToFile(archiveUrl, archivePath, timeoutMs, failure, options.onProgress);
    if (actualMd5 !== expectedMd5) {
      throw new Error(
        `checksum mismatch for ${name}.zip: expected MD5 ${expectedMd5}, got ${actualMd5} — the download is corrupt or was changed upstream; try again`,
      );
    }
    await extractArchive(archivePath, name, cacheDir, target);
  } finally {
    await rm(archivePath, { force: true });
  }
  await writeFile(join(target, VERIFIED_MARKER), `${expectedMd5}\n`);
  return { dir: target, status: 'downloaded', md5: expectedMd5 };
}

async function isDataset(dir: string): Promise<boolean> {
  return openDataset(dir).then(
    (dataset) => dataset.dir === dir,
    () => false,
  );
}

/** The `.md5` file beside an archive: `MD5 (x.zip) = <hex>` or `<hex>  x.zip`; either way one 32-digit hex word. */
async function fetchPublishedMd5(url: string, timeoutMs: number, failure: (reason: string) => Error): Promise<string> {
  const text = await withTimeout(timeoutMs, failure, async (signal, keepAlive) => {
    const response = await fetchOrFail(url, signal, failure);
    keepAlive();
    return response.text();
  });
  const md5 = /\b[0-9a-f]{32}\b/i.exec(text)?.[0];
  if (!md5) throw failure(`${url} holds no MD5 checksum`);
  return md5.toLowerCase();
}

/** Streams the body to `path`, hashing as it goes; returns the MD5 hex. */
async function fetchToFile(
  url: string,
  path: string,
  timeoutMs: number,
  failure: (reason: string) => Error,
  onProgress: DownloadOptions['onProgress'],
): Promise<string> {
  return withTimeout(timeoutMs, failure, async (signal, keepAlive) => {
    const response = await fetchOrFail(url, signal, failure);
    const length = Number(response.headers.get('content-length'));
    const total = Number.isFinite(length) && length > 0 ? length : undefined;
    const hash = createHash('md5');
    const out = createWriteStream(path);
    let received = 0;
    try {
      for await (const chunk of response.body as unknown as AsyncIterable<Uint8Array>) {
        keepAlive();
        hash.update(chunk);
        received += chunk.byteLength;
        onProgress?.(received, total);
        if (!out.write(chunk)) await once(out, 'drain');
      }
    } catch (error) {
      out.destroy();
      throw signal.aborted ? failure((signal.reason as Error).message) : failure(`the transfer broke off: ${(error as Error).message}`);
    }
    out.end();
    await finished(out);
    return hash.digest('hex');
  });
}

async function fetchOrFail(url: string, signal: AbortSignal, failure: (reason: string) => Error): Promise<Response> {
  let response: Response;
  try {
    response = await fetch(url, { signal });
  } catch (error) {
    if (signal.aborted) throw failure((signal.reason as Error).message);
    const cause = (error as Error & { cause?: Error }).cause;
    throw failure(cause?.message ?? (error as Error).message);
  }
  if (!response.ok) throw failure(`HTTP ${response.status} ${response.statusText} for ${url}`);
  return response;
}

/**
 * Runs `work` under an inactivity timeout: it aborts when no progress is reported (`keepAlive`)
 * for `timeoutMs`, so a dead network fails fast but a slow, steady download is never cut.
 */
async function withTimeout<T>(
  timeoutMs: number,
  failure: (reason: string) => Error,
  work: (signal: AbortSignal, keepAlive: () => void) => Promise<T>,
): Promise<T> {
  const controller = new AbortController();
  const expire = (): void => controller.abort(new Error(`no response within ${timeoutMs / 1000} s`));
  let timer = setTimeout(expire, timeoutMs);
  const keepAlive = (): void => {
    clearTimeout(timer);
    timer = setTimeout(expire, timeoutMs);
  };
  try {
    return await work(controller.signal, keepAlive);
  } catch (error) {
    if (controller.signal.aborted) throw failure((controller.signal.reason as Error).message);
    throw error;
  } finally {
    clearTimeout(timer);
  }
}

/** Extracts to a scratch folder first, so an interrupted extraction never looks like a dataset. */
async function extractArchive(archivePath: string, name: string, cacheDir: string, target: string): Promise<void> {
  let archive: AdmZip;
  try {
    archive = new AdmZip(archivePath);
  } catch (error) {
    throw new Error(`${name}.zip is not a readable zip archive: ${(error as Error).message}`);
  }
  const stray = archive.getEntries().find((entry) => !entry.entryName.startsWith(`${name}/`) || entry.entryName.includes('..'));
  if (stray) throw new Error(`${name}.zip holds '${stray.entryName}' outside its ${name}/ folder: refusing to extract it`);

  const scratch = join(cacheDir, `.${name}.extracting`);
  await rm(scratch, { recursive: true, force: true });
  archive.extractAllTo(scratch, true);
  await rm(target, { recursive: true, force: true });
  await rename(join(scratch, name), target);
  await rm(scratch, { recursive: true, force: true });
}
