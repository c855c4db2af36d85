/**
 * Choosing the tfjs backend: the native one (`@tensorflow/tfjs-node`, an optional dependency that
 * needs libtensorflow at install time), else WebAssembly (XNNPACK, SIMD), else plain JS. The
 * choice is per thread: a training worker initialises its own.
 */
import { createRequire } from 'node:module';
import { dirname, join } from 'node:path';
import * as tf from '@tensorflow/tfjs';
import { setWasmPaths } from '@tensorflow/tfjs-backend-wasm';
import type { BackendChoice } from './options.js';

const require = createRequire(import.meta.url);
let wasmPathsSet = false;

async function tryBackend(name: Exclude<BackendChoice, 'auto'>): Promise<string | undefined> {
  try {
    if (name === 'tensorflow') {
      // Registers the 'tensorflow' backend when its native binding loads; libtensorflow's info lines stay quiet.
      process.env.TF_CPP_MIN_LOG_LEVEL ??= '2';
      await import('@tensorflow/tfjs-node' as string);
    }
    if (name === 'wasm' && !wasmPathsSet) {
      setWasmPaths(join(dirname(require.resolve('@tensorflow/tfjs-backend-wasm/package.json')), 'dist') + '/');
      wasmPathsSet = true;
    }
    if (!(await tf.setBackend(name))) return `backend '${name}' did not initialise`;
    await tf.ready();
    return undefined;
  } catch (error) {
    return (error as Error).message.split('\n')[0];
  }
}

/** Make `choice` the thread's backend ('auto': the first that works); its name, and why the others failed. */
export async function initBackend(choice: BackendChoice): Promise<{ backend: string; skipped: string[] }> {
  tf.enableProdMode();
  const order: Array<Exclude<BackendChoice, 'auto'>> = choice === 'auto' ? ['tensorflow', 'wasm', 'cpu'] : [choice];
  const skipped: string[] = [];
  for (const name of order) {
    const failure = await tryBackend(name);
    if (failure === undefined) return { backend: tf.getBackend(), skipped };
    skipped.push(`${name}: ${failure}`);
  }
  throw new Error(`no tfjs backend could start (${skipped.join('; ')})`);
}
