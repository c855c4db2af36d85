/** `rxrec recommend`: a user's current top-k from the state directory, without a stream. */
import { Command, Option } from 'commander';
import { withStoredRecommender } from '../../assemble.js';
import { listItems } from '../../list-entries.js';
import { DEFAULT_STATE_DIR } from '../defaults.js';
import { positiveInteger } from '../options.js';

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
    .option('--json', 'print the list as one JSON object (recommendations contract)')
    .action(async (flags: RecommendFlags) => {
      await withStoredRecommender(flags.state, flags.k, (recommender, store) => {
        const user = recommender.catalog.users.lookup(flags.user);
        const rated = user >= 0 ? recommender.histories.itemsOf(user).size : 0;
        const newcomer = rated === 0 ? recommender.newcomerList(flags.user) : undefined;
        const list = {
          userId: flags.user,
          items: listItems(recommender, newcomer?.items ?? recommender.rankFor(user), (itemId) => store.itemLabel(itemId)?.title),
          model: (newcomer?.model ?? recommender.ranker).name,
          known: user >= 0,
        };
        if (flags.json) {
          process.stdout.write(JSON.stringify(list) + '\n');
          return;
        }
        const features = recommender.catalog.features.userById(flags.user);
        process.stdout.write(
          newcomer === undefined
            ? `top ${flags.k} for user ${flags.user} (rated ${rated} items) by ${list.model}:\n`
            : newcomer.fromFeatures
              ? `user ${flags.user} has no ratings: placed from their side features ${JSON.stringify(features)} by ${list.model}:\n`
              : `user ${flags.user} ${user >= 0 ? 'has no ratings' : 'is unknown'}: the cold-start list by ${list.model}:\n`,
        );
        list.items.forEach((item, rank) => {
          const label = store.itemLabel(item.itemId);
          const title = label ? `  ${label.title}${label.genres.length ? ` [${label.genres.join(', ')}]` : ''}` : '';
          process.stdout.write(`${String(rank + 1).padStart(3)}. ${item.itemId.padEnd(8)} ${item.score.toFixed(3)}${title}  — ${item.why}\n`);
        });
      });
    });
}
