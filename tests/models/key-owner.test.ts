/**
 * userOfKey, for every model of the registry: a key it gives to a user changes only with that
 * user's events, every key drained is classified, unknown keys throw, and the models with per-user
 * state do give keys to users.
 */
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { WHOLE_STARS } from '../../src/events/scale.js';
import { learningOrder } from '../../src/models/learning-order.js';
import { isRankingModel, type IndexedRating, type OnlineModel, type StateValue } from '../../src/models/model.js';
import { AVAILABLE_MODELS, createModels, DEFAULT_MODEL_SETTINGS, type AvailableModel } from '../../src/models/registry.js';
import { TWO_TOWER_DEFAULTS } from '../../src/models/two-tower/options.js';
import { randomRatings } from '../fixtures.js';
import { SMALL } from './two-tower/fixtures.js';

/**
 * Whether each model keeps state of single users, and keys that an event of user v (of an item
 * v had not rated) must drain as v's. A model listed false must give no key to any user.
 */
const USER_STATE: Record<AvailableModel, { readonly has: boolean; readonly keysOf: (v: number) => readonly RegExp[] }> = {
  baseline: { has: true, keysOf: (v) => [new RegExp(`^u${v}$`)] },
  mf: { has: true, keysOf: (v) => [new RegExp(`^u${v}$`)] },
  'knn-item': { has: true, keysOf: (v) => [new RegExp(`^b\\.u${v}$`), new RegExp(`^s\\.h${v}\\.\\d+$`)] },
  // The baseline's user bias only: its similarity histories are the items' raters.
  'knn-user': { has: true, keysOf: (v) => [new RegExp(`^b\\.u${v}$`)] },
  'impute-soft': { has: true, keysOf: (v) => [new RegExp(`^u${v}$`), new RegExp(`^h${v}\\.\\d+$`)] },
  'impute-hard': { has: true, keysOf: (v) => [new RegExp(`^u${v}$`), new RegExp(`^h${v}\\.\\d+$`)] },
  popularity: { has: false, keysOf: () => [] },
  cooccurrence: { has: true, keysOf: (v) => [new RegExp(`^u${v}\\.\\d+$`)] },
  'implicit-als': { has: true, keysOf: (v) => [new RegExp(`^u${v}$`), new RegExp(`^h${v}\\.\\d+$`)] },
  // The baseline's user bias only: the userId table's checkpoint blocks hold 128 users' rows.
  'two-tower': { has: true, keysOf: (v) => [new RegExp(`^b/u${v}$`)] },
  ensemble: { has: false, keysOf: () => [] },
};

/** Keys that must drain and be shared (undefined), e.g. knn-user's item histories. */
const SHARED: Partial<Record<AvailableModel, readonly RegExp[]>> = {
  baseline: [/^mean$/, /^i\d+$/],
  mf: [/^mean$/, /^i\d+$/],
  'knn-item': [/^s\.seq$/, /^b\.i\d+$/],
  'knn-user': [/^s\.h\d+\.\d+$/, /^s\.seq$/],
  'impute-soft': [/^i\d+$/, /^seq$/, /^window$/],
  'implicit-als': [/^i\d+$/, /^seq$/, /^window$/],
  popularity: [/^clock$/, /^i\d+$/],
  'two-tower': [/^q\/\d+$/, /^t\/userId\/\d+$/, /^t\/itemId\/\d+$/, /^c$/, /^d$/, /^b\/mean$/],
  ensemble: [/^blend$/, /^ranking$/],
};

/** Keys no model drains, and per model some close to the ones it does. */
const UNKNOWN = ['', 'no-such-key', 'zz7'];
const UNKNOWN_OF: Record<AvailableModel, readonly string[]> = {
  baseline: ['u', 'ux', 'u1.0', 'means'],
  mf: ['u', 'ux', 'u1.0', 'means'],
  'knn-item': ['u1', 'b.', 'b.zz7', 's.zz7', 's.h1', 'x.u1'],
  'knn-user': ['u1', 'b.', 'b.zz7', 's.zz7', 's.h1', 'x.u1'],
  'impute-soft': ['h1', 'x1', 'swept'],
  'impute-hard': ['h1', 'x1', 'swept'],
  popularity: ['u1', 'clocks', 'i'],
  cooccurrence: ['u1', 'u1.', 'h1.0'],
  'implicit-als': ['h1', 'x1', 'mean'],
  'two-tower': ['u1', 'b/zz7', 't/noSuchTable/0', 't/userId', 'q/x', 'v/colours'],
  ensemble: ['u1', 'mean'],
};

const USERS = 40;
const ITEMS = 60;
const stream = randomRatings(1500, USERS, ITEMS, 11);

function build(): OnlineModel[] {
  const settings = {
    ...DEFAULT_MODEL_SETTINGS,
    models: [...AVAILABLE_MODELS],
    factors: 4,
    implicitRank: 4,
    softImputeRank: 4,
    // In this thread, on tfjs's plain cpu backend: every step and checkpoint is done when learn returns.
    twoTower: { ...TWO_TOWER_DEFAULTS, ...SMALL, trainIn: 'inline' as const, backend: 'cpu' as const },
  };
  return createModels(settings, WHOLE_STARS);
}

type Drained = Array<[string, StateValue | null]>;

function ownerOf(model: OnlineModel, key: string): number | undefined {
  try {
    return model.userOfKey(key);
  } catch (error) {
    assert.fail(`${model.name}: drained key '${key}' is not classified: ${(error as Error).message}`);
  }
}

test('every model: keys of a user drain only with that user’s events, every key is classified, unknown keys throw', async () => {
  const models = build();
  assert.deepEqual(models.map((model) => model.name).sort(), [...AVAILABLE_MODELS].sort());
  const ordered = learningOrder(models);
  const ensemble = models.find((model) => model.name === 'ensemble')!;
  const seen = new Map<OnlineModel, Set<string>>(models.map((model) => [model, new Set()]));
  const owned = new Map<OnlineModel, Set<string>>(models.map((model) => [model, new Set()]));
  const shared = new Map<OnlineModel, Set<string>>(models.map((model) => [model, new Set()]));

  /** Drain every model (after background training caught up, with `flush`) and check each key's owner is `user`. */
  const drainChecked = async (user: number, flush: boolean): Promise<Map<OnlineModel, Drained>> => {
    if (flush) for (const model of models) await model.flush?.();
    const drained = new Map<OnlineModel, Drained>();
    for (const model of models) {
      const changes = model.drainChanges();
      drained.set(model, changes);
      for (const [key] of changes) {
        seen.get(model)!.add(key);
        const owner = ownerOf(model, key);
        if (owner === undefined) shared.get(model)!.add(key);
        else {
          owned.get(model)!.add(key);
          assert.equal(owner, user, `${model.name}: key '${key}' drained after an event of user ${user} is given to user ${owner}`);
        }
      }
    }
    return drained;
  };

  try {
    for (const model of models) await model.start?.();
    // Event by event, drained after each: a user's key only ever drains with that user's event.
    for (let n = 0; n < stream.length; n++) {
      const event = stream[n]!;
      // Sometimes score first, so that the ensemble's ranker learns too.
      if (n % 10 === 0 && isRankingModel(ensemble)) ensemble.scoreAll(event.user, ITEMS, new Float64Array(ITEMS), new Set());
      for (const model of ordered) model.learn([event]);
      await drainChecked(event.user, false);
    }
    // Whatever a flush trains and checkpoints is shared: nobody's event came since the last drain.
    await drainChecked(-1, true);

    // One more event of an existing user (an item they never rated), then of a brand new user.
    const rated = (user: number) => new Set(stream.filter((r) => r.user === user).map((r) => r.item));
    const existing = stream[stream.length - 1]!.user;
    const newcomer = Math.max(...stream.map((r) => r.user)) + 1;
    assert.equal(newcomer, USERS);
    let ts = stream[stream.length - 1]!.ts;
    for (const v of [existing, newcomer]) {
      const item = [...Array(ITEMS).keys()].find((i) => !rated(v).has(i))!;
      const event: IndexedRating = { user: v, item, rating: 4, ts: (ts += 1000) };
      for (const model of ordered) model.learn([event]);
      const drained = await drainChecked(v, true);
      for (const model of models) {
        const keys = drained.get(model)!.map(([key]) => key);
        for (const pattern of USER_STATE[model.name as AvailableModel].keysOf(v)) {
          const key = keys.find((k) => pattern.test(k));
          assert.ok(key !== undefined, `${model.name}: an event of user ${v} drained no key like ${pattern} (drained: ${keys.join(' ')})`);
          assert.equal(model.userOfKey(key), v, `${model.name}: '${key}'`);
        }
      }
    }

    for (const model of models) {
      const name = model.name as AvailableModel;
      // Users' state is classified as theirs (userOfKey returning undefined throughout would fail here).
      if (USER_STATE[name].has) assert.ok(owned.get(model)!.size > 0, `${name} has per-user state, but no key was given to a user`);
      else assert.deepEqual([...owned.get(model)!], [], `${name} has no per-user state`);
      for (const pattern of SHARED[name] ?? []) {
        assert.ok(
          [...shared.get(model)!].some((key) => pattern.test(key)),
          `${name}: no shared key like ${pattern} was drained (shared: ${[...shared.get(model)!].slice(0, 20).join(' ')})`,
        );
      }
      // Every key ever drained is classified, again, from the whole set.
      for (const key of seen.get(model)!) ownerOf(model, key);
      for (const key of [...UNKNOWN, ...UNKNOWN_OF[name]]) {
        assert.ok(!seen.get(model)!.has(key), `${name} drains '${key}': not an unknown key`);
        assert.throws(() => model.userOfKey(key), /unknown/, `${name}: unknown key '${key}' should throw`);
      }
    }
  } finally {
    for (const model of models) await model.close?.();
  }
});
