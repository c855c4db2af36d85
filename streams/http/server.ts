/**
 * One HTTP port: GET /recommendations/:userId?k=, /similar/:itemId?k=, /health/live,
 * /health/ready, /metrics (Prometheus text), and a live page at /. Handlers read the in-memory
 * core, which the pipeline updates between batches (one thread: no locking needed).
 */
import { createServer, type IncomingMessage, type Server, type ServerResponse } from 'node:http';
import type { AddressInfo } from 'node:net';
import type { Registry } from 'prom-client';
import type { Recommender } from '../../src/recommender.js';
import { listItems, type TitleOf } from '../list-entries.js';
import { LIVE_PAGE } from './live-page.js';

export interface Readiness {
  /** Why the service is not ready, or undefined when it is. */
  notReadyBecause(): string | undefined;
}

export interface HttpApiParts {
  readonly recommender: Recommender;
  readonly registry: Registry;
  readonly readiness: Readiness;
  readonly maxK?: number;
  /** Titles for the `why` of list entries. */
  readonly titleOf?: TitleOf;
}

export async function startHttpApi(parts: HttpApiParts, port: number, host = '127.0.0.1'): Promise<{ server: Server; port: number }> {
  const server = createServer((request, response) => {
    handle(parts, request, response).catch((error: Error) => send(response, 500, { error: error.message }));
  });
  server.listen(port, host);
  await new Promise<void>((resolve, reject) => {
    server.once('listening', resolve);
    server.once('error', (error: NodeJS.ErrnoException) =>
      reject(
        new Error(
          error.code === 'EADDRINUSE' ? `HTTP port ${port} is in use: choose another with --http-port` : `cannot listen on ${host}:${port}: ${error.message}`,
        ),
      ),
    );
  });
  return { server, port: (server.address() as AddressInfo).port };
}

async function handle(parts: HttpApiParts, request: IncomingMessage, response: ServerResponse): Promise<void> {
  const url = new URL(request.url ?? '/', 'http://localhost');
  if (request.method !== 'GET') return send(response, 405, { error: 'only GET is served' });
  const k = Number(url.searchParams.get('k') ?? 10);
  if (!Number.isInteger(k) || k < 1 || k > (parts.maxK ?? 100)) return send(response, 400, { error: `k must be an integer from 1 to ${parts.maxK ?? 100}` });
  const [, resource, id] = url.pathname.split('/').map(decodeURIComponent);

  switch (resource) {
    case '':
      response.writeHead(200, { 'content-type': 'text/html; charset=utf-8' }).end(LIVE_PAGE);
      return;
    case 'metrics':
      response.writeHead(200, { 'content-type': parts.registry.contentType }).end(await parts.registry.metrics());
      return;
    case 'health': {
      if (id === 'live') return send(response, 200, { status: 'live' });
      const reason = parts.readiness.notReadyBecause();
      return reason === undefined ? send(response, 200, { status: 'ready' }) : send(response, 503, { status: 'not ready', reason });
    }
    case 'recommendations':
      if (!id) return send(response, 400, { error: 'missing user id: /recommendations/:userId' });
      return send(response, 200, recommendationsFor(parts.recommender, id, k, parts.titleOf));
    case 'similar': {
      if (!id) return send(response, 400, { error: 'missing item id: /similar/:itemId' });
      if (!parts.recommender.itemSimilarity) return send(response, 404, { error: 'similarity is off: run with knn-item in --models' });
      const similar = parts.recommender.similarItems(id, k);
      return similar ? send(response, 200, similar) : send(response, 404, { error: `unknown item '${id}'` });
    }
    case 'summary':
      return send(response, 200, parts.recommender.evaluator.figures());
    default:
      return send(response, 404, { error: `no such resource: ${url.pathname}` });
  }
}

/** A user with ratings gets their list; one without, the newcomer list (from side features when known). */
function recommendationsFor(recommender: Recommender, userId: string, k: number, titleOf?: TitleOf) {
  const user = recommender.catalog.users.lookup(userId);
  const list =
    user >= 0 && recommender.histories.itemsOf(user).size > 0
      ? { model: recommender.ranker, items: recommender.rankFor(user, k) }
      : recommender.newcomerList(userId, k);
  return {
    userId,
    items: listItems(recommender, list.items, titleOf),
    model: list.model.name,
    known: user >= 0,
  };
}

function send(response: ServerResponse, status: number, body: unknown): void {
  response.writeHead(status, { 'content-type': 'application/json' }).end(JSON.stringify(body));
}
