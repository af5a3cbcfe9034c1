/**
 * The fault suite: real server, real client, and the loopback fault proxy between them doing
 * what real networks do. Each scenario checks that no chunk is lost or doubled within the session
 * window, and records how long the client took to notice and to be back; the table is printed at
 * the end. `npm test` runs it with short outages; `npm run test:faults` with the full ones.
 */
import { afterAll, describe, expect, it } from 'vitest';
import type { ThreadClient } from '../../client/index.ts';
import { FaultProxy, type FaultProxyOptions } from '../support/fault-proxy.ts';
import { dispose, openClient, startServer, waitFor } from '../support/harness.ts';

const full = process.env.THREADLINE_FAULTS === 'full';
const refusalMs = full ? 20_000 : 2_000;

interface Row {
  scenario: string;
  detectedMs: number | null;
  backMs: number | null;
  chunks: number;
  lost: number;
  doubled: number;
  outcome: string;
}
const rows: Row[] = [];

afterAll(() => {
  const header = ['scenario', 'detected (ms)', 'back (ms)', 'chunks', 'lost', 'doubled', 'outcome'];
  const lines = rows.map((row) => [
    row.scenario,
    row.detectedMs === null ? '–' : String(Math.round(row.detectedMs)),
    row.backMs === null ? '–' : String(Math.round(row.backMs)),
    String(row.chunks),
    String(row.lost),
    String(row.doubled),
    row.outcome,
  ]);
  const widths = header.map((title, i) =>
    Math.max(title.length, ...lines.map((line) => (line[i] ?? '').length)),
  );
  const format = (cells: string[]) =>
    `| ${cells.map((cell, i) => cell.padEnd(widths[i] ?? 0)).join(' | ')} |`;
  const table = [format(header), format(widths.map((w) => '-'.repeat(w))), ...lines.map(format)];
  process.stdout.write(`\nFault suite (${full ? 'full' : 'fast'} outages)\n${table.join('\n')}\n`);
});

async function setUp(
  proxyOptions: Partial<FaultProxyOptions> = {},
  serverOverrides: Record<string, unknown> = {},
) {
  const server = await startServer({ responder: 'counter', ...serverOverrides });
  const proxy = await new FaultProxy({ targetPort: server.port, ...proxyOptions }).start();
  dispose(() => proxy.stop());
  const client = openClient(proxy.url);
  await waitFor(() => client.status().connection === 'linked.open.ready', { what: 'connected' });
  return { server, proxy, client };
}

/** Watches the client's connection: when it first left `ready`, and when it was back. */
function watchOutage(client: ThreadClient) {
  let downAt: number | null = null;
  let upAt: number | null = null;
  let wasReady = true;
  const subscription = client.actor.subscribe((snapshot) => {
    const ready = snapshot.matches({ linked: { open: 'ready' } });
    if (wasReady && !ready && downAt === null) downAt = performance.now();
    if (!wasReady && ready && downAt !== null && upAt === null) upAt = performance.now();
    wasReady = ready;
  });
  dispose(() => subscription.unsubscribe());
  return {
    times(faultAt: number) {
      return {
        detectedMs: downAt === null ? null : downAt - faultAt,
        backMs: upAt === null ? null : upAt - faultAt,
      };
    },
  };
}

/** Reads a counter stream, counting chunks that are missing or arrive twice. */
async function readCounter(handle: AsyncIterable<string>, onChunk?: (index: number) => void) {
  let expected = 0;
  let lost = 0;
  let doubled = 0;
  let chunks = 0;
  for await (const chunk of handle) {
    const value = Number.parseInt(chunk, 10);
    if (value < expected) doubled++;
    else {
      lost += value - expected;
      expected = value + 1;
    }
    chunks++;
    onChunk?.(chunks);
  }
  return { chunks, lost, doubled };
}

describe('fault suite', () => {
  it('a sever while streaming', async () => {
    const { proxy, client } = await setUp();
    const outage = watchOutage(client);
    let faultAt = 0;
    const handle = client.request('10000 0.2');
    const counts = await readCounter(handle, (n) => {
      if (n === 3000) {
        faultAt = performance.now();
        proxy.sever();
      }
    });
    const result = await handle.result;
    rows.push({
      scenario: 'sever while streaming',
      ...outage.times(faultAt),
      ...counts,
      outcome: result.status,
    });
    expect(result.status).toBe('done');
    expect(counts).toEqual({ chunks: 10_000, lost: 0, doubled: 0 });
  });

  it('a blackhole while streaming', async () => {
    // Fast runs shorten the heartbeat; the full run keeps the defaults (ping 2 s, silent 5 s).
    const timings = full ? {} : { heartbeatIntervalMs: 300, silenceLimitMs: 1000 };
    const { proxy, client } = await setUp({}, timings);
    const outage = watchOutage(client);
    let faultAt = 0;
    const handle = client.request('4000 1');
    const counts = await readCounter(handle, (n) => {
      if (n === 1000) {
        faultAt = performance.now();
        proxy.setMode('blackhole');
        setTimeout(() => proxy.setMode('pass'), 50);
      }
    });
    const result = await handle.result;
    const times = outage.times(faultAt);
    rows.push({
      scenario: 'blackhole while streaming',
      ...times,
      ...counts,
      outcome: result.status,
    });
    expect(result.status).toBe('done');
    expect(counts).toEqual({ chunks: 4000, lost: 0, doubled: 0 });
    expect(times.detectedMs).toBeLessThanOrEqual(full ? 5500 : 1500);
  }, 30_000);

  it('a server restart while streaming: the lost session is reported, the thread goes on', async () => {
    const { server, client } = await setUp();
    const proxyTarget = server.port;
    const outage = watchOutage(client);
    const handle = client.request('100000 1');
    let faultAt = 0;
    const reading = readCounter(handle, (n) => {
      if (n === 200) {
        faultAt = performance.now();
        void server.close().then(() => startServer({ responder: 'counter', port: proxyTarget }));
      }
    });
    const counts = await reading;
    const result = await handle.result;
    await waitFor(() => client.status().connection === 'linked.open.ready', { timeoutMs: 10_000 });
    rows.push({
      scenario: 'server restart while streaming',
      ...outage.times(faultAt),
      ...counts,
      outcome: `${result.status} (${result.error?.code})`,
    });
    expect(result.status).toBe('failed');
    expect(result.error?.code).toBe('session_lost');
    expect(counts.doubled).toBe(0);
    expect(counts.lost).toBe(0);
    expect((await client.request('3').result).text).toBe('0\n1\n2\n');
  }, 30_000);

  it(`refusals for ${refusalMs / 1000} s, then acceptance: the stream resumes intact`, async () => {
    const { proxy, client } = await setUp();
    const outage = watchOutage(client);
    let faultAt = 0;
    const handle = client.request('3000 1');
    const counts = await readCounter(handle, (n) => {
      if (n === 500) {
        faultAt = performance.now();
        proxy.setMode('refuse');
        proxy.sever();
        setTimeout(() => proxy.setMode('pass'), refusalMs);
      }
    });
    const result = await handle.result;
    const times = outage.times(faultAt);
    rows.push({
      scenario: `refused ${refusalMs / 1000} s, then accepted`,
      ...times,
      ...counts,
      outcome: result.status,
    });
    expect(result.status).toBe('done');
    expect(counts).toEqual({ chunks: 3000, lost: 0, doubled: 0 });
    expect(times.backMs).toBeGreaterThanOrEqual(refusalMs);
  }, 90_000);

  it('a slow, narrow link: 50 ms delay and 256 KB/s', async () => {
    const { client } = await setUp({ delayMs: 50, bytesPerSecond: 256 * 1024 });
    const started = performance.now();
    const handle = client.request('5000');
    const counts = await readCounter(handle);
    const result = await handle.result;
    rows.push({
      scenario: 'delay 50 ms, 256 KB/s',
      detectedMs: null,
      backMs: null,
      ...counts,
      outcome: `${result.status} in ${Math.round(performance.now() - started)} ms`,
    });
    expect(result.status).toBe('done');
    expect(counts).toEqual({ chunks: 5000, lost: 0, doubled: 0 });
  }, 30_000);
});
