/**
 * Idle sessions and their expiry: 10,000 handshaken sessions, all detached at once (the client
 * process is killed, so every socket drops in the same instant and every session's `sessionTtl`
 * timer is armed within moments of the others), then left to expire. The server runs in this
 * process with a short `sessionTtlMs`, and a 1 ms interval probe records every gap in the event
 * loop; the table gives the longest gap in each window: the ramp, the disconnect storm (until
 * every connection actor has stopped) and the TTL sweep (first expiry to last). The raw ws
 * baseline has no sessions, so it has a ramp and a storm and no sweep.
 *
 *   node --expose-gc --import tsx bench/load-idle-sessions.ts [sessions] [ttlMs]
 */
import { monitorEventLoopDelay } from 'node:perf_hooks';
import { setTimeout as sleep } from 'node:timers/promises';
import { SHARD_COUNT } from '../machines/server-shard.ts';
import { buildServer } from '../server/app.ts';
import { resolveConfig } from '../server/config.ts';
import { deadline, environmentNote } from './support/deadline.ts';
import { startRawServer } from './support/raw-ws-server.ts';
import { report } from './support/report.ts';
import { benchOverrides, forkBenchChild } from './support/spawn-server.ts';

const SESSIONS = Number(process.argv[2] ?? 10_000);
const TTL_MS = Number(process.argv[3] ?? 1500);
const TARGET_BLOCK_MS = 50;
/** Idle clients open this many sockets per call, so the ramp can report its progress. */
const STEP = 1000;
/** The whole bench gives up past this; the ramp and the storm are the slow parts (see the notes). */
const LIMIT_MS = 1_080_000;
/** After the kill, the table is printed with what happened by then, finished or not. */
const AFTER_KILL_BUDGET_MS = 420_000;

/**
 * Every gap of more than 2 ms between runs of a 1 ms interval, with when it ended, so the longest
 * block of any window can be read afterwards; and `monitorEventLoopDelay` as a second opinion.
 */
function loopProbe(onTick: (now: number) => void = () => {}) {
  const gaps: Array<{ at: number; ms: number }> = [];
  let last = performance.now();
  const timer = setInterval(() => {
    const now = performance.now();
    const gap = now - last - 1;
    if (gap > 2) gaps.push({ at: now, ms: gap });
    last = now;
    onTick(now);
  }, 1);
  const histogram = monitorEventLoopDelay({ resolution: 1 });
  histogram.enable();
  return {
    /** The longest block that ended within [from, to]. */
    maxBetween(from: number, to: number): number {
      let longest = 0;
      for (const gap of gaps)
        if (gap.at >= from && gap.at <= to) longest = Math.max(longest, gap.ms);
      return longest;
    },
    histogramMaxMs: () => histogram.max / 1e6,
    stop() {
      clearInterval(timer);
      histogram.disable();
    },
  };
}

interface OpenResult {
  opened: number;
  failed: number;
  firstError: string;
  ms: number;
}

/** Opens `count` idle, handshaken sockets from a child process; killing it drops them all at once. */
async function openIdleClients(url: string, count: number, kind: string) {
  const clients = await forkBenchChild('./idle-clients.ts', [], 'idle clients');
  let opened = 0;
  let failed = 0;
  let firstError = '';
  const started = performance.now();
  let lastStepMs = 0;
  for (let done = 0; done < count; done += STEP) {
    const result = await clients.call<OpenResult>('open', {
      url,
      count: Math.min(STEP, count - done),
    });
    opened += result.opened;
    failed += result.failed;
    firstError ||= result.firstError;
    lastStepMs = result.ms;
    console.error(
      `  ${kind}: ${opened} open after ${((performance.now() - started) / 1000).toFixed(1)} s`,
    );
  }
  if (failed > 0) console.error(`${kind}: ${failed} idle clients failed to open (${firstError})`);
  return { clients, opened, failed, openMs: performance.now() - started, lastStepMs };
}

function heapAfterGc(): number {
  const gc = (globalThis as { gc?: () => void }).gc;
  gc?.();
  gc?.();
  return process.memoryUsage().heapUsed;
}

const cpuMs = () => {
  const usage = process.cpuUsage();
  return (usage.user + usage.system) / 1000;
};

interface Reading {
  opened: number;
  failed: number;
  openMs: number;
  /** Milliseconds per handshake over the last STEP of the ramp. */
  lastStepPerHandshakeMs: number;
  rampBlockMs: number;
  heapPerSessionKb: number | null;
  stormBlockMs: number;
  /** Kill to the last connection actor stopped (raw: to the last socket closed). */
  stormMs: number;
  sweepBlockMs: number | null;
  sweepMs: number | null;
  /** Server CPU from the kill until every session had expired. */
  afterKillCpuMs: number;
  firstExpiryMs: number | null;
  /** Whether every connection actor stopped and every session expired within the budget. */
  finished: boolean;
  sessionsLeft: number;
  histogramMaxMs: number;
  expiredReason: string;
}

async function measureThreadline(): Promise<Reading> {
  const config = resolveConfig(
    { port: 0, host: '127.0.0.1', responder: 'counter', sessionTtlMs: TTL_MS, ...benchOverrides },
    'test',
  );
  const app = await buildServer({ config });
  await app.listen({ port: 0, host: '127.0.0.1' });
  const address = app.server.address();
  const port = typeof address === 'object' && address ? address.port : 0;
  const gateway = app.threadline;
  /** Every connection and session actor under the root. */
  const actors = () => gateway.memberActorCount;
  let killedAt = 0;
  let stormEndAt = 0;
  let firstExpiryAt = 0;
  let lastExpiryAt = 0;
  let sessions = 0;
  let lastCount = 0;
  const probe = loopProbe((now) => {
    if (killedAt === 0) return;
    const size = gateway.store.size;
    if (firstExpiryAt === 0 && size < sessions) firstExpiryAt = now;
    if (lastExpiryAt === 0 && size === 0) lastExpiryAt = now;
    // Counting the actors costs O(actors): look every 100 ms only.
    if (stormEndAt === 0 && now - lastCount >= 100) {
      lastCount = now;
      if (actors() === size) stormEndAt = now;
    }
  });
  try {
    const heapBefore = heapAfterGc();
    const rampStart = performance.now();
    const ramp = await openIdleClients(`ws://127.0.0.1:${port}/ws`, SESSIONS, 'threadline');
    const rampEnd = performance.now();
    const heapAfter = heapAfterGc();
    sessions = gateway.store.size;
    const sample = gateway.store.values().next().value?.id ?? '';
    await sleep(500);
    killedAt = performance.now();
    const cpuAtKill = cpuMs();
    ramp.clients.child.kill('SIGKILL');
    await ramp.clients.exited;
    const progress = setInterval(() => {
      const at = ((performance.now() - killedAt) / 1000).toFixed(0);
      const connections = actors() - gateway.store.size;
      console.error(
        `  ${at} s after the kill: ${connections} connection actors, ${gateway.store.size} sessions left`,
      );
    }, 10_000);
    const until = performance.now() + AFTER_KILL_BUDGET_MS;
    while (!(lastExpiryAt > 0 && stormEndAt > 0) && performance.now() < until) await sleep(20);
    clearInterval(progress);
    const finished = lastExpiryAt > 0 && stormEndAt > 0;
    const end = performance.now();
    const sessionsLeft = gateway.store.size;
    const afterKillCpuMs = cpuMs() - cpuAtKill;
    await sleep(100);
    return {
      opened: ramp.opened,
      failed: ramp.failed,
      openMs: ramp.openMs,
      lastStepPerHandshakeMs: ramp.lastStepMs / STEP,
      rampBlockMs: probe.maxBetween(rampStart, rampEnd),
      heapPerSessionKb: (heapAfter - heapBefore) / Math.max(1, ramp.opened) / 1024,
      stormBlockMs: probe.maxBetween(killedAt, stormEndAt || end),
      stormMs: stormEndAt ? stormEndAt - killedAt : Number.NaN,
      sweepBlockMs: firstExpiryAt ? probe.maxBetween(firstExpiryAt, lastExpiryAt || end) : null,
      sweepMs: lastExpiryAt ? lastExpiryAt - firstExpiryAt : Number.NaN,
      afterKillCpuMs,
      firstExpiryMs: firstExpiryAt ? firstExpiryAt - killedAt : null,
      finished,
      sessionsLeft,
      histogramMaxMs: probe.histogramMaxMs(),
      expiredReason: gateway.store.lossReason(sample),
    };
  } finally {
    probe.stop();
    await app.close();
  }
}

async function measureRaw(): Promise<Reading> {
  const raw = await startRawServer();
  const probe = loopProbe();
  try {
    const rampStart = performance.now();
    const ramp = await openIdleClients(raw.url, SESSIONS, 'raw ws');
    const rampEnd = performance.now();
    await sleep(500);
    const killedAt = performance.now();
    const cpuAtKill = cpuMs();
    ramp.clients.child.kill('SIGKILL');
    await ramp.clients.exited;
    // The raw server counts nothing; give ws a moment to see every socket close.
    await sleep(1000);
    return {
      opened: ramp.opened,
      failed: ramp.failed,
      openMs: ramp.openMs,
      lastStepPerHandshakeMs: ramp.lastStepMs / STEP,
      rampBlockMs: probe.maxBetween(rampStart, rampEnd),
      heapPerSessionKb: null,
      stormBlockMs: probe.maxBetween(killedAt, performance.now()),
      stormMs: Number.NaN,
      sweepBlockMs: null,
      sweepMs: null,
      afterKillCpuMs: cpuMs() - cpuAtKill,
      firstExpiryMs: null,
      finished: true,
      sessionsLeft: 0,
      histogramMaxMs: probe.histogramMaxMs(),
      expiredReason: '—',
    };
  } finally {
    probe.stop();
    await raw.close();
  }
}

async function main() {
  const stop = deadline(LIMIT_MS, 'load-idle-sessions');
  const environment = environmentNote();
  const threadline = await measureThreadline();
  const raw = await measureRaw();
  const n = (value: number) => value.toLocaleString('en-US');
  const sweepBlock = threadline.sweepBlockMs ?? Number.NaN;
  report(
    `load-idle-sessions — ${n(SESSIONS)} idle sessions detached at once, TTL ${n(TTL_MS)} ms`,
    [
      {
        metric: 'sessions opened (handshaken, idle)',
        threadline: threadline.opened,
        raw: raw.opened,
        unit: '',
        digits: 0,
      },
      {
        metric: 'time to open them',
        threadline: threadline.openMs / 1000,
        raw: raw.openMs / 1000,
        unit: 's',
      },
      {
        metric: `time per handshake, last ${n(STEP)} (50 at a time)`,
        threadline: threadline.lastStepPerHandshakeMs,
        raw: raw.lastStepPerHandshakeMs,
        unit: 'ms',
      },
      {
        metric: 'ramp: longest loop block',
        threadline: threadline.rampBlockMs,
        raw: raw.rampBlockMs,
        unit: 'ms',
      },
      {
        metric: 'heapUsed per idle session (after GC)',
        threadline: threadline.heapPerSessionKb,
        raw: null,
        unit: 'KB',
      },
      {
        metric: 'disconnect storm: longest loop block',
        threadline: threadline.stormBlockMs,
        raw: raw.stormBlockMs,
        unit: 'ms',
      },
      {
        metric: 'disconnect storm: kill → last connection actor stopped',
        threadline: threadline.stormMs,
        raw: null,
        unit: 'ms',
      },
      {
        metric: 'TTL sweep: longest loop block',
        threadline: sweepBlock,
        raw: null,
        unit: 'ms',
        target: `≤ ${TARGET_BLOCK_MS} ms`,
        pass: threadline.finished && sweepBlock <= TARGET_BLOCK_MS,
      },
      {
        metric: 'TTL sweep: first → last expiry',
        threadline: threadline.sweepMs,
        raw: null,
        unit: 'ms',
      },
      {
        metric: 'kill → first expiry',
        threadline: threadline.firstExpiryMs,
        raw: null,
        unit: 'ms',
      },
      {
        metric: 'server CPU from the kill until all expired',
        threadline: threadline.afterKillCpuMs,
        raw: raw.afterKillCpuMs,
        unit: 'ms',
      },
      {
        metric: 'connections that failed to open',
        threadline: threadline.failed,
        raw: raw.failed,
        unit: '',
        digits: 0,
      },
    ],
    [
      ...(threadline.finished
        ? []
        : [
            `NOT FINISHED: ${n(threadline.sessionsLeft)} sessions still there ${AFTER_KILL_BUDGET_MS / 1000} s after the kill; the figures cover that window`,
          ]),
      'server in this process (the probe sees its event loop); idle clients in a child process, killed with SIGKILL to drop every socket at once',
      'loop block = the longest gap between runs of a 1 ms interval, minus 1 ms, that ended inside the window',
      `monitorEventLoopDelay max over the whole run: ${threadline.histogramMaxMs.toFixed(1)} ms (raw ${raw.histogramMaxMs.toFixed(1)} ms)`,
      'the storm and the sweep overlap when stopping the connection actors takes longer than the TTL: both run in slices of ~10 ms (server/clock.ts)',
      `connections and sessions live in ${SHARD_COUNT} shards under the root (XState copies a parent's children on every spawn and stop), and a stopping actor cancels only its own delayed events (server/delayed-event-index.ts)`,
      `a resume of an expired session is told '${threadline.expiredReason}'`,
      environment,
    ],
  );
  stop();
}

await main();
