/**
 * Latency on an open connection. First chunk: request `1` over and over (2,000 samples), timed
 * from `request()` to the first chunk out of the handle's iterator, against a raw ws request/
 * response echo (send a request frame, time to the chunk frame back). Cancel: start a paced stream
 * (`100000 1`), cancel after its first chunk, and time until `result` settles as `cancelled`,
 * against a raw ws client sending `cancel` and waiting for the raw server's `cancelled` frame.
 *
 *   node --import tsx bench/latency.ts [samples] [cancelSamples]
 */
import { randomUUID } from 'node:crypto';
import type { ThreadClient } from '../client/index.ts';
import { openRawClient, openThreadClient, type RawClient } from './support/clients.ts';
import { deadline, environmentNote } from './support/deadline.ts';
import { report } from './support/report.ts';
import { type ServerChild, spawnServer } from './support/spawn-server.ts';
import { percentile } from './support/stats.ts';

const SAMPLES = Number(process.argv[2] ?? 2000);
const CANCEL_SAMPLES = Number(process.argv[3] ?? 300);
const WARMUP = 200;
const CANCEL_TARGET_MS = 5;

async function threadlineFirstChunk(client: ThreadClient, count: number): Promise<number[]> {
  const samples: number[] = [];
  for (let i = 0; i < count; i++) {
    const started = performance.now();
    const handle = client.request('1');
    const first = await handle[Symbol.asyncIterator]().next();
    samples.push(performance.now() - started);
    if (first.done) throw new Error('threadline: the stream ended before its first chunk');
    const result = await handle.result;
    if (result.status !== 'done') throw new Error(`threadline: request ended ${result.status}`);
  }
  return samples;
}

async function threadlineCancel(client: ThreadClient, count: number): Promise<number[]> {
  const samples: number[] = [];
  for (let i = 0; i < count; i++) {
    const handle = client.request('100000 1');
    const first = await handle[Symbol.asyncIterator]().next();
    if (first.done) throw new Error('threadline: the stream ended before its first chunk');
    const started = performance.now();
    handle.cancel();
    const result = await handle.result;
    samples.push(performance.now() - started);
    if (result.status !== 'cancelled') throw new Error(`threadline: cancel ended ${result.status}`);
  }
  return samples;
}

/** When a raw request's first chunk and its end arrive; set up before the request is sent. */
function rawTrack(client: RawClient, requestId: string) {
  let chunkAt: (at: number) => void = () => {};
  let endAt: (at: number) => void = () => {};
  const firstChunk = new Promise<number>((resolve) => {
    chunkAt = resolve;
  });
  const end = new Promise<number>((resolve) => {
    endAt = resolve;
  });
  client.onFrame = (frame) => {
    if (frame.requestId !== requestId) return;
    if (frame.type === 'chunk') chunkAt(performance.now());
    else if (frame.type === 'done' || frame.type === 'cancelled') endAt(performance.now());
  };
  return { firstChunk, end };
}

async function rawFirstChunk(client: RawClient, count: number): Promise<number[]> {
  const samples: number[] = [];
  for (let i = 0; i < count; i++) {
    const requestId = randomUUID();
    const track = rawTrack(client, requestId);
    const started = performance.now();
    client.send({ type: 'request', requestId, text: '1' });
    samples.push((await track.firstChunk) - started);
    await track.end;
  }
  return samples;
}

async function rawCancel(client: RawClient, count: number): Promise<number[]> {
  const samples: number[] = [];
  for (let i = 0; i < count; i++) {
    const requestId = randomUUID();
    const track = rawTrack(client, requestId);
    client.send({ type: 'request', requestId, text: '100000 1' });
    await track.firstChunk;
    const started = performance.now();
    client.send({ type: 'cancel', requestId });
    samples.push((await track.end) - started);
  }
  return samples;
}

async function main() {
  const stop = deadline(120_000, 'latency');
  const environment = environmentNote();
  const threadlineServer = await spawnServer('threadline');
  const rawServer = await spawnServer('raw');
  const threadline = await openThreadClient(threadlineServer.url);
  const raw = await openRawClient(rawServer.url);
  try {
    await threadlineFirstChunk(threadline, WARMUP);
    await rawFirstChunk(raw, WARMUP);
    await threadlineCancel(threadline, 20);
    await rawCancel(raw, 20);
    // Interleave the two in blocks, so a change in the machine's load hits both alike.
    const first = { threadline: [] as number[], raw: [] as number[] };
    const cancel = { threadline: [] as number[], raw: [] as number[] };
    /** CPU (µs) spent by each server and by this process over the first-chunk blocks. */
    const cpu = {
      threadline: { server: 0, client: 0 },
      raw: { server: 0, client: 0 },
    };
    const metered = async <T>(
      server: ServerChild,
      side: { server: number; client: number },
      work: () => Promise<T>,
    ) => {
      const serverBefore = await server.cpu();
      const clientBefore = process.cpuUsage();
      const result = await work();
      const client = process.cpuUsage(clientBefore);
      const serverAfter = await server.cpu();
      side.client += client.user + client.system;
      side.server +=
        serverAfter.userUs - serverBefore.userUs + serverAfter.systemUs - serverBefore.systemUs;
      return result;
    };
    const blocks = 5;
    for (let block = 0; block < blocks; block++) {
      first.threadline.push(
        ...(await metered(threadlineServer, cpu.threadline, () =>
          threadlineFirstChunk(threadline, SAMPLES / blocks),
        )),
      );
      first.raw.push(
        ...(await metered(rawServer, cpu.raw, () => rawFirstChunk(raw, SAMPLES / blocks))),
      );
      cancel.threadline.push(...(await threadlineCancel(threadline, CANCEL_SAMPLES / blocks)));
      cancel.raw.push(...(await rawCancel(raw, CANCEL_SAMPLES / blocks)));
    }
    const p99Cancel = percentile(cancel.threadline, 99);
    const perRequest = (us: number, count: number) => us / 1000 / count;
    report(
      'latency — on an open connection',
      [
        {
          metric: `first chunk p50 (${first.threadline.length} samples)`,
          threadline: percentile(first.threadline, 50),
          raw: percentile(first.raw, 50),
          unit: 'ms',
          digits: 3,
        },
        {
          metric: 'first chunk p99',
          threadline: percentile(first.threadline, 99),
          raw: percentile(first.raw, 99),
          unit: 'ms',
          digits: 3,
        },
        {
          metric: 'server CPU per request `1` (whole round trip)',
          threadline: perRequest(cpu.threadline.server, first.threadline.length),
          raw: perRequest(cpu.raw.server, first.raw.length),
          unit: 'ms',
          digits: 3,
        },
        {
          metric: 'client CPU per request `1` (whole round trip)',
          threadline: perRequest(cpu.threadline.client, first.threadline.length),
          raw: perRequest(cpu.raw.client, first.raw.length),
          unit: 'ms',
          digits: 3,
        },
        {
          metric: `cancel → cancelled p50 (${cancel.threadline.length} samples)`,
          threadline: percentile(cancel.threadline, 50),
          raw: percentile(cancel.raw, 50),
          unit: 'ms',
          digits: 3,
        },
        {
          metric: 'cancel → cancelled p99',
          threadline: p99Cancel,
          raw: percentile(cancel.raw, 99),
          unit: 'ms',
          digits: 3,
          target: `< ${CANCEL_TARGET_MS} ms`,
          pass: p99Cancel < CANCEL_TARGET_MS,
        },
        {
          metric: 'cancel → cancelled max',
          threadline: Math.max(...cancel.threadline),
          raw: Math.max(...cancel.raw),
          unit: 'ms',
          digits: 3,
        },
      ],
      [
        'first chunk: threadline from request() to the first value of the handle’s iterator; raw from send to the chunk frame',
        'cancel: after the first chunk of a `100000 1` stream, from cancel() to result settling `cancelled` (raw: send cancel → `cancelled` frame)',
        'server in its own process; samples interleaved in 5 blocks; 200 warm-up requests and 20 warm-up cancels first',
        environment,
      ],
    );
  } finally {
    await threadline.close();
    await raw.close();
    await Promise.all([threadlineServer.close(), rawServer.close()]);
    stop();
  }
}

await main();
