/**
 * Connection churn: 20,000 connect → handshake → disconnect cycles, 20 at a time, against a server
 * in its own process; its heapUsed after two full GCs before and after must stay within 10 %.
 * Half the cycles say goodbye (`bye`, the session ends at once); the other half drop the socket
 * (the session is kept for a 1 s TTL, then expires), so both ways a session ends are exercised.
 * The raw ws baseline runs the same cycles (it ignores `bye`).
 *
 *   node --expose-gc --import tsx bench/load-churn.ts [cycles]
 */
import { setTimeout as sleep } from 'node:timers/promises';
import { openRawClient } from './support/clients.ts';
import { deadline, environmentNote } from './support/deadline.ts';
import { report } from './support/report.ts';
import { type ServerChild, spawnServer } from './support/spawn-server.ts';

const CYCLES = Number(process.argv[2] ?? 20_000);
const WARM_UP = Math.min(2000, CYCLES);
const CONCURRENCY = 20;
const SESSION_TTL_MS = 1000;
const TARGET_GROWTH = 0.1;
const MB = 1024 * 1024;

interface Reading {
  before: number;
  after: number;
  cycles: number;
  failed: number;
  firstError: string;
  ms: number;
  cpuMsPerCycle: number;
}

/** One cycle: open, handshake (hello → welcome), then `bye` and close, or just drop the socket. */
async function cycle(url: string, polite: boolean): Promise<void> {
  const client = await openRawClient(url);
  if (polite) return client.close();
  const closed = new Promise<void>((resolve) => client.ws.once('close', () => resolve()));
  client.ws.terminate();
  await closed;
}

async function churn(url: string, count: number) {
  let failed = 0;
  let firstError = '';
  let next = 0;
  const started = performance.now();
  const worker = async () => {
    while (next < count) {
      const n = next++;
      try {
        await cycle(url, n % 2 === 0);
      } catch (error) {
        failed++;
        firstError ||= String(error);
      }
    }
  };
  await Promise.all(Array.from({ length: CONCURRENCY }, worker));
  return { failed, firstError, ms: performance.now() - started };
}

async function settle(server: ServerChild) {
  for (let i = 0; i < 100 && (await server.connections()) > 0; i++) await sleep(100);
  // Dropped sockets' sessions expire after the TTL.
  await sleep(SESSION_TTL_MS + 1000);
}

async function measure(kind: 'threadline' | 'raw'): Promise<Reading> {
  const server = await spawnServer(kind, { sessionTtlMs: SESSION_TTL_MS });
  try {
    // Warm the paths (JIT, pools, the tombstones' table), so the start is a steady state.
    await churn(server.url, WARM_UP);
    await settle(server);
    const before = (await server.heap()).heapUsed;
    const cpuBefore = await server.cpu();
    const run = await churn(server.url, CYCLES);
    const cpuAfter = await server.cpu();
    await settle(server);
    const after = (await server.heap()).heapUsed;
    if (run.failed > 0) console.error(`${kind}: ${run.failed} cycles failed (${run.firstError})`);
    const cpuMs =
      (cpuAfter.userUs + cpuAfter.systemUs - cpuBefore.userUs - cpuBefore.systemUs) / 1000;
    return {
      before,
      after,
      cycles: CYCLES - run.failed,
      failed: run.failed,
      firstError: run.firstError,
      ms: run.ms,
      cpuMsPerCycle: cpuMs / CYCLES,
    };
  } finally {
    await server.close();
  }
}

async function main() {
  const stop = deadline(300_000, 'load-churn');
  const environment = environmentNote();
  const threadline = await measure('threadline');
  const raw = await measure('raw');
  const growth = (reading: Reading) => (reading.after - reading.before) / reading.before;
  const n = (value: number) => value.toLocaleString('en-US');
  report(
    `load-churn — ${n(CYCLES)} connect/handshake/disconnect cycles, ${CONCURRENCY} at a time`,
    [
      {
        metric: 'server heapUsed at start (after GC)',
        threadline: threadline.before / MB,
        raw: raw.before / MB,
        unit: 'MB',
      },
      {
        metric: 'server heapUsed at end (after GC)',
        threadline: threadline.after / MB,
        raw: raw.after / MB,
        unit: 'MB',
      },
      {
        metric: 'heap growth',
        threadline: growth(threadline) * 100,
        raw: growth(raw) * 100,
        unit: '%',
        digits: 1,
        target: `≤ ${TARGET_GROWTH * 100} %`,
        pass: growth(threadline) <= TARGET_GROWTH,
      },
      {
        metric: 'heap growth per cycle',
        threadline: (threadline.after - threadline.before) / CYCLES,
        raw: (raw.after - raw.before) / CYCLES,
        unit: 'B',
        digits: 0,
      },
      {
        metric: 'cycles per second',
        threadline: (CYCLES / threadline.ms) * 1000,
        raw: (CYCLES / raw.ms) * 1000,
        unit: '/s',
      },
      {
        metric: 'server CPU per cycle',
        threadline: threadline.cpuMsPerCycle,
        raw: raw.cpuMsPerCycle,
        unit: 'ms',
      },
      {
        metric: 'cycles that failed',
        threadline: threadline.failed,
        raw: raw.failed,
        unit: '',
        digits: 0,
      },
    ],
    [
      'server in a child process (heap read there after two gc() calls); clients in this process',
      `start = after ${n(WARM_UP)} warm-up cycles and ${SESSION_TTL_MS / 1000 + 1} s for their sessions to expire; end = the same wait after the last cycle`,
      `even cycles send bye (session closed at once), odd ones drop the socket (session expires after ${SESSION_TTL_MS} ms)`,
      'Threadline keeps up to 10,000 ended session ids on purpose (to tell a late resume "expired"), ~60 B each: part of the growth',
      'ended connection and session charts are not final on purpose: a final child sends the root `xstate.done.actor.<id>`, and XState 5 memoises transition candidates per event type for good (~600 B per cycle before that change)',
      environment,
    ],
  );
  stop();
}

await main();
