/**
 * Streaming throughput on one connection: a Threadline counter stream of 200,000 chunks, consumed
 * through the client's async iterator, against the raw ws server sending the same 200,000 chunk
 * frames to a bare ws client that parses and counts them. Three runs each, interleaved; the
 * median counts. Server and client run in separate processes, as they would in production.
 *
 * Bench servers raise the per-socket rate limit (see `benchOverrides`); one extra, untimed-for-
 * the-target run against a server with the default limit shows what a client that merely acks a
 * fast stream meets there (closes with 4429 and reconnects).
 *
 *   node --import tsx bench/throughput.ts [chunks] [runs]
 */
import { randomUUID } from 'node:crypto';
import {
  countingWebSocket,
  openRawClient,
  openThreadClient,
  rawRequest,
  type WireCounter,
  wireCounter,
} from './support/clients.ts';
import { deadline, environmentNote } from './support/deadline.ts';
import { report } from './support/report.ts';
import { type ServerChild, spawnServer } from './support/spawn-server.ts';
import { median } from './support/stats.ts';

const CHUNKS = Number(process.argv[2] ?? 200_000);
const RUNS = Number(process.argv[3] ?? 3);
const TARGET_RATIO = 0.8;

interface Run {
  chunksPerSecond: number;
  /** Server CPU (user + system) per chunk, in µs. */
  serverCpuUs: number;
  /** This (client) process's CPU per chunk, in µs. */
  clientCpuUs: number;
  /** WebSocket messages the client received per chunk (below 1 when frames are batched). */
  messagesPerChunk: number;
  bytesPerChunk: number;
  /** Connections the Threadline client needed beyond the first (0 for raw). */
  reconnects: number;
}

interface Streamed {
  received: number;
  reconnects: number;
}

async function measure(
  server: ServerChild,
  stream: (counter: WireCounter) => Promise<Streamed>,
): Promise<Run> {
  const counter = wireCounter();
  const serverBefore = await server.cpu();
  const clientBefore = process.cpuUsage();
  const started = performance.now();
  const { received, reconnects } = await stream(counter);
  const elapsedMs = performance.now() - started;
  const clientCpu = process.cpuUsage(clientBefore);
  const serverAfter = await server.cpu();
  if (received !== CHUNKS) throw new Error(`${server.kind}: received ${received} of ${CHUNKS}`);
  const serverUs =
    serverAfter.userUs - serverBefore.userUs + (serverAfter.systemUs - serverBefore.systemUs);
  return {
    chunksPerSecond: CHUNKS / (elapsedMs / 1000),
    serverCpuUs: serverUs / CHUNKS,
    clientCpuUs: (clientCpu.user + clientCpu.system) / CHUNKS,
    messagesPerChunk: counter.messages / CHUNKS,
    bytesPerChunk: counter.bytes / CHUNKS,
    reconnects,
  };
}

async function threadlineStream(
  url: string,
  count: number,
  counter = wireCounter(),
): Promise<Streamed> {
  const client = await openThreadClient(url, {}, countingWebSocket(counter));
  try {
    const handle = client.request(String(count));
    let received = 0;
    for await (const _chunk of handle) received++;
    const result = await handle.result;
    if (result.status !== 'done') throw new Error(`threadline stream ended ${result.status}`);
    return { received, reconnects: client.actor.getSnapshot().context.connections - 1 };
  } finally {
    await client.close();
  }
}

async function rawStream(url: string, count: number, counter = wireCounter()): Promise<Streamed> {
  const client = await openRawClient(url, counter);
  try {
    const result = await rawRequest(client, String(count), randomUUID());
    return { received: result.chunks, reconnects: 0 };
  } finally {
    await client.close();
  }
}

async function main() {
  const stop = deadline(120_000, 'throughput');
  const environment = environmentNote();
  const threadline = await spawnServer('threadline');
  const raw = await spawnServer('raw');
  const defaults = await spawnServer('threadline', {
    rateLimitPerSecond: null,
    rateLimitBurst: null,
  });
  try {
    // Warm both paths (JIT, lazily loaded code) before anything is timed.
    await threadlineStream(threadline.url, 20_000);
    await rawStream(raw.url, 20_000);
    const runs: { threadline: Run[]; raw: Run[] } = { threadline: [], raw: [] };
    for (let i = 0; i < RUNS; i++) {
      runs.threadline.push(
        await measure(threadline, (counter) => threadlineStream(threadline.url, CHUNKS, counter)),
      );
      runs.raw.push(await measure(raw, (counter) => rawStream(raw.url, CHUNKS, counter)));
    }
    await threadlineStream(defaults.url, 20_000);
    const limited = await measure(defaults, (counter) =>
      threadlineStream(defaults.url, CHUNKS, counter),
    );
    const med = (side: Run[], key: keyof Run) => median(side.map((run) => run[key]));
    const tl = med(runs.threadline, 'chunksPerSecond');
    const rw = med(runs.raw, 'chunksPerSecond');
    const list = (side: Run[]) =>
      side.map((run) => Math.round(run.chunksPerSecond).toLocaleString('en-US')).join(', ');
    report(
      'throughput — one connection, 200,000-chunk stream',
      [
        {
          metric: `chunks/s (median of ${RUNS})`,
          threadline: tl,
          raw: rw,
          unit: '/s',
          target: `≥ ${TARGET_RATIO.toFixed(2)}× raw`,
          pass: tl / rw >= TARGET_RATIO,
        },
        {
          metric: 'server CPU per chunk',
          threadline: med(runs.threadline, 'serverCpuUs'),
          raw: med(runs.raw, 'serverCpuUs'),
          unit: 'µs',
        },
        {
          metric: 'client CPU per chunk',
          threadline: med(runs.threadline, 'clientCpuUs'),
          raw: med(runs.raw, 'clientCpuUs'),
          unit: 'µs',
        },
        {
          metric: 'WebSocket messages per chunk',
          threadline: med(runs.threadline, 'messagesPerChunk'),
          raw: med(runs.raw, 'messagesPerChunk'),
          unit: '',
          digits: 3,
        },
        {
          metric: 'bytes received per chunk',
          threadline: med(runs.threadline, 'bytesPerChunk'),
          raw: med(runs.raw, 'bytesPerChunk'),
          unit: 'B',
          digits: 1,
        },
        {
          metric: 'reconnects during the timed runs',
          threadline: runs.threadline.reduce((sum, run) => sum + run.reconnects, 0),
          raw: 0,
          unit: '',
          digits: 0,
        },
        {
          metric: 'chunks/s, default rate limit (1 run)',
          threadline: limited.chunksPerSecond,
          raw: rw,
          unit: '/s',
        },
        {
          metric: 'reconnects, default rate limit (1 run)',
          threadline: limited.reconnects,
          raw: 0,
          unit: '',
          digits: 0,
        },
      ],
      [
        `${CHUNKS.toLocaleString('en-US')} chunks per run; runs threadline: ${list(runs.threadline)}; raw ws: ${list(runs.raw)}`,
        'server in its own process; the client (this process) consumes through the async iterator (threadline) or counts parsed frames (raw)',
        'CPU per chunk = process user+system time over the run ÷ chunks; on a loaded machine chunks/s swings, CPU per chunk less so',
        'timed runs use a server with the rate limit raised; the “default rate limit” rows use the test preset as it is (100 frames/s, burst 200), where the client’s own acks count against the limit',
        environment,
      ],
    );
  } finally {
    await Promise.all([threadline.close(), raw.close(), defaults.close()]);
    stop();
  }
}

await main();
