/**
 * What tests start, started one way and disposed of after each test: real servers on free ports,
 * real clients, raw sockets that queue what they receive so no frame is missed.
 */
import type { FastifyInstance } from 'fastify';
import { afterEach } from 'vitest';
import WebSocket from 'ws';
import {
  createThreadClient,
  type ThreadClient,
  type ThreadClientConfig,
  type WebSocketConstructor,
} from '../../client/index.ts';
import { type BuildServerOptions, buildServer } from '../../server/app.ts';
import { resolveConfig, type ServerConfig } from '../../server/config.ts';

interface Leftover {
  what: string;
  fn: () => Promise<void> | void;
}

const leftovers: Leftover[] = [];

/** How long one disposal may take before the test fails naming it. */
const DISPOSE_LIMIT_MS = 20_000;

/** Registers something to dispose of after the current test, newest first. */
export function dispose(fn: () => Promise<void> | void, what = fn.name || 'a leftover'): void {
  leftovers.push({ what, fn });
}

// A disposal that never ends fails the test with its name instead of timing out the hook
// anonymously; the ones after it still run.
afterEach(async () => {
  const stuck: string[] = [];
  while (leftovers.length > 0) {
    const leftover = leftovers.pop();
    if (!leftover) continue;
    let timer: NodeJS.Timeout | undefined;
    const limit = new Promise<'stuck'>((resolve) => {
      timer = setTimeout(() => resolve('stuck'), DISPOSE_LIMIT_MS);
    });
    const outcome = await Promise.race([Promise.resolve(leftover.fn()), limit]);
    clearTimeout(timer);
    if (outcome === 'stuck') stuck.push(leftover.what);
  }
  if (stuck.length > 0) {
    throw new Error(`disposal did not finish in ${DISPOSE_LIMIT_MS} ms: ${stuck.join(', ')}`);
  }
});

export interface TestServer {
  app: FastifyInstance;
  port: number;
  url: string;
  config: ServerConfig;
  close(): Promise<void>;
}

/** Starts a real server (test preset, port 0) and disposes of it after the test. */
export async function startServer(
  overrides: Partial<Record<keyof ServerConfig, unknown>> = {},
  options: Omit<BuildServerOptions, 'config'> = {},
): Promise<TestServer> {
  const config = resolveConfig({ port: 0, host: '127.0.0.1', ...overrides }, 'test');
  const app = await buildServer({ ...options, config });
  await app.listen({ port: config.port, host: config.host });
  const address = app.server.address();
  const port = typeof address === 'object' && address ? address.port : 0;
  let closed = false;
  const close = async () => {
    if (closed) return;
    closed = true;
    await app.close();
  };
  dispose(close, `server on port ${port}`);
  return { app, port, url: `ws://127.0.0.1:${port}/ws`, config, close };
}

/** A real client over `ws`, closed after the test. */
export function openClient(
  url: string,
  config: ThreadClientConfig = {},
  threadId?: string,
): ThreadClient {
  const client = createThreadClient({
    url,
    config,
    WebSocket: WebSocket as unknown as WebSocketConstructor,
    ...(threadId ? { threadId } : {}),
  });
  dispose(() => client.close(), `client of ${url}`);
  return client;
}

export interface RawSocket {
  ws: WebSocket;
  /** Resolves with the next frame, parsed (batches are unpacked). */
  next(timeoutMs?: number): Promise<Record<string, unknown>>;
  /** Every frame received so far, parsed. */
  received: Array<Record<string, unknown>>;
  send(frame: unknown): void;
  closed: Promise<{ code: number; reason: string }>;
}

/** A bare WebSocket to speak the protocol by hand (hostile-input and protocol tests). */
export async function openRawSocket(
  url: string,
  options: WebSocket.ClientOptions = {},
): Promise<RawSocket> {
  const ws = new WebSocket(url, options);
  const received: Array<Record<string, unknown>> = [];
  const waiters: Array<(frame: Record<string, unknown>) => void> = [];
  let read = 0;
  ws.on('error', () => {});
  ws.on('message', (data) => {
    // The server batches the frames of one tick into a JSON array: deliver them one by one.
    const parsed = JSON.parse(String(data)) as
      | Record<string, unknown>
      | Array<Record<string, unknown>>;
    for (const frame of Array.isArray(parsed) ? parsed : [parsed]) {
      received.push(frame);
      waiters.shift()?.(frame);
    }
  });
  const closed = new Promise<{ code: number; reason: string }>((resolve) => {
    ws.on('close', (code, reason) => resolve({ code, reason: reason.toString() }));
  });
  await new Promise<void>((resolve, reject) => {
    ws.once('open', () => resolve());
    ws.once('error', reject);
  });
  dispose(async () => {
    if (ws.readyState !== WebSocket.CLOSED) {
      ws.terminate();
      await closed;
    }
  });
  return {
    ws,
    received,
    closed,
    send: (frame) => ws.send(typeof frame === 'string' ? frame : JSON.stringify(frame)),
    next: (timeoutMs = 2000) => {
      if (read < received.length)
        return Promise.resolve(received[read++] as Record<string, unknown>);
      return new Promise((resolve, reject) => {
        const timer = setTimeout(() => reject(new Error('no frame arrived in time')), timeoutMs);
        waiters.push((frame) => {
          clearTimeout(timer);
          read++;
          resolve(frame);
        });
      });
    },
  };
}

/** Polls `check` until it returns a truthy value (returned) or the time runs out. */
export async function waitFor<T>(
  check: () => T | Promise<T>,
  { timeoutMs = 5000, intervalMs = 5, what = 'condition' } = {},
): Promise<T> {
  const deadline = Date.now() + timeoutMs;
  while (true) {
    const value = await check();
    if (value) return value;
    if (Date.now() > deadline)
      throw new Error(`timed out after ${timeoutMs} ms waiting for ${what}`);
    await new Promise((resolve) => setTimeout(resolve, intervalMs));
  }
}
