/** `rxrec produce`: a MovieLens-shaped dataset onto the Kafka topics, as a timestamp-ordered stream. */
import { Command, Option } from 'commander';
import { describePacing, type Pacing } from '../../embedded/pacing.js';
import { produce, type ProduceSummary } from '../../produce-job.js';
import { resolveDataset } from '../dataset-spec.js';
import { addKafkaFlags, settingsFromFlags, type KafkaFlags } from '../kafka-flags.js';
import { positiveInteger, positiveNumber } from '../options.js';
import { progressView, type ProgressView } from '../progress.js';

interface ProduceFlags extends KafkaFlags {
  dataset: string;
  rate?: number;
  speed?: number;
  batchSize: number;
  metadata: boolean;
  json?: boolean;
}

export function produceCommand(): Command {
  const command = new Command('produce').description(
    'publish a dataset to Kafka: items and users on their compacted topics, then the ratings in timestamp order, key userId ' +
      '(idempotent, batched producer). Malformed rating lines are published as-is, so the worker sends them to the dlq topic',
  );
  addKafkaFlags(command, { partitions: true });
  return command
    .addOption(new Option('--dataset <dir|synthetic>', "a MovieLens directory, or 'synthetic' for the generated ML-100K-shaped set").default('synthetic'))
    .addOption(new Option('--rate <events/s>', 'publish at a fixed rate').argParser(positiveNumber).conflicts('speed'))
    .addOption(new Option('--speed <factor>', "publish at this multiple of real time, following the events' timestamps").argParser(positiveNumber))
    .addOption(new Option('--batch-size <n>', 'most records per send').argParser(positiveInteger).default(5000))
    .option('--no-metadata', 'publish the ratings only, not the items and users')
    .option('--json', 'print exactly one JSON object with the summary as the last line of standard output')
    .action(async (flags: ProduceFlags) => {
      const settings = settingsFromFlags(flags);
      const pacing: Pacing = flags.rate
        ? { kind: 'rate', eventsPerSecond: flags.rate }
        : flags.speed
          ? { kind: 'speed', factor: flags.speed }
          : { kind: 'max' };
      const dataset = await resolveDataset(flags.dataset);
      const stop = new AbortController();
      let interruptedBy: NodeJS.Signals | undefined;
      const onSignal = (signal: NodeJS.Signals) => {
        interruptedBy = signal;
        stop.abort();
      };
      process.once('SIGINT', onSignal);
      process.once('SIGTERM', onSignal);
      let view: ProgressView | undefined;
      let started = performance.now();
      try {
        const summary = await produce({
          settings,
          dataset,
          pacing,
          batchSize: flags.batchSize,
          metadata: flags.metadata,
          stop: stop.signal,
          onStart: ({ total, topic, created }) => {
            if (created.length > 0) process.stderr.write(`created topics ${created.join(', ')}\n`);
            process.stderr.write(
              `producing ${dataset.format} from ${dataset.dir} to ${topic} at ${settings.brokers.join(',')}: ${total} records, ${describePacing(pacing)}\n`,
            );
            view = progressView('produce', total);
            started = performance.now();
          },
          onProgress: (sent, total) => {
            view?.update({ position: sent, total, eventsPerSecond: sent / Math.max(1e-3, (performance.now() - started) / 1000), text: '' });
          },
        });
        view?.stop();
        process.stdout.write(flags.json ? JSON.stringify(jsonSummary(summary)) + '\n' : textSummary(summary, stop.signal.aborted));
        // Interrupted is not done: a script that produces, then waits for the workers, must know (128 + the signal's number, as a shell does).
        if (interruptedBy !== undefined) process.exitCode = interruptedBy === 'SIGINT' ? 130 : 143;
      } finally {
        process.off('SIGINT', onSignal);
        process.off('SIGTERM', onSignal);
      }
    });
}

function jsonSummary(s: ProduceSummary): object {
  return {
    topic: s.topic,
    items: s.items,
    users: s.users,
    ratings: s.ratings,
    malformed: s.malformed,
    total: s.total,
    seconds: Math.round(s.seconds * 1000) / 1000,
    eventsPerSecond: Math.round(s.eventsPerSecond),
  };
}

function textSummary(s: ProduceSummary, interrupted: boolean): string {
  const lines = [
    `published ${s.items} items and ${s.users} users, then ${s.ratings}${interrupted ? ` of ${s.total}` : ''} ratings records to ${s.topic} in ${s.seconds.toFixed(2)} s: ${Math.round(s.eventsPerSecond)} events/s${interrupted ? ' (interrupted)' : ''}`,
  ];
  if (s.malformed > 0) lines.push(`${s.malformed} malformed lines were published as-is: the worker sends them to the dlq topic with the reason`);
  if (s.skippedMetadata > 0) lines.push(`${s.skippedMetadata} unreadable lines of the item and user files were skipped`);
  return lines.join('\n') + '\n';
}
