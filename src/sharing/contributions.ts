/**
 * Shared parameters across the workers of a group (serve --scale-out), as sums of
 * contributions. Every worker has a slot (an id kept in its state); the value of a shared
 * parameter is
 *
 *   θ = θ₀ + Σ_slots c_slot
 *
 * where θ₀ is the parameter's initial value (seeded by index, the same everywhere) and c_slot is
 * the sum of every change one worker's events made to it (for SGD, its steps; for a count, its
 * events). Each worker publishes its c_slot of every parameter its batch changed (the
 * cumulative total, not the batch's delta) and adds the increase of every other slot's total
 * since it last saw it. Publishing totals makes the exchange idempotent: a record read twice
 * moves nothing. A batch's totals are published in the transaction that applies it
 * (streams/kafka/user-changelog.ts); a worker whose LMDB commit was lost after that takes its
 * own totals back from the topic (`adoptOwn`). A worker whose disk is lost comes back with a
 * new slot, and the old slot's totals stay counted (its events did happen).
 *
 * Pure bookkeeping: the models do the adding (SharedParameters), the streams layer carries the
 * totals (streams/kafka/model-updates.ts) and stores this state with each batch.
 */
import { randomUUID } from 'node:crypto';
import type { OnlineModel, SharedParameters, StateValue } from '../models/model.js';
import { packFloat64, unpackFloat64 } from '../models/packed.js';

/** One slot's total contribution to one parameter. */
export interface Contribution {
  readonly slot: string;
  readonly model: string;
  readonly key: string;
  readonly total: Float64Array;
}

/** The models sub-database's name for this state (beside the models' own). */
export const CONTRIBUTIONS_STATE = '~shared';

export class Contributions {
  readonly slot: string;
  private readonly models = new Map<string, SharedParameters>();
  /** This worker's totals, by model then key. */
  private readonly own = new Map<string, Map<string, Float64Array>>();
  /** Other slots' totals as last added in, by slot, model, key (kept as received: never changed in place). */
  private readonly seen = new Map<string, Map<string, Map<string, Float64Array>>>();
  /**
   * Totals changed since the last drain, per table (own: `own model`, seen: `seen slot model`),
   * packed only then: a parameter changes many times between commits.
   */
  private slotChanged = false;
  private readonly changed = new Map<Map<string, Float64Array>, { readonly prefix: string; readonly keys: Set<string> }>();

  /** `entries`: this state as stored (none for a new worker: a new slot). */
  constructor(models: readonly OnlineModel[], entries: Iterable<[string, StateValue]> = []) {
    for (const model of models) if (model.shared) this.models.set(model.name, model.shared);
    let slot: string | undefined;
    for (const [key, value] of entries) {
      if (key === 'slot') slot = value as string;
      else if (key.startsWith('own ')) {
        const [, model, parameter] = key.split(' ');
        this.ownOf(model!).set(parameter!, unpackFloat64(value as Uint8Array));
      } else if (key.startsWith('seen ')) {
        const [, from, model, parameter] = key.split(' ');
        this.seenOf(from!, model!).set(parameter!, unpackFloat64(value as Uint8Array));
      } else throw new Error(`shared contributions: unknown state key '${key}'`);
    }
    this.slot = slot ?? randomUUID();
    this.slotChanged = slot === undefined;
    for (const shared of this.models.values()) shared.begin();
  }

  /** Models whose parameters are shared (the rest are kept per worker). */
  get sharedModels(): string[] {
    return [...this.models.keys()];
  }

  /** This worker's new totals after a batch: every model's changes since the last call, added to its totals. */
  collect(): Contribution[] {
    const updates: Contribution[] = [];
    for (const [model, shared] of this.models) {
      const own = this.ownOf(model);
      for (const [key, delta] of shared.drainDeltas()) {
        const total = own.get(key);
        if (total === undefined) own.set(key, delta);
        else for (let f = 0; f < delta.length; f++) total[f]! += delta[f]!;
        const value = own.get(key)!;
        updates.push({ slot: this.slot, model, key, total: Float64Array.from(value) });
        this.markChanged(own, `own ${model}`, key);
      }
    }
    return updates;
  }

  /**
   * Add other slots' totals: each parameter moves by the increase since its slot's total was
   * last added. This worker's own slot is skipped (its totals are its own state). Returns the
   * positions in `contributions` of those that moved a parameter.
   */
  absorb(contributions: readonly Contribution[]): number[] {
    const moved: number[] = [];
    const deltas: Array<[model: string, key: string, delta: Float64Array]> = [];
    for (const [position, { slot, model, key, total }] of contributions.entries()) {
      if (slot === this.slot) continue;
      const shared = this.models.get(model);
      // A model this worker does not run (another configuration) or does not share: nothing to add.
      if (!shared) continue;
      const seen = this.seenOf(slot, model);
      const before = seen.get(key);
      if (before && before.length !== total.length)
        throw new Error(`shared contributions: ${model} '${key}' has ${before.length} values, slot ${slot} sends ${total.length}`);
      const delta = increase(before, total);
      if (!delta) continue;
      seen.set(key, total);
      this.markChanged(seen, `seen ${slot} ${model}`, key);
      deltas.push([model, key, delta]);
      moved.push(position);
    }
    this.addIn(deltas);
    return moved;
  }

  /** What changed since the last call, for the batch's LMDB transaction (under CONTRIBUTIONS_STATE). */
  drainChanges(): Array<[string, StateValue]> {
    const changes: Array<[string, StateValue]> = this.slotChanged ? [['slot', this.slot]] : [];
    for (const [table, { prefix, keys }] of this.changed) for (const key of keys) changes.push([`${prefix} ${key}`, packFloat64(table.get(key)!)]);
    this.slotChanged = false;
    this.changed.clear();
    return changes;
  }

  /** Every total of this worker's. */
  ownTotals(): Contribution[] {
    return [...this.own].flatMap(([model, totals]) => [...totals].map(([key, total]) => ({ slot: this.slot, model, key, total: Float64Array.from(total) })));
  }

  /**
   * This slot's own totals as found on the topic, taken in where the state lags them: a batch
   * whose transaction committed (its totals, user rows and positions) while its LMDB commit was
   * lost happened, and the state is rolled forward to it (streams/kafka/user-changelog.ts).
   * Each parameter moves by the difference. Returns how many moved.
   */
  adoptOwn(found: Iterable<Contribution>): number {
    let moved = 0;
    const deltas: Array<[model: string, key: string, delta: Float64Array]> = [];
    for (const { slot, model, key, total } of found) {
      if (slot !== this.slot || !this.models.has(model)) continue;
      const own = this.ownOf(model);
      const delta = increase(own.get(key), total);
      if (!delta) continue;
      own.set(key, Float64Array.from(total));
      this.markChanged(own, `own ${model}`, key);
      deltas.push([model, key, delta]);
      moved++;
    }
    this.addIn(deltas);
    return moved;
  }

  /** Each model moved by its deltas, in one call per model. */
  private addIn(deltas: ReadonlyArray<readonly [model: string, key: string, delta: Float64Array]>): void {
    const byModel = new Map<string, Array<[string, Float64Array]>>();
    for (const [model, key, delta] of deltas) {
      let ofModel = byModel.get(model);
      if (!ofModel) byModel.set(model, (ofModel = []));
      ofModel.push([key, delta]);
    }
    for (const [model, ofModel] of byModel) this.models.get(model)!.addDeltas(ofModel);
  }

  private markChanged(table: Map<string, Float64Array>, prefix: string, key: string): void {
    let entry = this.changed.get(table);
    if (!entry) this.changed.set(table, (entry = { prefix, keys: new Set() }));
    entry.keys.add(key);
  }

  private seenOf(slot: string, model: string): Map<string, Float64Array> {
    let bySlot = this.seen.get(slot);
    if (!bySlot) this.seen.set(slot, (bySlot = new Map()));
    let totals = bySlot.get(model);
    if (!totals) bySlot.set(model, (totals = new Map()));
    return totals;
  }

  private ownOf(model: string): Map<string, Float64Array> {
    let totals = this.own.get(model);
    if (!totals) this.own.set(model, (totals = new Map()));
    return totals;
  }
}

/** `total − before` (before absent: zeros), or undefined when nothing changed. */
function increase(before: Float64Array | undefined, total: Float64Array): Float64Array | undefined {
  const delta = new Float64Array(total.length);
  let any = false;
  for (let f = 0; f < total.length; f++) {
    delta[f] = total[f]! - (before?.[f] ?? 0);
    if (delta[f] !== 0) any = true;
  }
  return any ? delta : undefined;
}
