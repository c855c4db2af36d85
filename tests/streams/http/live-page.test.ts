/**
 * The live page in headless Chromium against a paced `rxrec replay --http-port --keep-serving`
 * behind a bearer token: the charts draw, a picked user's list changes as their ratings stream
 * in, a hostile item id and title show as text and run nothing, and the finished state stays.
 */
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { spawn } from 'node:child_process';
import { appendFileSync } from 'node:fs';
import { once } from 'node:events';
import { join } from 'node:path';
import type { Page } from 'playwright-core';
import type { IndexedRating } from '../../../src/models/model.js';
import { randomRatings, tempDir, writeMl100k } from '../../fixtures.js';
import { CLI } from '../../cli/cli-run.js';
import { headlessChromium } from './chromium.js';

const HOSTILE_ID = '<img src=x onerror=window.__pwned=1>';
const HOSTILE_TITLE = '<img src=y onerror=window.__pwned=2> (1995)';
const TOKEN = 'live-page-token';
const EVENTS = 2700;
/** The watched user's ratings start here: the page has picked them well before. */
const WATCHED_FROM = 1700;
const WATCHED_USER = '41';

/**
 * 40 users rate from the start, every item as often as the others; user 41 only from
 * WATCHED_FROM on. 30 users rate the hostile item early, so it leads the popularity
 * (cold-start) list that user 41 first gets.
 */
function liveDataset(): string {
  const ratings: IndexedRating[] = randomRatings(EVENTS, 40, 60, 11).map((rating, n) => ({ ...rating, item: (7 * n) % 60 }));
  for (let j = 0; j < 15; j++) ratings.push({ user: 40, item: (7 * j) % 60, rating: 5, ts: 1_000_000 + (WATCHED_FROM + 60 * j) * 1000 + 500 });
  const hostileRatings = Array.from({ length: 30 }, (_, user) => `${user + 1}\t${HOSTILE_ID}\t5\t${1000 + 10 * user + 5}`);
  const dir = writeMl100k(ratings, { extraLines: hostileRatings });
  appendFileSync(join(dir, 'u.item'), `${HOSTILE_ID}|${HOSTILE_TITLE}|01-Jan-1995||http://example.org/x|${'0|'.repeat(18)}1\n`, 'latin1');
  return dir;
}

async function replayWithPage(datasetDir: string) {
  const args = ['replay', '--dataset', datasetDir, '--state', tempDir(), '--rate', '300', '--batch-size', '20', '--http-port', '0', '--keep-serving'];
  const child = spawn(process.execPath, [CLI, ...args], { stdio: ['ignore', 'ignore', 'pipe'], env: { ...process.env, RXREC_HTTP_TOKEN: TOKEN } });
  let stderr = '';
  child.stderr.setEncoding('utf8');
  child.stderr.on('data', (chunk: string) => (stderr += chunk));
  const url = await new Promise<string>((resolve, reject) => {
    child.stderr.on('data', () => {
      const match = /live page and metrics on (http:\/\/127\.0\.0\.1:\d+)\//.exec(stderr);
      if (match) resolve(match[1]!);
    });
    child.once('exit', () => reject(new Error(`replay exited: ${stderr}`)));
  });
  return { child, url, stderr: () => stderr };
}

const text = async (page: Page, selector: string) => (await page.locator(selector).textContent()) ?? '';

test(
  'the live page: SVG charts draw, a picked user’s list changes as their ratings arrive, hostile ids are text, the finished state stays browsable',
  { timeout: 180_000 },
  async (t) => {
    const browser = await headlessChromium(t);
    if (!browser) return;
    const datasetDir = liveDataset();
    const { child, url, stderr } = await replayWithPage(datasetDir);
    try {
      const page = await browser.newPage();
      const pageErrors: string[] = [];
      page.on('pageerror', (error) => pageErrors.push(error.message));
      page.on('console', (message) => {
        if (message.type() === 'error') pageErrors.push(message.text());
      });
      await page.goto(`${url}/?token=${TOKEN}`);
      await page.fill('#user', WATCHED_USER);
      await page.click('#picker button');
      await page.locator('#user-status', { hasText: `user ${WATCHED_USER},` }).waitFor();
      const firstStatus = await text(page, '#user-status');
      const firstList = await text(page, '#user-list');
      assert.match(firstStatus, /no ratings yet: the newcomer list/, 'picked before their first rating streamed in');
      assert.match(firstList, /<img src=y onerror=window\.__pwned=2> \(1995\)/, 'the hostile title as text, in the cold-start list');

      for (const chart of ['#chart-rate', '#chart-rmse', '#chart-hit']) {
        await page.locator(`${chart} path[d*="L"]`).first().waitFor();
      }
      assert.ok((await page.locator('#chart-rmse path').count()) >= 3, 'a line per rating model');
      assert.match(await text(page, '#legend-hit'), /popularity \d\.\d{3}/);
      assert.match(await text(page, '#position'), /^[\d,]+ of [\d,]+ \(\d+\.\d %\)$/);

      await page.locator('#user-status', { hasText: 'their list after' }).waitFor({ timeout: 60_000 });
      const knownStatus = await text(page, '#user-status');
      const knownList = await text(page, '#user-list');
      assert.notEqual(knownList, firstList, 'their own list replaced the newcomer list');
      await page.locator('#user-status').filter({ hasNotText: knownStatus }).waitFor({ timeout: 60_000 });
      assert.match(await text(page, '#user-status'), /their list after offset 0:\d+/, 'pushed again after later ratings');

      const body = await text(page, 'body');
      assert.ok(body.includes(HOSTILE_ID), 'the hostile item id shows as text');
      assert.equal(await page.locator('img').count(), 0, 'no markup was made from stream values');
      assert.equal(await page.evaluate('typeof window.__pwned'), 'undefined');

      await page.locator('#status', { hasText: /^finished/ }).waitFor({ timeout: 60_000 });
      assert.match(
        await text(page, '#position'),
        new RegExp(`^${(EVENTS + 45).toLocaleString('en')} of ${(EVENTS + 45).toLocaleString('en')} \\(100\\.0 %\\)$`),
      );
      const reloaded = await browser.newPage();
      await reloaded.goto(`${url}/?token=${TOKEN}&user=${WATCHED_USER}`);
      await reloaded.locator('#status', { hasText: /^finished/ }).waitFor();
      assert.ok((await reloaded.locator('#chart-rmse path[d*="L"]').count()) >= 3, 'the whole run, charted from the history');
      assert.match(await text(reloaded, '#user-status'), /^user 41, their list after/, 'a finished state can be browsed');
      assert.deepEqual(pageErrors, []);

      child.kill('SIGTERM');
      const [code] = await once(child, 'exit');
      assert.equal(code, 0, stderr());
      await page.locator('#status', { hasText: 'the server has stopped' }).waitFor();
    } finally {
      child.kill('SIGKILL');
      await browser.close();
    }
  },
);
