/**
 * Hostile HTTP clients against the API's public port, all at once, while a well-behaved client
 * keeps asking for lists: huge bodies, a huge request line, garbage instead of HTTP, hostile
 * paths, bad k, malformed %-escapes, slowloris clients sending their headers a byte at a time,
 * and connections that never send a byte. Each gets its 4xx or is cut off, and every request of
 * the well-behaved client is answered with 200. (requests.test.ts pins each refusal's answer one
 * at a time; this is them together, and the clients that only time stops.)
 */
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { connect } from 'node:net';
import { setTimeout as sleep } from 'node:timers/promises';
import { WHOLE_STARS } from '../../../src/events/scale.js';
import { DEFAULT_MODEL_SETTINGS } from '../../../src/models/registry.js';
import { assembleRecommender } from '../../../streams/assemble.js';
import { startHttpApi } from '../../../streams/http/server.js';
import { PipelineMetrics } from '../../../streams/metrics.js';
import { randomRatings } from '../../fixtures.js';
import { rawExchange, rawRequest } from './raw-request.js';

const REQUEST_TIMEOUT_MS = 1500;

/** What a client that writes `head` then `bodyBytes` of body, as fast as the server takes it, gets back; and how much it could write. */
function floodBody(port: number, head: string, bodyBytes: number): Promise<{ received: string; written: number }> {
  return new Promise((resolve) => {
    const socket = connect(port, '127.0.0.1');
    const chunk = Buffer.alloc(64 * 1024, 'x');
    let written = 0;
    let received = '';
    const pump = () => {
      while (written < bodyBytes && !socket.destroyed) {
        written += chunk.length;
        if (!socket.write(chunk)) return void socket.once('drain', pump);
      }
    };
    socket.on('connect', () => {
      socket.write(head);
      pump();
    });
    socket.setEncoding('utf8');
    socket.on('data', (data: string) => (received += data));
    // The server may reset the connection while the body is still coming: that is a refusal too.
    socket.on('error', () => undefined);
    socket.on('close', () => resolve({ received, written }));
  });
}

/** A slowloris: writes `head` one byte every `everyMs`; resolves with the answer and how many bytes it got to send before the server closed. */
function slowloris(port: number, head: string, everyMs: number): Promise<{ received: string; sent: number }> {
  return new Promise((resolve) => {
    const socket = connect(port, '127.0.0.1');
    let sent = 0;
    let received = '';
    const timer = setInterval(() => {
      if (sent < head.length && !socket.destroyed) socket.write(head[sent++]!);
    }, everyMs);
    socket.setEncoding('utf8');
    socket.on('data', (data: string) => (received += data));
    socket.on('error', () => undefined);
    socket.on('close', () => {
      clearInterval(timer);
      resolve({ received, sent });
    });
  });
}

/** A connection that sends nothing; resolves when the server closes it. */
function silent(port: number): Promise<string> {
  return new Promise((resolve) => {
    const socket = connect(port, '127.0.0.1');
    let received = '';
    socket.setEncoding('utf8');
    socket.on('data', (data: string) => (received += data));
    socket.on('error', () => undefined);
    socket.on('close', () => resolve(received));
  });
}

test('hostile clients get their 4xx or are cut off, while a well-behaved client keeps getting its lists', async (t) => {
  const recommender = assembleRecommender({ ...DEFAULT_MODEL_SETTINGS, scale: WHOLE_STARS.name, rankModel: 'ensemble' }, 10);
  const lists = recommender.applyBatch(
    recommender.index(randomRatings(1500, 30, 40, 3).map((r) => ({ userId: `u${r.user}`, itemId: `i${r.item}`, rating: r.rating, ts: r.ts }))),
  );
  const api = await startHttpApi(
    { recommender, registry: new PipelineMetrics().registry, readiness: { notReadyBecause: () => undefined } },
    { port: 0, requestTimeoutMs: REQUEST_TIMEOUT_MS },
  );
  api.refreshed(lists.map((list) => list.user));
  const { port } = api;
  try {
    // The well-behaved client: one request after another until the hostile ones are done, each answered within 5 s.
    let hostileDone = false;
    const statuses: number[] = [];
    const wellBehaved = (async () => {
      for (let n = 0; !hostileDone; n++) {
        const path = n % 3 === 2 ? '/health/ready' : `/recommendations/u${n % 30}${n % 3 === 1 ? '?k=5' : ''}`;
        const response = await fetch(`http://127.0.0.1:${port}${path}`, { signal: AbortSignal.timeout(5000) });
        await response.arrayBuffer();
        statuses.push(response.status);
        await sleep(20);
      }
    })();

    const refusals: Array<[string, string, RegExp]> = [
      ['bad path', 'GET /recommendations/u1/../../metrics HTTP/1.1\r\nHost: x\r\n\r\n', /^HTTP\/1\.1 404 /],
      ['absolute-form target', 'GET http://elsewhere/metrics HTTP/1.1\r\nHost: x\r\n\r\n', /^HTTP\/1\.1 404 /],
      ['NUL in the path', 'GET /recommendations/u%00 HTTP/1.1\r\nHost: x\r\n\r\n', /^HTTP\/1\.1 400 /],
      ['malformed %-escape', 'GET /recommendations/%E0%A4%A HTTP/1.1\r\nHost: x\r\n\r\n', /^HTTP\/1\.1 400 /],
      ['lone surrogate escape', 'GET /recommendations/%ED%A0%80 HTTP/1.1\r\nHost: x\r\n\r\n', /^HTTP\/1\.1 400 /],
      ['bad k', 'GET /recommendations/u1?k=1e9 HTTP/1.1\r\nHost: x\r\n\r\n', /^HTTP\/1\.1 400 /],
      ['k of a negative', 'GET /similar/i1?k=-3 HTTP/1.1\r\nHost: x\r\n\r\n', /^HTTP\/1\.1 400 /],
      ['a request line of 20 kB', `GET /recommendations/${'u'.repeat(20_000)} HTTP/1.1\r\nHost: x\r\n\r\n`, /^HTTP\/1\.1 431 /],
      ['headers of 100 kB', `GET /health/live HTTP/1.1\r\nHost: x\r\n${'X-Filler: aaaaaaaaaa\r\n'.repeat(5000)}\r\n`, /^HTTP\/1\.1 431 /],
      ['garbage instead of HTTP', '\u0016\u0003\u0001\u0002\u0000\u0001\u0000\u0001\u00fc\u0003\u0003\r\n\r\n', /^HTTP\/1\.1 400 /],
      ['a method that is not one', 'G\u00c9T /metrics HTTP/1.1\r\nHost: x\r\n\r\n', /^HTTP\/1\.1 400 /],
    ];
    const refused = refusals.map(async ([what, head, answer]) =>
      assert.match(await rawExchange(port, `${head}`.replace(/\r\n\r\n$/, '\r\nConnection: close\r\n\r\n')), answer, what),
    );

    // Bodies: none is read, whatever its size; the refusal comes at the headers, and the connection closes before 50 MB arrived.
    const bodies = [
      floodBody(port, 'POST /recommendations/u1 HTTP/1.1\r\nHost: x\r\nContent-Length: 52428800\r\n\r\n', 50 * 1024 * 1024),
      floodBody(port, 'GET /metrics HTTP/1.1\r\nHost: x\r\nTransfer-Encoding: chunked\r\n\r\n', 50 * 1024 * 1024),
    ].map(async (flood) => {
      const { received, written } = await flood;
      t.diagnostic(`body flood: ${received.split('\r\n')[0]} after ${written} bytes written`);
      assert.match(received, /^HTTP\/1\.1 (400|405|413) /, 'refused');
      assert.ok(written < 50 * 1024 * 1024, `the connection was closed after ${written} bytes of body, before all of it`);
    });

    // Slowloris: headers at a byte per 100 ms would take 30 s; the server closes the connection long before they are in.
    const head = `GET /recommendations/u1 HTTP/1.1\r\nHost: x\r\nUser-Agent: ${'s'.repeat(240)}\r\n\r\n`;
    const slow = Array.from({ length: 20 }, () =>
      slowloris(port, head, 100).then(({ received, sent }) => {
        if (sent < 40) t.diagnostic(`slowloris: '${received.split('\r\n')[0]}' after ${sent} bytes`);
        assert.ok(sent < head.length, `cut off after ${sent} of ${head.length} bytes`);
        assert.match(received, /^(HTTP\/1\.1 408 |$)/, 'a 408, or the connection closed');
      }),
    );
    // Connections that never send a byte are closed too, not held open forever.
    const quiet = Array.from({ length: 20 }, () => silent(port).then((received) => assert.match(received, /^(HTTP\/1\.1 408 |$)/)));

    await Promise.all([...refused, ...bodies, ...slow, ...quiet]);
    hostileDone = true;
    await wellBehaved;
    t.diagnostic(`well-behaved client: ${statuses.length} answers`);
    assert.ok(statuses.length >= 10, `${statuses.length} requests of the well-behaved client answered`);
    assert.deepEqual(new Set(statuses), new Set([200]), 'every one of them with 200');
    // And the port still serves as before.
    assert.equal((await rawRequest(port, '/recommendations/u1')).status, 200);
  } finally {
    await api.close();
  }
});
