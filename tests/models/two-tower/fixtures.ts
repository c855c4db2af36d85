/** Small towers and a synthetic stream whose side features matter, for the two-tower tests. */
import type { SyntheticSpec } from '../../../src/datasets/synthetic.js';
import { featuredSyntheticStream, type FeaturedStream as SyntheticFeaturedStream } from '../../../src/datasets/synthetic-stream.js';
import { WHOLE_STARS } from '../../../src/events/scale.js';
import type { ModelContext } from '../../../src/models/model.js';
import type { TwoTowerOptions } from '../../../src/models/two-tower/options.js';

export const SMALL: Partial<TwoTowerOptions> = {
  embedding: 8,
  userDense: 16,
  genreDense: 8,
  movieDense: 8,
  final: 16,
  batchSize: 64,
  replayPerEvent: 1,
  reservoir: 500,
  checkpointEvery: 300,
  trainIn: 'inline',
  backend: 'wasm',
};

/** The synthetic stream (timestamp order, ids interned in that order) and a model context reading its features. */
export interface FeaturedStream extends SyntheticFeaturedStream {
  readonly context: ModelContext;
}

/** A synthetic set replayed in timestamp order, its users' and items' side features in the catalogue. */
export function featuredStream(spec: SyntheticSpec): FeaturedStream {
  const { catalog, events } = featuredSyntheticStream(spec);
  return { catalog, context: { scale: WHOLE_STARS, seed: 42, features: catalog.features }, events };
}
