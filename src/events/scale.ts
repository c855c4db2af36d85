/**
 * Rating scales. MovieLens 100K and 1M use whole stars 1–5; 10M, 20M, 25M and ml-latest use
 * half stars 0.5–5. A rating off the scale's grid is bad input, not something to clamp.
 */
export interface RatingScale {
  readonly name: string;
  readonly min: number;
  readonly max: number;
  readonly step: number;
}

export const WHOLE_STARS: RatingScale = { name: '1-5', min: 1, max: 5, step: 1 };
export const HALF_STARS: RatingScale = { name: '0.5-5', min: 0.5, max: 5, step: 0.5 };

const KNOWN_SCALES: readonly RatingScale[] = [WHOLE_STARS, HALF_STARS];

export function scaleByName(name: string): RatingScale {
  const scale = KNOWN_SCALES.find((s) => s.name === name);
  if (!scale) {
    throw new Error(`unknown rating scale '${name}': use one of ${KNOWN_SCALES.map((s) => s.name).join(', ')}`);
  }
  return scale;
}

/** Why `rating` is off `scale`, or undefined when it is on it. */
export function offScaleReason(rating: number, scale: RatingScale): string | undefined {
  if (rating < scale.min || rating > scale.max) {
    return `rating ${rating} is outside the ${scale.name} scale`;
  }
  const steps = (rating - scale.min) / scale.step;
  if (Math.abs(steps - Math.round(steps)) > 1e-9) {
    return `rating ${rating} is not a multiple of ${scale.step} on the ${scale.name} scale`;
  }
  return undefined;
}

/** Clamp a model's score into the scale's range (predictions only; input is never clamped). */
export function clampToScale(score: number, scale: RatingScale): number {
  return score < scale.min ? scale.min : score > scale.max ? scale.max : score;
}
