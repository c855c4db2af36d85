import { test } from 'node:test';
import assert from 'node:assert/strict';
import { writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { pathToFileURL } from 'node:url';
import { StateStore } from '../../state/store.js';
import { loadRecommender } from '../../streams/assemble.js';
import { reportHtml } from '../../streams/report/report.js';
import { randomRatings, tempDir, writeMl100k } from '../fixtures.js';
import { replayDataset } from './replay-run.js';
import { headlessChromium } from './http/chromium.js';

const ratings = randomRatings(5000, 60, 90, 11);

const replayTo = (stateDir: string, dataset: string, stopAtOffset?: number) => replayDataset(dataset, stateDir, { stopAtOffset });

test('the replay records its series, and a resumed replay continues it', async () => {
  const dataset = writeMl100k(ratings);
  const stateDir = tempDir();
  await replayTo(stateDir, dataset, 2600);
  await replayTo(stateDir, dataset);
  const store = StateStore.open(stateDir);
  try {
    const points = store.seriesPoints();
    const positions = points.map((p) => p.position);
    // After the first batch past each 1,000 records (batches of 250 from 2,600 end at 3,100, 4,100), and where each run ended.
    assert.deepEqual(positions, [1000, 2000, 2600, 3100, 4100, 5000]);
    assert.equal(new Set(points.map((p) => p.run)).size, 2, 'two runs');
    const last = points.at(-1)!;
    assert.ok((last.models.ensemble?.rmse ?? 0) > 0 && (last.models.ensemble?.hitAt10 ?? -1) >= 0);
    const latencies = points.reduce((sum, p) => sum + p.latency.reduce((a, b) => a + b, 0), 0);
    assert.equal(latencies, ratings.length, 'every event published once, its latency counted once');
  } finally {
    await store.close();
  }
});

test('rxrec report: the HTML renders its charts in headless Chromium, without console errors, and escapes what it shows', async (t) => {
  const dataset = writeMl100k(ratings);
  const stateDir = tempDir();
  await replayTo(stateDir, dataset);
  const store = StateStore.open(stateDir);
  let html: string;
  try {
    const recommender = loadRecommender(store, 10);
    html = reportHtml({
      stateDir: `${stateDir}<img src=x onerror=window.__pwned=1>`,
      series: store.seriesPoints(),
      config: store.boundConfig() as Record<string, unknown>,
      figures: recommender.evaluator.figures().models,
      references: { source: 'test', rows: [{ model: '<b>toolkit</b>', protocol: 'seeds', rmse: 0.93 }] },
      generatedAt: new Date(0),
    });
  } finally {
    await store.close();
  }
  const file = join(tempDir(), 'report.html');
  writeFileSync(file, html);
  const browser = await headlessChromium(t);
  if (!browser) return;
  try {
    const page = await browser.newPage();
    const errors: string[] = [];
    page.on('console', (message) => message.type() === 'error' && errors.push(message.text()));
    page.on('pageerror', (error) => errors.push(error.message));
    await page.goto(pathToFileURL(file).href);
    // A string, evaluated in the page (the test's own types have no DOM).
    const charts = (await page.evaluate(`[...document.querySelectorAll('svg')].map((svg) => ({
      title: svg.querySelector('.title')?.textContent,
      width: svg.getBoundingClientRect().width,
      lines: [...svg.querySelectorAll('polyline.series')].map((line) => line.getAttribute('points').split(' ').length),
      bars: [...svg.querySelectorAll('rect.bar')].filter((bar) => bar.getBoundingClientRect().height > 0).length,
    }))`)) as Array<{ title: string; width: number; lines: number[]; bars: number }>;
    assert.equal(charts.length, 4);
    const [rmse, hits, throughput, latency] = charts;
    assert.ok(charts.every((chart) => chart.width > 100));
    assert.deepEqual(rmse!.lines.length, 3, 'baseline, mf and the ensemble');
    assert.ok(rmse!.lines.every((n) => n >= 5));
    assert.equal(hits!.lines.length, 5, 'every ranking model');
    assert.ok(throughput!.lines[0]! >= 3);
    assert.ok(latency!.bars >= 1);
    assert.equal(await page.locator('img').count(), 0);
    assert.equal(await page.evaluate('typeof window.__pwned'), 'undefined');
    assert.match(await page.locator('table').last().innerText(), /<b>toolkit<\/b>/);
    assert.deepEqual(errors, []);
  } finally {
    await browser.close();
  }
});
