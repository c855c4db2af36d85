import { test } from 'node:test';
import assert from 'node:assert/strict';
import { writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { open } from 'lmdb';
import { StateStore, FORMAT_VERSION } from '../../state/store.js';
import { tempDir } from '../fixtures.js';

const emptyDelta = {
  users: [],
  items: [],
  history: [],
  models: [],
  evaluation: { errors: {}, ranking: {}, published: { relevant: 0, hits: 0, ndcg: 0 } },
  lists: [],
};

test('a batch and its positions commit together and read back', async () => {
  const dir = tempDir();
  const store = StateStore.open(dir);
  store.bind('stream-a', { models: ['mf'] });
  store.commit(
    {
      ...emptyDelta,
      users: [[0, 'u1']],
      items: [[0, 'i9']],
      history: [[0, 0]],
      models: [['mf', 'u0', new Uint8Array([1, 2, 3])]],
      lists: [[0, Int32Array.from([4, 5])]],
    },
    new Map([[0, 17]]),
  );
  await store.close();
  const reopened = StateStore.open(dir);
  assert.equal(reopened.position(0), 17);
  const snapshot = reopened.snapshot(['mf']);
  assert.deepEqual([...snapshot.users], [[0, 'u1']]);
  assert.deepEqual([...snapshot.history], [[0, 0]]);
  const [[key, value]] = [...snapshot.models.get('mf')!] as Array<[string, Uint8Array]>;
  assert.equal(key, 'u0');
  assert.deepEqual([...value!], [1, 2, 3]);
  assert.deepEqual(
    [...snapshot.lists].map(([u, l]) => [u, [...l]]),
    [[0, [4, 5]]],
  );
  await reopened.close();
});

test('a state bound to another stream or other model settings is refused with a clear message', async () => {
  const dir = tempDir();
  const store = StateStore.open(dir);
  store.bind('stream-a', { factors: 20 });
  assert.throws(() => store.bind('stream-b', { factors: 20 }), /belongs to stream 'stream-a', not 'stream-b'.*--fresh/);
  assert.throws(() => store.bind('stream-a', { factors: 10 }), /was made with model settings \{"factors":20\}, not \{"factors":10\}/);
  await store.close();
});

test('a state directory of another format version is refused', async () => {
  const dir = tempDir();
  const root = open({ path: join(dir, 'rxrec.mdb'), maxDbs: 16 });
  await root.openDB({ name: 'meta' }).put('format', FORMAT_VERSION + 1);
  await root.close();
  assert.throws(() => StateStore.open(dir), new RegExp(`has format ${FORMAT_VERSION + 1}, this rxrec reads format ${FORMAT_VERSION}`));
});

test('a state directory that cannot be created is refused with a clear message', () => {
  const file = join(tempDir(), 'plain-file');
  writeFileSync(file, 'not a directory');
  assert.throws(
    () => StateStore.open(join(file, 'state')),
    /^StateError: state directory '.*plain-file\/state' is not writable \(ENOTDIR\): choose another with --state$/,
  );
});

test('user features and item labels are kept across a reopen, the latest per id, user features with only their defined fields', async () => {
  const dir = tempDir();
  const store = StateStore.open(dir);
  store.putItemLabels([
    ['i2', { title: 'Two', genres: ['Drama'] }],
    ['i1', { title: 'One', genres: [] }],
  ]);
  const row = { userId: 'u1', age: 33, gender: 'F', occupation: undefined, zip: '10001' };
  store.putUserFeatures([
    ['u2', { age: 20, gender: 'M', occupation: 'student' }],
    ['u1', row],
  ]);
  store.putUserFeatures([['u2', { occupation: 'writer' }]]);
  store.putItemLabels([['i2', { title: 'Two (restored)', genres: ['Drama', 'War'] }]]);
  await store.close();

  const reopened = StateStore.open(dir);
  assert.deepEqual(
    [...reopened.userFeatures()],
    [
      ['u1', { age: 33, gender: 'F' }],
      ['u2', { occupation: 'writer' }],
    ],
  );
  assert.deepEqual(
    [...reopened.itemLabels()],
    [
      ['i1', { title: 'One', genres: [] }],
      ['i2', { title: 'Two (restored)', genres: ['Drama', 'War'] }],
    ],
  );
  assert.equal(reopened.itemLabel('i2')?.title, 'Two (restored)');
  await reopened.close();
});
