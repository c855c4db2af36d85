#!/usr/bin/env node
/**
 * The rxrec command line. Errors are one line on standard error with a non-zero exit code
 * (2 for wrong usage, 1 for everything else); --verbose adds the stack.
 */
import { Command, CommanderError } from 'commander';
import { apiCommand } from './commands/api.js';
import { datasetCommand } from './commands/dataset.js';
import { evalCommand } from './commands/eval.js';
import { produceCommand } from './commands/produce.js';
import { recommendCommand } from './commands/recommend.js';
import { replayCommand } from './commands/replay.js';
import { serveCommand } from './commands/serve.js';
import { reportCommand } from './commands/report.js';
import { similarCommand } from './commands/similar.js';
import { stateCommand } from './commands/state.js';
import { subscribeCommand } from './commands/subscribe.js';
import { UsageError } from './errors.js';

const program = new Command('rxrec')
  .description('streaming online-learning recommender: replay or consume rating events, learn online, publish top-k lists')
  .version('0.1.0')
  .option('--verbose', 'print stack traces with errors')
  .exitOverride()
  .configureOutput({ outputError: (text, write) => write(text.replace(/^error: /, 'rxrec: ')) })
  .showHelpAfterError('(add --help for usage)');

for (const command of [
  replayCommand(),
  evalCommand(),
  recommendCommand(),
  similarCommand(),
  reportCommand(),
  datasetCommand(),
  serveCommand(),
  produceCommand(),
  subscribeCommand(),
  apiCommand(),
  stateCommand(),
]) {
  program.addCommand(command.exitOverride().configureOutput({ outputError: (text, write) => write(text.replace(/^error: /, 'rxrec: ')) }));
}

// A reader that stops early (`rxrec recommend | head -1`) is not an error.
process.stdout.on('error', (error: NodeJS.ErrnoException) => {
  if (error.code === 'EPIPE') process.exit(0);
  throw error;
});

try {
  await program.parseAsync(process.argv);
} catch (error) {
  if (error instanceof CommanderError) {
    // Commander has printed the message (or the help/version text) already.
    process.exitCode = error.exitCode === 0 ? 0 : 2;
  } else {
    const verbose = program.opts<{ verbose?: boolean }>().verbose || process.argv.includes('--verbose');
    process.stderr.write(`rxrec: ${verbose ? ((error as Error).stack ?? String(error)) : (error as Error).message}\n`);
    process.exitCode = error instanceof UsageError ? 2 : 1;
  }
  // A client a failure left open (a socket, a retry timer) must not keep the failed command alive.
  setTimeout(() => process.exit(), 5_000).unref();
}
