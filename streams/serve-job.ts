/**
 * One Kafka worker: the ratings topic, as a member of the workers' consumer group, through the
 * pipeline into the state directory; refreshed lists to the recs topic, bad records to the dlq
 * topic. Runs until `stop` is aborted, then finishes the batch in flight, commits it (LMDB, then
 * Kafka) and leaves the group, so the partitions' next holder continues exactly where it stopped.
 *
 * A cluster that cannot be reached at start-up is retried with backoff for `connectTimeoutMs`
 * (each attempt logged, readiness saying why); one lost mid-stream is retried by the consumer and
 * the producer themselves (streams/kafka/source.ts, producer.ts) while the pipeline waits.
 *
 * Side features: before the first batch the worker reads the items and users topics to their
 * current end (streams/kafka/side-feature-feed.ts) into the state and the catalogue, and then
 * keeps applying what is published to them while it runs.
 */
import { randomUUID } from 'node:crypto';
import { setTimeout as sleep } from 'node:timers/promises';
import { lastValueFrom, tap } from 'rxjs';
import { Gauge } from 'prom-client';
import { DEFAULT_MAX_MESSAGE_BYTES, REJECTION_KINDS, type RejectionKind } from '../src/events/rating.js';
import type { RatingScale } from '../src/events/scale.js';
import type { ModelSettings } from '../src/models/registry.js';
import type { Recommender } from '../src/recommender.js';
import { StateStore } from '../state/store.js';
import { describePositions, recordsBefore } from '../state/positions.js';
import { resumeRecommender, type BoundConfig } from './assemble.js';
import { startHttpApi, type HttpApi, type HttpListenOptions, type Readiness } from './http/server.js';
import { retryWithin, type KafkaLog } from './kafka/client.js';
import { topicNames, type KafkaSettings } from './kafka/config.js';
import { KafkaUnavailableError } from './kafka/errors.js';
import { openServeTransport, type KafkaServeTransport } from './kafka/open.js';
import { ScaleOut, ScaleOutMetrics, type GroupMembership } from './scale-out.js';
import { UserChangelog } from './kafka/user-changelog.js';
import type { CatalogueLog } from './kafka/catalogue.js';
import type { ModelUpdates } from './kafka/model-updates.js';
import type { KafkaClientEvent } from './kafka/source.js';
import { SideFeatureFeed } from './kafka/side-feature-feed.js';
import { PipelineMetrics } from './metrics.js';
import { runPipeline } from './pipeline.js';
import { keepItems, keepUsers } from './side-features.js';

export interface ServeOptions {
  readonly settings: KafkaSettings;
  readonly stateDir: string;
  readonly models: ModelSettings;
  readonly rankModel: string;
  readonly k: number;
  /** Background list refreshes per applied event (default DEFAULT_BACKGROUND_REFRESH). */
  readonly backgroundRefresh?: number;
  /** Ratings on the wire are validated against it; bound to the state like the model settings. */
  readonly scale: RatingScale;
  readonly batchSize: number;
  readonly batchWaitMs: number;
  readonly maxMessageBytes?: number;
  /** /health/ready answers 200 once the consumer lag is at most this many records. */
  readonly readyLag: number;
  /** How long an unreachable cluster is retried at start-up before giving up. */
  readonly connectTimeoutMs: number;
  /** How long the group waits for a crashed member before reassigning its partitions. */
  readonly sessionTimeoutMs?: number;
  /** One of several workers forming one recommender: shared id indices and item-side parameters (README: Scale-out). */
  readonly scaleOut?: boolean;
  readonly http?: HttpListenOptions;
  /** Status lines (start, assignments, progress, stop) and kafkajs warnings. */
  readonly log: KafkaLog;
  /** Abort to stop the worker cleanly. */
  readonly stop: AbortSignal;
  /** How often a progress line is logged while anything moved (0: never). */
  readonly progressEveryMs?: number;
  /** Called once the state and the side features are loaded, before the first batch. */
  readonly onStart?: (info: { readonly recommender: Recommender }) => void | Promise<void>;
}

export interface ServeSummary {
  readonly streamId: string;
  readonly applied: number;
  readonly rejected: number;
  /** Rejected records per class of reason (the `reason` label of rxrec_events_rejected_total). */
  readonly rejectedBy: RejectedBy;
  readonly seconds: number;
  /** Consumer lag when the worker stopped, when known. */
  readonly lag: number | undefined;
  /** Next offset per partition, as stored in the state when the worker stopped. */
  readonly positions: ReadonlyMap<number, number>;
}

/** Rejected records per class of reason, in the order of REJECTION_KINDS. */
export type RejectedBy = Partial<Record<RejectionKind, number>>;

export async function serve(options: ServeOptions): Promise<ServeSummary> {
  const { settings, log } = options;
  const topics = topicNames(settings.topicPrefix);
  const streamId = `kafka:${topics.ratings}`;
  const config: BoundConfig = { scale: options.scale.name, rankModel: options.rankModel, ...options.models };
  const store = StateStore.open(options.stateDir);
  const metrics = new PipelineMetrics({ processMetrics: true });
  const assignedGauge = new Gauge({
    name: 'rxrec_consumer_assigned_partitions',
    help: 'Partitions of the ratings topic this worker holds',
    registers: [metrics.registry],
  });
  const readiness = new WorkerReadiness(settings, options.readyLag);
  let http: HttpApi | undefined;
  let transport: KafkaServeTransport | undefined;
  let feed: SideFeatureFeed | undefined;
  const started = performance.now();
  let applied = 0;
  let rejected = 0;
  const rejectedBy: RejectedBy = {};
  const gauges = setInterval(() => updateGauges(), 1000).unref();
  const updateGauges = () => {
    const lag = transport?.source.lag();
    if (lag !== undefined) metrics.consumerLag.set(lag);
    assignedGauge.set(transport?.source.assignment().length ?? 0);
    metrics.ready.set(readiness.notReadyBecause() === undefined ? 1 : 0);
  };
  const onClientEvent = (event: KafkaClientEvent) => (event === 'group_join' ? metrics.kafkaRebalances.inc() : metrics.kafkaErrors.inc({ kind: event }));
  const stopped = (seconds: number): ServeSummary => ({
    streamId,
    applied,
    rejected,
    rejectedBy,
    seconds,
    lag: transport?.source.lag(),
    positions: store.positions(),
  });
  let progress: { stop(): void } | undefined;
  let changelog: UserChangelog | undefined;
  let sharing: ScaleOut | undefined;
  try {
    // The recommender as the state holds it: at start, and again after each restore.
    const rebuild = () => resumeRecommender(store, streamId, config, options.k, { backgroundRefresh: options.backgroundRefresh });
    let recommender = rebuild();
    const resumeAt = describePositions(store.positions());
    log(
      `serving ${topics.ratings} → ${topics.recs}${recommender.itemSimilarity ? ` and ${topics.similarItems}` : ''} (dead letters ${topics.dlq}) with ${config.models.join(', ')} as group ${settings.groupId} at ${settings.brokers.join(',')}; ` +
        `state ${options.stateDir}: ${recommender.catalog.users.size} users, ${recommender.catalog.items.size} items${resumeAt ? `, stored positions ${resumeAt}` : ', new'}`,
    );
    if (options.http) {
      http = await startHttpApi({ recommender, registry: metrics.registry, readiness, state: store }, options.http);
      http.live.progressed({ position: recordsBefore(store.positions()) });
      log(
        `HTTP API, /metrics and health on http://${http.host}:${http.port}/${options.http.token === undefined ? '' : ' (bearer token required except on /health/*)'}`,
      );
    }

    transport = await connect(
      options,
      readiness,
      store,
      (partitions) => log(`assigned partitions [${partitions.join(', ')}] of ${topics.ratings}`),
      onClientEvent,
    );
    if (transport === undefined) return stopped(0);
    const { source } = transport;
    let group: ScaleOutGroup | undefined;
    if (options.scaleOut) {
      readiness.reading(`reading the shared catalogue and model updates (${topics.catalogue}, ${topics.modelUpdates})`);
      // The transactional producer first: it aborts what this worker's last run left open, which would hold the readers back.
      const slot = ScaleOut.slotOf(store);
      changelog = await UserChangelog.open(transport.kafka, settings, topics, slot, log);
      const { catalogue, updates } = await transport.openScaleOut(recommender.catalog);
      // Read the model updates up to a record of its own: past every transaction that ended before it, this worker's last ones included.
      const barrier = randomUUID();
      await changelog.sendTotals([updates.barrierRecord(slot, barrier)]);
      await updates.untilBarrier(barrier);
      const restoring = () => new Set(source.toRestore());
      const held = () => source.assignment().filter((partition) => !restoring().has(partition));
      const membership = { held, confirm: () => source.confirmMembership() };
      group = { catalogue, updates, changelog, metrics: new ScaleOutMetrics(metrics.registry), membership };
      sharing = new ScaleOut(recommender, store, catalogue, updates, changelog, group.metrics, membership);
      const adopted = sharing.start({ rollForward: true });
      log(
        `scale-out: slot ${sharing.slot}; ${recommender.catalog.users.size} users and ${recommender.catalog.items.size} items have the group's indices ` +
          `(${catalogue.counts().read} announcements); ${updates.counts().read} shared-parameter totals read; shared: ${sharing.sharedModels.join(', ') || 'none'}, ` +
          `the rest per worker; user state in ${topics.userState}${adopted > 0 ? `; ${adopted} of its own totals taken from the topic (a transaction its state lacks)` : ''}`,
      );
    }

    readiness.reading('reading the side features (the items and users topics)');
    // The recommender of the moment: a restore rebuilds it.
    feed = await SideFeatureFeed.open(transport.kafka, settings, {
      onItems: (items) => keepItems(store, recommender.catalog.features, items),
      onUsers: (users) => keepUsers(store, recommender.catalog.features, users),
      deadLetters: transport.deadLetters,
      maxMessageBytes: options.maxMessageBytes ?? DEFAULT_MAX_MESSAGE_BYTES,
      log,
    });
    if (!(await untilStopped(feed.caughtUp, options.stop))) return stopped(0);
    const read = feed.counts();
    log(
      `side features: read ${read.items} items from ${topics.items} and ${read.users} users from ${topics.users}` +
        `${read.rejected > 0 ? ` (${read.rejected} bad records sent to ${topics.dlq})` : ''}; ` +
        `the catalogue has features of ${recommender.catalog.features.itemCount} items and ${recommender.catalog.features.userCount} users`,
    );
    await options.onStart?.({ recommender });
    readiness.connected(transport);
    const onStop = () => {
      log('stopping: finishing the batch in flight, then committing and leaving the group');
      source.finish();
    };
    if (options.stop.aborted) onStop();
    else options.stop.addEventListener('abort', onStop, { once: true });

    // Models that train on tfjs start before the first batch (the pipeline would start them too): say on which backend.
    await recommender.start();
    for (const [name, status] of Object.entries(recommender.trainingStatus())) log(`${name} trains on tfjs backend '${status.backend}'`);
    progress = progressLogger(options.progressEveryMs ?? 10_000, log, () => ({ applied, rejected, rejectedBy, lag: source.lag() }));
    // Scaled out, the pipeline stops (after the batch in flight) whenever partitions new to this
    // worker wait for their user state; it runs again on a recommender rebuilt from the state.
    for (;;) {
      await lastValueFrom(
        runPipeline(
          {
            source,
            recommender,
            store,
            deadLetters: transport.deadLetters,
            recommendations: transport.recommendations,
            similarItems: recommender.itemSimilarity ? transport.similarItems : undefined,
            metrics,
            sharing,
          },
          {
            scale: options.scale,
            batchSize: options.batchSize,
            batchWaitMs: options.batchWaitMs,
            maxMessageBytes: options.maxMessageBytes ?? DEFAULT_MAX_MESSAGE_BYTES,
          },
        ).pipe(
          tap((report) => {
            applied += report.applied;
            rejected += report.rejected;
            for (const kind of report.rejections) rejectedBy[kind] = (rejectedBy[kind] ?? 0) + 1;
            if (report.records > 0) {
              updateGauges();
              http?.live.batch(report, { position: recordsBefore(store.positions()), lag: source.lag() });
              http?.refreshed(report.refreshed);
            }
          }),
        ),
        { defaultValue: undefined },
      );
      const due = source.toRestore();
      if (!group || !sharing || due.length === 0 || options.stop.aborted) break;
      readiness.restoring(`restoring partitions [${due.join(', ')}] of ${topics.ratings}: their users' state from ${topics.userState}`);
      const rebuilt = await restorePartitions(due, { store, recommender, sharing, group, log, topic: topics.userState, rebuild });
      recommender = rebuilt.recommender;
      sharing = rebuilt.sharing;
      http?.reloaded(recommender, rebuilt.users);
      source.restored(due);
      readiness.restoring(undefined);
    }
    return stopped((performance.now() - started) / 1000);
  } finally {
    clearInterval(gauges);
    progress?.stop();
    try {
      await feed?.close();
      await transport?.close();
      await changelog?.close();
    } finally {
      await http?.close();
      await store.close();
    }
  }
}

/**
 * The transport with its consumer in the group, retrying an unreachable cluster with backoff
 * until `connectTimeoutMs`; other errors (refused login, missing ACLs, a topic with the wrong
 * policy) fail at once. Undefined when stopped while waiting.
 */
async function connect(
  options: ServeOptions,
  readiness: WorkerReadiness,
  store: StateStore,
  onAssignment: (partitions: readonly number[]) => void,
  onClientEvent: (event: KafkaClientEvent) => void,
): Promise<KafkaServeTransport | undefined> {
  const deadline = Date.now() + options.connectTimeoutMs;
  for (let attempt = 1; ; attempt++) {
    let transport: KafkaServeTransport | undefined;
    try {
      transport = await openServeTransport(options.settings, {
        log: options.log,
        scaleOut: options.scaleOut,
        onAssignment,
        onClientEvent,
        sessionTimeoutMs: options.sessionTimeoutMs,
        connectRetry: retryWithin(deadline - Date.now()),
      });
      await transport.source.start((partition) => store.position(partition));
      return transport;
    } catch (error) {
      await transport?.close().catch(() => undefined);
      if (!(error instanceof KafkaUnavailableError) || Date.now() >= deadline || options.stop.aborted) throw error;
      readiness.failed(error.message);
      const delayMs = Math.min(15_000, 1000 * 2 ** (attempt - 1), Math.max(0, deadline - Date.now()));
      options.log(
        `${error.message}; retrying in ${Math.round(delayMs / 1000)} s (attempt ${attempt}; gives up ${Math.round((deadline - Date.now()) / 1000)} s from now, see --connect-timeout)`,
      );
      try {
        await sleep(delayMs, undefined, { signal: options.stop });
      } catch {
        return undefined;
      }
    }
  }
}

/** What a scaled-out worker keeps across the rebuilds that follow a restore. */
interface ScaleOutGroup {
  readonly catalogue: CatalogueLog;
  readonly updates: ModelUpdates;
  readonly changelog: UserChangelog;
  readonly metrics: ScaleOutMetrics;
  readonly membership: GroupMembership;
}

interface RestoreParts {
  readonly store: StateStore;
  readonly recommender: Recommender;
  readonly sharing: ScaleOut;
  readonly group: ScaleOutGroup;
  readonly log: KafkaLog;
  readonly topic: string;
  /** The recommender as the state holds it. */
  readonly rebuild: () => Recommender;
}

/**
 * Partitions new to this worker: what it holds in memory is stored first (ids interned, totals
 * absorbed), then what others wrote to their changelog since this state last read it is taken
 * into the state with the positions it reaches, and the recommender is rebuilt from the state,
 * as a restart would: every model's restore is the one it has. Returns the new recommender,
 * its sharing, and the users whose rows were restored.
 */
async function restorePartitions(
  partitions: readonly number[],
  parts: RestoreParts,
): Promise<{ readonly recommender: Recommender; readonly sharing: ScaleOut; readonly users: number[] }> {
  const { store, recommender, sharing, group, log } = parts;
  const started = performance.now();
  const delta = recommender.drainState();
  const { shared, changelogAt } = await sharing.commit(delta, new Map(), new Map());
  delta.models.push(...shared);
  store.commit(delta, new Map(), new Map(), changelogAt);

  const at = store.changelogAt();
  const from = new Map(partitions.map((partition) => [partition, at.get(partition) ?? 0]));
  const restored = await group.changelog.restore(from);
  const read = [...from].map(([partition, offset]) => `p${partition} ${offset}→${restored.changelogAt.get(partition) ?? offset}`).join(', ');
  // The changelog reaches at least what this state stored (its commits follow their transactions).
  const ahead = new Map([...restored.positions].filter(([partition, offset]) => offset > (store.position(partition) ?? -1)));
  store.adoptUserRows(restored.rows, ahead, restored.changelogAt);
  group.metrics.changelogBytes.inc({ direction: 'restored' }, restored.bytes);

  const rebuilt = parts.rebuild();
  group.catalogue.rebind(rebuilt.catalog);
  const next = new ScaleOut(rebuilt, store, group.catalogue, group.updates, group.changelog, group.metrics, group.membership);
  next.start({ rollForward: false });
  const users = [...new Set(restored.rows.map((row) => row.user))];
  log(
    `restored partitions [${partitions.join(', ')}] from ${parts.topic}: ${restored.records} records, ${users.length} users (read ${read})` +
      `${ahead.size > 0 ? `, positions ${describePositions(ahead)}` : ' (the state had them)'} in ${Math.round(performance.now() - started)} ms`,
  );
  return { recommender: rebuilt, sharing: next, users };
}

/** Resolves true once `work` is done, false if `stop` is aborted first. */
async function untilStopped(work: Promise<void>, stop: AbortSignal): Promise<boolean> {
  if (stop.aborted) return false;
  let onAbort!: () => void;
  const stopped = new Promise<false>((resolve) => {
    onAbort = () => resolve(false);
    stop.addEventListener('abort', onAbort, { once: true });
  });
  try {
    return await Promise.race([work.then(() => true), stopped]);
  } finally {
    stop.removeEventListener('abort', onAbort);
  }
}

/** Ready: state loaded (before the HTTP API starts), side features read, no partition restoring, Kafka in touch, consumer lag within bound. */
class WorkerReadiness implements Readiness {
  private transport: KafkaServeTransport | undefined;
  private lastError: string | undefined;
  private doing: string | undefined;
  private restore: string | undefined;

  constructor(
    private readonly settings: KafkaSettings,
    private readonly readyLag: number,
  ) {}

  failed(message: string): void {
    this.lastError = message;
  }

  /** What the worker reads before it consumes (the shared catalogue, the side features). */
  reading(what: string): void {
    this.doing = what;
  }

  /** Partitions it holds back while their user state is restored (undefined: done). */
  restoring(what: string | undefined): void {
    this.restore = what;
  }

  connected(transport: KafkaServeTransport): void {
    this.transport = transport;
  }

  notReadyBecause(): string | undefined {
    if (this.restore) return this.restore;
    if (!this.transport) {
      if (this.doing) return this.doing;
      return `connecting to Kafka at ${this.settings.brokers.join(',')}${this.lastError ? ` (last attempt: ${this.lastError})` : ''}`;
    }
    const { consumer, producer } = this.transport.health();
    if (!consumer.connected) return `the consumer is not in touch with Kafka${consumer.lastError ? `: ${consumer.lastError}` : ''}`;
    if (!producer.connected) return `the producer cannot deliver to Kafka${producer.lastError ? `: ${producer.lastError}` : ''}`;
    const lag = this.transport.source.lag();
    if (lag === undefined) return `waiting for the group ${this.settings.groupId} to assign partitions`;
    if (lag > this.readyLag) return `catching up: ${lag} records behind (ready at ${this.readyLag} or fewer)`;
    return undefined;
  }
}

interface ProgressFigures {
  readonly applied: number;
  readonly rejected: number;
  readonly rejectedBy: RejectedBy;
  readonly lag: number | undefined;
}

/** `rejected 3 (schema 2, scale 1)`: the classes of reason of rxrec_events_rejected_total. */
export function rejectedText(rejected: number, rejectedBy: RejectedBy): string {
  const classes = REJECTION_KINDS.filter((kind) => (rejectedBy[kind] ?? 0) > 0).map((kind) => `${kind} ${rejectedBy[kind]}`);
  return `rejected ${rejected}${classes.length > 0 ? ` (${classes.join(', ')})` : ''}`;
}

/**
 * A status line every `everyMs` while anything moved since the last one (a worker's log is read
 * later: an idle worker does not repeat itself, and the figures of a burst that ended are logged).
 */
function progressLogger(everyMs: number, log: KafkaLog, figures: () => ProgressFigures): { stop(): void } {
  if (everyMs <= 0) return { stop: () => undefined };
  let lastAt = performance.now();
  let lastApplied = 0;
  let lastLine = '';
  const timer = setInterval(() => {
    const now = performance.now();
    const { applied, rejected, rejectedBy, lag } = figures();
    const rate = ((applied - lastApplied) / Math.max(1e-3, (now - lastAt) / 1000)).toFixed(0);
    const line = `applied ${applied} events, ${rejectedText(rejected, rejectedBy)}, lag ${lag ?? 'unknown'}`;
    lastAt = now;
    lastApplied = applied;
    if (line === lastLine) return;
    lastLine = line;
    log(line.replace(' events,', ` events (${rate} events/s),`));
  }, everyMs).unref();
  return { stop: () => clearInterval(timer) };
}
