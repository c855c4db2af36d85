import { test } from 'node:test';
import assert from 'node:assert/strict';
import { WHOLE_STARS } from '../../../src/events/scale.js';
import { Popularity } from '../../../src/models/popularity.js';
import { DEFAULT_MODEL_SETTINGS } from '../../../src/models/registry.js';
import { Recommender } from '../../../src/recommender.js';
import { assembleRecommender } from '../../../streams/assemble.js';
import { startHttpApi } from '../../../streams/http/server.js';
import { PipelineMetrics } from '../../../streams/metrics.js';
import { FeaturePlacer } from '../../feature-placer.js';
import { randomRatings } from '../../fixtures.js';

async function api(notReady?: string) {
  const recommender = assembleRecommender(
    { ...DEFAULT_MODEL_SETTINGS, models: [...DEFAULT_MODEL_SETTINGS.models, 'knn-item'], scale: WHOLE_STARS.name, rankModel: 'ensemble' },
    10,
  );
  const events = randomRatings(3000, 40, 60, 9).map((r) => ({ userId: `u${r.user}`, itemId: `i${r.item}`, rating: r.rating, ts: r.ts }));
  recommender.applyBatch(recommender.index(events));
  const metrics = new PipelineMetrics({ processMetrics: true });
  metrics.applied.inc(events.length);
  const { server, port } = await startHttpApi({ recommender, registry: metrics.registry, readiness: { notReadyBecause: () => notReady } }, { port: 0 });
  const get = async (path: string) => {
    const response = await fetch(`http://127.0.0.1:${port}${path}`);
    const text = await response.text();
    return { status: response.status, type: response.headers.get('content-type') ?? '', text, json: () => JSON.parse(text) };
  };
  return { recommender, server, get };
}

test('GET /recommendations/:userId gives the list without rated items, and the cold-start list for a new user', async () => {
  const { recommender, server, get } = await api();
  try {
    const known = await get('/recommendations/u3?k=5');
    assert.equal(known.status, 200);
    const body = known.json();
    assert.equal(body.items.length, 5);
    assert.equal(body.known, true);
    const rated = recommender.histories.itemsOf(recommender.catalog.users.lookup('u3'));
    for (const item of body.items) assert.ok(!rated.has(recommender.catalog.items.lookup(item.itemId)));
    const cold = (await get('/recommendations/newcomer')).json();
    assert.equal(cold.known, false);
    assert.equal(cold.items.length, 10);
    assert.deepEqual(
      cold.items.map((item: { itemId: string }) => item.itemId),
      recommender.coldStartList(10).map((entry) => recommender.catalog.items.idAt(entry.index)),
      'the cold-start list',
    );
    assert.deepEqual([cold.sourceOffset, cold.eventTs], ['', 0], 'a list no event of the user led to');
    assert.equal((await get('/recommendations/u3?k=0')).status, 400);
    assert.equal((await get('/recommendations/')).status, 400);
  } finally {
    server.close();
  }
});

test('GET /similar/:itemId gives knn-item neighbours; unknown items are 404', async () => {
  const { server, get } = await api();
  try {
    const similar = await get('/similar/i1?k=3');
    assert.equal(similar.status, 200);
    const body = similar.json();
    assert.equal(body.itemId, 'i1');
    assert.ok(body.neighbours.length > 0 && body.neighbours.length <= 3);
    assert.equal((await get('/similar/unknown')).status, 404);
  } finally {
    server.close();
  }
});

test('health, metrics and the live page', async () => {
  const ready = await api();
  const lagging = await api('consumer lag 5000 > 1000');
  try {
    assert.equal((await ready.get('/health/live')).status, 200);
    assert.equal((await ready.get('/health/ready')).status, 200);
    const notReady = await lagging.get('/health/ready');
    assert.equal(notReady.status, 503);
    assert.equal(notReady.json().reason, 'consumer lag 5000 > 1000');
    const metrics = await ready.get('/metrics');
    assert.match(metrics.type, /text\/plain/);
    assert.match(metrics.text, /^rxrec_events_applied_total 3000$/m);
    // Node's process metrics under their standard names, not prefixed.
    for (const name of ['process_cpu_seconds_total', 'process_resident_memory_bytes', 'nodejs_heap_size_used_bytes', 'nodejs_eventloop_lag_seconds']) {
      assert.match(metrics.text, new RegExp(`^${name} [0-9.e+-]+$`, 'm'), name);
    }
    assert.doesNotMatch(metrics.text, /^rxrec_(process|nodejs)_/m);
    const page = await ready.get('/');
    assert.match(page.type, /text\/html/);
    assert.match(page.text, /<title>rxrec live<\/title>/);
    const summary = (await ready.get('/summary')).json();
    assert.ok(summary.models.mf.rmse > 0);
    assert.equal((await ready.get('/nothing-here')).status, 404);
  } finally {
    ready.server.close();
    lagging.server.close();
  }
});

interface ListBody {
  readonly model: string;
  readonly known: boolean;
  readonly items: ReadonlyArray<{ readonly itemId: string; readonly why: string }>;
}

test('GET /recommendations/:userId places a user without ratings from their side features when a model can', async () => {
  const popularity = new Popularity();
  const recommender = new Recommender([popularity, new FeaturePlacer()], popularity, { scale: WHOLE_STARS, k: 10, relevanceThreshold: 4, rankingShare: 1 });
  const events = randomRatings(500, 20, 30, 4).map((r) => ({ userId: `u${r.user}`, itemId: `i${r.item}`, rating: r.rating, ts: r.ts }));
  recommender.applyBatch(recommender.index(events));
  recommender.catalog.features.setUser('new-f', { age: 30, gender: 'F' });
  recommender.catalog.features.setUser('new-m', { age: 30, gender: 'M' });
  const metrics = new PipelineMetrics();
  const { server, port } = await startHttpApi({ recommender, registry: metrics.registry, readiness: { notReadyBecause: () => undefined } }, { port: 0 });
  const get = async (path: string) => (await (await fetch(`http://127.0.0.1:${port}${path}`)).json()) as ListBody;
  try {
    const female = await get('/recommendations/new-f?k=3');
    const male = await get('/recommendations/new-m?k=3');
    assert.deepEqual(
      { model: female.model, known: female.known, why: female.items[0].why },
      { model: 'two-tower', known: false, why: 'fits people like you (two-tower, side features)' },
    );
    assert.equal(female.items.length, 3);
    assert.notDeepEqual(female.items, male.items, 'different features, different lists');
    const cold = await get('/recommendations/nobody?k=3');
    assert.equal(cold.model, 'popularity');
    assert.deepEqual(
      cold.items.map((item) => item.itemId),
      recommender.coldStartList(3).map((entry) => recommender.catalog.items.idAt(entry.index)),
    );
    const known = await get('/recommendations/u1?k=3');
    assert.equal(known.model, 'popularity');
    assert.equal(known.known, true);
  } finally {
    server.close();
  }
});
