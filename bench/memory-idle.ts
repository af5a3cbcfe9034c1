/**
 * Idle server heap per connection: 5,000 handshaken, idle connections to Threadline against 5,000
 * to the raw ws server. The server runs in one process and the clients in another, so the server's
 * heap holds only its own side; heapUsed is read after two full GCs before and after the 5,000
 * connections open. Also printed: the server's CPU per handshake early and late in the ramp (the
 * cost of one more connection should not grow with the number already open), the server's CPU
 * while the connections sit idle (Threadline pings each every 2 s; raw ws sends nothing), and
 * what a round of 1,000 connections leaves behind once they have all closed.
 *
 *   node --import tsx bench/memory-idle.ts [connections]
 */
import { setTimeout as sleep } from 'node:timers/promises';
import { deadline, environmentNote } from './support/deadline.ts';
import { report } from './support/report.ts';
import { forkBenchChild, type ServerChild, spawnServer } from './support/spawn-server.ts';

const CONNECTIONS = Number(process.argv[2] ?? 5000);
const STEP = Math.min(1000, CONNECTIONS);
const LEAK_ROUND = Math.min(500, CONNECTIONS);
const TARGET_BYTES = 8 * 1024;
const IDLE_WINDOW_MS = 3000;
/** The ramp stops adding connections past this, so the bench stays bounded on a slow machine. */
const RAMP_BUDGET_MS = 45_000;

interface Reading {
  perConnection: number;
  rssPerConnection: number;
  /** Per connection of the leak round, still held after all of them closed. */
  leftPerConnection: number;
  /** Server CPU per handshake over the first and the last STEP connections. */
  firstStepCpuMs: number;
  lastStepCpuMs: number;
  /** The connection numbers the last step covered, for example `4,001–5,000`. */
  lastStep: string;
  idleCpuPercent: number;
  openMs: number;
  opened: number;
  failed: number;
}

interface OpenResult {
  opened: number;
  failed: number;
  firstError: string;
  ms: number;
}

const cpuMs = async (server: ServerChild) => {
  const usage = await server.cpu();
  return (usage.userUs + usage.systemUs) / 1000;
};

async function measure(kind: 'threadline' | 'raw'): Promise<Reading> {
  const server = await spawnServer(kind);
  const clients = await forkBenchChild('./idle-clients.ts', [], `${kind} idle clients`);
  const open = (count: number) => clients.call<OpenResult>('open', { url: server.url, count });
  const waitForNoConnections = async () => {
    for (let i = 0; i < 100 && (await server.connections()) > 0; i++) await sleep(100);
  };
  try {
    // Warm the connection path, so lazily compiled code is not counted per connection.
    await open(100);
    await clients.call('closeAll');
    await waitForNoConnections();
    const warm = await server.heap();
    await open(LEAK_ROUND);
    await clients.call('closeAll');
    await waitForNoConnections();
    await sleep(200);
    const before = await server.heap();

    let opened = 0;
    let failed = 0;
    let firstError = '';
    let openMs = 0;
    const stepCpu: number[] = [];
    let lastStep = '';
    for (let done = 0; done < CONNECTIONS && openMs < RAMP_BUDGET_MS; done += STEP) {
      const cpu = await cpuMs(server);
      const result = await open(Math.min(STEP, CONNECTIONS - done));
      stepCpu.push(((await cpuMs(server)) - cpu) / Math.max(1, result.opened));
      lastStep = `${(opened + 1).toLocaleString('en-US')}–${(opened + result.opened).toLocaleString('en-US')}`;
      opened += result.opened;
      failed += result.failed;
      firstError ||= result.firstError;
      openMs += result.ms;
    }
    if (opened < CONNECTIONS) {
      console.error(
        `${kind}: ramp stopped at ${opened} connections after ${RAMP_BUDGET_MS / 1000} s`,
      );
    }
    if (failed > 0) console.error(`${kind}: ${failed} connections failed (${firstError})`);
    await sleep(500);
    const after = await server.heap();
    const idleStart = await cpuMs(server);
    await sleep(IDLE_WINDOW_MS);
    const idleCpuMs = (await cpuMs(server)) - idleStart;
    return {
      perConnection: (after.heapUsed - before.heapUsed) / opened,
      rssPerConnection: (after.rss - before.rss) / opened,
      leftPerConnection: (before.heapUsed - warm.heapUsed) / LEAK_ROUND,
      firstStepCpuMs: stepCpu[0] ?? Number.NaN,
      lastStepCpuMs: stepCpu[stepCpu.length - 1] ?? Number.NaN,
      lastStep,
      idleCpuPercent: (idleCpuMs / IDLE_WINDOW_MS) * 100,
      openMs,
      opened,
      failed,
    };
  } finally {
    // Killing the clients and the server is quicker than closing 5,000 sockets one by one.
    clients.child.kill();
    await clients.exited;
    await server.close();
  }
}

async function main() {
  const stop = deadline(170_000, 'memory-idle');
  const environment = environmentNote();
  const threadline = await measure('threadline');
  const raw = await measure('raw');
  const kb = (bytes: number) => bytes / 1024;
  const n = (value: number) => value.toLocaleString('en-US');
  report(
    `memory-idle — server heap per idle connection, ${n(CONNECTIONS)} connections`,
    [
      {
        metric: 'heapUsed per connection (after GC)',
        threadline: kb(threadline.perConnection),
        raw: kb(raw.perConnection),
        unit: 'KB',
        target: `≤ ${TARGET_BYTES / 1024} KB`,
        pass: threadline.perConnection <= TARGET_BYTES,
      },
      {
        metric: 'RSS per connection',
        threadline: kb(threadline.rssPerConnection),
        raw: kb(raw.rssPerConnection),
        unit: 'KB',
      },
      {
        metric: `server CPU per handshake, connections 1–${n(STEP)}`,
        threadline: threadline.firstStepCpuMs,
        raw: raw.firstStepCpuMs,
        unit: 'ms',
      },
      {
        metric: `server CPU per handshake, connections ${threadline.lastStep}`,
        threadline: threadline.lastStepCpuMs,
        raw: raw.lastStepCpuMs,
        unit: 'ms',
      },
      {
        metric: 'connections opened (held idle)',
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
        metric: 'server CPU while idle',
        threadline: threadline.idleCpuPercent,
        raw: raw.idleCpuPercent,
        unit: '% of a core',
        digits: 1,
      },
      {
        metric: `heapUsed left per connection, ${n(LEAK_ROUND)} opened then closed`,
        threadline: kb(threadline.leftPerConnection),
        raw: kb(raw.leftPerConnection),
        unit: 'KB',
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
      'server and clients in separate processes; heap read in the server process after two gc() calls',
      `the ramp stops early (and says so) if it takes over ${RAMP_BUDGET_MS / 1000} s; per-connection figures then use the count reached`,
      'every client is a bare ws socket that sends hello, waits for welcome and answers pings: to the server, a handshaken idle Threadline client',
      `handshakes run 50 at a time; CPU per handshake is the server process's CPU over each ${n(STEP)}-connection step ÷ ${n(STEP)}`,
      `idle CPU over ${IDLE_WINDOW_MS / 1000} s with every connection open; Threadline’s is its 2 s heartbeat (a ping out, a pong back, two timer re-entries per connection), which the raw server does not have`,
      '“left after closed” includes the session tombstones Threadline keeps on purpose (up to 10,000 ids)',
      environment,
    ],
  );
  stop();
}

await main();
