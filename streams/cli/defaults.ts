import { homedir } from 'node:os';
import { join } from 'node:path';

/** Where state lives unless --state or RXREC_STATE says otherwise: beside the user's work. */
export const DEFAULT_STATE_DIR = '.rxrec/state';

/** Downloaded and generated datasets (RXREC_CACHE overrides). */
export function cacheDir(): string {
  return process.env.RXREC_CACHE ?? join(homedir(), '.cache', 'rxrec');
}
