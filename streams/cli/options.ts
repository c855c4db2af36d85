/** Parsers for numeric flags that name the flag and the value when they reject it. */
import { InvalidArgumentError } from 'commander';
import { scaleByName } from '../../src/events/scale.js';

export function positiveInteger(value: string): number {
  const parsed = Number(value);
  if (!Number.isInteger(parsed) || parsed <= 0) throw new InvalidArgumentError(`'${value}' is not a positive integer`);
  return parsed;
}

export function nonNegativeInteger(value: string): number {
  const parsed = Number(value);
  if (!Number.isInteger(parsed) || parsed < 0) throw new InvalidArgumentError(`'${value}' is not a non-negative integer`);
  return parsed;
}

export function positiveNumber(value: string): number {
  const parsed = Number(value);
  if (!Number.isFinite(parsed) || parsed <= 0) throw new InvalidArgumentError(`'${value}' is not a positive number`);
  return parsed;
}

export function nonNegativeNumber(value: string): number {
  const parsed = Number(value);
  if (!Number.isFinite(parsed) || parsed < 0) throw new InvalidArgumentError(`'${value}' is not a non-negative number`);
  return parsed;
}

export function integer(value: string): number {
  const parsed = Number(value);
  if (!Number.isInteger(parsed)) throw new InvalidArgumentError(`'${value}' is not an integer`);
  return parsed;
}

/** A positive number of events, or 'Infinity'. */
export function halfLife(value: string): number {
  const parsed = value === 'Infinity' ? Infinity : Number(value);
  if (!(parsed > 0)) throw new InvalidArgumentError(`'${value}' is not a positive number of events or 'Infinity'`);
  return parsed;
}

/** A share in [0, 1]. */
export function share(value: string): number {
  const parsed = Number(value);
  if (!(parsed >= 0 && parsed <= 1)) throw new InvalidArgumentError(`'${value}' is not a share between 0 and 1`);
  return parsed;
}

/** A TCP port, 0 (any free one) to 65535. */
export function port(value: string): number {
  const parsed = Number(value);
  if (!Number.isInteger(parsed) || parsed < 0 || parsed > 65535) throw new InvalidArgumentError(`'${value}' is not a port (0 to 65535)`);
  return parsed;
}

/** The name of a known rating scale (checked while the flags are parsed, so before any state is opened). */
export function ratingScale(value: string): string {
  try {
    return scaleByName(value).name;
  } catch (error) {
    throw new InvalidArgumentError((error as Error).message);
  }
}
