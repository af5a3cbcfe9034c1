/**
 * Child-process entry that hosts one server for a bench, so its heap and CPU are measured apart
 * from the clients': `threadline` (the real app, test preset, counter responder) or `raw` (the
 * bare ws baseline). Started by `spawn-server.ts` with `--expose-gc --import tsx`; it reports
 * `{ type: 'ready', port }` over IPC, answers measurement calls, and exits when told to close or
 * when its parent goes away.
 */
import { writeFileSync } from 'node:fs';
import { Session } from 'node:inspector';
import { getHeapStatistics, writeHeapSnapshot } from 'node:v8';

export type ServerKind = 'threadline' | 'raw';

export interface HeapReading {
  heapUsed: number;
  heapTotal: number;
  external: number;
  arrayBuffers: number;
  rss: number;
}

export interface CpuReading {
  userUs: number;
  systemUs: number;
}

export type ServerCall =
  | { id: number; cmd: 'heap' }
  | { id: number; cmd: 'cpu' }
  | { id: number; cmd: 'peakStart' }
  | { id: number; cmd: 'peakStop' }
  | { id: number; cmd: 'connections' }
  | { id: number; cmd: 'heapSnapshot'; path: string }
  | { id: number; cmd: 'profileStart' }
  | { id: number; cmd: 'profileStop'; path: string }
  | { id: number; cmd: 'close' };

const kind = process.argv[2] as ServerKind;
const overrides = JSON.parse(process.argv[3] ?? '{}') as Record<string, unknown>;

function collect(): void {
  const gc = (globalThis as { gc?: () => void }).gc;
  if (!gc) throw new Error('run with --expose-gc');
  // Twice: the first pass can leave objects that only the second frees (weak callbacks).
  gc();
  gc();
}

function heap(): HeapReading {
  collect();
  const usage = process.memoryUsage();
  return {
    heapUsed: usage.heapUsed,
    heapTotal: usage.heapTotal,
    external: usage.external,
    arrayBuffers: usage.arrayBuffers,
    rss: usage.rss,
  };
}

async function start(): Promise<{ port: number; close(): Promise<void>; connections(): number }> {
  // Each kind loads only its own code, so the raw server's heap holds ws and nothing more.
  if (kind === 'raw') {
    const { startRawServer } = await import('./raw-ws-server.ts');
    const raw = await startRawServer();
    return { port: raw.port, close: raw.close, connections: () => -1 };
  }
  const { buildServer } = await import('../../server/app.ts');
  const { resolveConfig } = await import('../../server/config.ts');
  const config = resolveConfig(
    { port: 0, host: '127.0.0.1', responder: 'counter', ...overrides },
    'test',
  );
  const app = await buildServer({ config });
  await app.listen({ port: 0, host: '127.0.0.1' });
  const address = app.server.address();
  const port = typeof address === 'object' && address ? address.port : 0;
  return {
    port,
    close: () => app.close(),
    connections: () => app.threadline.connectionCount,
  };
}

/** A CPU profile of a chosen window (unlike --cpu-prof, which covers the whole process). */
const inspector = new Session();
function post<T>(method: string): Promise<T> {
  return new Promise((resolve, reject) => {
    inspector.post(method, (error, result) => (error ? reject(error) : resolve(result as T)));
  });
}

const server = await start();
let peak = 0;
let peakTimer: ReturnType<typeof setInterval> | null = null;

async function answer(call: ServerCall): Promise<unknown> {
  switch (call.cmd) {
    case 'heap':
      return heap();
    case 'cpu': {
      const usage = process.cpuUsage();
      return { userUs: usage.user, systemUs: usage.system } satisfies CpuReading;
    }
    case 'peakStart':
      peak = getHeapStatistics().used_heap_size;
      peakTimer = setInterval(() => {
        peak = Math.max(peak, getHeapStatistics().used_heap_size);
      }, 25);
      return null;
    case 'peakStop':
      if (peakTimer) clearInterval(peakTimer);
      peakTimer = null;
      return Math.max(peak, getHeapStatistics().used_heap_size);
    case 'connections':
      return server.connections();
    case 'heapSnapshot':
      collect();
      return writeHeapSnapshot(call.path);
    case 'profileStart':
      inspector.connect();
      await post('Profiler.enable');
      await post('Profiler.start');
      return null;
    case 'profileStop': {
      const { profile } = await post<{ profile: unknown }>('Profiler.stop');
      inspector.disconnect();
      writeFileSync(call.path, JSON.stringify(profile));
      return call.path;
    }
    case 'close':
      await server.close();
      return null;
  }
}

process.on('message', (call: ServerCall) => {
  answer(call).then(
    (result) => {
      process.send?.({ id: call.id, result });
      // Exit normally (not by signal) so that --cpu-prof gets to write its profile.
      if (call.cmd === 'close') setImmediate(() => process.exit(0));
    },
    (error: unknown) => process.send?.({ id: call.id, error: String(error) }),
  );
});
process.on('disconnect', () => process.exit(0));
process.send?.({ type: 'ready', port: server.port });
