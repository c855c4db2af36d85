/**
 * The HTTP API's front: the public port lives in a worker thread (front-worker.ts) that answers
 * list requests from a copy of the served lists, so their latency does not depend on what the
 * pipeline thread is doing (a micro-batch, an item sweep, an LMDB commit); every other request
 * passes through to the API in this thread over a private Unix socket. After each batch the
 * pipeline's job calls `refreshed` with the users whose lists were recomputed; their served
 * lists (exactly what `servedList` answers, but for `publishedAt`, the time of the request) and
 * the cold-start list go to the worker.
 */
import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { Worker } from 'node:worker_threads';
import type { Recommender } from '../../src/recommender.js';
import { servedList, type ServedList, type ServedState } from '../served-list.js';

export interface FrontSettings {
  readonly port: number;
  readonly host: string;
  readonly token?: string;
  readonly maxHeaderBytes: number;
  readonly requestTimeoutMs: number;
  /** Where the API of the pipeline thread listens. */
  readonly socketPath: string;
}

export type FrontMessage =
  | {
      readonly type: 'lists';
      /** The lists sent before are dropped (the state was read again): users not in `lists` go to the pipeline thread. */
      readonly replace: boolean;
      /** [userId, the served list's fields from items to eventTs as JSON without braces]. */
      readonly lists: ReadonlyArray<readonly [string, string]>;
      /** User ids with ratings, new since the last message. */
      readonly known: readonly string[];
      readonly coldStart: string;
      /** A model places users without ratings from their side features: those lists come from the pipeline thread. */
      readonly placesNewcomers: boolean;
    }
  | { readonly type: 'close' };

export type FrontReply =
  | { readonly type: 'listening'; readonly port: number; readonly address: string; readonly thread?: number }
  | { readonly type: 'error'; readonly code?: string; readonly message: string }
  | { readonly type: 'closed' };

/** Never an id on the stream (ids with control characters are rejected): its list is the cold-start list. */
const NEVER_SEEN = '\u0000cold-start';

/**
 * Refreshed lists go to the front at most this often. A message per micro-batch was hundreds a
 * second at a paced rate (measured 350–520/s at 1,000 events/s), each waking the front thread
 * and computing the cold-start list again; an answer is at most this much older instead.
 */
export const FRONT_SEND_EVERY_MS = 20;

interface Pending {
  recommender: Recommender;
  state: ServedState;
  k: number;
  readonly users: Set<number>;
  replace: boolean;
}

export class Front {
  private knownSent = 0;
  private closing = false;
  private pending: Pending | undefined;
  private sendTimer: NodeJS.Timeout | undefined;

  private constructor(
    private worker: Worker,
    /** The front thread's kernel thread id (Linux), spared by --pipeline-nice. */
    private threadId: number | undefined,
    readonly port: number,
    /** The address the public port is bound to. */
    readonly address: string,
    private readonly socketDir: string,
    private readonly settings: FrontSettings,
  ) {
    this.watch();
  }

  /** A front thread that fails is started again on the same port (its copy of the lists is re-sent with the next batch). */
  private watch(): void {
    const worker = this.worker;
    let reported = false;
    const restart = (why: string) => {
      if (this.closing || reported || worker !== this.worker) return;
      reported = true;
      process.stderr.write(`rxrec: the HTTP front thread stopped (${why}): starting it again on port ${this.port}\n`);
      void Front.spawn({ ...this.settings, port: this.port }).then(
        ({ worker: next, thread }) => {
          this.worker = next;
          this.threadId = thread;
          this.knownSent = 0;
          this.watch();
        },
        (error: Error) => process.stderr.write(`rxrec: the HTTP front thread could not be started again: ${error.message}\n`),
      );
    };
    worker.on('error', (error) => restart(error.message));
    worker.on('exit', (code) => restart(`exit code ${code}`));
  }

  /** A private directory for the pipeline thread's socket (removed on close). */
  static socketPath(): { dir: string; path: string } {
    const dir = mkdtempSync(join(tmpdir(), 'rxrec-http-'));
    return { dir, path: join(dir, 'api.sock') };
  }

  static async start(settings: FrontSettings, socketDir: string): Promise<Front> {
    try {
      const { worker, port, address, thread } = await Front.spawn(settings);
      return new Front(worker, thread, port, address, socketDir, settings);
    } catch (error) {
      rmSync(socketDir, { recursive: true, force: true });
      throw error;
    }
  }

  private static async spawn(settings: FrontSettings): Promise<{ worker: Worker; port: number; address: string; thread: number | undefined }> {
    const worker = new Worker(new URL('./front-worker.js', import.meta.url), { workerData: settings });
    // The worker must not keep a finished process alive (tests close only the API's server).
    worker.unref();
    const reply = await new Promise<FrontReply>((resolve, reject) => {
      const failed = (error: Error) => reject(error);
      worker.once('error', failed);
      worker.once('exit', (code) => reject(new Error(`the HTTP front thread exited with ${code} before listening`)));
      worker.once('message', (message: FrontReply) => {
        worker.off('error', failed);
        worker.removeAllListeners('exit');
        resolve(message);
      });
    });
    if (reply.type === 'error') {
      await worker.terminate();
      throw new Error(
        reply.code === 'EADDRINUSE'
          ? `HTTP port ${settings.port} is in use: choose another with --http-port`
          : `cannot listen on ${settings.host}:${settings.port}: ${reply.message} (see --http-host)`,
      );
    }
    if (reply.type !== 'listening') throw new Error(`the HTTP front sent ${reply.type} before listening`);
    return { worker, port: reply.port, address: reply.address, thread: reply.thread };
  }

  get thread(): number | undefined {
    return this.threadId;
  }

  /**
   * Send the served lists of `users` (indices), the users new since then and the cold-start
   * list, within FRONT_SEND_EVERY_MS (the calls in between go in one message, their lists as
   * they are when it is sent); `replace`: in place of every list sent before, at once.
   */
  refreshed(recommender: Recommender, state: ServedState, users: Iterable<number>, k: number, replace = false): void {
    // A replace drops what was pending: its user indices belong to the state read before.
    if (replace || !this.pending) this.pending = { recommender, state, k, users: new Set(), replace };
    Object.assign(this.pending, { recommender, state, k });
    for (const user of users) this.pending.users.add(user);
    if (replace) this.send();
    else this.sendTimer ??= setTimeout(() => this.send(), FRONT_SEND_EVERY_MS).unref();
  }

  private send(): void {
    clearTimeout(this.sendTimer);
    this.sendTimer = undefined;
    const pending = this.pending;
    this.pending = undefined;
    if (!pending || this.closing) return;
    const { recommender, state, k, users, replace } = pending;
    const { users: catalogue } = recommender.catalog;
    const lists: Array<readonly [string, string]> = [];
    for (const user of users) {
      const userId = catalogue.idAt(user);
      lists.push([userId, fieldsOf(servedList(recommender, state, userId, k).list)]);
    }
    const known: string[] = [];
    for (; this.knownSent < catalogue.size; this.knownSent++) known.push(catalogue.idAt(this.knownSent));
    const message: FrontMessage = {
      type: 'lists',
      replace,
      lists,
      known,
      coldStart: fieldsOf(servedList(recommender, state, NEVER_SEEN, k).list),
      placesNewcomers: recommender.rankingModels.some((model) => model.scoreNewcomer !== undefined),
    };
    this.worker.postMessage(message);
  }

  /** Stop listening (in-flight requests get a second), then end the thread. */
  async close(): Promise<void> {
    this.closing = true;
    clearTimeout(this.sendTimer);
    const closed = new Promise<void>((resolve) => {
      this.worker.on('message', (reply: FrontReply) => reply.type === 'closed' && resolve());
      this.worker.once('exit', () => resolve());
    });
    this.worker.postMessage({ type: 'close' } satisfies FrontMessage);
    await Promise.race([closed, new Promise((resolve) => setTimeout(resolve, 2000).unref())]);
    await this.worker.terminate();
    rmSync(this.socketDir, { recursive: true, force: true });
  }
}

/** The served list's fields between userId and publishedAt, in the contract's order, as JSON without braces. */
function fieldsOf(list: ServedList): string {
  const { items, model, sourceOffset, eventTs } = list;
  return JSON.stringify({ items, model, sourceOffset, eventTs }).slice(1, -1);
}
