/** The HTTP API flags of the long-running commands (replay, serve): one port, its address, an optional bearer token. */
import { InvalidArgumentError, Option, type Command } from 'commander';
import { DEFAULT_HTTP_HOST, type HttpListenOptions } from '../http/server.js';
import { UsageError } from './errors.js';
import { port } from './options.js';

export interface HttpFlags {
  httpPort?: number;
  httpHost: string;
  httpToken?: string;
  pipelineNice?: number;
}

export function addHttpFlags(command: Command, portMeaning: string): Command {
  return command
    .addOption(new Option('--http-port <port>', portMeaning).argParser(port))
    .addOption(new Option('--http-host <address>', 'address the HTTP API listens on (0.0.0.0 in a container)').default(DEFAULT_HTTP_HOST))
    .addOption(
      new Option(
        '--http-token <token>',
        'require Authorization: Bearer <token> on every route but /health/*; prefer the env (argv is visible to other users)',
      ).env('RXREC_HTTP_TOKEN'),
    )
    .addOption(
      new Option(
        '--pipeline-nice <n>',
        "with --http-port: run every thread but the HTTP front's (pipeline, garbage collection, LMDB writer, training workers) at this nice value (1-19, per thread on Linux), so the front's list answers win the CPU when it is short; 0: leave them",
      )
        .argParser(niceValue)
        .default(0),
    );
}

function niceValue(raw: string): number {
  const n = Number(raw);
  if (!(Number.isInteger(n) && n >= 0 && n <= 19)) throw new InvalidArgumentError(`'${raw}' is not a nice value from 0 to 19`);
  return n;
}

/** Where to listen, or undefined when --http-port is not given. */
export function httpListenFrom(flags: HttpFlags): HttpListenOptions | undefined {
  if (flags.httpPort === undefined) return undefined;
  const token = flags.httpToken;
  if (token !== undefined && !/^\S+$/.test(token)) {
    throw new UsageError('--http-token (or RXREC_HTTP_TOKEN) is empty or contains white space: a bearer token is one word');
  }
  return { port: flags.httpPort, host: flags.httpHost, token, pipelineNice: flags.pipelineNice };
}
