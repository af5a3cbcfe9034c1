/**
 * Settings a host page may put on `window.threadline` before the app loads (tests do, with an
 * init script): where the WebSocket is, and the reconnection policy. A plain page sets nothing and
 * talks to `/ws` on the server that served it.
 */
import type { BackoffPolicy } from '../../machines/backoff-schedule.ts';

export interface BootConfig {
  url?: string;
  backoff?: Partial<BackoffPolicy>;
}

export function readBootConfig(): { url: string; backoff?: Partial<BackoffPolicy> } {
  const given = (globalThis as { threadline?: BootConfig }).threadline ?? {};
  const url = new URL('/ws', globalThis.location.href);
  url.protocol = url.protocol === 'https:' ? 'wss:' : 'ws:';
  return {
    url: typeof given.url === 'string' ? given.url : url.href,
    ...(given.backoff ? { backoff: given.backoff } : {}),
  };
}
