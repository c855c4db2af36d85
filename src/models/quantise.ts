import type { RatingScale } from '../events/scale.js';

/** A rating as a small integer on the scale's grid, q = rating / step, so that sums of them are exact. */
export function quantiseRating(rating: number, scale: RatingScale): number {
  const value = Math.round(rating / scale.step);
  if (Math.abs(value * scale.step - rating) > 1e-9 || value < 0) {
    throw new RangeError(`rating ${rating} is not on the scale's grid of step ${scale.step}: validate events before learning`);
  }
  return value;
}

/** Ratings are kept as one byte each (RatingHistories). */
export function assertByteScale(scale: RatingScale): void {
  if (scale.max / scale.step > 255) throw new RangeError(`scale ${scale.name} has more than 255 steps: ratings are kept as one byte each`);
}
