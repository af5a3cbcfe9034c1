/**
 * Starts a bench's helper processes and talks to them over IPC: a server (`server-process.ts`,
 * via `spawnServer`) or any other entry under bench/support (`forkBenchChild`). Every child dies
 * with its parent: killed on exit, and each entry exits itself when the IPC channel closes.
 * Set `BENCH_CPU_PROF=<dir>` to have every server child write a V8 CPU profile there on close
 * (read one with `bench/profile-summary.ts`).
 */
import { type ChildProcess, fork } from 'node:child_process';
import { fileURLToPath } from 'node:url';
import type { CpuReading, HeapReading, ServerKind } from './server-process.ts';

const root = fileURLToPath(new URL('../..', import.meta.url));

export interface ServerChild {
  kind: ServerKind;
  port: number;
  url: string;
  child: ChildProcess;
  /** heapUsed and friends after two full GCs in the server process. */
  heap(): Promise<HeapReading>;
  cpu(): Promise<CpuReading>;
  /** Starts sampling heapUsed (no GC) every 25 ms… */
  peakStart(): Promise<void>;
  /** …and returns the highest sample. */
  peakStop(): Promise<number>;
  /** Writes a heap snapshot (after GC) to `path`, for a closer look at what a bench measured. */
  heapSnapshot(path: string): Promise<string>;
  /** Starts a CPU profile of the server process… */
  profileStart(): Promise<void>;
  /** …and writes it to `path` (read it with bench/profile-summary.ts). */
  profileStop(path: string): Promise<string>;
  /** Open sockets as the gateway counts them (-1 for the raw server). */
  connections(): Promise<number>;
  /** Closes the server and waits for the process to exit (killed after 5 s). */
  close(): Promise<void>;
}

const live = new Set<ChildProcess>();
process.on('exit', () => {
  for (const child of live) child.kill('SIGKILL');
});

interface ChildMessage {
  type?: string;
  port?: number;
  id?: number;
  result?: unknown;
  error?: string;
}

export interface BenchChild {
  child: ChildProcess;
  /** What the child said when it was ready. */
  ready: ChildMessage;
  /** Sends `{ id, cmd, ...args }` and resolves with the child's `result`. */
  call<T>(cmd: string, args?: Record<string, unknown>): Promise<T>;
  exited: Promise<void>;
}

/**
 * Forks `file` (a .ts entry under bench/support) with `--expose-gc --import tsx`, waits for its
 * `{ type: 'ready' }`, and correlates calls and answers by id. Killed when this process exits.
 */
export async function forkBenchChild(
  file: string,
  args: string[],
  what: string,
  profile = false,
): Promise<BenchChild> {
  const profileDir = process.env.BENCH_CPU_PROF;
  const execArgv = ['--expose-gc', '--import', 'tsx'];
  if (profile && profileDir) execArgv.push('--cpu-prof', `--cpu-prof-dir=${profileDir}`);
  const child = fork(fileURLToPath(new URL(file, import.meta.url)), args, {
    cwd: root,
    execArgv,
    stdio: ['ignore', 'inherit', 'inherit', 'ipc'],
  });
  live.add(child);
  const exited = new Promise<void>((resolve) => child.once('exit', () => resolve()));
  void exited.then(() => live.delete(child));

  let nextId = 1;
  const pending = new Map<number, { resolve(value: unknown): void; reject(error: Error): void }>();
  const ready = await new Promise<ChildMessage>((resolve, reject) => {
    const timer = setTimeout(() => reject(new Error(`${what} did not start in 20 s`)), 20_000);
    child.on('message', (message: ChildMessage) => {
      if (message.type === 'ready') {
        clearTimeout(timer);
        resolve(message);
        return;
      }
      const call = pending.get(message.id ?? -1);
      if (!call) return;
      pending.delete(message.id ?? -1);
      if (message.error) call.reject(new Error(message.error));
      else call.resolve(message.result);
    });
    child.once('exit', (code) => {
      clearTimeout(timer);
      reject(new Error(`${what} exited early (${code})`));
      for (const call of pending.values()) call.reject(new Error(`${what} exited`));
      pending.clear();
    });
  });

  const call = <T>(cmd: string, extra: Record<string, unknown> = {}): Promise<T> =>
    new Promise<T>((resolve, reject) => {
      if (!child.connected) return reject(new Error(`${what} is gone`));
      const id = nextId++;
      pending.set(id, { resolve: resolve as (value: unknown) => void, reject });
      child.send({ ...extra, id, cmd });
    });
  return { child, ready, call, exited };
}

/**
 * What every bench server changes from the test preset: the per-socket rate limit (100 frames/s,
 * burst 200) would otherwise close a bench client that sends requests back to back, or merely
 * acknowledges a fast stream, with 4429. Pass `null` for an option to keep its default.
 */
export const benchOverrides: Record<string, unknown> = {
  rateLimitPerSecond: 1_000_000_000,
  rateLimitBurst: 1_000_000_000,
};

export async function spawnServer(
  kind: ServerKind,
  overrides: Record<string, unknown> = {},
): Promise<ServerChild> {
  const merged = Object.fromEntries(
    Object.entries({ ...benchOverrides, ...overrides }).filter(([, value]) => value !== null),
  );
  const { child, ready, call, exited } = await forkBenchChild(
    './server-process.ts',
    [kind, JSON.stringify(merged)],
    `${kind} server`,
    true,
  );
  const port = ready.port ?? 0;

  return {
    kind,
    port,
    url: `ws://127.0.0.1:${port}/ws`,
    child,
    heap: () => call<HeapReading>('heap'),
    cpu: () => call<CpuReading>('cpu'),
    peakStart: () => call<void>('peakStart'),
    peakStop: () => call<number>('peakStop'),
    connections: () => call<number>('connections'),
    heapSnapshot: (path) => call<string>('heapSnapshot', { path }),
    profileStart: () => call<void>('profileStart'),
    profileStop: (path) => call<string>('profileStop', { path }),
    close: async () => {
      if (child.exitCode !== null || child.signalCode !== null) return;
      const timer = setTimeout(() => child.kill('SIGKILL'), 5000);
      await call<void>('close').catch(() => {});
      await exited;
      clearTimeout(timer);
    },
  };
}
