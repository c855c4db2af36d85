/** `rxrec recommend`: a user's current top-k from the state directory, without a stream. */
import { Command, Option } from 'commander';
import { withStoredRecommender } from '../../assemble.js';
import { servedList } from '../../served-list.js';
import { DEFAULT_STATE_DIR } from '../defaults.js';
import { positiveInteger } from '../options.js';
import { jsonLineWriter, lineWriter } from '../terminal.js';

interface RecommendFlags {
  user: string;
  state: string;
  k: number;
  json?: boolean;
}

export function recommendCommand(): Command {
  return new Command('recommend')
    .description("print a user's top-k list computed from the state (items they rated are left out)")
    .requiredOption('--user <id>', 'user id as in the ratings')
    .addOption(new Option('--state <dir>', 'LMDB state directory').env('RXREC_STATE').default(DEFAULT_STATE_DIR))
    .addOption(new Option('--k <n>', 'list length').argParser(positiveInteger).default(10))
    .option('--json', 'print the list as one JSON object (recommendations contract, plus `known` and item titles)')
    .action(async (flags: RecommendFlags) => {
      await withStoredRecommender(flags.state, flags.k, (recommender, store) => {
        const { list, fromFeatures } = servedList(recommender, store, flags.user, flags.k);
        if (flags.json) {
          jsonLineWriter()(JSON.stringify(list));
          return;
        }
        const writeLine = lineWriter();
        const user = recommender.catalog.users.lookup(flags.user);
        const features = recommender.catalog.features.userById(flags.user);
        writeLine(
          list.known
            ? `top ${flags.k} for user ${flags.user} (rated ${recommender.histories.itemsOf(user).size} items) by ${list.model}:`
            : fromFeatures
              ? `user ${flags.user} has no ratings: placed from their side features ${JSON.stringify(features)} by ${list.model}:`
              : `user ${flags.user} ${user >= 0 ? 'has no ratings' : 'is unknown'}: the cold-start list by ${list.model}:`,
        );
        list.items.forEach((item, rank) => {
          const label = store.itemLabel(item.itemId);
          const title = label ? `  ${label.title}${label.genres.length ? ` [${label.genres.join(', ')}]` : ''}` : '';
          writeLine(`${String(rank + 1).padStart(3)}. ${item.itemId.padEnd(8)} ${item.score.toFixed(3)}${title}  — ${item.why}`);
        });
      });
    });
}
