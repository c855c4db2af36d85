import { test } from 'node:test';
import assert from 'node:assert/strict';
import { WHOLE_STARS } from '../../../src/events/scale.js';
import { DEFAULT_MODEL_SETTINGS } from '../../../src/models/registry.js';
import { assembleRecommender } from '../../../streams/assemble.js';
import { startHttpApi, type HttpApiParts, type HttpListenOptions } from '../../../streams/http/server.js';
import { PipelineMetrics } from '../../../streams/metrics.js';
import type { BatchReport } from '../../../streams/pipeline.js';
import type { RecommendationList } from '../../../streams/transport.js';
import { randomRatings } from '../../fixtures.js';
import { openEventStream } from './event-stream.js';
import { rawRequest } from './raw-request.js';

const recommender = assembleRecommender({ ...DEFAULT_MODEL_SETTINGS, scale: WHOLE_STARS.name, rankModel: 'ensemble' }, 10);
recommender.applyBatch(
  recommender.index(randomRatings(1500, 30, 40, 3).map((r) => ({ userId: `u${r.user}`, itemId: `i${r.item}`, rating: r.rating, ts: r.ts }))),
);
const state: HttpApiParts['state'] = {
  itemLabel: (itemId) => ({ title: `Film ${itemId}`, genres: [] }),
  userActivity: () => undefined,
  position: () => undefined,
};

function api(listen: Partial<HttpListenOptions> = {}, maxClients?: number) {
  const parts = { recommender, registry: new PipelineMetrics().registry, readiness: { notReadyBecause: () => undefined }, state };
  return startHttpApi({ ...parts, liveFeed: { tickMs: 20, maxClients } }, { port: 0, ...listen });
}

function published(userId: string): RecommendationList {
  return { userId, items: [{ itemId: 'i7', score: 4.2, why: 'popular lately' }], model: 'ensemble', sourceOffset: '0:99', eventTs: 1, publishedAt: 2 };
}

function batch(records: number, lists: RecommendationList[]): BatchReport {
  return { records, applied: records, rejected: 0, rejections: [], positions: new Map([[0, records]]), lists, refreshed: [] };
}

test('GET /events: the history, a summary per tick (events/s, position, figures per model), the newest lists with titles, and a watched user’s list when one is published', async () => {
  const { live, port, close } = await api();
  try {
    const stream = await openEventStream(port, '/events?user=u3');
    assert.equal(stream.status, 200);
    assert.equal(stream.headers['content-type'], 'text/event-stream; charset=utf-8');
    assert.ok(Array.isArray(await stream.next('history')));
    assert.deepEqual(await stream.next('lists'), [], 'nothing published yet');
    const first = await stream.next('user');
    assert.deepEqual([first.userId, first.known, first.items.length], ['u3', true, 10]);
    assert.match(first.items[0].title, /^Film i\d+$/);

    live.progressed({ position: 0, total: 1000 });
    live.batch(batch(100, [published('u3'), published('u5')]), { position: 100, total: 1000 });
    const summary = await stream.next('summary', (s) => s.position === 100);
    assert.equal(summary.total, 1000);
    assert.equal(summary.finished, false);
    assert.ok(summary.eventsPerSecond > 0, 'events/s from the records of the batches');
    assert.deepEqual(summary.ratingModels, ['baseline', 'mf', 'ensemble']);
    assert.ok(summary.models.mf.rmse > 0 && summary.rankingModels.includes('popularity'));
    const lists = await stream.next('lists');
    assert.deepEqual(
      lists.map((list: RecommendationList) => list.userId),
      ['u5', 'u3'],
      'newest first',
    );
    assert.equal(lists[0].items[0].title, 'Film i7');
    assert.equal((await stream.next('user')).userId, 'u3', 'pushed again: a list of theirs was published');

    live.batch(batch(10, [published('u5')]), { position: 110, total: 1000 });
    await stream.next('lists', (next) => next[0].userId === 'u5');
    await assert.rejects(stream.next('user', undefined, 200), /no 'user' message/, 'not for another user’s list');

    live.finish();
    assert.equal((await stream.next('summary', (s) => s.finished)).position, 110);
    const late = await openEventStream(port, '/events');
    const history = await late.next('history');
    assert.deepEqual(
      history.map((s: { position: number }) => s.position).filter((p: number, i: number, all: number[]) => all.indexOf(p) === i),
      [0, 100, 110],
      'a page opened after the end draws the whole run',
    );
    late.close();
    stream.close();
  } finally {
    await close();
  }
});

test('the event stream is bounded: 503 past the client limit, a closed client frees its place; HEAD holds no stream; a bad user is 400; close() ends the streams', async () => {
  const { port, close } = await api({}, 2);
  const first = await openEventStream(port, '/events');
  const second = await openEventStream(port, '/events?user=nobody');
  assert.equal((await second.next('user')).known, false, 'an unknown user gets the newcomer list');
  const third = await rawRequest(port, '/events');
  assert.equal(third.status, 503);
  assert.equal(third.headers['retry-after'], '5');
  first.close();
  await first.ended;
  let again = await openEventStream(port, '/events');
  for (let attempt = 0; again.status !== 200 && attempt < 50; attempt++) {
    again.close();
    await new Promise((wake) => setTimeout(wake, 20));
    again = await openEventStream(port, '/events');
  }
  assert.equal(again.status, 200, 'the closed client was forgotten');
  assert.equal((await rawRequest(port, '/events?user=a%01b')).status, 400);
  assert.equal((await rawRequest(port, '/events?user=')).status, 400);
  await close();
  await Promise.all([second.ended, again.ended]);
  const head = await api();
  const answer = await rawRequest(head.port, '/events', { method: 'HEAD' });
  assert.deepEqual([answer.status, answer.headers['content-type'], answer.text], [200, 'text/event-stream; charset=utf-8', '']);
  await head.close();
});

test('with a bearer token the live page and /events also take ?token= (EventSource sends no header); no other route does', async () => {
  const { port, close } = await api({ token: 's3cret' });
  try {
    for (const path of ['/', '/events']) {
      const missing = await rawRequest(port, path);
      assert.equal(missing.status, 401, path);
      assert.match(missing.json().error, /or open the page as \/\?token=<token>/);
      assert.equal((await rawRequest(port, `${path}?token=wrong`)).status, 401, path);
      assert.equal((await rawRequest(port, `${path}?token=s3cret`, { method: 'HEAD' })).status, 200, path);
      assert.equal(
        (await rawRequest(port, `${path}?token=wrong`, { method: 'HEAD', headers: { authorization: 'Bearer s3cret' } })).status,
        200,
        'the header wins',
      );
    }
    for (const path of ['/metrics', '/summary', '/recommendations/u1', '/items/i1']) {
      const refused = await rawRequest(port, `${path}?token=s3cret`);
      assert.equal(refused.status, 401, path);
      assert.doesNotMatch(refused.json().error, /token=/, 'API clients send the header');
    }
    const page = await rawRequest(port, '/?token=s3cret');
    assert.match(
      String(page.headers['content-security-policy']),
      /^default-src 'none'; script-src 'sha256-[^']+'; style-src 'sha256-[^']+'; connect-src 'self'/,
    );
    assert.equal(page.headers['referrer-policy'], 'no-referrer');
    assert.equal(page.headers['cache-control'], 'no-store');
  } finally {
    await close();
  }
});
