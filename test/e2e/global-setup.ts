/** Before the browser suite: Chromium must be there, and the app is built from the sources. */
import { buildApp } from '../../scripts/build-app.ts';
import { chromiumInstalled, chromiumPath } from './browser.ts';

export default async function setup(): Promise<void> {
  if (!chromiumInstalled()) {
    throw new Error(
      `no Chromium at ${chromiumPath}: install it (sudo apt-get install chromium) or set THREADLINE_CHROMIUM`,
    );
  }
  await buildApp();
}
