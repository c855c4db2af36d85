/** `rxrec report`: a self-contained HTML report of a state directory's replay (see streams/report/report.ts). */
import { existsSync, readFileSync, writeFileSync } from 'node:fs';
import { Command, Option } from 'commander';
import { withStoredRecommender } from '../../assemble.js';
import { reportHtml, type ReportInput } from '../../report/report.js';
import { DEFAULT_STATE_DIR } from '../defaults.js';
import { UsageError } from '../errors.js';

interface ReportFlags {
  state: string;
  out: string;
  results: string;
}

const DEFAULT_RESULTS = 'bench/results/reference.json';

export function reportCommand(): Command {
  return new Command('report')
    .description(
      'write a self-contained HTML report of a replayed state: prequential RMSE and hit@10 per model over the stream, throughput, the event-to-publish latency histogram, and the side-by-side table of npm run bench:reference when it exists',
    )
    .addOption(new Option('--state <dir>', 'LMDB state directory').env('RXREC_STATE').default(DEFAULT_STATE_DIR))
    .requiredOption('--out <file.html>', 'where to write the report')
    .addOption(new Option('--results <file>', 'the side-by-side results (bench/results/reference.json); left out when missing').default(DEFAULT_RESULTS))
    .action(async (flags: ReportFlags) => {
      const references = readReferences(flags.results);
      await withStoredRecommender(flags.state, 10, (recommender, store) => {
        const input: ReportInput = {
          stateDir: flags.state,
          series: store.seriesPoints(),
          config: store.boundConfig() as Record<string, unknown> | undefined,
          figures: recommender.evaluator.figures().models,
          references,
          generatedAt: new Date(),
        };
        writeFileSync(flags.out, reportHtml(input));
        process.stderr.write(`report of ${flags.state} (${input.series.length} series points) written to ${flags.out}\n`);
      });
    });
}

function readReferences(file: string): ReportInput['references'] {
  if (!existsSync(file)) return undefined;
  let parsed: unknown;
  try {
    parsed = JSON.parse(readFileSync(file, 'utf8'));
  } catch (error) {
    throw new UsageError(`--results ${file} is not JSON: ${(error as Error).message}`);
  }
  const rows = (parsed as { rows?: unknown }).rows;
  if (!Array.isArray(rows)) throw new UsageError(`--results ${file} has no "rows" array (expected the output of npm run bench:reference)`);
  return { source: file, rows: rows as Array<Record<string, unknown>> };
}
