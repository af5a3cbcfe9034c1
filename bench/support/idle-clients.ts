/**
 * Child-process entry that holds many idle connections open, so the server's process measures
 * only its own side of them. `threadline` opens real Threadline clients (each handshaken, answering
 * the server's heartbeat); `raw` opens bare ws sockets that exchange hello/welcome and then sit.
 *
 * IPC: `{ id, cmd: 'open', url, count }` → `{ id, result: { opened, failed, ms } }`;
 *      `{ id, cmd: 'closeAll' }` → `{ id, result: null }`. Exits when its parent goes away.
 */
import { openRawClient } from './clients.ts';

type IdleCall =
  | { id: number; cmd: 'open'; url: string; count: number }
  | { id: number; cmd: 'closeAll' };

/** Handshakes in flight at once: enough to be quick, few enough not to trip handshake timeouts. */
const CONCURRENCY = 50;
const open: Array<{ close(): Promise<void> }> = [];

async function openMany(url: string, count: number) {
  const started = performance.now();
  let opened = 0;
  let failed = 0;
  let firstError = '';
  for (let done = 0; done < count; done += CONCURRENCY) {
    const batch = Array.from({ length: Math.min(CONCURRENCY, count - done) }, () =>
      openRawClient(url),
    );
    for (const outcome of await Promise.allSettled(batch)) {
      if (outcome.status === 'fulfilled') {
        open.push(outcome.value);
        opened++;
      } else {
        failed++;
        firstError ||= String(outcome.reason);
      }
    }
  }
  return { opened, failed, firstError, ms: performance.now() - started };
}

async function closeAll() {
  const clients = open.splice(0);
  for (let i = 0; i < clients.length; i += CONCURRENCY) {
    await Promise.all(clients.slice(i, i + CONCURRENCY).map((client) => client.close()));
  }
  return null;
}

process.on('message', (call: IdleCall) => {
  const work = call.cmd === 'open' ? openMany(call.url, call.count) : closeAll();
  work.then(
    (result) => process.send?.({ id: call.id, result }),
    (error: unknown) => process.send?.({ id: call.id, error: String(error) }),
  );
});
process.on('disconnect', () => process.exit(0));
process.send?.({ type: 'ready' });
