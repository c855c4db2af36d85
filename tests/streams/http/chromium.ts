/**
 * Headless Chromium for the browser tests: Debian's `chromium` package driven by playwright-core,
 * which never downloads a browser of its own. CHROMIUM_PATH names the executable, else `chromium`
 * (or `chromium-browser`) on PATH. Without one a test is skipped with the reason, unless CI=true
 * or REQUIRE_BROWSER=1, where a missing browser fails it (`.ci/run` installs the package).
 */
import { spawnSync } from 'node:child_process';
import type { TestContext } from 'node:test';
import { chromium, type Browser } from 'playwright-core';

export function chromiumExecutable(): string | undefined {
  const named = process.env.CHROMIUM_PATH?.trim();
  if (named) return named;
  for (const name of ['chromium', 'chromium-browser']) {
    const found = spawnSync('which', [name], { encoding: 'utf8' });
    if (found.status === 0 && found.stdout.trim() !== '') return found.stdout.trim();
  }
  return undefined;
}

/** A launched browser, or undefined after skipping the test (with the reason) when there is none. */
export async function headlessChromium(t: TestContext): Promise<Browser | undefined> {
  const executablePath = chromiumExecutable();
  if (executablePath === undefined) {
    const reason = 'no Chromium: CHROMIUM_PATH is not set and chromium is not on PATH (Debian: apt-get install chromium)';
    if (process.env.CI === 'true' || process.env.REQUIRE_BROWSER === '1') throw new Error(`${reason} (CI=true or REQUIRE_BROWSER=1)`);
    t.skip(reason);
    return undefined;
  }
  return chromium.launch({ executablePath, headless: true });
}
