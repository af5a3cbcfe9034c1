/**
 * The client for one thread: a connection chart with the socket, heartbeat and backoff effects
 * provided, plus the delivery half (seq tracking, duplicate dropping, cumulative acks, the request
 * queue) that stays outside the chart because it runs once per frame.
 */
import { type ActorRefFrom, assign, createActor, fromCallback, type Snapshot } from 'xstate';
import type { BackoffPolicy } from '../machines/backoff-schedule.ts';
import { retryDelayMs } from '../machines/backoff-schedule.ts';
import { cancellationMachine } from '../machines/cancellation.ts';
import { CloseCode } from '../machines/close-codes.ts';
import {
  type ConnectionEvent,
  type ConnectionTimeouts,
  connectionMachine,
  type WebSocketActorInput,
} from '../machines/connection.ts';
import {
  type DataFrame,
  PROTOCOL_VERSION,
  ProtocolError,
  parseServerMessage,
  type ServerFrame,
  type StatusFrame,
} from '../machines/protocol.ts';
import { reconnectionBackoffMachine } from '../machines/reconnection-backoff.ts';
import { type RequestHandle, RequestStream } from './request-handle.ts';

/** The subset of the WebSocket API we use: the browser's and ws's both fit. */
export interface WebSocketLike {
  readonly readyState: number;
  send(data: string): void;
  close(code?: number, reason?: string): void;
  onopen: ((event: unknown) => void) | null;
  onmessage: ((event: { data: unknown }) => void) | null;
  onclose: ((event: { code: number; reason: string }) => void) | null;
  onerror: ((event: unknown) => void) | null;
}
export type WebSocketConstructor = new (url: string) => WebSocketLike;

export interface ClientClock {
  setTimeout(fn: (...args: unknown[]) => void, timeout: number): unknown;
  clearTimeout(id: unknown): void;
  now(): number;
}

export interface ThreadClientConfig {
  timeouts?: Partial<ConnectionTimeouts>;
  backoff?: Partial<BackoffPolicy>;
  /** Requests waiting to be sent (while disconnected or while another streams). Default 100. */
  queueLimit?: number;
  /** A cancel the server has not confirmed by then settles as cancelled anyway. Default 500. */
  cancelTimeoutMs?: number;
  /** Acknowledge after this many unacknowledged frames… (default 128) */
  ackEvery?: number;
  /** …or this long after the first one (default 50 ms). */
  ackDelayMs?: number;
  /** The clock the client's charts run on; tests pass SimulatedClock. */
  clock?: ClientClock;
  /** Source of jitter for the backoff; tests pass a fixed one. */
  random?: () => number;
  /** Resume an earlier session of this thread (for example after a page reload). */
  resume?: { sessionId: string; token: string; lastSeq: number };
}

export interface ThreadClientOptions {
  url: string;
  threadId?: string;
  config?: ThreadClientConfig;
  WebSocket?: WebSocketConstructor;
}

export interface ThreadStatus {
  /** The connection chart's state, for example `{ linked: { open: 'ready' } }` or `'reconnecting'`. */
  connection: string;
  attempt: number;
  maxAttempts: number;
  nextRetryAt: number | null;
  lastCloseCode: number | null;
  lastCloseReason: string | null;
  /** Whether a request is streaming now, and how many wait behind it. */
  streaming: boolean;
  queued: number;
  server: Omit<StatusFrame, 'type'> | null;
}

export type ConnectionActor = ActorRefFrom<typeof connectionMachine>;

export interface ThreadClient {
  readonly threadId: string;
  /** The connection chart's actor: subscribe to it, read its snapshot. */
  readonly actor: ConnectionActor;
  request(text: string): RequestHandle;
  status(): ThreadStatus;
  /** The session to resume with after a restart of the page or process. */
  resumeInfo(): { sessionId: string; token: string; lastSeq: number } | null;
  /** Skip the backoff wait (or leave "failed") and connect now. */
  retry(): void;
  /** Says goodbye, waits for the close (≤ closeTimeout), and settles every open request. */
  close(): Promise<void>;
}

export class ThreadClientError extends Error {
  override readonly name = 'ThreadClientError';
  constructor(
    readonly code: 'queue_full' | 'closed',
    message: string,
  ) {
    super(message);
  }
}

const realClock: ClientClock = {
  setTimeout: (fn, ms) => setTimeout(fn, ms),
  clearTimeout: (id) => clearTimeout(id as ReturnType<typeof setTimeout>),
  now: () => Date.now(),
};

function randomId(): string {
  return globalThis.crypto.randomUUID();
}

/** The connection state as one dotted string: `linked.open.ready`, `reconnecting`. */
export function stateName(snapshot: Snapshot<unknown> & { value?: unknown }): string {
  const walk = (value: unknown): string =>
    typeof value === 'string'
      ? value
      : Object.entries(value as Record<string, unknown>)
          .map(([key, child]) => `${key}.${walk(child)}`)
          .join(',');
  return walk(snapshot.value);
}

export function createThreadClient(options: ThreadClientOptions): ThreadClient {
  const config = options.config ?? {};
  const threadId = options.threadId ?? randomId();
  const clock = config.clock ?? realClock;
  const random = config.random ?? Math.random;
  const queueLimit = config.queueLimit ?? 100;
  const ackEvery = config.ackEvery ?? 128;
  const ackDelayMs = config.ackDelayMs ?? 50;
  const WebSocketImpl =
    options.WebSocket ?? (globalThis as { WebSocket?: WebSocketConstructor }).WebSocket;
  if (!WebSocketImpl) throw new Error('no WebSocket implementation: pass options.WebSocket (ws)');

  let session = config.resume
    ? { sessionId: config.resume.sessionId, token: config.resume.token }
    : null;
  /** The last contiguous seq received in this session. */
  let lastSeq = config.resume?.lastSeq ?? 0;
  let ackedSeq = lastSeq;
  let ackTimer: ReturnType<typeof setTimeout> | null = null;
  let socket: WebSocketLike | null = null;
  let ready = false;
  let serverStatus: Omit<StatusFrame, 'type'> | null = null;
  const queue: RequestStream[] = [];
  let active: RequestStream | null = null;
  type RequestActor = ActorRefFrom<typeof cancellationMachine>;
  const requestActors = new Map<string, RequestActor>();
  /** Frames that must reach the server once the link is back (cancels sent while offline). */
  const pendingControl: string[] = [];

  function send(frame: object): boolean {
    if (socket?.readyState !== 1) return false;
    socket.send(JSON.stringify(frame));
    return true;
  }

  function flushAck() {
    if (ackTimer !== null) {
      clearTimeout(ackTimer);
      ackTimer = null;
    }
    if (lastSeq > ackedSeq && send({ type: 'ack', seq: lastSeq })) ackedSeq = lastSeq;
  }

  function scheduleAck() {
    if (lastSeq - ackedSeq >= ackEvery) return flushAck();
    if (ackTimer === null) ackTimer = setTimeout(flushAck, ackDelayMs);
  }

  function finish(stream: RequestStream) {
    requestActors.get(stream.requestId)?.stop();
    requestActors.delete(stream.requestId);
    if (active === stream) active = null;
    pump();
  }

  const requestLogic = cancellationMachine.provide({
    actions: {
      abortAnswer: ({ context }) => {
        const frame = { type: 'cancel', requestId: context.requestId };
        if (!send(frame)) pendingControl.push(JSON.stringify(frame));
      },
      reportDone: ({ context }) => settleActive(context.requestId, 'done'),
      reportCancelled: ({ context }) => settleActive(context.requestId, 'cancelled'),
      reportForced: ({ context }) => settleActive(context.requestId, 'cancelled'),
      reportFailed: () => {},
    },
  });

  function settleActive(requestId: string, status: 'done' | 'cancelled') {
    const stream = active?.requestId === requestId ? active : null;
    if (!stream) return;
    stream.settle(status);
    // Settled inside the chart's own action: stop it once this step has finished.
    queueMicrotask(() => finish(stream));
  }

  /** Sends the next queued request when the link is ready and nothing is streaming. */
  function pump() {
    if (!ready || active) return;
    const next = queue.shift();
    if (!next) return;
    active = next;
    const actor = createActor(requestLogic, {
      clock,
      input: {
        sessionId: threadId,
        requestId: next.requestId,
        cancelTimeoutMs: config.cancelTimeoutMs ?? 500,
      },
    });
    actor.subscribe({ error: () => {} });
    requestActors.set(next.requestId, actor.start());
    next.sent = send({ type: 'request', requestId: next.requestId, text: next.prompt });
  }

  function cancel(stream: RequestStream) {
    const index = queue.indexOf(stream);
    if (index >= 0) {
      queue.splice(index, 1);
      stream.settle('cancelled');
      return;
    }
    requestActors.get(stream.requestId)?.send({ type: 'request.cancel' });
  }

  function onWelcome(
    frame: Extract<ServerFrame, { type: 'welcome' }>,
    sendBack: (event: ConnectionEvent) => void,
  ) {
    if (frame.lost && active) {
      const stream = active;
      stream.settle('failed', {
        code: 'session_lost',
        message: `the session could not be resumed (${frame.lost.reason}); this answer was lost`,
        retryable: false,
      });
      finish(stream);
    }
    if (!frame.resumed) {
      lastSeq = 0;
      ackedSeq = 0;
    }
    session = { sessionId: frame.sessionId, token: frame.token };
    sendBack({ type: 'server.welcome', sessionId: frame.sessionId, resumed: frame.resumed });
  }

  function onDataFrame(frame: DataFrame, seq: number) {
    if (seq <= lastSeq) return; // already have it: a replay overlap
    if (seq !== lastSeq + 1) {
      throw new ProtocolError(
        CloseCode.BadFrame,
        `gap in seq: expected ${lastSeq + 1}, got ${seq}`,
      );
    }
    lastSeq = seq;
    scheduleAck();
    const stream = active && active.requestId === frame.requestId ? active : null;
    if (!stream) return;
    const actor = requestActors.get(stream.requestId);
    switch (frame.type) {
      case 'accepted':
        stream.accepted = true;
        return;
      case 'chunk':
        return stream.push(frame.data);
      case 'done':
        return actor?.send({ type: 'answer.done' });
      case 'cancelled':
        return actor?.send({ type: 'answer.stopped' });
      case 'error':
        if (frame.code === 'busy') {
          // Refused, not started: send it again when the thread is free.
          active = null;
          actor?.stop();
          requestActors.delete(stream.requestId);
          queue.unshift(stream);
          return;
        }
        stream.settle('failed', {
          code: frame.code,
          message: frame.message,
          retryable: frame.retryable,
          ...(frame.retryAfterMs !== undefined ? { retryAfterMs: frame.retryAfterMs } : {}),
        });
        return finish(stream);
    }
  }

  function onMessage(data: unknown, sendBack: (event: ConnectionEvent) => void) {
    for (const frame of parseServerMessage(String(data))) onFrame(frame, sendBack);
  }

  function onFrame(frame: ServerFrame, sendBack: (event: ConnectionEvent) => void) {
    switch (frame.type) {
      case 'welcome':
        return onWelcome(frame, sendBack);
      case 'ping':
        return sendBack({ type: 'server.ping' });
      case 'status': {
        const { type: _type, ...status } = frame;
        serverStatus = status;
        return;
      }
      default:
        // An error without a seq answers a frame (an unknown cancel, say): nothing to deliver.
        if (frame.seq !== undefined) return onDataFrame(frame, frame.seq);
    }
  }

  function onOpen() {
    if (socket?.readyState !== 1) return;
    ready = true;
    for (const frame of pendingControl.splice(0)) socket.send(frame);
    // A request in flight that the server never acknowledged goes again; the server dedupes.
    if (active && !active.accepted) {
      send({ type: 'request', requestId: active.requestId, text: active.prompt });
    }
    flushAck();
    pump();
  }

  const webSocket = fromCallback<ConnectionEvent, WebSocketActorInput>(({ input, sendBack }) => {
    const ws = new WebSocketImpl(input.url);
    socket = ws;
    const current = () => socket === ws;
    ws.onopen = () => current() && sendBack({ type: 'socket.opened' });
    ws.onmessage = (event) => {
      if (!current()) return;
      try {
        onMessage(event.data, sendBack);
      } catch (error) {
        const code = error instanceof ProtocolError ? error.closeCode : CloseCode.InternalError;
        ws.close(code, error instanceof Error ? error.message.slice(0, 120) : 'error');
      }
    };
    ws.onerror = () => {}; // a close event always follows, and carries what we need
    ws.onclose = (event) => {
      if (!current()) return;
      socket = null;
      ready = false;
      sendBack({ type: 'socket.closed', code: event.code, reason: event.reason });
    };
    return () => {
      if (!current()) return;
      socket = null;
      ready = false;
      const terminable = ws as WebSocketLike & { terminate?: () => void };
      if (terminable.terminate) terminable.terminate();
      else ws.close(CloseCode.Normal);
    };
  });

  const backoff = reconnectionBackoffMachine.provide({
    actions: {
      planRetry: assign(({ context }) => {
        const delayMs = retryDelayMs(context.attempt, context.policy, random());
        return { delayMs, retryAt: clock.now() + delayMs };
      }),
    },
  });

  const actor = createActor(
    connectionMachine.provide({
      actors: { webSocket, backoff },
      actions: {
        sendHello: () => {
          send({
            type: 'hello',
            protocol: PROTOCOL_VERSION,
            threadId,
            ...(session ? { resume: { ...session, lastSeq } } : {}),
          });
        },
        sendPong: () => {
          send({ type: 'pong' });
        },
        sendBye: () => {
          flushAck();
          send({ type: 'bye' });
        },
        // Deferred: it may start request actors, which must not be created inside an action.
        announceOpen: () => queueMicrotask(onOpen),
      },
    }),
    {
      clock,
      input: { url: options.url, threadId, timeouts: config.timeouts, backoff: config.backoff },
    },
  );
  actor.subscribe({ error: () => {} });
  actor.start();

  function settleAll(message: string) {
    for (const stream of [...queue, ...(active ? [active] : [])]) {
      stream.settle('failed', { code: 'closed', message, retryable: false });
    }
    queue.length = 0;
    active = null;
    for (const requestActor of requestActors.values()) requestActor.stop();
    requestActors.clear();
  }

  return {
    threadId,
    actor,
    request(text: string) {
      if (actor.getSnapshot().status !== 'active')
        throw new ThreadClientError('closed', 'this thread client is closed');
      if (queue.length >= queueLimit) {
        throw new ThreadClientError('queue_full', `request queue is full (${queueLimit} waiting)`);
      }
      const stream = new RequestStream(randomId(), text, cancel);
      queue.push(stream);
      pump();
      return stream;
    },
    status() {
      const snapshot = actor.getSnapshot();
      const { context } = snapshot;
      return {
        connection: stateName(snapshot),
        attempt: context.attempt,
        maxAttempts: context.maxAttempts,
        nextRetryAt: context.nextRetryAt,
        lastCloseCode: context.lastCloseCode,
        lastCloseReason: context.lastCloseReason,
        streaming: active !== null,
        queued: queue.length,
        server: serverStatus,
      };
    },
    resumeInfo() {
      return session ? { ...session, lastSeq } : null;
    },
    retry() {
      actor.send({ type: 'connection.retry' });
    },
    close() {
      return new Promise<void>((resolve) => {
        const done = () => {
          if (ackTimer !== null) clearTimeout(ackTimer);
          ackTimer = null;
          settleAll('the thread was closed');
          actor.stop();
          resolve();
        };
        if (actor.getSnapshot().status !== 'active') return done();
        const subscription = actor.subscribe((snapshot) => {
          if (snapshot.status === 'done') {
            subscription.unsubscribe();
            done();
          }
        });
        actor.send({ type: 'connection.close' });
      });
    },
  };
}
