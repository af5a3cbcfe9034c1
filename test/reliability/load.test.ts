/**
 * Load, scaled down from the benches (bench/load-*.ts) to fit `npm test`: 200 connections
 * streaming at once, each answer complete and in order; 1,000 sessions detached together whose
 * TTL sweep must not block the event loop for more than 50 ms; 2,000 connect/disconnect cycles
 * that leave nothing behind and the heap where it was.
 */
import { setTimeout as sleep } from 'node:timers/promises';
import { setFlagsFromString } from 'node:v8';
import { runInNewContext } from 'node:vm';
import { describe, expect, it } from 'vitest';
import WebSocket from 'ws';
import { dispose, startServer, waitFor } from '../support/harness.ts';

setFlagsFromString('--expose-gc');
const gc = runInNewContext('gc') as () => void;

function heapAfterGc(): number {
  gc();
  gc();
  return process.memoryUsage().heapUsed;
}

type Frame = { type: string; seq?: number; requestId?: string; data?: string };

/** A bare protocol client: handshaken, answering pings, keeping nothing once closed. */
interface Peer {
  ws: WebSocket;
  onFrame: (frame: Frame) => void;
  send(frame: object): void;
  closed: Promise<void>;
}

const open = new Set<WebSocket>();

async function handshake(url: string, threadId: string): Promise<Peer> {
  const ws = new WebSocket(url);
  open.add(ws);
  ws.on('error', () => {});
  const closed = new Promise<void>((resolve) =>
    ws.once('close', () => {
      open.delete(ws);
      resolve();
    }),
  );
  const peer: Peer = {
    ws,
    onFrame: () => {},
    send: (frame) => ws.send(JSON.stringify(frame)),
    closed,
  };
  ws.on('message', (data: Buffer) => {
    const value = JSON.parse(String(data)) as Frame | Frame[];
    for (const frame of Array.isArray(value) ? value : [value]) {
      if (frame.type === 'ping') peer.send({ type: 'pong' });
      else peer.onFrame(frame);
    }
  });
  await new Promise<void>((resolve, reject) => {
    ws.once('open', () => resolve());
    ws.once('error', reject);
  });
  await new Promise<void>((resolve, reject) => {
    peer.onFrame = (frame) => {
      if (frame.type === 'welcome') resolve();
    };
    ws.once('close', (code) => reject(new Error(`closed with ${code} before welcome`)));
    peer.send({ type: 'hello', protocol: 1, threadId });
  });
  peer.onFrame = () => {};
  return peer;
}

/** Opens `count` peers, `concurrency` handshakes at a time. */
async function handshakeMany(url: string, count: number, concurrency = 50): Promise<Peer[]> {
  const peers: Peer[] = [];
  for (let i = 0; i < count; i += concurrency) {
    const batch = Array.from({ length: Math.min(concurrency, count - i) }, (_, k) =>
      handshake(url, `t${i + k}`),
    );
    peers.push(...(await Promise.all(batch)));
  }
  return peers;
}

async function dropAll() {
  await Promise.all(
    [...open].map((ws) => {
      const closed = new Promise<void>((resolve) => ws.once('close', () => resolve()));
      ws.terminate();
      return closed;
    }),
  );
}

/** Every gap of more than 2 ms between runs of a 1 ms interval, with when it ended. */
function loopProbe() {
  const gaps: Array<{ at: number; ms: number }> = [];
  let last = performance.now();
  const timer = setInterval(() => {
    const now = performance.now();
    if (now - last - 1 > 2) gaps.push({ at: now, ms: now - last - 1 });
    last = now;
  }, 1);
  return {
    maxBetween: (from: number, to: number) =>
      Math.max(0, ...gaps.filter((gap) => gap.at >= from && gap.at <= to).map((gap) => gap.ms)),
    stop: () => clearInterval(timer),
  };
}

describe('load, scaled down', () => {
  it('streams 200 answers at once, each complete and in order', async () => {
    const server = await startServer({ responder: 'counter' });
    dispose(dropAll);
    const CHUNKS = 60;
    const peers = await handshakeMany(server.url, 200);
    let inFlight = 0;
    let peak = 0;
    const answers = peers.map(
      (peer, i) =>
        new Promise<{ chunks: string[]; seqs: number[]; end: string }>((resolve) => {
          const chunks: string[] = [];
          const seqs: number[] = [];
          peer.onFrame = (frame) => {
            if (frame.requestId !== `r${i}`) return;
            if (frame.seq !== undefined) seqs.push(frame.seq);
            if (frame.type === 'chunk') {
              chunks.push(frame.data ?? '');
              if (chunks.length % 25 === 0) peer.send({ type: 'ack', seq: frame.seq });
            } else if (frame.type !== 'accepted') {
              inFlight--;
              resolve({ chunks, seqs, end: frame.type });
            }
          };
          inFlight++;
          peak = Math.max(peak, inFlight);
          // 60 chunks 10 ms apart: every stream is still going when the last one starts.
          peer.send({ type: 'request', requestId: `r${i}`, text: `${CHUNKS} 10` });
        }),
    );
    const results = await Promise.all(answers);
    expect(peak).toBe(200);
    const expected = Array.from({ length: CHUNKS }, (_, i) => `${i}\n`);
    for (const result of results) {
      expect(result.end).toBe('done');
      expect(result.chunks).toEqual(expected);
      // accepted, the chunks and done, numbered without a gap.
      expect(result.seqs).toEqual(result.seqs.map((_, i) => (result.seqs[0] ?? 0) + i));
      expect(result.seqs).toHaveLength(CHUNKS + 2);
    }
  });

  it('expires 1,000 sessions detached at once without blocking the event loop for 50 ms', async () => {
    const TTL_MS = 1000;
    const server = await startServer({ responder: 'counter', sessionTtlMs: TTL_MS });
    dispose(dropAll);
    const gateway = server.app.threadline;
    await handshakeMany(server.url, 1000);
    expect(gateway.store.size).toBe(1000);
    expect(gateway.memberActorCount).toBe(2000);

    const probe = loopProbe();
    dispose(probe.stop);
    // Every socket drops in the same instant, so every session's TTL timer falls due together.
    const droppedAt = performance.now();
    await dropAll();
    await waitFor(() => gateway.connectionCount === 0, { what: 'every socket to close' });
    let firstExpiry = 0;
    await waitFor(
      () => {
        if (firstExpiry === 0 && gateway.store.size < 1000) firstExpiry = performance.now();
        return gateway.store.size === 0;
      },
      { timeoutMs: 20_000, intervalMs: 1, what: 'every session to expire' },
    );
    const lastExpiry = performance.now();
    await waitFor(() => gateway.memberActorCount === 0, { what: 'every actor to stop' });
    await sleep(20);
    const sweepBlock = probe.maxBetween(firstExpiry, lastExpiry + 20);
    const stormBlock = probe.maxBetween(droppedAt, firstExpiry);
    console.log(
      `TTL sweep of 1,000 sessions: ${(lastExpiry - firstExpiry).toFixed(0)} ms, longest loop block ${sweepBlock.toFixed(1)} ms; disconnect storm before it: ${stormBlock.toFixed(1)} ms`,
    );
    expect(firstExpiry - droppedAt).toBeGreaterThanOrEqual(TTL_MS - 50);
    expect(sweepBlock).toBeLessThanOrEqual(50);
    expect(gateway.store.lossReason(gateway.store.values().next().value?.id ?? 'none')).toBe(
      'unknown',
    );
  });

  it('leaves nothing behind after 2,000 connect/disconnect cycles, and the heap where it was', async () => {
    const TTL_MS = 200;
    const server = await startServer({ responder: 'counter', sessionTtlMs: TTL_MS });
    dispose(dropAll);
    const gateway = server.app.threadline;
    /** Half say goodbye (the session ends at once), half drop (it expires after the TTL). */
    const churn = async (cycles: number) => {
      let next = 0;
      const worker = async () => {
        while (next < cycles) {
          const n = next++;
          const peer = await handshake(server.url, `c${n}`);
          if (n % 2 === 0) {
            peer.send({ type: 'bye' });
            peer.ws.close(1000);
          } else peer.ws.terminate();
          await peer.closed;
        }
      };
      await Promise.all(Array.from({ length: 20 }, worker));
      await waitFor(
        () =>
          gateway.store.size === 0 &&
          gateway.connectionCount === 0 &&
          gateway.memberActorCount === 0,
        { timeoutMs: 10_000, what: 'every session, socket and actor to be gone' },
      );
    };
    // As many warm-up cycles as measured ones: the first thousands grow tables and compiled
    // code once (the tombstones' Map doubles past 2,048 entries), which is not a leak.
    await churn(2000);
    const before = heapAfterGc();
    await churn(2000);
    const after = heapAfterGc();
    const perCycle = (after - before) / 2000;
    console.log(
      `2,000 churn cycles: heap ${(before / 2 ** 20).toFixed(1)} → ${(after / 2 ** 20).toFixed(1)} MiB (${perCycle.toFixed(0)} B per cycle)`,
    );
    expect(after).toBeLessThanOrEqual(before * 1.1);
    // What stays per cycle: the ended session's id (a tombstone, ~60 B), and ~600 B that XState 5
    // keeps for good: a child reaching a final state sends the root `xstate.done.actor.<id>`,
    // and the root's state nodes memoise transition candidates per event type. A socket, session
    // or actor left behind would cost 10 KB or more.
    expect(perCycle).toBeLessThan(400);
  });
});
