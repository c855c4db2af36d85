import { StateStore } from '../../state/store.js';
import { DEFAULT_MODEL_SETTINGS } from '../../src/models/registry.js';

/** Every model parameter, id and history entry a state directory holds, as comparable text. */
export async function storedParameters(stateDir: string, models: readonly string[] = DEFAULT_MODEL_SETTINGS.models): Promise<Map<string, string>> {
  const store = StateStore.open(stateDir);
  try {
    const snapshot = store.snapshot(models);
    const entries = new Map<string, string>();
    for (const [name, pairs] of snapshot.models) {
      for (const [key, value] of pairs) entries.set(`${name}/${key}`, value instanceof Uint8Array ? Buffer.from(value).toString('hex') : JSON.stringify(value));
    }
    for (const [index, id] of snapshot.users) entries.set(`user/${index}`, id);
    for (const [index, id] of snapshot.items) entries.set(`item/${index}`, id);
    for (const [user, item] of snapshot.history) entries.set(`history/${user}/${item}`, '1');
    entries.set('position', String(store.position(0)));
    return entries;
  } finally {
    await store.close();
  }
}
