/**
 * Side features kept in two places: the state store, so that a restarted or loaded recommender
 * has them before any file or topic is read again, and the catalogue, where the models look them
 * up. The embedded replay keeps the dataset's item and user files here, serve the items and
 * users topics.
 */
import { isMalformed, type Dataset, type ItemRow, type MalformedRow, type UserRow } from '../src/datasets/rows.js';
import { userFeaturesOf, type SideFeatures, type UserFeatures } from '../src/side-features.js';
import type { StateStore } from '../state/store.js';

/** Items' titles and genres into the store, their genres into the catalogue; later rows win. */
export function keepItems(store: StateStore, features: SideFeatures, items: readonly ItemRow[]): void {
  store.putItemLabels(items.map(({ itemId, title, genres }) => [itemId, { title, genres }]));
  catalogueItems(features, items);
}

/** Users' age, gender and occupation into the store and the catalogue; later rows win. */
export function keepUsers(store: StateStore, features: SideFeatures, users: readonly UserRow[]): void {
  store.putUserFeatures(users.map((user): [string, UserFeatures] => [user.userId, userFeaturesOf(user)]));
  catalogueUsers(features, users);
}

function catalogueItems(features: SideFeatures, items: readonly ItemRow[]): void {
  for (const { itemId, genres } of items) features.setItem(itemId, { genres });
}

function catalogueUsers(features: SideFeatures, users: readonly UserRow[]): void {
  for (const user of users) features.setUser(user.userId, userFeaturesOf(user));
}

/** Everything the store keeps into the catalogue (a resumed or loaded recommender). */
export function loadSideFeatures(store: StateStore, features: SideFeatures): void {
  for (const [itemId, { genres }] of store.itemLabels()) features.setItem(itemId, { genres });
  for (const [userId, user] of store.userFeatures()) features.setUser(userId, user);
}

/** A dataset's well-formed item and user rows (no users for formats without them). */
export async function datasetSideRows(dataset: Dataset): Promise<{ items: ItemRow[]; users: UserRow[] }> {
  return { items: await wellFormed(dataset.items()), users: await wellFormed(dataset.users()) };
}

/** A dataset's side features into a catalogue only (batch protocols keep no state). */
export async function readSideFeatures(dataset: Dataset, features: SideFeatures): Promise<void> {
  const { items, users } = await datasetSideRows(dataset);
  catalogueItems(features, items);
  catalogueUsers(features, users);
}

async function wellFormed<T extends object>(rows: AsyncIterable<T | MalformedRow>): Promise<T[]> {
  const kept: T[] = [];
  for await (const row of rows) if (!isMalformed(row)) kept.push(row);
  return kept;
}
