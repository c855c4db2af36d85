/** `rxrec similar`: an item's nearest neighbours (knn-item's exact, shrunk similarities) from the state. */
import { Command, Option } from 'commander';
import { withStoredRecommender } from '../../assemble.js';
import { DEFAULT_STATE_DIR } from '../defaults.js';
import { UsageError } from '../errors.js';
import { positiveInteger } from '../options.js';
import { jsonLineWriter, lineWriter } from '../terminal.js';

interface SimilarFlags {
  item: string;
  state: string;
  k: number;
  json?: boolean;
}

export function similarCommand(): Command {
  return new Command('similar')
    .description('print the items most similar to an item (shrunk Pearson over co-ratings, kept exact by the knn-item model)')
    .requiredOption('--item <id>', 'item id as in the ratings')
    .addOption(new Option('--state <dir>', 'LMDB state directory').env('RXREC_STATE').default(DEFAULT_STATE_DIR))
    .addOption(new Option('--k <n>', 'number of neighbours').argParser(positiveInteger).default(10))
    .option('--json', 'print one JSON object (similar-items contract)')
    .action(async (flags: SimilarFlags) => {
      await withStoredRecommender(flags.state, flags.k, (recommender, store) => {
        if (!recommender.itemSimilarity) {
          throw new UsageError(`similarity is off in the state in '${flags.state}': replay or serve with knn-item in --models`);
        }
        const similar = recommender.similarItems(flags.item, flags.k);
        if (!similar) throw new UsageError(`item '${flags.item}' is unknown in the state in '${flags.state}'`);
        if (flags.json) {
          jsonLineWriter()(JSON.stringify(similar));
          return;
        }
        const writeLine = lineWriter();
        const label = (itemId: string) => store.itemLabel(itemId)?.title ?? '';
        writeLine(`items most similar to ${flags.item} ${label(flags.item)}:`);
        similar.neighbours.forEach((n, rank) => {
          writeLine(
            `${String(rank + 1).padStart(3)}. ${n.itemId.padEnd(8)} sim ${n.sim.toFixed(4)}  co-rated by ${String(n.support).padStart(4)}  ${label(n.itemId)}`,
          );
        });
      });
    });
}
