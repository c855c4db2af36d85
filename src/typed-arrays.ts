/** Growing typed arrays by copy: the one way every growable table here makes room. */
type TypedArray = Float64Array | Float32Array | Int32Array | Uint32Array | Uint8Array;

/** A copy of `array` with `size` elements, the new ones zero. */
export function resized<T extends TypedArray>(array: T, size: number): T {
  const grown = new (array.constructor as new (length: number) => T)(size);
  (grown as Float64Array).set(array as Float64Array);
  return grown;
}

/** `array` when it already holds `index`, else a copy at least doubled that does. */
export function withIndex<T extends TypedArray>(array: T, index: number): T {
  return index < array.length ? array : resized(array, Math.max(index + 1, array.length * 2));
}
