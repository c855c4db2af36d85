/**
 * The live page's event stream, `GET /events` (server-sent events). Every tick builds one
 * `summary` message (events/s, stream position, each model's prequential figures) and, when lists
 * were published since the last tick, one `lists` message (the newest lists, with titles); each
 * is serialised once and written to every client. A client that names a user
 * (`/events?user=42`) also gets `user` messages: that user's list when it connects and after each
 * tick in which a batch published a list for them, computed once per watched user, not per client.
 *
 * A new client first gets `history` (the summaries so far, so a page opened late, or after the
 * replay finished, draws the whole run). Clients are bounded in number, dropped when they stop
 * reading (their unread output passes a bound), and forgotten when their connection closes.
 *
 * Messages are JSON on one `data:` line: JSON.stringify escapes every line break inside a string,
 * so an id or title from the stream cannot end a message or forge another.
 */
import type { ServerResponse } from 'node:http';
import type { ModelFigures } from '../../src/eval/prequential.js';
import type { Recommender } from '../../src/recommender.js';
import type { BatchReport } from '../pipeline.js';
import { servedList, type ServedItem, type ServedState } from '../served-list.js';
import type { RecommendationList } from '../transport.js';

/** Where the stream stands, as the job that runs it knows. */
export interface StreamProgress {
  /** Records read and applied or rejected, summed over partitions (a replay: its log position). */
  readonly position: number;
  /** Records in the log, when the stream has an end (a replay). */
  readonly total?: number;
  /** Records behind the end of the source (a Kafka worker's consumer lag). */
  readonly lag?: number;
}

/** One tick's figures: what the page charts and prints. */
export interface LiveSummary extends StreamProgress {
  /** The stream ended: these are the final figures of a state that can still be browsed. */
  readonly finished: boolean;
  readonly eventsPerSecond: number;
  readonly k: number;
  readonly rankModel: string;
  readonly ratingModels: readonly string[];
  readonly rankingModels: readonly string[];
  readonly models: Readonly<Record<string, ModelFigures>>;
  readonly published: { readonly hitAtK: number; readonly ndcgAtK: number };
}

export interface LiveFeedOptions {
  readonly tickMs?: number;
  readonly maxClients?: number;
  /** Summaries kept for clients that connect later. */
  readonly historyLength?: number;
  /** Published lists shown, newest first, one per user. */
  readonly newestLists?: number;
  readonly clock?: () => number;
}

export const DEFAULT_LIVE_TICK_MS = 1000;
export const DEFAULT_MAX_LIVE_CLIENTS = 32;
const DEFAULT_HISTORY_LENGTH = 600;
const DEFAULT_NEWEST_LISTS = 8;
/** Events/s is measured over this long a window of ticks. */
const RATE_WINDOW_MS = 5000;
/** A client with this much unread output is not reading: it is dropped. */
const MAX_UNREAD_BYTES = 1024 * 1024;
/** A comment line this often keeps proxies from closing a quiet stream. */
const KEEP_ALIVE_MS = 15_000;

export const EVENT_STREAM_HEADERS = {
  'content-type': 'text/event-stream; charset=utf-8',
  'cache-control': 'no-store',
  'x-content-type-options': 'nosniff',
} as const;

interface LiveClient {
  readonly response: ServerResponse;
  readonly user?: string;
}

export class LiveFeed {
  private readonly clients = new Set<LiveClient>();
  private readonly watchers = new Map<string, Set<LiveClient>>();
  private readonly history: LiveSummary[] = [];
  private historyMessage: string | undefined;
  private newest: RecommendationList[] = [];
  private listsMessage: string | undefined;
  private readonly touchedWatchedUsers = new Set<string>();
  private readonly rateSamples: { at: number; records: number }[] = [];
  private records = 0;
  private progress: StreamProgress = { position: 0 };
  private finished = false;
  private lastSummaryJson = '';
  private lastWriteAt: number;
  private closed = false;
  private readonly timer: NodeJS.Timeout;
  private readonly maxClients: number;
  private readonly historyLength: number;
  private readonly newestLists: number;
  private readonly clock: () => number;

  constructor(
    private recommender: Recommender,
    private readonly state: ServedState,
    options: LiveFeedOptions = {},
  ) {
    this.maxClients = options.maxClients ?? DEFAULT_MAX_LIVE_CLIENTS;
    this.historyLength = options.historyLength ?? DEFAULT_HISTORY_LENGTH;
    this.newestLists = options.newestLists ?? DEFAULT_NEWEST_LISTS;
    this.clock = options.clock ?? Date.now;
    this.lastWriteAt = this.clock();
    // Ticks run without clients too, so a page opened later gets the history.
    this.timer = setInterval(() => this.tick(), options.tickMs ?? DEFAULT_LIVE_TICK_MS).unref();
  }

  /** Figures and lists come from `recommender` from now on (`rxrec api` read the state again). */
  reloaded(recommender: Recommender): void {
    this.recommender = recommender;
  }

  /** Where the stream stands before its first batch (a resumed replay starts past 0): the charts' first point. */
  progressed(progress: StreamProgress): void {
    this.progress = progress;
    this.tick();
  }

  /** One micro-batch through the pipeline, and where the stream stands after it. */
  batch(report: BatchReport, progress: StreamProgress): void {
    this.records += report.records;
    this.progress = progress;
    if (report.lists.length === 0) return;
    const fresh = new Map<string, RecommendationList>();
    for (let i = report.lists.length - 1; i >= 0 && fresh.size < this.newestLists; i--) {
      const list = report.lists[i]!;
      if (!fresh.has(list.userId)) fresh.set(list.userId, list);
    }
    this.newest = [...fresh.values(), ...this.newest.filter((list) => !fresh.has(list.userId))].slice(0, this.newestLists);
    this.listsMessage = undefined;
    for (const list of report.lists) if (this.watchers.has(list.userId)) this.touchedWatchedUsers.add(list.userId);
  }

  /** The stream ended; the figures stay browsable until the server closes. */
  finish(): void {
    this.finished = true;
    this.tick();
  }

  get hasRoom(): boolean {
    return !this.closed && this.clients.size < this.maxClients;
  }

  /** Takes over `response` as an event stream (the caller checked hasRoom). */
  accept(response: ServerResponse, user: string | undefined): void {
    const client: LiveClient = { response, user };
    this.clients.add(client);
    if (user !== undefined) this.watchers.set(user, (this.watchers.get(user) ?? new Set()).add(client));
    response.on('close', () => this.forget(client));
    response.writeHead(200, EVENT_STREAM_HEADERS);
    this.write(client, `retry: 2000\n\n${this.historyStream()}${this.listsStream()}`);
    if (user !== undefined) this.write(client, this.userMessage(user));
  }

  /** Ends every event stream; later requests for one are refused. */
  close(): void {
    this.closed = true;
    clearInterval(this.timer);
    for (const client of this.clients) client.response.end();
    this.clients.clear();
    this.watchers.clear();
  }

  private tick(): void {
    if (this.closed) return;
    const now = this.clock();
    this.rateSamples.push({ at: now, records: this.records });
    while (this.rateSamples.length > 2 && now - this.rateSamples[1]!.at >= RATE_WINDOW_MS) this.rateSamples.shift();
    const summary = this.summary();
    const summaryJson = JSON.stringify(summary);
    let message = '';
    if (summaryJson !== this.lastSummaryJson) {
      this.lastSummaryJson = summaryJson;
      this.history.push(summary);
      if (this.history.length > this.historyLength) this.history.shift();
      this.historyMessage = undefined;
      message += `event: summary\ndata: ${summaryJson}\n\n`;
    }
    if (this.listsMessage === undefined && this.newest.length > 0) message += this.listsStream();
    if (message === '' && now - this.lastWriteAt >= KEEP_ALIVE_MS) message = ': keep-alive\n\n';
    if (message !== '') {
      this.lastWriteAt = now;
      for (const client of this.clients) this.write(client, message);
    }
    for (const user of this.touchedWatchedUsers) {
      const userMessage = this.userMessage(user);
      for (const client of this.watchers.get(user) ?? []) this.write(client, userMessage);
    }
    this.touchedWatchedUsers.clear();
  }

  private summary(): LiveSummary {
    const { recommender } = this;
    const figures = recommender.evaluator.figures();
    const oldest = this.rateSamples[0];
    const seconds = oldest === undefined ? 0 : (this.clock() - oldest.at) / 1000;
    return {
      ...this.progress,
      finished: this.finished,
      eventsPerSecond: oldest !== undefined && seconds > 0 ? Math.round((this.records - oldest.records) / seconds) : 0,
      k: recommender.options.k,
      rankModel: recommender.ranker.name,
      ratingModels: recommender.ratingModels.map((model) => model.name),
      rankingModels: recommender.rankingModels.map((model) => model.name),
      models: figures.models,
      published: { hitAtK: figures.published.hitAtK, ndcgAtK: figures.published.ndcgAtK },
    };
  }

  private historyStream(): string {
    this.historyMessage ??= `event: history\ndata: ${JSON.stringify(this.history)}\n\n`;
    return this.historyMessage;
  }

  private listsStream(): string {
    this.listsMessage ??= `event: lists\ndata: ${JSON.stringify(this.newest.map((list) => ({ ...list, items: this.titled(list.items) })))}\n\n`;
    return this.listsMessage;
  }

  private userMessage(user: string): string {
    const { list } = servedList(this.recommender, this.state, user, this.recommender.options.k, this.clock());
    return `event: user\ndata: ${JSON.stringify(list)}\n\n`;
  }

  private titled(items: RecommendationList['items']): ServedItem[] {
    return items.map((item) => {
      const title = this.state.itemLabel(item.itemId)?.title;
      return title === undefined ? item : { ...item, title };
    });
  }

  private write(client: LiveClient, message: string): void {
    if (client.response.writableLength > MAX_UNREAD_BYTES) {
      client.response.destroy();
      this.forget(client);
      return;
    }
    client.response.write(message);
  }

  private forget(client: LiveClient): void {
    this.clients.delete(client);
    if (client.user === undefined) return;
    const watching = this.watchers.get(client.user);
    watching?.delete(client);
    if (watching?.size === 0) this.watchers.delete(client.user);
  }
}
