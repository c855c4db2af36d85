/** `rxrec api`: the HTTP API, live page and metrics over a state directory, read only, following its writer. */
import { Command, Option } from 'commander';
import { serveState } from '../../api-job.js';
import { DEFAULT_STATE_DIR } from '../defaults.js';
import { UsageError } from '../errors.js';
import { addHttpFlags, httpListenFrom, type HttpFlags } from '../http-flags.js';
import { nonNegativeNumber, positiveInteger } from '../options.js';

interface ApiFlags extends HttpFlags {
  state: string;
  k: number;
  reloadEvery: number;
}

export function apiCommand(): Command {
  const command = addHttpFlags(
    new Command('api'),
    'serve /recommendations, /similar, /items, /metrics, health and the live page on this port (required)',
  ).description(
    'serve the state of a finished or running replay or worker over HTTP, read only (nothing in --state is written), ' +
      'reading it again while its writer moves on; runs until SIGINT/SIGTERM',
  );
  return command
    .addOption(new Option('--state <dir>', 'LMDB state directory to serve').env('RXREC_STATE').default(DEFAULT_STATE_DIR))
    .addOption(new Option('--k <n>', 'length of the lists served by default').argParser(positiveInteger).default(10))
    .addOption(
      new Option('--reload-every <seconds>', 'check the state this often and read it again when its writer moved on (0: serve it as it was at start)')
        .argParser(nonNegativeNumber)
        .default(5),
    )
    .action(async (flags: ApiFlags) => {
      const http = httpListenFrom(flags);
      if (!http) throw new UsageError('api serves the state over HTTP: give --http-port');
      const stop = new AbortController();
      const onSignal = () => stop.abort();
      process.once('SIGINT', onSignal);
      process.once('SIGTERM', onSignal);
      try {
        await serveState({
          stateDir: flags.state,
          k: flags.k,
          http,
          reloadEveryMs: flags.reloadEvery * 1000,
          log: (line) => process.stderr.write(`${line}\n`),
          stop: stop.signal,
        });
      } finally {
        process.off('SIGINT', onSignal);
        process.off('SIGTERM', onSignal);
      }
    });
}
