/**
 * The two kinds of client a bench drives: the real Threadline client over `ws`, and a bare `ws`
 * socket that speaks the same frames for the baseline (JSON.parse of every frame, no validation,
 * no seq tracking, no acks).
 */
import { randomUUID } from 'node:crypto';
import WebSocket from 'ws';
import {
  createThreadClient,
  stateName,
  type ThreadClient,
  type ThreadClientConfig,
  type WebSocketConstructor,
} from '../../client/index.ts';

export const READY = 'linked.open.ready';

/** WebSocket messages and bytes a client received: shows batching, which frame counts hide. */
export interface WireCounter {
  messages: number;
  bytes: number;
}

export function wireCounter(): WireCounter {
  return { messages: 0, bytes: 0 };
}

/** The `ws` class with every received message counted into `counter`, for the Threadline client. */
export function countingWebSocket(counter: WireCounter): WebSocketConstructor {
  class CountingWebSocket extends WebSocket {
    constructor(url: string) {
      super(url);
      this.on('message', (data: Buffer) => {
        counter.messages++;
        counter.bytes += data.length;
      });
    }
  }
  return CountingWebSocket as unknown as WebSocketConstructor;
}

/** Resolves when the client's connection chart is in `state`; rejects after `timeoutMs`. */
export function waitForState(client: ThreadClient, state: string, timeoutMs = 10_000) {
  return new Promise<void>((resolve, reject) => {
    if (stateName(client.actor.getSnapshot()) === state) return resolve();
    const timer = setTimeout(() => {
      subscription.unsubscribe();
      reject(
        new Error(`client not ${state} after ${timeoutMs} ms (${client.status().connection})`),
      );
    }, timeoutMs);
    const subscription = client.actor.subscribe((snapshot) => {
      if (stateName(snapshot) !== state) return;
      clearTimeout(timer);
      subscription.unsubscribe();
      resolve();
    });
  });
}

/** A Threadline client that has finished its handshake. */
export async function openThreadClient(
  url: string,
  config: ThreadClientConfig = {},
  WebSocketImpl: WebSocketConstructor = WebSocket as unknown as WebSocketConstructor,
): Promise<ThreadClient> {
  const client = createThreadClient({ url, config, WebSocket: WebSocketImpl });
  await waitForState(client, READY).catch(async (error: unknown) => {
    await client.close();
    throw error;
  });
  return client;
}

export interface RawFrame {
  type: string;
  seq?: number;
  requestId?: string;
  data?: string;
}

export interface RawClient {
  ws: WebSocket;
  /** Called with every frame, parsed; replace it to consume a stream. */
  onFrame: (frame: RawFrame) => void;
  send(frame: object): void;
  close(): Promise<void>;
}

/**
 * A bare ws socket that has exchanged hello/welcome. It speaks to either server: it unpacks
 * Threadline's batches (a JSON array of frames) and answers a `ping` with a `pong`, which is all a
 * Threadline server asks of an idle connection.
 */
export async function openRawClient(
  url: string,
  counter: WireCounter = wireCounter(),
): Promise<RawClient> {
  const ws = new WebSocket(url);
  ws.on('error', () => {});
  const closed = new Promise<void>((resolve) => ws.once('close', () => resolve()));
  const client: RawClient = {
    ws,
    onFrame: () => {},
    send: (frame) => ws.send(JSON.stringify(frame)),
    close: async () => {
      if (ws.readyState === WebSocket.OPEN) {
        // Say goodbye first, as the Threadline client does, so the server ends the session now
        // rather than keeping it for its TTL; the raw server ignores it.
        ws.send(JSON.stringify({ type: 'bye' }));
        ws.close(1000);
      }
      const timer = setTimeout(() => ws.terminate(), 1000);
      await closed;
      clearTimeout(timer);
    },
  };
  const deliver = (frame: RawFrame) => {
    if (frame.type === 'ping') client.send({ type: 'pong' });
    else client.onFrame(frame);
  };
  ws.on('message', (data: Buffer) => {
    counter.messages++;
    counter.bytes += data.length;
    const value = JSON.parse(String(data)) as RawFrame | RawFrame[];
    if (Array.isArray(value)) for (const frame of value) deliver(frame);
    else deliver(value);
  });
  await new Promise<void>((resolve, reject) => {
    ws.once('open', () => resolve());
    ws.once('error', reject);
  });
  await new Promise<void>((resolve, reject) => {
    client.onFrame = (frame) => {
      if (frame.type === 'welcome') resolve();
    };
    ws.once('close', (code) => reject(new Error(`closed (${code}) before welcome`)));
    client.send({ type: 'hello', protocol: 1, threadId: randomUUID() });
  });
  client.onFrame = () => {};
  return client;
}

/** Sends one request on a raw client and resolves with what arrived when `done` or `cancelled` does. */
export function rawRequest(
  client: RawClient,
  text: string,
  requestId: string,
  onChunk: (frame: RawFrame) => void = () => {},
): Promise<{ status: string; chunks: number }> {
  return new Promise((resolve) => {
    let chunks = 0;
    client.onFrame = (frame) => {
      if (frame.requestId !== requestId) return;
      if (frame.type === 'chunk') {
        chunks++;
        onChunk(frame);
      } else if (frame.type === 'done' || frame.type === 'cancelled') {
        client.onFrame = () => {};
        resolve({ status: frame.type, chunks });
      }
    };
    client.send({ type: 'request', requestId, text });
  });
}
