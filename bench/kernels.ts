/**
 * npm run bench:kernels — the WebAssembly SIMD kernels against the TypeScript forms they stand
 * in for, one call shape at a time, on the default catalogue's sizes (1,682 items, 20 factors;
 * ~120 candidates; ALS item solves of ~60 raters). Each pair runs alternately in one process
 * (the ratio is what to read: the machine's speed varies). The last line of standard output is
 * JSON: {"<kernel>": {"typescriptMicros", "simdMicros", "speedup"}}.
 */
import { GrowableRows } from '../src/models/packed.js';
import { RidgeSystem } from '../src/models/ridge-solve.js';
import { topK, topKExcluding } from '../src/ranking/top-k.js';
import { KernelMemory, simdKernels } from '../src/kernels/wasm-kernels.js';
import { createRng } from '../src/random.js';

if (!simdKernels) throw new Error('WebAssembly SIMD is not available here (or RXREC_WASM=0): nothing to compare');

const ITEMS = 1682;
const FACTORS = 20;
const ROUNDS = 5;
const rng = createRng(1);

/** Median microseconds per call of each of two forms, run in alternate rounds of `calls`. */
function compare(calls: number, typescript: () => void, simd: () => void) {
  const times: [number[], number[]] = [[], []];
  for (let round = 0; round < ROUNDS; round++) {
    [typescript, simd].forEach((form, i) => {
      const start = performance.now();
      for (let c = 0; c < calls; c++) form();
      times[i]!.push(((performance.now() - start) * 1000) / calls);
    });
  }
  const [ts, wasm] = times.map((t) => t.sort((a, b) => a - b)[Math.floor(ROUNDS / 2)]!);
  return { typescriptMicros: round(ts!), simdMicros: round(wasm!), speedup: round(ts! / wasm!) };
}

const round = (x: number) => Math.round(x * 100) / 100;
const fill = (row: Float64Array) => row.forEach((_, f) => (row[f] = rng.normal() * 0.3));

// The catalogue scan (MF's layout: a bias, then the factors).
const [plainItems, simdItems] = [false, true].map((simd) => new GrowableRows(FACTORS + 1, ITEMS, simd));
plainItems!.ensure(ITEMS - 1, fill);
simdItems!.ensure(ITEMS - 1, (row, index) => row.set(plainItems!.row(index)));
const user = Float64Array.from({ length: FACTORS + 1 }, () => rng.normal());
const scores = new Float64Array(ITEMS);
const dotScores = compare(
  2000,
  () => plainItems!.dotScores(user, 1, 1, FACTORS, ITEMS, scores),
  () => simdItems!.dotScores(user, 1, 1, FACTORS, ITEMS, scores),
);

// The ensemble's top-50 of an input's scores, a user's ~100 rated items excluded: 64 users in
// turn, since on one list called again and again the branch predictor learns its every branch.
const lists = Array.from({ length: 64 }, () => {
  const taste = Float64Array.from({ length: FACTORS + 1 }, () => rng.normal());
  const listScores = new Float64Array(ITEMS);
  simdItems!.dotScores(taste, 1, 1, FACTORS, ITEMS, listScores);
  const rated = new Set<number>();
  for (let i = 0; i < 100; i++) rated.add(rng.int(ITEMS));
  return { scores: listScores, rated };
});
let turn = 0;
const nextList = () => lists[turn++ % lists.length]!;
const topN = compare(
  5000,
  () => {
    const { scores: s, rated } = nextList();
    topK(s, ITEMS, 50, (index) => rated.has(index));
  },
  () => {
    const { scores: s, rated } = nextList();
    topKExcluding(s, ITEMS, 50, rated);
  },
);

// An ALS item solve: the Gram sums of 60 raters' rows, then the Cholesky solve.
const [plainUsers, simdUsers] = [false, true].map((simd) => new GrowableRows(FACTORS, 943, simd));
plainUsers!.ensure(942, fill);
simdUsers!.ensure(942, (row, index) => row.set(plainUsers!.row(index)));
const raters = Int32Array.from({ length: 120 }, (_, k) => (k % 2 === 0 ? rng.int(943) : 0));
const [plainSystem, simdSystem] = [false, true].map((simd) => new RidgeSystem(FACTORS, simd));
const solveWith = (system: RidgeSystem, users: GrowableRows) => () => {
  system.reset(1);
  system.addRows(users, raters, 2, 60, 2, 1);
  system.solve();
};
const alsSolve = compare(5000, solveWith(plainSystem!, plainUsers!), solveWith(simdSystem!, simdUsers!));

// Explanations: the closest of a user's 100 picks to an item.
const picks = Int32Array.from({ length: 100 }, () => rng.int(ITEMS));
const closest = compare(
  20000,
  () => plainItems!.bestDot(7, picks, 100, 1, FACTORS),
  () => simdItems!.bestDot(7, picks, 100, 1, FACTORS),
);

// The candidates' ranks: ~120 scores, the first 50 best first.
const values = Float64Array.from({ length: 120 }, () => rng.normal());
values.subarray(0, 50).sort().reverse();
const sorted = new Float64Array(120);
const kernels = new KernelMemory(480);
const ranks = compare(
  20000,
  () => {
    sorted.set(values);
    sorted.sort();
    // The ensemble's branch-free binary search of each value's count below.
    let total = 0;
    for (const v of values) {
      let below = 0;
      for (let span = 120; span > 1; span -= span >> 1) below += (span >> 1) * Number(sorted[below + (span >> 1) - 1]! < v);
      total += below + Number(sorted[below]! < v);
    }
    if (total < 0) throw new Error('unreachable');
  },
  () => {
    kernels.f64.set(values);
    kernels.rankValues(0, 120, 120, 720, 240);
  },
);

console.log(JSON.stringify({ dotScores, topN, alsSolve, closest, ranks }));
