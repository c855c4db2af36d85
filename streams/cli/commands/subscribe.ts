/** `rxrec subscribe`: follow the recommendations (or similar-items, or dead-letter) topic as it changes. */
import { Command, Option } from 'commander';
import { kafkaClient } from '../../kafka/client.js';
import { topicNames } from '../../kafka/config.js';
import { TopicSubscription, type SubscribedRecord } from '../../kafka/subscriber.js';
import { UsageError } from '../errors.js';
import { addKafkaFlags, settingsFromFlags, type KafkaFlags } from '../kafka-flags.js';
import { positiveInteger } from '../options.js';
import { jsonLineWriter, lineWriter } from '../terminal.js';

const TOPICS = ['recs', 'similar-items', 'dlq'] as const;
type TopicKind = (typeof TOPICS)[number];

interface SubscribeFlags extends KafkaFlags {
  topic: TopicKind;
  user?: string;
  item?: string;
  fromBeginning?: boolean;
  json?: boolean;
  count?: number;
}

export function subscribeCommand(): Command {
  const command = new Command('subscribe').description(
    'follow the recommendations topic and print each list as it changes (or the similar-items or dead-letter topic); runs until SIGINT/SIGTERM or --count',
  );
  addKafkaFlags(command);
  return command
    .addOption(new Option('--topic <name>', 'which topic to follow').choices(TOPICS).default('recs'))
    .option('--user <id>', "only this user's lists (recs) or dead letters (dlq)")
    .option('--item <id>', "only this item's neighbours (similar-items)")
    .option('--from-beginning', 'start from the oldest record kept: on a compacted topic, at least the latest value of every key, then follow')
    .option('--json', 'one JSON object per line: the message value as the topic contract defines it (dlq: with its key)')
    .addOption(new Option('--count <n>', 'exit after printing this many records').argParser(positiveInteger))
    .action(async (flags: SubscribeFlags) => {
      const settings = settingsFromFlags(flags);
      if (flags.item !== undefined && flags.topic !== 'similar-items')
        throw new UsageError('--item filters --topic similar-items; use --user for recs and dlq');
      if (flags.user !== undefined && flags.topic === 'similar-items') throw new UsageError('--user filters recs and dlq; use --item for similar-items');
      const names = topicNames(settings.topicPrefix);
      const topic = { recs: names.recs, 'similar-items': names.similarItems, dlq: names.dlq }[flags.topic];
      const key = flags.user ?? flags.item;

      const writeLine = lineWriter();
      const writeJson = jsonLineWriter();
      let printed = 0;
      let finish!: () => void;
      const finished = new Promise<void>((resolve) => (finish = resolve));
      const onRecord = (record: SubscribedRecord) => {
        if (record.value === null || (key !== undefined && record.key !== key)) return;
        if (flags.count !== undefined && printed >= flags.count) return;
        if (flags.json) writeJson(jsonLine(flags.topic, record));
        else writeLine(readableLine(flags.topic, record));
        if (flags.count !== undefined && ++printed >= flags.count) finish();
      };
      const subscription = await TopicSubscription.open(
        kafkaClient(settings),
        settings,
        { topics: [topic], fromBeginning: flags.fromBeginning ?? false },
        onRecord,
      );
      process.stderr.write(
        `following ${topic} at ${settings.brokers.join(',')}${flags.fromBeginning ? ' from the beginning' : ' from now'}${key === undefined ? '' : `, key ${key}`} (Ctrl-C stops)\n`,
      );
      process.once('SIGINT', finish);
      process.once('SIGTERM', finish);
      try {
        await finished;
      } finally {
        process.off('SIGINT', finish);
        process.off('SIGTERM', finish);
        await subscription.close();
      }
    });
}

function jsonLine(kind: TopicKind, record: SubscribedRecord): string {
  if (kind !== 'dlq') return record.value!;
  return JSON.stringify({ key: record.key, ...parse(record.value!) });
}

function readableLine(kind: TopicKind, record: SubscribedRecord): string {
  const value = parse(record.value!);
  if (value === undefined) return `${kind} ${record.partition}:${record.offset} key ${record.key}: ${record.value}`;
  switch (kind) {
    case 'recs': {
      const items = (value.items as Array<{ itemId: string; score: number }>).map((item) => `${item.itemId} (${item.score.toFixed(2)})`);
      const at = new Date(value.publishedAt as number).toISOString().slice(11, 23);
      return `${at} user ${String(value.userId)} by ${String(value.model)} after ratings ${String(value.sourceOffset)}: ${items.join(', ') || '(empty)'}`;
    }
    case 'similar-items': {
      const neighbours = (value.neighbours as Array<{ itemId: string; sim: number; support: number }>).map(
        (n) => `${n.itemId} (${n.sim.toFixed(2)}, ${n.support})`,
      );
      return `item ${String(value.itemId)}: ${neighbours.join(', ') || '(none)'}`;
    }
    case 'dlq': {
      const origin = value.origin !== undefined && value.origin !== value.topic ? ` (${String(value.origin)})` : '';
      const where = `${String(value.topic)} ${String(value.partition)}:${String(value.offset)}${origin}`;
      const raw = String(value.raw);
      return `rejected ${String(where)} key ${record.key ?? '(none)'}: ${String(value.reason)} | raw ${raw.length > 120 ? `${raw.slice(0, 120)}… (${raw.length} chars)` : raw}`;
    }
  }
}

function parse(text: string): Record<string, unknown> | undefined {
  try {
    const value: unknown = JSON.parse(text);
    return typeof value === 'object' && value !== null ? (value as Record<string, unknown>) : undefined;
  } catch {
    return undefined;
  }
}
