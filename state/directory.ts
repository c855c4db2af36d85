/**
 * Creating a directory and its missing parents. Node's own `mkdirSync(dir, { recursive: true })`
 * loops forever at 100 % CPU when mkdir answers ENOENT under a parent that exists (any path
 * under /proc, for one); this gives up with the error instead.
 */
import { mkdirSync } from 'node:fs';
import { dirname } from 'node:path';

export function makeDirectory(dir: string): void {
  try {
    mkdirSync(dir);
  } catch (error) {
    const code = (error as NodeJS.ErrnoException).code;
    if (code === 'EEXIST') return;
    const parent = dirname(dir);
    if (code !== 'ENOENT' || parent === dir) throw error;
    makeDirectory(parent);
    try {
      mkdirSync(dir);
    } catch (again) {
      if ((again as NodeJS.ErrnoException).code !== 'EEXIST') throw again;
    }
  }
}
