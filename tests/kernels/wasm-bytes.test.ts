/**
 * src/kernels/kernels-wasm.ts holds kernels.wat assembled (by wabt): this test fails when the
 * two differ. `UPDATE_WASM=1` rewrites the TypeScript module from the .wat instead (then rebuild).
 */
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { readFileSync, writeFileSync } from 'node:fs';
import { fileURLToPath } from 'node:url';
import wabt from 'wabt';
import { KERNELS_WASM } from '../../src/kernels/kernels-wasm.js';

// From dist/tests/kernels to the sources.
const WAT = fileURLToPath(new URL('../../../src/kernels/kernels.wat', import.meta.url));
const MODULE = fileURLToPath(new URL('../../../src/kernels/kernels-wasm.ts', import.meta.url));

async function assemble(): Promise<string> {
  const tools = await wabt();
  const parsed = tools.parseWat('kernels.wat', readFileSync(WAT, 'utf8'));
  parsed.validate();
  const { buffer } = parsed.toBinary({});
  parsed.destroy();
  return Buffer.from(buffer).toString('base64');
}

function moduleSource(base64: string): string {
  const lines = base64.match(/.{1,96}/g)!.map((line) => `  '${line}',`);
  return [
    '// Generated from kernels.wat by tests/kernels/wasm-bytes.test.ts (UPDATE_WASM=1): do not edit.',
    'export const KERNELS_WASM = [',
    ...lines,
    "].join('');",
    '',
  ].join('\n');
}

test('the committed kernel bytes are kernels.wat assembled', async () => {
  const assembled = await assemble();
  if (process.env.UPDATE_WASM === '1') writeFileSync(MODULE, moduleSource(assembled));
  else assert.equal(KERNELS_WASM, assembled, 'src/kernels/kernels-wasm.ts is stale: run this test with UPDATE_WASM=1, then rebuild');
  assert.ok(WebAssembly.validate(Buffer.from(assembled, 'base64')), 'the assembled module does not validate here');
});
