import { cpus, release, totalmem, type } from 'node:os';
import { join } from 'node:path';

/** What a bench result was measured on, kept beside its figures. */
export interface Machine {
  readonly cpu: string;
  readonly cores: number;
  readonly memoryGiB: number;
  readonly os: string;
  readonly node: string;
  readonly date: string;
}

export function thisMachine(): Machine {
  return {
    cpu: cpus()[0]?.model ?? 'unknown',
    cores: cpus().length,
    memoryGiB: Math.round(totalmem() / 2 ** 30),
    os: `${type()} ${release()}`,
    node: process.version,
    date: new Date().toISOString(),
  };
}

/** One line naming the machine, for a results table. */
export function describeMachine(machine: Machine): string {
  return `${machine.date.slice(0, 10)} on ${machine.cpu}, ${machine.cores} cores, ${machine.memoryGiB} GiB, ${machine.os}, Node ${machine.node}`;
}

/** bench/results of the repository (the scripts run from dist/bench). */
export const RESULTS_DIR = join(import.meta.dirname, '..', '..', 'bench', 'results');
