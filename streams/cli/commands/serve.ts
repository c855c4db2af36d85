/** `rxrec serve`: a Kafka worker in a consumer group, learning from the ratings topic. */
import { Command, Option } from 'commander';
import { scaleByName, WHOLE_STARS } from '../../../src/events/scale.js';
import { DEFAULT_MAX_MESSAGE_BYTES } from '../../../src/events/rating.js';
import { DEFAULT_SESSION_TIMEOUT_MS } from '../../kafka/source.js';
import { describePositions } from '../../../state/positions.js';
import { rejectedText, serve } from '../../serve-job.js';
import { DEFAULT_STATE_DIR } from '../defaults.js';
import { addHttpFlags, httpListenFrom, type HttpFlags } from '../http-flags.js';
import { addKafkaFlags, settingsFromFlags, type KafkaFlags } from '../kafka-flags.js';
import { addModelOptions, modelSettingsFrom, rankModelFrom, type ModelFlags } from '../model-options.js';
import { nonNegativeInteger, positiveInteger, ratingScale } from '../options.js';

interface ServeFlags extends KafkaFlags, ModelFlags, HttpFlags {
  state: string;
  scale: string;
  k: number;
  batchSize: number;
  batchWaitMs: number;
  maxMessageBytes: number;
  readyLag: number;
  connectTimeout: number;
  sessionTimeoutMs: number;
  scaleOut: boolean;
}

/** How long a stopped worker waits for what a library left running before it exits anyway. */
const LINGER_MS = 2000;

export function serveCommand(): Command {
  const command = new Command('serve').description(
    'run a worker: consume the ratings topic in a consumer group, learn online, publish each refreshed top-k list to the recs topic ' +
      'and bad messages to the dlq topic; state and consumer positions in one LMDB transaction per batch. Stops cleanly on SIGINT/SIGTERM ' +
      '(finishes the batch, commits, leaves the group; within 10 s while Kafka answers); a second signal exits at once',
  );
  addKafkaFlags(command, { partitions: true, group: true });
  addHttpFlags(command, 'serve /recommendations, /similar, /items, /metrics, /health/live, /health/ready and the live page on this port');
  return addModelOptions(command)
    .addOption(new Option('--state <dir>', 'LMDB state directory of this worker (one per worker)').env('RXREC_STATE').default(DEFAULT_STATE_DIR))
    .addOption(new Option('--scale <scale>', 'rating scale the events are validated against: 1-5 or 0.5-5').argParser(ratingScale).default(WHOLE_STARS.name))
    .addOption(new Option('--k <n>', 'length of each top-k list').argParser(positiveInteger).default(10))
    .addOption(new Option('--batch-size <n>', 'micro-batch size bound (records)').argParser(positiveInteger).default(1000))
    .addOption(new Option('--batch-wait-ms <ms>', 'micro-batch time bound').argParser(nonNegativeInteger).default(50))
    .addOption(
      new Option('--max-message-bytes <n>', 'larger rating messages go to the dlq as oversized').argParser(positiveInteger).default(DEFAULT_MAX_MESSAGE_BYTES),
    )
    .addOption(
      new Option('--ready-lag <records>', '/health/ready answers 200 once the consumer lag is at most this').argParser(nonNegativeInteger).default(1000),
    )
    .addOption(
      new Option('--connect-timeout <seconds>', 'keep retrying an unreachable cluster at start-up this long').argParser(nonNegativeInteger).default(60),
    )
    .addOption(
      new Option('--session-timeout-ms <ms>', "the group reassigns a crashed worker's partitions after this long (the broker allows 6000 and up by default)")
        .argParser(positiveInteger)
        .default(DEFAULT_SESSION_TIMEOUT_MS),
    )
    .addOption(
      new Option(
        '--scale-out',
        "one of several workers forming one recommender: every id gets the group's index (catalogue topic) and item-side parameters are learned from every partition (model-updates topic); give it to every worker of the group",
      )
        .env('RXREC_SCALE_OUT')
        .default(false),
    )
    .action(async (flags: ServeFlags) => {
      const settings = settingsFromFlags(flags);
      const http = httpListenFrom(flags);
      const models = modelSettingsFrom(flags);
      const scale = scaleByName(flags.scale);
      const stop = new AbortController();
      let stopped = false;
      // Installed until the process exits: a second signal, even in the last LINGER_MS, exits at once with 128 + its number.
      const onSignal = (signal: NodeJS.Signals) => {
        if (stop.signal.aborted) {
          if (!stopped) {
            process.stderr.write(`${signal} again: exiting without finishing the batch (the state stays consistent; the next start resumes from it)\n`);
          }
          process.exit(signal === 'SIGINT' ? 130 : 143);
        }
        stop.abort();
      };
      process.on('SIGINT', onSignal);
      process.on('SIGTERM', onSignal);
      const log = (line: string) => process.stderr.write(`${line}\n`);
      const summary = await serve({
        settings,
        stateDir: flags.state,
        models,
        rankModel: rankModelFrom(flags, models),
        k: flags.k,
        backgroundRefresh: flags.backgroundRefresh,
        scale,
        batchSize: flags.batchSize,
        batchWaitMs: flags.batchWaitMs,
        maxMessageBytes: flags.maxMessageBytes,
        readyLag: flags.readyLag,
        connectTimeoutMs: flags.connectTimeout * 1000,
        sessionTimeoutMs: flags.sessionTimeoutMs,
        scaleOut: flags.scaleOut,
        http,
        log,
        stop: stop.signal,
      });
      stopped = true;
      const positions = describePositions(summary.positions);
      const rate = summary.seconds > 0 ? `, ${Math.round(summary.applied / summary.seconds)} events/s` : '';
      log(
        `stopped: applied ${summary.applied} events, ${rejectedText(summary.rejected, summary.rejectedBy)} in ${summary.seconds.toFixed(1)} s${rate}; ` +
          `lag ${summary.lag ?? 'unknown'}; stored positions ${positions || 'none'}`,
      );
      // State and offsets are stored and the group is left: nothing is lost by exiting. After a
      // broker outage a Kafka client can leave a retry timer behind that keeps the process
      // alive; the worker exits within LINGER_MS of stopping whatever remains.
      setTimeout(() => process.exit(), LINGER_MS).unref();
    });
}
