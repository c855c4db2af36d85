/**
 * The towers' dense parameters, one list for the tfjs trainer (as variables) and for serving
 * (as one flat Float32Array in this order), so both compute the same function:
 *
 *   user:  x = [e_id (E), e_gender (E/2), e_occupation (E/2), relu(age·W_a + b_a) (E/2)]
 *          u = normalise(relu(x W_1 + b_1) W_2 + b_2)
 *   item:  g = relu(genres W_g + b_g),  y = [e_id (E), g]
 *          v = normalise(relu(y W_3 + b_3) W_4 + b_4)
 *   head:  r̂ = b_ui + c + s · u·v      (b_ui the baseline estimate μ + b_u + b_i; u·v a cosine)
 *
 * Weights start Glorot-uniform (Keras' Dense default), biases at 0, the scale s at 1.
 */
import { createRng, type Rng } from '../../random.js';
import type { TwoTowerOptions } from './options.js';

export interface ParamSpec {
  readonly name: string;
  readonly shape: readonly number[];
  readonly init: 'glorot' | 'zeros' | 'ones';
}

export type TowerShape = Pick<TwoTowerOptions, 'embedding' | 'userDense' | 'genreDense' | 'movieDense' | 'final' | 'genreSlots'>;

export function paramSpecs(shape: TowerShape): ParamSpec[] {
  const { embedding: e, userDense, genreDense, movieDense, final, genreSlots } = shape;
  const half = e / 2;
  return [
    { name: 'age_w', shape: [1, half], init: 'glorot' },
    { name: 'age_b', shape: [half], init: 'zeros' },
    { name: 'user1_w', shape: [e + 3 * half, userDense], init: 'glorot' },
    { name: 'user1_b', shape: [userDense], init: 'zeros' },
    { name: 'user2_w', shape: [userDense, final], init: 'glorot' },
    { name: 'user2_b', shape: [final], init: 'zeros' },
    { name: 'genre_w', shape: [genreSlots, genreDense], init: 'glorot' },
    { name: 'genre_b', shape: [genreDense], init: 'zeros' },
    { name: 'item1_w', shape: [e + genreDense, movieDense], init: 'glorot' },
    { name: 'item1_b', shape: [movieDense], init: 'zeros' },
    { name: 'item2_w', shape: [movieDense, final], init: 'glorot' },
    { name: 'item2_b', shape: [final], init: 'zeros' },
    { name: 'scale', shape: [1], init: 'ones' },
    { name: 'offset', shape: [1], init: 'zeros' },
  ];
}

export function paramSize(spec: ParamSpec): number {
  return spec.shape.reduce((a, b) => a * b, 1);
}

/** Initial values of every parameter, flat in spec order. */
export function initialParams(specs: readonly ParamSpec[], rng: Rng): Float32Array {
  const out = new Float32Array(specs.reduce((sum, spec) => sum + paramSize(spec), 0));
  let offset = 0;
  for (const spec of specs) {
    const size = paramSize(spec);
    if (spec.init === 'ones') out.fill(1, offset, offset + size);
    if (spec.init === 'glorot') {
      const limit = Math.sqrt(6 / (spec.shape[0]! + spec.shape[1]!));
      for (let i = 0; i < size; i++) out[offset + i] = (2 * rng.next() - 1) * limit;
    }
    offset += size;
  }
  return out;
}

/** Views of the flat parameters by name. */
export function paramViews(specs: readonly ParamSpec[], flat: Float32Array): Record<string, Float32Array> {
  const views: Record<string, Float32Array> = {};
  let offset = 0;
  for (const spec of specs) {
    const size = paramSize(spec);
    views[spec.name] = flat.subarray(offset, offset + size);
    offset += size;
  }
  if (offset !== flat.length) throw new Error(`the towers have ${offset} dense parameters, the stored ones ${flat.length}`);
  return views;
}

/** The towers' seeded start: trainer and serving begin from the same weights. */
export function seededParams(shape: TowerShape, seed: number): Float32Array {
  return initialParams(paramSpecs(shape), createRng(seed ^ 0x7717));
}
