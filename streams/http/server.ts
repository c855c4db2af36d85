/**
 * One HTTP port, bound to 127.0.0.1 unless told otherwise, answering the exact routes of
 * routes.ts. Each request passes, in order: the route (404), the method (405 with Allow), the
 * bearer token when one is set (401 with WWW-Authenticate; /health/* is open), no body (400),
 * then the route's own parameters (400 with the reason). Node enforces the header size (431)
 * and the request timeout (408). Handlers read the in-memory core, which the pipeline updates
 * between batches (one thread: no locking needed). `/events` hands its response to the live
 * feed, which the job running the pipeline tells about each batch.
 */
import { createServer, type IncomingMessage, type OutgoingHttpHeaders, type Server, type ServerResponse } from 'node:http';
import type { Registry } from 'prom-client';
import type { Recommender } from '../../src/recommender.js';
import { servedList, type ServedState } from '../served-list.js';
import { bearerChecker, type BearerChecker } from './bearer.js';
import { EVENT_STREAM_HEADERS, LiveFeed, type LiveFeedOptions } from './live-feed.js';
import { LIVE_PAGE, LIVE_PAGE_HEADERS } from './live-page.js';
import { Front } from './front.js';
import { lowerOtherThreads } from './thread-priority.js';
import { DEFAULT_K, DEFAULT_MAX_K, idFromSegment, kFromQuery, userFromQuery } from './params.js';
import { ALLOWED_METHODS, matchRoute, type RouteName } from './routes.js';

export interface Readiness {
  /** Why the service is not ready, or undefined when it is. */
  notReadyBecause(): string | undefined;
}

export interface HttpApiParts {
  readonly recommender: Recommender;
  readonly registry: Registry;
  readonly readiness: Readiness;
  /** Item labels, users' activity and stored positions (the state store); none when absent. */
  readonly state?: ServedState;
  readonly maxK?: number;
  readonly clock?: () => number;
  /** The live page's event stream: tick, client bound. */
  readonly liveFeed?: LiveFeedOptions;
}

export interface HttpApi {
  readonly server: Server;
  /** The public port (the front thread's) and the address it is bound to. */
  readonly port: number;
  readonly host: string;
  /** Tell it about each batch (`batch`) and the stream's end (`finish`). */
  readonly live: LiveFeed;
  /** After each batch: the users whose lists were recomputed (BatchReport.refreshed), for the front's copy. */
  refreshed(users: Iterable<number>): void;
  /**
   * Serve `recommender` from now on (`rxrec api`, after reading the state again): every route and
   * the live page; the front keeps copies of the lists of `changed` only (the users whose lists
   * may differ, the ones likely asked for), the others are computed here on request.
   */
  reloaded(recommender: Recommender, changed: Iterable<number>): void;
  /** Ends the event streams, then stops listening and closes idle connections. */
  close(): Promise<void>;
}

export interface HttpListenOptions {
  readonly port: number;
  readonly host?: string;
  /** When set, every route but /health/* needs `Authorization: Bearer <token>`. */
  readonly token?: string;
  /** A request must have arrived whole within this long (408 otherwise). */
  readonly requestTimeoutMs?: number;
  /** Larger request headers are refused with 431. */
  readonly maxHeaderBytes?: number;
  /**
   * Once the front thread runs, set the calling (pipeline) thread's nice value to this: on Linux
   * the nice value is per thread, so the front thread, started before, keeps its own and its
   * answers are scheduled ahead of a batch when the CPU is short. 0 or absent: unchanged.
   */
  readonly pipelineNice?: number;
}

export const DEFAULT_HTTP_HOST = '127.0.0.1';
const DEFAULT_REQUEST_TIMEOUT_MS = 10_000;
const DEFAULT_MAX_HEADER_BYTES = 16 * 1024;

const NO_STATE: ServedState = { itemLabel: () => undefined, userActivity: () => undefined, position: () => undefined };

interface Reply {
  readonly status: number;
  readonly body: unknown;
  readonly headers?: OutgoingHttpHeaders;
}

/** A response the handler writes itself, over time (the event stream). */
interface Stream {
  readonly stream: (response: ServerResponse) => void;
}

interface Served extends Omit<HttpApiParts, 'recommender'> {
  /** Replaced by `reloaded`. */
  recommender: Recommender;
  readonly live: LiveFeed;
}

type Handler = (served: Served, rawParam: string | undefined, query: URLSearchParams) => Promise<Reply | Stream> | Reply | Stream;

export async function startHttpApi(parts: HttpApiParts, listen: HttpListenOptions): Promise<HttpApi> {
  const host = listen.host ?? DEFAULT_HTTP_HOST;
  const requestTimeout = listen.requestTimeoutMs ?? DEFAULT_REQUEST_TIMEOUT_MS;
  const server = createServer({
    maxHeaderSize: listen.maxHeaderBytes ?? DEFAULT_MAX_HEADER_BYTES,
    requestTimeout,
    headersTimeout: requestTimeout,
    // Node checks the timeouts on this interval (30 s by default, longer than the timeout itself).
    connectionsCheckingInterval: Math.max(10, Math.min(1000, requestTimeout / 4)),
  });
  const authorise = listen.token === undefined ? undefined : bearerChecker(listen.token);
  const live = new LiveFeed(parts.recommender, parts.state ?? NO_STATE, { clock: parts.clock, ...parts.liveFeed });
  const served: Served = { ...parts, live };
  server.on('request', (request: IncomingMessage, response: ServerResponse) => {
    answer(served, authorise, request)
      .catch((error: Error): Reply => ({ status: 500, body: { error: error.message } }))
      .then((reply) => ('stream' in reply ? reply.stream(response) : send(response, reply)))
      .catch((error: Error) => response.destroy(error));
  });
  // The pipeline thread's side listens on a private socket; the public port is the front's.
  const socket = Front.socketPath();
  server.listen(socket.path);
  await new Promise<void>((resolve, reject) => {
    server.once('listening', resolve);
    server.once('error', reject);
  });
  let front: Front;
  try {
    front = await Front.start(
      {
        port: listen.port,
        host,
        token: listen.token,
        maxHeaderBytes: listen.maxHeaderBytes ?? DEFAULT_MAX_HEADER_BYTES,
        requestTimeoutMs: requestTimeout,
        socketPath: socket.path,
      },
      socket.dir,
    );
  } catch (error) {
    server.close();
    throw error;
  }
  const lowered = listen.pipelineNice ? lowerOtherThreads(listen.pipelineNice, () => front.thread) : undefined;
  const listK = Math.min(DEFAULT_K, parts.maxK ?? DEFAULT_MAX_K);
  const refreshed = (users: Iterable<number>) => front.refreshed(served.recommender, parts.state ?? NO_STATE, users, listK);
  const reloaded = (recommender: Recommender, changed: Iterable<number>) => {
    served.recommender = recommender;
    live.reloaded(recommender);
    // The front's other lists were computed from the previous read: those users go to this thread until they change again.
    front.refreshed(recommender, parts.state ?? NO_STATE, changed, listK, true);
  };
  // Users known at the start are sent as known (their lists follow as they are refreshed).
  refreshed([]);
  const close = async () => {
    lowered?.stop();
    live.close();
    await front.close();
    await new Promise<void>((resolve) => {
      server.close(() => resolve());
      server.closeIdleConnections();
      // A request still in flight gets a moment to finish, then its connection is cut: stopping never hangs.
      setTimeout(() => server.closeAllConnections(), 1000).unref();
    });
  };
  return { server, port: front.port, host: front.address, live, refreshed, reloaded, close };
}

async function answer(served: Served, authorise: BearerChecker | undefined, request: IncomingMessage): Promise<Reply | Stream> {
  const target = request.url ?? '/';
  const queryAt = target.indexOf('?');
  const rawPath = queryAt < 0 ? target : target.slice(0, queryAt);
  const match = matchRoute(rawPath);
  if (!match) return { status: 404, body: { error: `no such resource: ${rawPath.slice(0, 300)}` } };
  if (!(ALLOWED_METHODS as readonly string[]).includes(request.method ?? '')) {
    return { status: 405, body: { error: `${request.method} is not served: use GET` }, headers: { allow: ALLOWED_METHODS.join(', ') } };
  }
  const query = new URLSearchParams(queryAt < 0 ? '' : target.slice(queryAt + 1));
  if (authorise && !match.route.open) {
    const check = authorise(request.headers.authorization, match.route.tokenInQuery ? { token: query.get('token') } : undefined);
    if (!check.ok) return { status: 401, body: { error: check.reason }, headers: { 'www-authenticate': check.challenge } };
  }
  if (hasBody(request)) return { status: 400, body: { error: `a ${request.method} request carries no body` }, headers: { connection: 'close' } };
  const reply = await HANDLERS[match.route.name](served, match.rawParam, query);
  // HEAD learns that the stream is there without holding a connection open for it.
  return 'stream' in reply && request.method === 'HEAD' ? { status: 200, body: '', headers: EVENT_STREAM_HEADERS } : reply;
}

function hasBody(request: IncomingMessage): boolean {
  const length = request.headers['content-length'];
  return request.headers['transfer-encoding'] !== undefined || (length !== undefined && length !== '0');
}

const HANDLERS: Record<RouteName, Handler> = {
  'live-page': () => ({ status: 200, body: LIVE_PAGE, headers: LIVE_PAGE_HEADERS }),
  events: ({ live }, _rawParam, query) => {
    const user = userFromQuery(query);
    if (!user.ok) return badRequest(user.reason);
    if (!live.hasRoom) return { status: 503, body: { error: 'too many live page clients: close one and retry' }, headers: { 'retry-after': '5' } };
    return { stream: (response) => live.accept(response, user.value) };
  },
  summary: (parts) => ({ status: 200, body: parts.recommender.evaluator.figures() }),
  // Query parameters mean nothing here: a scraper's extras are ignored.
  metrics: async (parts) => ({ status: 200, body: await parts.registry.metrics(), headers: { 'content-type': parts.registry.contentType } }),
  'health-live': () => ({ status: 200, body: { status: 'live' } }),
  'health-ready': (parts) => {
    const reason = parts.readiness.notReadyBecause();
    return reason === undefined ? { status: 200, body: { status: 'ready' } } : { status: 503, body: { status: 'not ready', reason } };
  },
  recommendations: (parts, rawParam, query) => {
    const userId = idFromSegment(rawParam!, 'user');
    if (!userId.ok) return badRequest(userId.reason);
    const k = kFromQuery(query, parts.maxK ?? DEFAULT_MAX_K);
    if (!k.ok) return badRequest(k.reason);
    const { list } = servedList(parts.recommender, parts.state ?? NO_STATE, userId.value, k.value, (parts.clock ?? Date.now)());
    return { status: 200, body: list };
  },
  similar: (parts, rawParam, query) => {
    const itemId = idFromSegment(rawParam!, 'item');
    if (!itemId.ok) return badRequest(itemId.reason);
    const k = kFromQuery(query, parts.maxK ?? DEFAULT_MAX_K);
    if (!k.ok) return badRequest(k.reason);
    if (!parts.recommender.itemSimilarity) return { status: 404, body: { error: 'similarity is off: run with knn-item in --models' } };
    const similar = parts.recommender.similarItems(itemId.value, k.value);
    return similar ? { status: 200, body: similar } : { status: 404, body: { error: `unknown item '${itemId.value}'` } };
  },
  item: (parts, rawParam) => {
    const itemId = idFromSegment(rawParam!, 'item');
    if (!itemId.ok) return badRequest(itemId.reason);
    const label = (parts.state ?? NO_STATE).itemLabel(itemId.value);
    const features = parts.recommender.catalog.features.itemById(itemId.value);
    const rated = parts.recommender.catalog.items.lookup(itemId.value) >= 0;
    if (!label && !features && !rated) return { status: 404, body: { error: `unknown item '${itemId.value}'` } };
    const title = label?.title === undefined ? {} : { title: label.title };
    return { status: 200, body: { itemId: itemId.value, ...title, genres: label?.genres ?? features?.genres ?? [], rated } };
  },
};

function badRequest(reason: string): Reply {
  return { status: 400, body: { error: reason } };
}

function send(response: ServerResponse, { status, body, headers = {} }: Reply): void {
  const text = typeof body === 'string' ? body : JSON.stringify(body);
  response.writeHead(status, { 'content-type': 'application/json', 'x-content-type-options': 'nosniff', ...headers }).end(text);
}
