/**
 * The two-tower model's settings. Tower sizes, Adam's rate and the step size are the seeds'
 * Keras model's (E = 64, user_dense 128, genre_dense 64, movie_dense 32, final 128, Adam 0.001,
 * batch 1024); the rest is what online training adds: the replay reservoir, the share of each
 * step drawn from it, the sparse rows' own learning rate, and where training runs.
 */
export type BackendChoice = 'auto' | 'tensorflow' | 'wasm' | 'cpu';
export const BACKEND_CHOICES: readonly BackendChoice[] = ['auto', 'tensorflow', 'wasm', 'cpu'];

export interface TwoTowerOptions {
  /** Id embedding width E; gender and occupation embeddings and the age layer are E/2 wide. */
  readonly embedding: number;
  readonly userDense: number;
  readonly genreDense: number;
  readonly movieDense: number;
  /** Width of both towers' L2-normalised outputs. */
  readonly final: number;
  /** Adam's step for the dense layers (tfjs optimizer). */
  readonly learningRate: number;
  /** Lazy Adam's step for the embedding rows and biases (rxrec's sparse optimizer). */
  readonly embeddingLearningRate: number;
  /** L2 penalty on the gathered embedding rows and biases, per example. */
  readonly l2: number;
  /**
   * Share of training examples whose user and item id embeddings are dropped (each side on its
   * own), so the towers learn to place an id from its features alone: DropoutNet (Volkovs et al.,
   * NeurIPS 2017), whose cold-start results peaked near 0.5.
   */
  readonly idDropout: number;
  /** Examples per training step: new events plus replayed ones. */
  readonly batchSize: number;
  /** Replayed past events per new event in a step (0: no replay). */
  readonly replayPerEvent: number;
  /** Past events kept for replay (uniform reservoir sample of everything trained on). */
  readonly reservoir: number;
  /** Genre flag inputs: ML-100K's 19 genres, then others in order of first sight. */
  readonly genreSlots: number;
  /** 'worker': train in a worker thread, never blocking the stream; 'inline': in learn(), deterministic. */
  readonly trainIn: 'worker' | 'inline';
  /**
   * Lag bound: while training is more than this many events behind the stream (a worker that
   * cannot keep up), steps train the new events alone, without replay, about 4× faster per
   * event, until it is back within the bound (0: never). Inline training is never behind.
   */
  readonly catchUpLag: number;
  /** Write a checkpoint of the trainer after at least this many trained events. */
  readonly checkpointEvery: number;
  /** tfjs backend: 'auto' tries tensorflow (tfjs-node), then wasm, then cpu. */
  readonly backend: BackendChoice;
}

export const TWO_TOWER_DEFAULTS: TwoTowerOptions = {
  embedding: 64,
  userDense: 128,
  genreDense: 64,
  movieDense: 32,
  final: 128,
  learningRate: 0.001,
  embeddingLearningRate: 0.001,
  l2: 0,
  idDropout: 0.5,
  batchSize: 1024,
  replayPerEvent: 3,
  reservoir: 20_000,
  genreSlots: 20,
  trainIn: 'worker',
  catchUpLag: 50_000,
  checkpointEvery: 20_000,
  backend: 'auto',
};

/** New events in one step: the rest of the step is replayed from the reservoir. */
export function newPerStep(options: TwoTowerOptions): number {
  return Math.max(1, Math.floor(options.batchSize / (1 + options.replayPerEvent)));
}

export function checkTwoTowerOptions(options: TwoTowerOptions): TwoTowerOptions {
  const positiveInts: Array<keyof TwoTowerOptions> = [
    'embedding',
    'userDense',
    'genreDense',
    'movieDense',
    'final',
    'batchSize',
    'genreSlots',
    'checkpointEvery',
  ];
  for (const key of positiveInts) {
    const value = options[key] as number;
    if (!Number.isInteger(value) || value < 1) throw new RangeError(`two-tower ${key} must be a positive integer, got ${value}`);
  }
  if (options.embedding % 2 !== 0) throw new RangeError(`two-tower embedding must be even (gender and occupation get E/2), got ${options.embedding}`);
  if (options.genreSlots > 32) throw new RangeError(`two-tower genreSlots must be at most 32, got ${options.genreSlots}`);
  for (const key of ['learningRate', 'embeddingLearningRate'] as const) {
    if (!(options[key] > 0)) throw new RangeError(`two-tower ${key} must be > 0, got ${options[key]}`);
  }
  if (!(options.idDropout >= 0 && options.idDropout < 1)) throw new RangeError(`two-tower idDropout must be in [0, 1), got ${options.idDropout}`);
  if (!(options.l2 >= 0)) throw new RangeError(`two-tower l2 must be >= 0, got ${options.l2}`);
  if (!(options.replayPerEvent >= 0)) throw new RangeError(`two-tower replayPerEvent must be >= 0, got ${options.replayPerEvent}`);
  if (!Number.isInteger(options.catchUpLag) || options.catchUpLag < 0)
    throw new RangeError(`two-tower catchUpLag must be a non-negative integer, got ${options.catchUpLag}`);
  if (!Number.isInteger(options.reservoir) || options.reservoir < 0)
    throw new RangeError(`two-tower reservoir must be a non-negative integer, got ${options.reservoir}`);
  return options;
}
