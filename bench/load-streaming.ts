/**
 * Many streams at once: 2,000 connections, each streaming a paced counter answer (100 chunks,
 * 50 ms apart, so every stream is in flight at the same time for ~5 s), against a server in its
 * own process. Every answer must arrive complete and in order: chunk i is `i\n`, seqs are
 * consecutive, and it ends with `done`. The clients (bare ws sockets speaking the protocol, acking
 * every 50 chunks) run in this process. The raw ws baseline streams the same frames with none of
 * Threadline's machinery.
 *
 *   node --expose-gc --import tsx bench/load-streaming.ts [connections] [chunks] [intervalMs]
 *
 * `LOAD_STREAMING_PROFILE=/tmp/x` writes a CPU profile of each server over the streaming window
 * (`/tmp/x.threadline.cpuprofile`; read it with bench/profile-summary.ts).
 */
import { execFileSync, spawnSync } from 'node:child_process';
import { setTimeout as sleep } from 'node:timers/promises';
import { fileURLToPath } from 'node:url';
import { openRawClient, type RawClient, type RawFrame } from './support/clients.ts';
import { deadline, environmentNote } from './support/deadline.ts';
import { report } from './support/report.ts';
import { type ServerChild, spawnServer } from './support/spawn-server.ts';
import { percentile } from './support/stats.ts';

const CONNECTIONS = Number(process.argv[2] ?? 2000);
const CHUNKS = Number(process.argv[3] ?? 100);
const INTERVAL_MS = Number(process.argv[4] ?? 50);
const OPEN_CONCURRENCY = 50;
const ACK_EVERY = 50;
/** Sockets this process needs open at once, with room for the runtime's own. */
const FDS_NEEDED = CONNECTIONS + 256;

/**
 * Each client socket is a file descriptor: with the soft limit too low, run again under a shell
 * that raises it (up to the hard limit). The server child inherits the raised limit.
 */
function ensureFileLimit(): void {
  const limits = execFileSync('sh', ['-c', 'ulimit -Sn; ulimit -Hn'], { encoding: 'utf8' })
    .trim()
    .split('\n');
  const soft = Number(limits[0]);
  const hard = limits[1] === 'unlimited' ? Number.POSITIVE_INFINITY : Number(limits[1]);
  if (!(soft < FDS_NEEDED)) return;
  if (process.env.LOAD_STREAMING_RAISED || hard < FDS_NEEDED) {
    throw new Error(`need ${FDS_NEEDED} open files; ulimit -n is ${soft} (hard ${limits[1]})`);
  }
  console.error(`raising the open-file limit from ${soft} to ${FDS_NEEDED}`);
  const self = fileURLToPath(import.meta.url);
  const args = [...process.execArgv, self, ...process.argv.slice(2)].map((arg) => `'${arg}'`);
  const result = spawnSync(
    'sh',
    ['-c', `ulimit -n ${FDS_NEEDED} && exec '${process.execPath}' ${args.join(' ')}`],
    { stdio: 'inherit', env: { ...process.env, LOAD_STREAMING_RAISED: '1' } },
  );
  process.exit(result.status ?? 1);
}

interface Stream {
  sentAt: number;
  firstChunkAt: number;
  lastChunkAt: number;
  chunks: number;
  /** The largest gap between two chunks of this stream. */
  maxGapMs: number;
  done: boolean;
  broken: string;
}

/** Sends one request on `client` and checks what comes back, frame by frame. */
function stream(client: RawClient, requestId: string, kind: string, onEnd: () => void): Stream {
  const state: Stream = {
    sentAt: performance.now(),
    firstChunkAt: 0,
    lastChunkAt: 0,
    chunks: 0,
    maxGapMs: 0,
    done: false,
    broken: '',
  };
  let lastSeq = 0;
  const fail = (why: string) => {
    state.broken ||= why;
  };
  client.onFrame = (frame: RawFrame) => {
    if (frame.requestId !== requestId) return;
    if (typeof frame.seq === 'number') {
      if (lastSeq !== 0 && frame.seq !== lastSeq + 1) fail(`seq ${frame.seq} after ${lastSeq}`);
      lastSeq = frame.seq;
    }
    if (frame.type === 'chunk') {
      const now = performance.now();
      if (state.chunks === 0) state.firstChunkAt = now;
      else state.maxGapMs = Math.max(state.maxGapMs, now - state.lastChunkAt);
      state.lastChunkAt = now;
      if (frame.data !== `${state.chunks}\n`) fail(`chunk ${state.chunks} was ${frame.data}`);
      state.chunks++;
      if (kind === 'threadline' && state.chunks % ACK_EVERY === 0) {
        client.send({ type: 'ack', seq: lastSeq });
      }
    } else if (frame.type === 'done') {
      if (state.chunks !== CHUNKS) fail(`done after ${state.chunks} chunks`);
      state.done = true;
      onEnd();
    } else if (frame.type === 'cancelled' || frame.type === 'error') {
      fail(`ended ${frame.type}`);
      onEnd();
    }
  };
  client.send({ type: 'request', requestId, text: `${CHUNKS} ${INTERVAL_MS}` });
  return state;
}

interface Reading {
  opened: number;
  failedToOpen: number;
  openMs: number;
  complete: number;
  broken: number;
  firstBroken: string;
  peakInFlight: number;
  wallMs: number;
  firstChunkP50: number;
  firstChunkP99: number;
  gapP99: number;
  cpuMsPerChunk: number;
  serverCpuPercent: number;
  peakHeapMb: number;
}

async function openAll(url: string): Promise<{ clients: RawClient[]; failed: number }> {
  const clients: RawClient[] = [];
  let failed = 0;
  for (let done = 0; done < CONNECTIONS; done += OPEN_CONCURRENCY) {
    const batch = Array.from({ length: Math.min(OPEN_CONCURRENCY, CONNECTIONS - done) }, () =>
      openRawClient(url),
    );
    for (const outcome of await Promise.allSettled(batch)) {
      if (outcome.status === 'fulfilled') clients.push(outcome.value);
      else failed++;
    }
  }
  return { clients, failed };
}

async function measure(kind: 'threadline' | 'raw'): Promise<Reading> {
  const server: ServerChild = await spawnServer(kind);
  const opening = performance.now();
  const { clients, failed } = await openAll(server.url);
  const openMs = performance.now() - opening;
  try {
    await sleep(500);
    const cpuBefore = await server.cpu();
    const profile = process.env.LOAD_STREAMING_PROFILE;
    if (profile) await server.profileStart();
    await server.peakStart();
    let inFlight = 0;
    let peakInFlight = 0;
    let ended = 0;
    let allEnded: () => void = () => {};
    const finished = new Promise<void>((resolve) => {
      allEnded = resolve;
    });
    const started = performance.now();
    const streams = clients.map((client, i) => {
      inFlight++;
      peakInFlight = Math.max(peakInFlight, inFlight);
      return stream(client, `r${i}`, kind, () => {
        inFlight--;
        if (++ended === clients.length) allEnded();
      });
    });
    const limit = CHUNKS * INTERVAL_MS + 120_000;
    const timer = setTimeout(allEnded, limit);
    await finished;
    clearTimeout(timer);
    const wallMs = performance.now() - started;
    const peakHeap = await server.peakStop();
    if (profile)
      console.error(`profile: ${await server.profileStop(`${profile}.${kind}.cpuprofile`)}`);
    const cpuAfter = await server.cpu();
    const cpuMs =
      (cpuAfter.userUs + cpuAfter.systemUs - cpuBefore.userUs - cpuBefore.systemUs) / 1000;
    const good = streams.filter((s) => s.done && !s.broken);
    const broken = streams.filter((s) => !s.done || s.broken);
    const totalChunks = streams.reduce((sum, s) => sum + s.chunks, 0);
    return {
      opened: clients.length,
      failedToOpen: failed,
      openMs,
      complete: good.length,
      broken: broken.length,
      firstBroken: broken[0]?.broken || (broken[0] ? 'no done in time' : ''),
      peakInFlight,
      wallMs,
      firstChunkP50: percentile(
        good.map((s) => s.firstChunkAt - s.sentAt),
        50,
      ),
      firstChunkP99: percentile(
        good.map((s) => s.firstChunkAt - s.sentAt),
        99,
      ),
      gapP99: percentile(
        good.map((s) => s.maxGapMs),
        99,
      ),
      cpuMsPerChunk: cpuMs / Math.max(1, totalChunks),
      serverCpuPercent: (cpuMs / wallMs) * 100,
      peakHeapMb: peakHeap / (1024 * 1024),
    };
  } finally {
    // Dropping them all at once is quicker than a polite goodbye from each.
    for (const client of clients) client.ws.terminate();
    await server.close();
  }
}

async function main() {
  ensureFileLimit();
  const stop = deadline(300_000, 'load-streaming');
  const environment = environmentNote();
  const threadline = await measure('threadline');
  const raw = await measure('raw');
  const n = (value: number) => value.toLocaleString('en-US');
  if (threadline.firstBroken)
    console.error(`threadline: first broken stream: ${threadline.firstBroken}`);
  if (raw.firstBroken) console.error(`raw: first broken stream: ${raw.firstBroken}`);
  report(
    `load-streaming — ${n(CONNECTIONS)} connections streaming at once, ${CHUNKS} chunks ${INTERVAL_MS} ms apart each`,
    [
      {
        metric: 'connections opened',
        threadline: threadline.opened,
        raw: raw.opened,
        unit: '',
        digits: 0,
      },
      {
        metric: 'answers complete and in order',
        threadline: threadline.complete,
        raw: raw.complete,
        unit: '',
        digits: 0,
        target: `= ${n(CONNECTIONS)}`,
        pass: threadline.complete === CONNECTIONS,
      },
      {
        metric: 'streams in flight at the peak',
        threadline: threadline.peakInFlight,
        raw: raw.peakInFlight,
        unit: '',
        digits: 0,
      },
      {
        metric: 'first chunk p50',
        threadline: threadline.firstChunkP50,
        raw: raw.firstChunkP50,
        unit: 'ms',
      },
      {
        metric: 'first chunk p99',
        threadline: threadline.firstChunkP99,
        raw: raw.firstChunkP99,
        unit: 'ms',
      },
      {
        metric: `longest gap between chunks, p99 of streams (paced ${INTERVAL_MS} ms)`,
        threadline: threadline.gapP99,
        raw: raw.gapP99,
        unit: 'ms',
      },
      {
        metric: 'first request → last done',
        threadline: threadline.wallMs / 1000,
        raw: raw.wallMs / 1000,
        unit: 's',
      },
      {
        metric: 'server CPU per chunk',
        threadline: threadline.cpuMsPerChunk * 1000,
        raw: raw.cpuMsPerChunk * 1000,
        unit: 'µs',
      },
      {
        metric: 'server CPU while streaming',
        threadline: threadline.serverCpuPercent,
        raw: raw.serverCpuPercent,
        unit: '% of a core',
        digits: 0,
      },
      {
        metric: 'server peak heapUsed while streaming',
        threadline: threadline.peakHeapMb,
        raw: raw.peakHeapMb,
        unit: 'MB',
      },
      {
        metric: 'time to open the connections',
        threadline: threadline.openMs / 1000,
        raw: raw.openMs / 1000,
        unit: 's',
      },
      {
        metric: 'connections that failed to open',
        threadline: threadline.failedToOpen,
        raw: raw.failedToOpen,
        unit: '',
        digits: 0,
      },
    ],
    [
      'server in a child process; clients (bare ws sockets that unpack batches, answer pings and, for Threadline, ack every 50 chunks) in this process',
      `complete and in order: ${CHUNKS} chunks, chunk i = "i\\n", consecutive seqs, then done`,
      `every request is sent before the first can finish (${n(CHUNKS * INTERVAL_MS)} ms each), so all ${n(CONNECTIONS)} stream at once`,
      environment,
    ],
  );
  stop();
}

await main();
