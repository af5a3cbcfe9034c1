/**
 * Resume after a dropped link: a 10,000-chunk stream paced at 0.2 ms (`10000 0.2`) runs through
 * the loopback `FaultProxy`, which severs every link five times, about every sixth of the stream.
 * For each sever: the time until the next chunk arrives on the new connection. Over the stream:
 * chunks received, lost, duplicated and out of order (every chunk is `i\n`, so each is checked).
 *
 * The baseline is raw ws with a naive reconnect: reconnect at once, ask for the same stream
 * again, carry on; what the server produced while no socket was attached is gone. The Threadline
 * client waits a random 0–300 ms before its first reconnect attempt by design (no stampede after a
 * server restart); that wait is reported on its own line.
 *
 *   node --import tsx bench/resume.ts
 */
import { randomUUID } from 'node:crypto';
import WebSocket from 'ws';
import { stateName, type WebSocketConstructor } from '../client/index.ts';
import { FaultProxy } from '../test/support/fault-proxy.ts';
import { openThreadClient, READY } from './support/clients.ts';
import { deadline, environmentNote } from './support/deadline.ts';
import { report } from './support/report.ts';
import { spawnServer } from './support/spawn-server.ts';
import { max, percentile } from './support/stats.ts';

const CHUNKS = 10_000;
const PACE_MS = 0.2;
const SEVERS = 5;
const RESUME_TARGET_MS = 300;

/** Checks each `i\n` chunk as it arrives: counts what is missing, repeated or early. */
class Tally {
  private readonly seen = new Uint8Array(CHUNKS);
  private last = -1;
  received = 0;
  duplicated = 0;
  outOfOrder = 0;

  add(chunk: string): void {
    const index = Number.parseInt(chunk, 10);
    this.received++;
    if (!(index >= 0 && index < CHUNKS)) return;
    if (this.seen[index]) this.duplicated++;
    else if (index !== this.last + 1) this.outOfOrder++;
    this.seen[index] = 1;
    this.last = Math.max(this.last, index);
  }

  get lost(): number {
    return this.seen.reduce((missing, value) => missing + (value ? 0 : 1), 0);
  }
}

interface Outcome {
  tally: Tally;
  /** Per sever: ms from the sever to the first chunk on a connection opened after it. */
  resumeMs: number[];
  /** Per sever: the reconnect wait the client chose (Threadline's backoff). */
  waitMs: number[];
  severs: number;
  elapsedMs: number;
}

const thresholds = Array.from({ length: SEVERS }, (_, i) =>
  Math.round(((i + 1) * CHUNKS) / (SEVERS + 1)),
);

/** Tells when the first chunk after a sever arrives on a socket opened after it. */
class ResumeClock {
  private generation = 0;
  private severedGeneration = 0;
  private severedAt: number | null = null;
  readonly resumeMs: number[] = [];

  /** The `ws` class for the client, reporting every socket it opens and what it receives. */
  webSocket(): new (url: string) => WebSocket {
    const clock = this;
    return class TimedWebSocket extends WebSocket {
      constructor(url: string) {
        super(url);
        const generation = ++clock.generation;
        this.on('message', (data: Buffer) => clock.onMessage(generation, data));
      }
    };
  }

  sever(): void {
    this.severedAt = performance.now();
    this.severedGeneration = this.generation;
  }

  get pending(): boolean {
    return this.severedAt !== null;
  }

  private onMessage(generation: number, data: Buffer): void {
    if (this.severedAt === null || generation <= this.severedGeneration) return;
    // A batch holds several frames; any chunk among them counts.
    if (!data.includes('"type":"chunk"')) return;
    this.resumeMs.push(performance.now() - this.severedAt);
    this.severedAt = null;
  }
}

async function threadlineRun(targetPort: number): Promise<Outcome> {
  const proxy = await new FaultProxy({ targetPort }).start();
  const clock = new ResumeClock();
  const client = await openThreadClient(
    proxy.url,
    {},
    clock.webSocket() as unknown as WebSocketConstructor,
  );
  const waitMs: number[] = [];
  const watch = client.actor.subscribe((snapshot) => {
    const delay = snapshot.context.retryDelayMs;
    if (delay !== null && clock.pending && waitMs.length < clock.resumeMs.length + 1) {
      waitMs.push(delay);
    }
  });
  const tally = new Tally();
  let severs = 0;
  const started = performance.now();
  try {
    const handle = client.request(`${CHUNKS} ${PACE_MS}`);
    for await (const chunk of handle) {
      tally.add(chunk);
      const due = severs < SEVERS && tally.received >= (thresholds[severs] ?? Infinity);
      // Sever only a live, ready link with no resume still under way.
      if (due && !clock.pending && stateName(client.actor.getSnapshot()) === READY) {
        if (proxy.sever() > 0) {
          clock.sever();
          severs++;
        }
      }
    }
    const result = await handle.result;
    if (result.status !== 'done') throw new Error(`threadline stream ended ${result.status}`);
    return {
      tally,
      resumeMs: clock.resumeMs,
      waitMs,
      severs,
      elapsedMs: performance.now() - started,
    };
  } finally {
    watch.unsubscribe();
    await client.close();
    await proxy.stop();
  }
}

/** Raw ws with a naive reconnect: at once, same request again, nothing replayed. */
async function rawRun(targetPort: number): Promise<Outcome> {
  const proxy = await new FaultProxy({ targetPort }).start();
  const clock = new ResumeClock();
  const Timed = clock.webSocket();
  const tally = new Tally();
  const requestId = randomUUID();
  let severs = 0;
  const started = performance.now();
  try {
    await new Promise<void>((resolve, reject) => {
      let finished = false;
      const connect = () => {
        const ws = new Timed(proxy.url);
        ws.on('error', () => {});
        ws.on('open', () => {
          ws.send(JSON.stringify({ type: 'hello', protocol: 1, threadId: 'raw-resume' }));
          ws.send(JSON.stringify({ type: 'request', requestId, text: `${CHUNKS} ${PACE_MS}` }));
        });
        ws.on('message', (data: Buffer) => {
          const frame = JSON.parse(String(data)) as { type: string; data?: string };
          if (frame.type === 'done') {
            finished = true;
            ws.close(1000);
            resolve();
            return;
          }
          if (frame.type !== 'chunk') return;
          tally.add(frame.data ?? '');
          const due = severs < SEVERS && tally.received >= (thresholds[severs] ?? Infinity);
          if (due && !clock.pending && proxy.sever() > 0) {
            clock.sever();
            severs++;
          }
        });
        ws.on('close', () => {
          if (!finished) connect();
        });
      };
      connect();
      setTimeout(() => reject(new Error('raw resume run did not finish in 30 s')), 30_000).unref();
    });
    return {
      tally,
      resumeMs: clock.resumeMs,
      waitMs: [],
      severs,
      elapsedMs: performance.now() - started,
    };
  } finally {
    await proxy.stop();
  }
}

async function main() {
  const stop = deadline(90_000, 'resume');
  const environment = environmentNote();
  const threadlineServer = await spawnServer('threadline');
  const rawServer = await spawnServer('raw');
  try {
    const tl = await threadlineRun(threadlineServer.port);
    const rw = await rawRun(rawServer.port);
    const p50 = percentile(tl.resumeMs, 50);
    const overhead = tl.resumeMs.map((ms, i) => ms - (tl.waitMs[i] ?? 0));
    report(
      `resume — ${SEVERS} severs during a ${CHUNKS.toLocaleString('en-US')}-chunk stream paced at ${PACE_MS} ms`,
      [
        {
          metric: 'severs performed',
          threadline: tl.severs,
          raw: rw.severs,
          unit: '',
          digits: 0,
        },
        {
          metric: 'sever → next chunk, p50',
          threadline: p50,
          raw: percentile(rw.resumeMs, 50),
          unit: 'ms',
          digits: 1,
          target: `< ${RESUME_TARGET_MS} ms`,
          pass: p50 < RESUME_TARGET_MS,
        },
        {
          metric: 'sever → next chunk, max',
          threadline: max(tl.resumeMs),
          raw: max(rw.resumeMs),
          unit: 'ms',
          digits: 1,
        },
        {
          metric: 'of which the random reconnect wait, p50',
          threadline: percentile(tl.waitMs, 50),
          raw: null,
          unit: 'ms',
          digits: 1,
        },
        {
          metric: 'sever → next chunk minus that wait, p50',
          threadline: percentile(overhead, 50),
          raw: percentile(rw.resumeMs, 50),
          unit: 'ms',
          digits: 1,
        },
        {
          metric: 'chunks received (with duplicates)',
          threadline: tl.tally.received,
          raw: rw.tally.received,
          unit: '',
          digits: 0,
        },
        {
          metric: 'chunks lost',
          threadline: tl.tally.lost,
          raw: rw.tally.lost,
          unit: '',
          digits: 0,
          target: '0',
          pass: tl.tally.lost === 0,
        },
        {
          metric: 'chunks duplicated',
          threadline: tl.tally.duplicated,
          raw: rw.tally.duplicated,
          unit: '',
          digits: 0,
          target: '0',
          pass: tl.tally.duplicated === 0,
        },
        {
          metric: 'chunks out of order',
          threadline: tl.tally.outOfOrder,
          raw: rw.tally.outOfOrder,
          unit: '',
          digits: 0,
        },
        {
          metric: 'whole stream',
          threadline: tl.elapsedMs / 1000,
          raw: rw.elapsedMs / 1000,
          unit: 's',
        },
      ],
      [
        `per-sever resume (ms), threadline: ${tl.resumeMs.map((ms) => ms.toFixed(1)).join(', ')}; raw ws: ${rw.resumeMs.map((ms) => ms.toFixed(1)).join(', ')}`,
        `threadline reconnect waits chosen (ms): ${tl.waitMs.join(', ')} (first attempt: uniform 0–300 ms by design)`,
        'severs at every sixth of the stream by chunks received, through a loopback TCP proxy that destroys both sides of each link',
        'raw ws: reconnects at once and re-attaches to the running stream with no replay, so what was produced meanwhile is lost',
        environment,
      ],
    );
  } finally {
    await Promise.all([threadlineServer.close(), rawServer.close()]);
    stop();
  }
}

await main();
