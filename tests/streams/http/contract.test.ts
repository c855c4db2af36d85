import { test, before, after } from 'node:test';
import assert from 'node:assert/strict';
import type { Server } from 'node:http';
import { Ajv2020 } from 'ajv/dist/2020.js';
import itemSchema from '../../../src/schemas/item.schema.json' with { type: 'json' };
import recommendationsSchema from '../../../src/schemas/recommendations.schema.json' with { type: 'json' };
import { StateStore } from '../../../state/store.js';
import { loadRecommender } from '../../../streams/assemble.js';
import { startHttpApi } from '../../../streams/http/server.js';
import { PipelineMetrics } from '../../../streams/metrics.js';
import { randomRatings, tempDir, writeMl100k } from '../../fixtures.js';
import { replayDataset } from '../replay-run.js';
import { rawRequest } from './raw-request.js';

const ratings = randomRatings(3000, 50, 80, 7);
const ajv = new Ajv2020({ strict: true, allErrors: true });
const validList = ajv.compile(recommendationsSchema);
const validItem = ajv.compile(itemSchema);
let store: StateStore;
let server: Server;
let port: number;

before(async () => {
  const stateDir = tempDir();
  await replayDataset(writeMl100k(ratings), stateDir, { batchSize: 400 });
  store = StateStore.open(stateDir);
  const recommender = loadRecommender(store, 10);
  ({ server, port } = await startHttpApi(
    { recommender, registry: new PipelineMetrics().registry, readiness: { notReadyBecause: () => undefined }, state: store },
    { port: 0 },
  ));
});

after(async () => {
  server.close();
  await store.close();
});

function assertContract(body: unknown): void {
  assert.ok(validList(body), JSON.stringify(validList.errors));
}

test("a known user's list follows the recommendations contract: their newest event ts, the stored position, titles", async () => {
  const before = Date.now();
  const response = await rawRequest(port, '/recommendations/3?k=5');
  assert.equal(response.status, 200);
  const list = response.json();
  assertContract(list);
  const newestTs = Math.max(...ratings.filter((r) => r.user === 2).map((r) => Math.floor(r.ts / 1000) * 1000));
  assert.deepEqual(
    { userId: list.userId, model: list.model, known: list.known, eventTs: list.eventTs, sourceOffset: list.sourceOffset },
    { userId: '3', model: 'ensemble', known: true, eventTs: newestTs, sourceOffset: `0:${store.position(0)! - 1}` },
  );
  assert.ok(list.publishedAt >= before && list.publishedAt <= Date.now());
  assert.equal(list.items.length, 5);
  for (const item of list.items) assert.equal(item.title, `Film ${item.itemId} (1995)`);
});

test('an unknown user gets the cold-start list, says so, and still follows the contract', async () => {
  const list = (await rawRequest(port, '/recommendations/nobody')).json();
  assertContract(list);
  assert.deepEqual(
    { known: list.known, model: list.model, sourceOffset: list.sourceOffset, eventTs: list.eventTs },
    {
      known: false,
      model: 'popularity',
      sourceOffset: '',
      eventTs: 0,
    },
  );
  assert.equal(list.items.length, 10);
});

test("GET /items/:itemId gives the item's title and genres; an unknown item is 404", async () => {
  const response = await rawRequest(port, '/items/4');
  assert.equal(response.status, 200);
  const item = response.json();
  assert.ok(validItem(item), JSON.stringify(validItem.errors));
  assert.deepEqual(item, { itemId: '4', title: 'Film 4 (1995)', genres: store.itemLabel('4')!.genres, rated: true });
  assert.ok(item.genres.length > 0);
  const unknown = await rawRequest(port, '/items/no-such-item');
  assert.equal(unknown.status, 404);
  assert.match(unknown.json().error, /unknown item 'no-such-item'/);
});
