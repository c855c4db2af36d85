/** Float arrays as bytes for the state store (exact, no text round trip). */
export { packFloat64, unpackFloat64 } from '../packed.js';

export function packFloat32(values: Float32Array): Uint8Array {
  return new Uint8Array(values.buffer.slice(values.byteOffset, values.byteOffset + values.byteLength));
}

export function unpackFloat32(bytes: Uint8Array): Float32Array {
  // Copy: the state store may hand out views into a buffer it reuses.
  const copy = new Uint8Array(bytes.byteLength);
  copy.set(bytes);
  return new Float32Array(copy.buffer);
}
