/**
 * Where the trainer runs. `inline`: in the stream's thread, inside `learn` (deterministic: tests,
 * batch protocols). `worker`: in a worker thread with its own tfjs backend, so training never
 * blocks the stream; the worker sends the serving weights back at most once a second, and a
 * checkpoint every `checkpointEvery` trained events. Both feed the model the same callbacks.
 */
import { Worker } from 'node:worker_threads';
import type { StateValue } from '../model.js';
import { initBackend } from './backend.js';
import type { EncodedEvents } from './encoding.js';
import type { TwoTowerOptions } from './options.js';
import { TowerTrainer, type TowerUpdate } from './trainer.js';

export interface HostCallbacks {
  onUpdate(update: TowerUpdate): void;
  onCheckpoint(entries: Array<[string, StateValue]>, trainedEvents: number): void;
}

export interface TrainerHost {
  readonly backend: string;
  /** Events in stream order, after every earlier `send`; `catchUp`: train them without replay. */
  send(events: EncodedEvents, catchUp?: boolean): void;
  /** Train on everything sent, a partial step included; the update and a checkpoint arrive first. */
  flush(): Promise<void>;
  close(): Promise<void>;
  /** Set when background training failed. */
  readonly failure: Error | undefined;
}

export interface HostStart {
  readonly options: TwoTowerOptions;
  readonly seed: number;
  /** Checkpoint entries to resume from. */
  readonly checkpoint: Array<[string, StateValue]>;
}

/** Weights reach serving at most this often from a worker (each costs serving a recomputation of the item vectors). */
export const PUBLISH_EVERY_MS = 1000;

/** Runs after steps: checkpoints when due. Shared by both hosts. */
export class CheckpointSchedule {
  private lastAt: number;

  constructor(
    private readonly trainer: TowerTrainer,
    private readonly every: number,
  ) {
    this.lastAt = trainer.trainedEvents;
  }

  /** The checkpoint's entries when one is due (or forced), else undefined. */
  due(force = false): Array<[string, StateValue]> | undefined {
    if (this.trainer.trainedEvents === this.lastAt || (!force && this.trainer.trainedEvents - this.lastAt < this.every)) return undefined;
    this.lastAt = this.trainer.trainedEvents;
    return this.trainer.checkpoint();
  }
}

export async function startInlineHost(start: HostStart, callbacks: HostCallbacks): Promise<TrainerHost> {
  const { backend } = await initBackend(start.options.backend);
  const trainer = new TowerTrainer(start.options, start.seed);
  await trainer.restore(start.checkpoint);
  const schedule = new CheckpointSchedule(trainer, start.options.checkpointEvery);
  const after = (stepped: boolean, force = false) => {
    if (stepped) callbacks.onUpdate(trainer.update());
    const entries = schedule.due(force);
    if (entries) callbacks.onCheckpoint(entries, trainer.trainedEvents);
  };
  return {
    backend,
    failure: undefined,
    send: (events, catchUp) => after(trainer.add(events, catchUp)),
    flush: async () => after(trainer.flush(), true),
    close: async () => trainer.dispose(),
  };
}

type FromWorker =
  | { type: 'ready'; backend: string }
  | { type: 'update'; update: TowerUpdate }
  | { type: 'checkpoint'; entries: Array<[string, StateValue]>; trainedEvents: number }
  | { type: 'flushed'; id: number }
  | { type: 'failed'; message: string };

export async function startWorkerHost(start: HostStart, callbacks: HostCallbacks): Promise<TrainerHost> {
  const worker = new Worker(new URL('./train-worker.js', import.meta.url), { workerData: start });
  worker.unref();
  let failure: Error | undefined;
  let backend = '';
  const flushes = new Map<number, (failed?: Error) => void>();
  let nextFlush = 0;
  let closing = false;
  const ready = new Promise<void>((resolve, reject) => {
    worker.on('message', (message: FromWorker) => {
      if (message.type === 'ready') {
        backend = message.backend;
        resolve();
      } else if (message.type === 'update') callbacks.onUpdate(message.update);
      else if (message.type === 'checkpoint') callbacks.onCheckpoint(message.entries, message.trainedEvents);
      else if (message.type === 'flushed') {
        flushes.get(message.id)?.();
        flushes.delete(message.id);
      } else if (message.type === 'failed') fail(message.message);
    });
    worker.on('error', (error) => fail(error.message));
    worker.on('exit', (code) => {
      if (!closing) fail(`the worker exited (code ${code})`);
      for (const [, settle] of flushes) settle(new Error('the two-tower trainer was closed before it caught up'));
      flushes.clear();
    });
    // A failure rejects the start and every flush waiting; later calls see `failure`.
    const fail = (reason: string) => {
      failure = new Error(`the two-tower trainer failed: ${reason}`);
      reject(failure);
      for (const [, settle] of flushes) settle(failure);
      flushes.clear();
    };
  });
  await ready;
  return {
    get backend() {
      return backend;
    },
    get failure() {
      return failure;
    },
    send: (events, catchUp) => worker.postMessage({ type: 'events', events, catchUp }),
    flush: () =>
      new Promise<void>((resolve, reject) => {
        if (failure) return reject(failure);
        const id = nextFlush++;
        flushes.set(id, (failed) => (failed ? reject(failed) : resolve()));
        worker.postMessage({ type: 'flush', id });
      }),
    close: async () => {
      closing = true;
      await worker.terminate();
    },
  };
}
