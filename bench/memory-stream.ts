/**
 * Server heap while streaming: heapUsed after two full GCs in the server's own process, before and
 * after a 1,000,000-chunk Threadline stream to an acking client, against the raw ws server before
 * and after sending 1,000,000 chunk frames. Also the peak heapUsed seen while streaming (sampled
 * every 25 ms, no GC) and what is left once the client has gone.
 *
 *   node --import tsx bench/memory-stream.ts [chunks]
 */
import { randomUUID } from 'node:crypto';
import { setTimeout as sleep } from 'node:timers/promises';
import { openRawClient, openThreadClient, rawRequest } from './support/clients.ts';
import { deadline, environmentNote } from './support/deadline.ts';
import { report } from './support/report.ts';
import { type ServerChild, spawnServer } from './support/spawn-server.ts';

const CHUNKS = Number(process.argv[2] ?? 1_000_000);
const TARGET_RATIO = 2;
const MB = 1024 * 1024;

interface Reading {
  /** heapUsed after GC once the server is up and warm. */
  before: number;
  /** heapUsed after GC once the stream is done, the client still connected. */
  after: number;
  peak: number;
  /** heapUsed after GC once the client has closed. */
  closed: number;
  elapsedMs: number;
}

/** This process's heapUsed after GC, when the bench runs with --expose-gc (run-all does). */
function clientHeap(): number | null {
  const gc = (globalThis as { gc?: () => void }).gc;
  if (!gc) return null;
  gc();
  gc();
  return process.memoryUsage().heapUsed;
}

async function measure(
  server: ServerChild,
  warm: () => Promise<void>,
  stream: () => Promise<{ close(): Promise<void> }>,
): Promise<Reading> {
  await warm();
  const before = (await server.heap()).heapUsed;
  await server.peakStart();
  const started = performance.now();
  const connection = await stream();
  const elapsedMs = performance.now() - started;
  const peak = await server.peakStop();
  // Let the client's last ack (sent within 50 ms) trim the replay buffer.
  await sleep(200);
  const after = (await server.heap()).heapUsed;
  await connection.close();
  await sleep(200);
  const closed = (await server.heap()).heapUsed;
  return { before, after, peak, closed, elapsedMs };
}

let clientGrowth: number | null = null;

async function threadlineStream(url: string, count: number) {
  const client = await openThreadClient(url);
  const heapBefore = clientHeap();
  const handle = client.request(String(count));
  let received = 0;
  for await (const _chunk of handle) received++;
  const result = await handle.result;
  if (result.status !== 'done' || received !== count) {
    throw new Error(`threadline stream ended ${result.status} after ${received} chunks`);
  }
  const heapAfter = clientHeap();
  if (heapBefore !== null && heapAfter !== null && count === CHUNKS) {
    clientGrowth = heapAfter - heapBefore;
  }
  return client;
}

async function rawStream(url: string, count: number) {
  const client = await openRawClient(url);
  const result = await rawRequest(client, String(count), randomUUID());
  if (result.chunks !== count) throw new Error(`raw stream ended after ${result.chunks} chunks`);
  return client;
}

async function main() {
  const stop = deadline(150_000, 'memory-stream');
  const environment = environmentNote();
  const threadline = await spawnServer('threadline');
  const raw = await spawnServer('raw');
  try {
    const tl = await measure(
      threadline,
      async () => (await threadlineStream(threadline.url, 10_000)).close(),
      () => threadlineStream(threadline.url, CHUNKS),
    );
    const rw = await measure(
      raw,
      async () => (await rawStream(raw.url, 10_000)).close(),
      () => rawStream(raw.url, CHUNKS),
    );
    const mb = (bytes: number) => bytes / MB;
    report(
      `memory-stream — server heap around a ${CHUNKS.toLocaleString('en-US')}-chunk stream`,
      [
        {
          metric: 'heapUsed after GC, after the stream',
          threadline: mb(tl.after),
          raw: mb(rw.after),
          unit: 'MB',
          target: `≤ ${TARGET_RATIO}× raw`,
          pass: tl.after <= TARGET_RATIO * rw.after,
        },
        {
          metric: 'heapUsed after GC, before (warm, idle)',
          threadline: mb(tl.before),
          raw: mb(rw.before),
          unit: 'MB',
        },
        {
          metric: 'growth kept by the stream (after − before)',
          threadline: mb(tl.after - tl.before),
          raw: mb(rw.after - rw.before),
          unit: 'MB',
        },
        {
          metric: 'peak heapUsed while streaming (no GC)',
          threadline: mb(tl.peak),
          raw: mb(rw.peak),
          unit: 'MB',
        },
        {
          metric: 'heapUsed after GC, client gone',
          threadline: mb(tl.closed),
          raw: mb(rw.closed),
          unit: 'MB',
        },
        {
          metric: 'stream time',
          threadline: tl.elapsedMs / 1000,
          raw: rw.elapsedMs / 1000,
          unit: 's',
        },
        {
          metric: 'client heap growth holding the result',
          threadline: clientGrowth === null ? null : mb(clientGrowth),
          raw: null,
          unit: 'MB',
        },
      ],
      [
        'each server runs in its own process; heap read there after two gc() calls; warmed with a 10,000-chunk stream first',
        'threadline client acks as it does by default (every 128 frames or 50 ms); the raw client does not ack (its server keeps nothing)',
        'the absolute heap includes each server’s code (Fastify, XState, zod, pino vs ws alone); the growth row isolates the stream',
        'client heap growth: the Threadline client process after GC with the finished handle still referenced (result.text holds the whole answer); needs --expose-gc',
        environment,
      ],
    );
  } finally {
    await Promise.all([threadline.close(), raw.close()]);
    stop();
  }
}

await main();
