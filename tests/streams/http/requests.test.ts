import { test, after } from 'node:test';
import assert from 'node:assert/strict';
import type { Server } from 'node:net';
import { WHOLE_STARS } from '../../../src/events/scale.js';
import { DEFAULT_MODEL_SETTINGS } from '../../../src/models/registry.js';
import { assembleRecommender } from '../../../streams/assemble.js';
import { startHttpApi, type HttpListenOptions } from '../../../streams/http/server.js';
import { PipelineMetrics } from '../../../streams/metrics.js';
import { randomRatings } from '../../fixtures.js';
import { rawExchange, rawRequest } from './raw-request.js';

const recommender = assembleRecommender(
  { ...DEFAULT_MODEL_SETTINGS, models: [...DEFAULT_MODEL_SETTINGS.models, 'knn-item'], scale: WHOLE_STARS.name, rankModel: 'ensemble' },
  10,
);
recommender.applyBatch(
  recommender.index(randomRatings(1500, 30, 40, 3).map((r) => ({ userId: `u${r.user}`, itemId: `i${r.item}`, rating: r.rating, ts: r.ts }))),
);
const servers: Server[] = [];
after(() => servers.forEach((server) => server.close()));

async function api(listen: Partial<HttpListenOptions> = {}) {
  const { server, port } = await startHttpApi(
    { recommender, registry: new PipelineMetrics().registry, readiness: { notReadyBecause: () => undefined } },
    { port: 0, ...listen },
  );
  servers.push(server);
  return port;
}

test('the API listens on 127.0.0.1 unless told otherwise', async () => {
  const { server, host } = await startHttpApi(
    { recommender, registry: new PipelineMetrics().registry, readiness: { notReadyBecause: () => undefined } },
    { port: 0 },
  );
  servers.push(server);
  // The public port's bound address, as its socket reports it.
  assert.equal(host, '127.0.0.1');
});

test('only the exact paths of the route table are served: near misses and trailing slashes are 404', async () => {
  const port = await api();
  for (const path of ['/health/live', '/health/ready', '/metrics', '/', '/summary', '/recommendations/u1', '/similar/i1', '/items/i1']) {
    assert.equal((await rawRequest(port, path)).status, 200, path);
  }
  for (const path of [
    '/health/anything',
    '/health',
    '/health/live/',
    '/health/ready/x',
    '/metrics/',
    '/metricsx',
    '/recommendations',
    '/recommendations/u1/',
    '/recommendations/u1/more',
    '/similar/i1/',
    '/items',
    '//recommendations/u1',
    '/nothing-here',
  ]) {
    const response = await rawRequest(port, path);
    assert.equal(response.status, 404, path);
    assert.match(response.json().error, /no such resource/);
  }
});

test('a bad id is 400 with the reason: empty, longer than 256, control characters, a malformed %-escape', async () => {
  const port = await api();
  const cases: Array<[string, RegExp]> = [
    ['/recommendations/', /missing user id/],
    ['/items/', /missing item id/],
    [`/recommendations/${'u'.repeat(257)}`, /257 characters long, more than 256/],
    [`/similar/${'%41'.repeat(257)}`, /item id is 257 characters long/],
    ['/recommendations/u%01', /control character/],
    ['/items/i%7F', /control character/],
    ['/recommendations/%E0%A4%A', /malformed %-escape in the user id/],
    ['/similar/%zz', /malformed %-escape in the item id/],
    ['/items/%', /malformed %-escape/],
  ];
  for (const [path, reason] of cases) {
    const response = await rawRequest(port, path);
    assert.equal(response.status, 400, path);
    assert.match(response.json().error, reason, path);
  }
  assert.equal((await rawRequest(port, `/recommendations/${'u'.repeat(256)}`)).status, 200, '256 characters are allowed');
  assert.equal((await rawRequest(port, '/recommendations/caf%C3%A9')).json().userId, 'café');
});

test('k must be an integer from 1 to maxK on /recommendations and /similar; /metrics ignores query parameters', async () => {
  const port = await api({});
  for (const k of ['0', '101', '-1', '1.5', 'abc', '', '1e1', '0x10', '%20']) {
    for (const path of [`/recommendations/u1?k=${k}`, `/similar/i1?k=${k}`]) {
      const response = await rawRequest(port, path);
      assert.equal(response.status, 400, path);
      assert.match(response.json().error, /k must be an integer from 1 to 100/, path);
    }
  }
  const rated = recommender.histories.itemsOf(recommender.catalog.users.lookup('u1')).size;
  assert.equal((await rawRequest(port, '/recommendations/u1?k=100')).json().items.length, 40 - rated, 'k = maxK is allowed');
  assert.equal((await rawRequest(port, '/recommendations/u1?k=3&other=1')).json().items.length, 3);
  for (const path of ['/metrics?k=0', '/metrics?name[]=x&k=abc', '/health/ready?k=0', '/?k=-5']) assert.equal((await rawRequest(port, path)).status, 200, path);
});

test('other methods on known paths are 405 with Allow; on unknown paths 404; HEAD is answered without a body', async () => {
  const port = await api();
  for (const [method, path] of [
    ['POST', '/metrics'],
    ['PUT', '/recommendations/u1'],
    ['DELETE', '/items/i1'],
    ['OPTIONS', '/health/live'],
  ]) {
    const response = await rawRequest(port, path!, { method });
    assert.equal(response.status, 405, `${method} ${path}`);
    assert.equal(response.headers.allow, 'GET, HEAD');
  }
  assert.equal((await rawRequest(port, '/nowhere', { method: 'POST' })).status, 404);
  const head = await rawRequest(port, '/health/live', { method: 'HEAD' });
  assert.deepEqual([head.status, head.text], [200, '']);
});

test('request limits: a GET with a body is 400, headers over 16 KiB are 431, a request that never ends is cut off with 408', async () => {
  const port = await api({ requestTimeoutMs: 300 });
  const withBody = await rawRequest(port, '/metrics', { body: 'x=1', headers: { 'content-type': 'text/plain' } });
  assert.equal(withBody.status, 400);
  assert.match(withBody.json().error, /carries no body/);
  const chunked = await rawRequest(port, '/health/live', { headers: { 'transfer-encoding': 'chunked' }, body: 'abc' });
  assert.equal(chunked.status, 400);
  assert.equal((await rawRequest(port, '/health/live', { headers: { 'x-filler': 'a'.repeat(8 * 1024) } })).status, 200, '8 KiB of headers pass');
  const huge = await rawExchange(port, `GET /health/live HTTP/1.1\r\nHost: x\r\nX-Filler: ${'a'.repeat(17 * 1024)}\r\n\r\n`);
  assert.match(huge, /^HTTP\/1\.1 431 /);
  const started = performance.now();
  const stalled = await rawExchange(port, 'GET /health/live HTTP/1.1\r\nHost: x\r\n');
  assert.match(stalled, /^HTTP\/1\.1 408 /);
  assert.ok(performance.now() - started < 5000, 'cut off near the request timeout');
});

test('with a bearer token every route but /health/* needs it: 401 with WWW-Authenticate when missing or wrong', async () => {
  const port = await api({ token: 's3cret-token' });
  for (const path of ['/', '/metrics', '/summary', '/recommendations/u1', '/similar/i1', '/items/i1']) {
    const missing = await rawRequest(port, path);
    assert.equal(missing.status, 401, path);
    assert.equal(missing.headers['www-authenticate'], 'Bearer realm="rxrec"');
    assert.match(missing.json().error, /missing bearer token/);
    for (const authorization of ['Bearer wrong', 'Bearer s3cret-toke', 'Bearer s3cret-token-longer', 'Basic s3cret-token', 's3cret-token']) {
      const wrong = await rawRequest(port, path, { headers: { authorization } });
      assert.equal(wrong.status, 401, `${path} with ${authorization}`);
      assert.match(String(wrong.headers['www-authenticate']), /^Bearer realm="rxrec"/);
    }
    assert.equal((await rawRequest(port, path, { headers: { authorization: 'Bearer s3cret-token' } })).status, 200, path);
    assert.equal((await rawRequest(port, path, { headers: { authorization: 'bearer s3cret-token' } })).status, 200, 'the scheme is case-insensitive');
  }
  assert.equal((await rawRequest(port, '/health/live')).status, 200);
  assert.equal((await rawRequest(port, '/health/ready')).status, 200);
  assert.equal((await rawRequest(port, '/nothing')).status, 404);
});
