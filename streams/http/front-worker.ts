/**
 * The HTTP API's public port, in a thread of its own (see front.ts). `GET /recommendations/:id`
 * without a query is answered here from the lists the pipeline thread last sent: a known user's
 * own list, or the cold-start list for a user never seen when no model places newcomers. So
 * those answers never wait for a batch, an LMDB commit or a garbage collection of the pipeline
 * thread. Everything else, and any request this thread cannot answer exactly as the pipeline
 * thread would, is passed through to the API there, over a private Unix socket.
 */
import { createServer, request as upstreamRequest, Agent, type IncomingMessage, type OutgoingHttpHeaders, type ServerResponse } from 'node:http';
import type { AddressInfo } from 'node:net';
import { parentPort, workerData } from 'node:worker_threads';
import { currentThreadId } from './thread-priority.js';
import { bearerChecker } from './bearer.js';
import type { FrontMessage, FrontSettings, FrontReply } from './front.js';
import { idFromSegment } from './params.js';

const settings = workerData as FrontSettings;
const port = parentPort!;
const authorise = settings.token === undefined ? undefined : bearerChecker(settings.token);
const agent = new Agent({ keepAlive: true, maxSockets: 256 });

/** userId → the served list's fields after userId and before publishedAt, as JSON (no braces). */
const lists = new Map<string, string>();
/** Users with ratings (their list may not have been sent yet: those go to the pipeline thread). */
const known = new Set<string>();
let coldStart: string | undefined;
let placesNewcomers = true;

port.on('message', (message: FrontMessage) => {
  if (message.type === 'lists') {
    if (message.replace) lists.clear();
    for (const id of message.known) known.add(id);
    for (const [id, fields] of message.lists) lists.set(id, fields);
    coldStart = message.coldStart;
    placesNewcomers = message.placesNewcomers;
  } else if (message.type === 'close') {
    server.close(() => port.postMessage({ type: 'closed' } satisfies FrontReply));
    server.closeIdleConnections();
    setTimeout(() => server.closeAllConnections(), 1000).unref();
  }
});

const server = createServer({
  maxHeaderSize: settings.maxHeaderBytes,
  requestTimeout: settings.requestTimeoutMs,
  headersTimeout: settings.requestTimeoutMs,
  connectionsCheckingInterval: Math.max(10, Math.min(1000, settings.requestTimeoutMs / 4)),
});

const JSON_HEADERS = { 'content-type': 'application/json', 'x-content-type-options': 'nosniff' };

server.on('request', (request: IncomingMessage, response: ServerResponse) => {
  // A client that goes away mid-answer is that client's end, not this thread's.
  request.on('error', () => undefined);
  response.on('error', () => undefined);
  // No route takes a body: refused here, so no body is ever passed on (nor waited for).
  if (hasBody(request)) {
    const error = JSON.stringify({ error: `a ${request.method} request carries no body` });
    return void response.writeHead(400, { ...JSON_HEADERS, connection: 'close' }).end(error);
  }
  const body = listFor(request);
  if (body === undefined) return passThrough(request, response);
  response.writeHead(200, JSON_HEADERS).end(body);
});

function hasBody(request: IncomingMessage): boolean {
  const length = request.headers['content-length'];
  return request.headers['transfer-encoding'] !== undefined || (length !== undefined && length !== '0');
}

/** The answer to a list request this thread can give exactly, else undefined. */
function listFor(request: IncomingMessage): string | undefined {
  const url = request.url ?? '';
  if (!url.startsWith('/recommendations/') || url.includes('?')) return undefined;
  if (request.method !== 'GET' && request.method !== 'HEAD') return undefined;
  if (authorise && !authorise(request.headers.authorization).ok) return undefined;
  const segment = url.slice('/recommendations/'.length);
  if (segment.includes('/')) return undefined;
  const id = idFromSegment(segment, 'user');
  if (!id.ok) return undefined;
  const userId = JSON.stringify(id.value);
  const own = lists.get(id.value);
  if (own !== undefined) return `{"userId":${userId},${own},"publishedAt":${Date.now()},"known":true}`;
  if (known.has(id.value) || placesNewcomers || coldStart === undefined) return undefined;
  return `{"userId":${userId},${coldStart},"publishedAt":${Date.now()},"known":false}`;
}

// Hop-by-hop headers belong to each connection, not to the message passed on.
const HOP_BY_HOP = new Set(['connection', 'keep-alive', 'transfer-encoding', 'upgrade', 'proxy-connection']);

function passThrough(request: IncomingMessage, response: ServerResponse, retried = false): void {
  const headers: OutgoingHttpHeaders = {};
  for (const [name, value] of Object.entries(request.headers)) if (!HOP_BY_HOP.has(name)) headers[name] = value;
  const upstream = upstreamRequest({ socketPath: settings.socketPath, method: request.method, path: request.url, headers, agent }, (answer) => {
    const passed: OutgoingHttpHeaders = {};
    for (const [name, value] of Object.entries(answer.headers)) if (!HOP_BY_HOP.has(name)) passed[name] = value;
    response.writeHead(answer.statusCode ?? 502, passed);
    response.flushHeaders();
    answer.pipe(response);
    // A client that goes away (a closed live page) ends its stream upstream too.
    response.on('close', () => {
      if (!answer.complete) upstream.destroy();
    });
  });
  upstream.on('error', (error: NodeJS.ErrnoException) => {
    if (response.destroyed) return;
    if (response.headersSent) return void response.destroy();
    // A kept-alive socket the pipeline thread's server closed as the request went out: nothing
    // reached it, so a GET or HEAD (no body is passed on) is sent again once, on a new socket.
    if (!retried && upstream.reusedSocket && error.code === 'ECONNRESET' && (request.method === 'GET' || request.method === 'HEAD'))
      return passThrough(request, response, true);
    response.writeHead(502, JSON_HEADERS).end(JSON.stringify({ error: `the pipeline thread did not answer: ${error.message}` }));
  });
  upstream.end();
}

server.on('error', (error: NodeJS.ErrnoException) => port.postMessage({ type: 'error', code: error.code, message: error.message } satisfies FrontReply));
server.listen(settings.port, settings.host, () => {
  const { port: bound, address } = server.address() as AddressInfo;
  port.postMessage({ type: 'listening', port: bound, address, thread: currentThreadId() } satisfies FrontReply);
});
