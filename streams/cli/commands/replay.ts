/** `rxrec replay`: a MovieLens-shaped dataset through the embedded pipeline, with live figures. */
import { Command, Option } from 'commander';
import type { Pacing } from '../../embedded/pacing.js';
import { describePacing } from '../../embedded/pacing.js';
import { addModelOptions, modelSettingsFrom, rankModelFrom, type ModelFlags } from '../model-options.js';
import { replay, type ReplaySummary } from '../../replay-job.js';
import { resolveDataset } from '../dataset-spec.js';
import { scaleByName } from '../../../src/events/scale.js';
import { UsageError } from '../errors.js';
import { addHttpFlags, httpListenFrom, type HttpFlags } from '../http-flags.js';
import { nonNegativeInteger, positiveInteger, positiveNumber, ratingScale } from '../options.js';
import { progressView } from '../progress.js';
import { DEFAULT_STATE_DIR } from '../defaults.js';
import { startHttpApi, type HttpApi } from '../../http/server.js';
import { PipelineMetrics } from '../../metrics.js';
import type { RecommendationList } from '../../transport.js';

interface ReplayFlags extends ModelFlags, HttpFlags {
  dataset: string;
  scale?: string;
  rate?: number;
  speed?: number;
  state: string;
  fresh?: boolean;
  k: number;
  batchSize: number;
  batchWaitMs: number;
  out?: string;
  similarOut?: string;
  deadLetters?: string;
  stopAt?: number;
  json?: boolean;
  keepServing?: boolean;
}

export function replayCommand(): Command {
  const command = addHttpFlags(
    new Command('replay'),
    'serve the live page, /recommendations, /similar, /items, /metrics and health on this port during the replay',
  );
  return addModelOptions(command)
    .description('replay a MovieLens-shaped rating stream through the online models (embedded transport), showing prequential figures live')
    .addOption(
      new Option(
        '--dataset <dir|synthetic>',
        "a MovieLens directory (ml-100k, ml-1m, ml-10m, ml-latest/ml-25m), or 'synthetic' for the generated ML-100K-shaped set",
      ).default('synthetic'),
    )
    .addOption(new Option('--rate <events/s>', 'replay at a fixed rate').argParser(positiveNumber).conflicts('speed'))
    .addOption(new Option('--speed <factor>', "replay at this multiple of real time, following the events' timestamps").argParser(positiveNumber))
    .addOption(new Option('--scale <scale>', "rating scale, overriding the one of the dataset's format: 1-5 or 0.5-5").argParser(ratingScale))
    .addOption(
      new Option('--state <dir>', 'LMDB state directory; a replay resumes from the position stored there').env('RXREC_STATE').default(DEFAULT_STATE_DIR),
    )
    .option('--fresh', 'discard the state in --state first and start from the beginning')
    .addOption(new Option('--k <n>', 'length of each top-k list').argParser(positiveInteger).default(10))
    .addOption(new Option('--batch-size <n>', 'micro-batch size bound (records)').argParser(positiveInteger).default(1000))
    .addOption(new Option('--batch-wait-ms <ms>', 'micro-batch time bound').argParser(nonNegativeInteger).default(50))
    .option('--out <file>', "write every refreshed list as JSON lines (recommendations contract); '-' for standard output")
    .option('--similar-out <file>', "write every changed item neighbour list (knn-item) as JSON lines (similar-items contract); '-' for standard output")
    .option('--dead-letters <file>', 'dead-letter file (default <state>/dead-letters.jsonl)')
    .addOption(new Option('--stop-at <offset>', 'stop after this position of the stream (a later run resumes)').argParser(nonNegativeInteger))
    .option('--json', 'print exactly one JSON object with the summary as the last line of standard output')
    .option('--keep-serving', 'with --http-port: once the stream has ended, keep serving the finished state (live page, API, metrics) until interrupted')
    .action(async (flags: ReplayFlags) => {
      const pacing: Pacing = flags.rate
        ? { kind: 'rate', eventsPerSecond: flags.rate }
        : flags.speed
          ? { kind: 'speed', factor: flags.speed }
          : { kind: 'max' };
      const listen = httpListenFrom(flags);
      if (flags.keepServing && !listen) throw new UsageError('--keep-serving keeps the HTTP API up after the replay: give --http-port too');
      if (flags.out === '-' && flags.json) throw new UsageError('--out - and --json both write to standard output: give --out a file');
      const scale = flags.scale === undefined ? undefined : scaleByName(flags.scale);
      const models = modelSettingsFrom(flags);
      const rankModel = rankModelFrom(flags, models);
      const detected = await resolveDataset(flags.dataset);
      const dataset = scale ? { ...detected, scale } : detected;
      let view: ReturnType<typeof progressView> | undefined;
      let api: HttpApi | undefined;
      let started = performance.now();
      let startPosition = 0;
      let latestList: RecommendationList | undefined;
      // SIGINT/SIGTERM: finish the batch in flight, store it, print the summary and exit 0; a second signal exits at once
      // (nothing is lost either way: every batch is stored with its position before the next is read).
      const stop = new AbortController();
      let streamEnded = false;
      const onSignal = (signal: NodeJS.Signals) => {
        if (stop.signal.aborted) process.exit(signal === 'SIGINT' ? 130 : 143);
        stop.abort();
        if (!streamEnded) process.stderr.write(`\n${signal}: stopping after the batch in flight (again to stop at once)\n`);
      };
      process.on('SIGINT', onSignal);
      process.on('SIGTERM', onSignal);
      try {
        await replay({
          dataset,
          stateDir: flags.state,
          fresh: flags.fresh ?? false,
          pacing,
          models,
          rankModel,
          k: flags.k,
          backgroundRefresh: flags.backgroundRefresh,
          batchSize: flags.batchSize,
          batchWaitMs: flags.batchWaitMs,
          out: flags.out,
          similarOut: flags.similarOut,
          deadLetterPath: flags.deadLetters,
          stopAtOffset: flags.stopAt,
          signal: stop.signal,
          metrics: new PipelineMetrics({ processMetrics: true }),
          onStart: async ({ resumedFrom, total, recommender, metrics, state }) => {
            metrics.ready.set(1);
            const where = resumedFrom > 0 ? `resuming at ${resumedFrom}/${total} (--fresh starts over)` : `${total} records`;
            process.stderr.write(`replaying ${dataset.format} from ${dataset.dir}: ${where}, ${describePacing(pacing)}\n`);
            if (flags.stopAt !== undefined && flags.stopAt <= resumedFrom) {
              process.stderr.write(
                `--stop-at ${flags.stopAt} is not past the stored position ${resumedFrom}: nothing to replay (a later --stop-at goes on; --fresh starts over)\n`,
              );
            }
            if (listen) {
              api = await startHttpApi({ recommender, registry: metrics.registry, readiness: { notReadyBecause: () => undefined }, state }, listen);
              api.live.progressed({ position: resumedFrom, total });
              process.stderr.write(`live page and metrics on http://${api.host}:${api.port}/\n`);
            }
            view = progressView('replay', total);
            started = performance.now();
            startPosition = resumedFrom;
          },
          onBatch: (report, { position, total, recommender }) => {
            latestList = report.lists[report.lists.length - 1] ?? latestList;
            api?.live.batch(report, { position, total });
            api?.refreshed(report.refreshed);
            const { models } = recommender.evaluator.figures();
            const errors = recommender.ratingModels.map((m) => `${m.name} ${fixed(models[m.name]?.rmse, 3)}`).join(' ');
            const hits = recommender.rankingModels.map((m) => `${m.name} ${fixed(models[m.name]?.hitAt10, 3)}`).join(' ');
            const elapsed = (performance.now() - started) / 1000;
            view?.update({
              position,
              total,
              eventsPerSecond: (position - startPosition) / Math.max(elapsed, 1e-3),
              text: `RMSE ${errors} | hit@${flags.k} ${hits}`,
            });
          },
          onEnd: async (summary) => {
            streamEnded = true;
            view?.stop();
            if (flags.json) process.stdout.write(JSON.stringify(jsonSummary(summary, flags.k)) + '\n');
            else process.stdout.write(textSummary(summary, flags.k) + (latestList ? latestListText(latestList) : ''));
            if (!api) return;
            api.live.finish();
            if (flags.keepServing && !stop.signal.aborted) {
              process.stderr.write(`replay finished: still serving its final state on http://${api.host}:${api.port}/ until interrupted (Ctrl-C)\n`);
              await interrupted();
            }
            await api.close();
          },
        });
      } finally {
        process.off('SIGINT', onSignal);
        process.off('SIGTERM', onSignal);
      }
    });
}

/** Resolves on the first SIGINT or SIGTERM (which then no longer kill the process: the state closes cleanly). */
function interrupted(): Promise<void> {
  return new Promise((resolve) => {
    const stop = () => {
      process.off('SIGINT', stop);
      process.off('SIGTERM', stop);
      resolve();
    };
    process.on('SIGINT', stop);
    process.on('SIGTERM', stop);
  });
}

/**
 * The `--json` contract: {events, rejected, seconds, eventsPerSecond, models, rankModel, hitAt<k>,
 * ndcgAt<k>, publishedHitAt<k>, publishedNdcgAt<k>}; each entry of `models` has rmse and mae
 * (rating models) and hitAt<k>, ndcgAt<k> and rankedEvents (ranking models). The ranking keys
 * name the list length the figures were measured at (--k): hitAt10 at the default, hitAt20 with
 * --k 20.
 */
function jsonSummary(s: ReplaySummary, k: number): object {
  const atK = (figure: string) => figure.replace(/At10$/, `At${k}`);
  return {
    events: s.events,
    rejected: s.rejected,
    seconds: round(s.seconds, 3),
    eventsPerSecond: Math.round(s.eventsPerSecond),
    models: Object.fromEntries(
      Object.entries(s.models).map(([name, f]) => [
        name,
        Object.fromEntries(Object.entries(f).map(([figure, value]) => [atK(figure), figure === 'rankedEvents' ? value : round(value, 4)])),
      ]),
    ),
    rankModel: s.rankModel,
    [`hitAt${k}`]: round(s.hitAt10, 4),
    [`ndcgAt${k}`]: round(s.ndcgAt10, 4),
    [`publishedHitAt${k}`]: round(s.publishedHitAt10, 4),
    [`publishedNdcgAt${k}`]: round(s.publishedNdcgAt10, 4),
    ...(Object.keys(s.training).length > 0 ? { training: s.training } : {}),
  };
}

/** One line per background learner: its backend and how far behind the stream it ended. */
function trainingLines(s: ReplaySummary): string[] {
  return Object.entries(s.training).map(
    ([name, t]) =>
      `${name} trains on tfjs '${t.backend}' behind the stream: ${t.trainedEvents} of ${t.trainedEvents + t.lagEvents} events trained when it ended (lag ${t.lagEvents} events, ${t.lagSeconds.toFixed(1)} s), ${t.steps} steps of ${(t.stepSeconds * 1000).toFixed(1)} ms`,
  );
}

function textSummary(s: ReplaySummary, k: number): string {
  const rows = Object.entries(s.models).map(([name, f]) => {
    const rating = f.rmse === undefined ? ''.padEnd(28) : `RMSE ${fixed(f.rmse, 4)}  MAE ${fixed(f.mae, 4)}  `;
    const ranking = f.hitAt10 === undefined ? '' : `hit@${k} ${fixed(f.hitAt10, 4)}  NDCG@${k} ${fixed(f.ndcgAt10, 4)}`;
    return `  ${name.padEnd(13)}${rating}${ranking}${name === s.rankModel ? '  ← serves the lists' : ''}`;
  });
  const ranked = Object.values(s.models).find((f) => f.rankedEvents !== undefined)?.rankedEvents ?? 0;
  const lines = [
    `applied ${s.events} events, rejected ${s.rejected} (dead letters: ${s.deadLetterPath}) in ${s.seconds.toFixed(2)} s: ${Math.round(s.eventsPerSecond)} events/s (loading took ${s.loadSeconds.toFixed(2)} s)`,
    `stream position ${s.position}/${s.total}${s.resumedFrom > 0 ? ` (resumed at ${s.resumedFrom})` : ''}`,
    `prequential (test, then train) over the whole stream; hit@${k} and NDCG@${k} of each model's fresh list on ${ranked} sampled events rated >= 4:`,
    ...rows,
    `  as published  hit@${k} ${fixed(s.publishedHitAt10, 4)}  NDCG@${k} ${fixed(s.publishedNdcgAt10, 4)}  (the lists as last published: staleness depends on --batch-size)`,
    ...trainingLines(s),
  ];
  return lines.join('\n') + '\n';
}

function fixed(value: number | undefined, digits: number): string {
  return value === undefined || !Number.isFinite(value) ? '–' : value.toFixed(digits);
}

function latestListText(list: RecommendationList): string {
  const items = list.items.slice(0, 5).map((item) => `${item.itemId} (${item.score.toFixed(2)})`);
  return `latest list published: user ${list.userId} → ${items.join(', ')}${list.items.length > 5 ? ', …' : ''}\n  (rxrec recommend --user ${list.userId} shows it with titles)\n`;
}

function round(value: number | undefined, digits: number): number | null {
  if (value === undefined || !Number.isFinite(value)) return null;
  const factor = 10 ** digits;
  return Math.round(value * factor) / factor;
}
