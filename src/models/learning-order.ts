import type { OnlineModel } from './model.js';

/**
 * The order models learn an event in: a model that reads others (`inputs`) before them, so it
 * learns from the same pre-event state it predicted from. Otherwise the given order is kept.
 */
export function learningOrder(models: readonly OnlineModel[]): OnlineModel[] {
  const ordered: OnlineModel[] = [];
  const placed = new Set<OnlineModel>();
  const visiting = new Set<OnlineModel>();
  // Post-order over "is read by": a model is placed once everything that reads it is.
  const readers = (model: OnlineModel) => models.filter((other) => other.inputs?.includes(model));
  const place = (model: OnlineModel): void => {
    if (placed.has(model)) return;
    if (visiting.has(model)) throw new Error(`models read each other in a cycle through '${model.name}'`);
    visiting.add(model);
    for (const reader of readers(model)) place(reader);
    visiting.delete(model);
    placed.add(model);
    ordered.push(model);
  };
  for (const model of models) place(model);
  return ordered;
}
