/**
 * Side features as tower inputs. Categorical values (gender, occupation) become embedding-row
 * indices from growable vocabularies (0 = unknown); genres become flags over `genreSlots` slots,
 * ML-100K's 19 genres first, others in order of first sight ("Children" is ml-latest's
 * "Children's"); age is centred and scaled to about unit spread (ML-100K's users: mean 34, sd
 * 12; ml-1m's age codes are bucket lower bounds on the same scale). An event is encoded once,
 * in the stream's thread, so the trainer (possibly a worker) never needs the catalogue.
 */
import { ML100K_GENRES } from '../../datasets/vocabulary.js';
import type { FeatureLookup, ItemFeatures, UserFeatures } from '../../side-features.js';
import type { IndexedRating } from '../model.js';

/** Fields of one encoded event, in order. */
export const FIELDS = 8;
export const enum Field {
  User = 0,
  Item = 1,
  Gender = 2,
  Occupation = 3,
  GenreMask = 4,
  Age = 5,
  Rating = 6,
  /** The baseline estimate μ + b_u + b_i before the event: the towers learn what it misses. */
  Base = 7,
}

/** Encoded events, FIELDS numbers each (integers are exact in float64). */
export type EncodedEvents = Float64Array;

const AGE_CENTRE = 34;
const AGE_SCALE = 12;
const GENRE_ALIASES: Readonly<Record<string, string>> = { Children: "Children's" };

/** Names to dense indices from 1 in order of first sight; 0 stands for unknown. */
export class Vocabulary {
  private readonly indexByName = new Map<string, number>();
  private readonly names: string[] = [];
  private addedFrom = 0;

  constructor(
    private readonly capacity = Infinity,
    seed: readonly string[] = [],
  ) {
    for (const name of seed) this.index(name);
    this.addedFrom = this.names.length;
  }

  get size(): number {
    return this.names.length;
  }

  /** The name's index without adding it; 0 when unknown (read paths: serving never changes the state). */
  lookup(name: string | undefined): number {
    return name === undefined ? 0 : (this.indexByName.get(name) ?? 0);
  }

  /** The name's index, adding it while there is room; 0 when unknown and full. */
  index(name: string | undefined): number {
    if (name === undefined || name.length === 0) return 0;
    let index = this.indexByName.get(name);
    if (index === undefined) {
      if (this.names.length >= this.capacity) return 0;
      this.names.push(name);
      index = this.names.length;
      this.indexByName.set(name, index);
    }
    return index;
  }

  /** Names added since the last call (for the state store). */
  drainAdded(): string[] {
    const added = this.names.slice(this.addedFrom);
    this.addedFrom = this.names.length;
    return added;
  }

  get all(): readonly string[] {
    return this.names;
  }

  /** Take back every name ever drained, in order. */
  restore(names: readonly string[]): void {
    for (const name of names) this.index(name);
    this.addedFrom = this.names.length;
  }
}

export class FeatureEncoder {
  readonly genders = new Vocabulary();
  readonly occupations = new Vocabulary();
  readonly genres: Vocabulary;

  constructor(
    readonly genreSlots: number,
    private readonly features: FeatureLookup | undefined,
  ) {
    this.genres = new Vocabulary(genreSlots, ML100K_GENRES.slice(0, genreSlots));
  }

  /**
   * [gender row, occupation row, normalised age] for a user's features (zeros when unknown).
   * Learning (`grow`) adds new names to the vocabularies; serving only looks them up.
   */
  user(features: UserFeatures | undefined, grow = false): [number, number, number] {
    if (!features) return [0, 0, 0];
    const age = features.age === undefined || !Number.isFinite(features.age) ? 0 : (features.age - AGE_CENTRE) / AGE_SCALE;
    const indexOf = (vocabulary: Vocabulary, name: string | undefined) => (grow ? vocabulary.index(name) : vocabulary.lookup(name));
    return [indexOf(this.genders, features.gender), indexOf(this.occupations, features.occupation), age];
  }

  /** Genre flags as a bit mask over the slots (bit s = slot s, vocabulary index s + 1). */
  genreMask(features: ItemFeatures | undefined, grow = false): number {
    let mask = 0;
    for (const genre of features?.genres ?? []) {
      const name = GENRE_ALIASES[genre] ?? genre;
      const index = grow ? this.genres.index(name) : this.genres.lookup(name);
      if (index > 0) mask |= 1 << (index - 1);
    }
    return mask >>> 0;
  }

  /** Changes whenever side features or the vocabularies do: cached tower outputs made before are stale. */
  get revision(): number {
    return (this.features?.revision ?? 0) + this.genders.size + this.occupations.size + this.genres.size;
  }

  /** `baseOf(event)` is the baseline estimate the event was predicted with. */
  encode(batch: readonly IndexedRating[], baseOf: (event: IndexedRating) => number): EncodedEvents {
    const out = new Float64Array(batch.length * FIELDS);
    batch.forEach((event, b) => {
      const [gender, occupation, age] = this.user(this.features?.user(event.user), true);
      const row = b * FIELDS;
      out[row + Field.User] = event.user;
      out[row + Field.Item] = event.item;
      out[row + Field.Gender] = gender;
      out[row + Field.Occupation] = occupation;
      out[row + Field.GenreMask] = this.genreMask(this.features?.item(event.item), true);
      out[row + Field.Age] = age;
      out[row + Field.Rating] = event.rating;
      out[row + Field.Base] = baseOf(event);
    });
    return out;
  }

  itemMask(item: number): number {
    return this.genreMask(this.features?.item(item));
  }

  userInputs(user: number): [number, number, number] {
    return this.user(this.features?.user(user));
  }
}

export function concatEvents(chunks: readonly EncodedEvents[]): EncodedEvents {
  if (chunks.length === 1) return chunks[0]!;
  const out = new Float64Array(chunks.reduce((sum, chunk) => sum + chunk.length, 0));
  let offset = 0;
  for (const chunk of chunks) {
    out.set(chunk, offset);
    offset += chunk.length;
  }
  return out;
}
