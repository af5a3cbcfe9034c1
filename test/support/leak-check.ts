/**
 * Runs around every test file: after the file's tests and their disposals, the process must hold
 * no more sockets, servers or timers than before they began. A leak fails the file, naming it.
 */
import { afterAll, beforeAll } from 'vitest';

const WATCHED = ['TCPServerWrap', 'TCPSocketWrap', 'Timeout', 'Immediate'];

function count(): Map<string, number> {
  const counts = new Map<string, number>();
  for (const kind of process.getActiveResourcesInfo()) {
    if (WATCHED.includes(kind)) counts.set(kind, (counts.get(kind) ?? 0) + 1);
  }
  return counts;
}

let baseline = new Map<string, number>();

beforeAll(() => {
  baseline = count();
});

afterAll(async () => {
  // Closing sockets and expiring short timers takes a few turns of the event loop.
  const deadline = Date.now() + 3000;
  let excess: string[] = [];
  do {
    await new Promise((resolve) => setTimeout(resolve, 20));
    const now = count();
    excess = WATCHED.filter((kind) => (now.get(kind) ?? 0) > (baseline.get(kind) ?? 0)).map(
      (kind) => `${kind}: ${now.get(kind)} (was ${baseline.get(kind) ?? 0})`,
    );
  } while (excess.length > 0 && Date.now() < deadline);
  if (excess.length > 0) throw new Error(`test file left resources behind: ${excess.join(', ')}`);
});
