/** `rxrec state migrate`: upgrade a state directory written by an older rxrec in place (state/format.ts). */
import { Command, Option } from 'commander';
import { FORMAT_VERSION, StateStore } from '../../../state/store.js';
import { DEFAULT_STATE_DIR } from '../defaults.js';

interface MigrateFlags {
  state: string;
}

export function stateCommand(): Command {
  const migrate = new Command('migrate')
    .description(`upgrade a state directory written by an older rxrec to format ${FORMAT_VERSION}, in place (no other process may have it open)`)
    .addOption(new Option('--state <dir>', 'LMDB state directory').env('RXREC_STATE').default(DEFAULT_STATE_DIR))
    // As main.ts does for the top-level commands: usage errors are one 'rxrec: ' line, exit code 2.
    .exitOverride()
    .configureOutput({ outputError: (text, write) => write(text.replace(/^error: /, 'rxrec: ')) })
    .action(async (flags: MigrateFlags) => {
      const { from, added } = await StateStore.migrate(flags.state);
      const what = added.length > 0 ? `: added the empty sub-database${added.length > 1 ? 's' : ''} ${added.map((name) => `'${name}'`).join(', ')}` : '';
      const line =
        from !== FORMAT_VERSION
          ? `migrated the state in '${flags.state}' from format ${String(from)} to ${FORMAT_VERSION}${what}`
          : added.length > 0
            ? `migrated the state in '${flags.state}' (format ${FORMAT_VERSION}, written by an older rxrec)${what}`
            : `the state in '${flags.state}' already has format ${FORMAT_VERSION}: nothing to do`;
      process.stdout.write(`${line}\n`);
    });
  return new Command('state').description('maintain a state directory').addCommand(migrate);
}
