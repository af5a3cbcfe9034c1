/**
 * The client for one thread: a connection chart with the socket, heartbeat and backoff effects
 * provided, plus the delivery half (seq tracking, duplicate dropping, cumulative acks, the request
 * queue) that stays outside the chart because it runs once per frame.
 */
import {
  type ActorRefFrom,
  assign,
  createActor,
  fromCallback,
  type Snapshot,
  sendParent,
} from 'xstate';
import type { BackoffPolicy } from '../machines/backoff-schedule.ts';
import { retryDelayMs } from '../machines/backoff-schedule.ts';
import { cancellationMachine } from '../machines/cancellation.ts';
import { clientThreadMachine } from '../machines/client-thread.ts';
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
import {
  type RequestError,
  type RequestHandle,
  type RequestStatus,
  RequestStream,
} from './request-handle.ts';

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
  /** Acknowledge after this many unacknowledged frames… (default 256) */
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
  /** Called with each status frame (thermal, breaker, draining) as it arrives. */
  onServerStatus?: (status: Omit<StatusFrame, 'type'>) => void;
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
export type ThreadActor = ActorRefFrom<typeof clientThreadMachine>;

export interface ThreadClient {
  readonly threadId: string;
  /** The connection chart's actor: subscribe to it, read its snapshot. */
  readonly actor: ConnectionActor;
  /** The thread chart's actor, root of this client's system: queue, streaming, session. */
  readonly thread: ThreadActor;
  /**
   * Queues a message; its answer streams into the handle. `requestId` re-sends a message made
   * before a page reload (see `adopt`): the server runs one request id at most once.
   */
  request(text: string, options?: { requestId?: string }): RequestHandle;
  /**
   * Takes back, after a page reload, an answer that was streaming (or stopping) when the old page
   * went away. Call it right after `createThreadClient({ config: { resume } })`, before any
   * `request`, with the ids of the unfinished requests the page stored, oldest first:
   * - `adopt(id)` for one whose answer had started: it is not sent again; the handle receives the
   *   frames the resumed session replays after `resume.lastSeq` and then the rest live, so the
   *   page appends them to the text it stored (nothing doubles: `result.text` holds only what came
   *   after the reload). If the session cannot be resumed it fails with `session_lost`.
   * - `request(text, { requestId: id })` for one still waiting for its answer: sent again, run at
   *   most once.
   * Frames for ids taken back neither way are dropped.
   */
  adopt(requestId: string): RequestHandle;
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
  const ackEvery = config.ackEvery ?? 256;
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
  let serverStatus: Omit<StatusFrame, 'type'> | null = null;
  /** Every request not yet settled, by id: the chart holds the order, this holds the data. */
  const streams = new Map<string, RequestStream>();
  /**
   * Cancels the server has not confirmed. A cancel can be lost with the link (or the request
   * settled here by the forced timeout while the server streams on), so each is sent again after
   * every handshake until the server ends that request one way or another.
   */
  const unconfirmedCancels = new Set<string>();

  function send(frame: object): boolean {
    if (socket?.readyState !== 1) return false;
    socket.send(JSON.stringify(frame));
    return true;
  }

  function sendRequest(requestId: string | null) {
    const stream = requestId ? streams.get(requestId) : undefined;
    // An accepted request (or one adopted after a reload) is the server's already: not again.
    if (stream && !stream.accepted) {
      send({ type: 'request', requestId: stream.requestId, text: stream.prompt });
    }
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

  function settle(requestId: string, status: RequestStatus, error?: RequestError) {
    const stream = streams.get(requestId);
    if (!stream) return;
    streams.delete(requestId);
    stream.settle(status, error);
  }

  const requestLogic = cancellationMachine.provide({
    actions: {
      abortAnswer: ({ context }) => {
        unconfirmedCancels.add(context.requestId);
        send({ type: 'cancel', requestId: context.requestId });
      },
      reportDone: ({ context }) => settle(context.requestId, 'done'),
      reportCancelled: ({ context }) => settle(context.requestId, 'cancelled'),
      reportForced: ({ context }) => settle(context.requestId, 'cancelled'),
      reportFailed: ({ context }, failure) =>
        settle(context.requestId, 'failed', {
          code: failure.code as RequestError['code'],
          message: failure.message,
          retryable: failure.retryable,
          ...(failure.retryAfterMs !== undefined ? { retryAfterMs: failure.retryAfterMs } : {}),
        }),
    },
  });

  function onWelcome(
    frame: Extract<ServerFrame, { type: 'welcome' }>,
    sendBack: (event: ConnectionEvent) => void,
  ) {
    if (!frame.resumed) {
      lastSeq = 0;
      ackedSeq = 0;
    }
    session = { sessionId: frame.sessionId, token: frame.token };
    sendBack({
      type: 'server.welcome',
      sessionId: frame.sessionId,
      resumed: frame.resumed,
      ...(frame.lost ? { lost: frame.lost.reason } : {}),
      silenceLimitMs: frame.silenceLimitMs,
    });
    // Answers taken back with adopt() live or die with the session they were streaming in.
    if (!frame.resumed) {
      const failure = {
        code: 'session_lost',
        message: `the session could not be resumed (${frame.lost?.reason ?? 'unknown'}); this answer was lost`,
        retryable: false,
      } as const;
      for (const requestId of adopted) {
        if (thread.getSnapshot().context.activeRequestId === requestId) {
          thread.send({ type: 'answer.failed', failure });
        } else {
          settle(requestId, 'failed', failure);
          thread.send({ type: 'request.cancel', requestId });
        }
      }
    }
    adopted.clear();
    // Now ready: unconfirmed cancels (a new session never had their requests), and owed acks.
    if (!frame.resumed) unconfirmedCancels.clear();
    for (const requestId of unconfirmedCancels) send({ type: 'cancel', requestId });
    flushAck();
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
    if (frame.type !== 'chunk' && frame.type !== 'accepted' && frame.requestId) {
      unconfirmedCancels.delete(frame.requestId); // the request ended on the server
    }
    const stream = streams.get(frame.requestId ?? '');
    if (!stream) return;
    switch (frame.type) {
      case 'accepted':
        stream.accepted = true;
        return;
      case 'chunk':
        return stream.push(frame.data);
      case 'done':
        return thread.send({ type: 'answer.done' });
      case 'cancelled':
        return thread.send({ type: 'answer.stopped' });
      case 'error':
        if (frame.code === 'busy') {
          // Refused, so never started: if its cancel was already asked for, it is cancelled
          // rather than queued again (the cancel would otherwise be lost).
          const current = thread.getSnapshot();
          const cancelling = current.children.request?.getSnapshot().matches('cancelRequested');
          if (cancelling && current.context.activeRequestId === stream.requestId) {
            return thread.send({ type: 'answer.stopped' });
          }
          return thread.send({ type: 'request.refused', requestId: stream.requestId });
        }
        return thread.send({
          type: 'answer.failed',
          failure: {
            code: frame.code,
            message: frame.message,
            retryable: frame.retryable,
            ...(frame.retryAfterMs !== undefined ? { retryAfterMs: frame.retryAfterMs } : {}),
          },
        });
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
        options.onServerStatus?.(status);
        return;
      }
      default:
        // An error without a seq answers a frame (an unknown cancel, say): nothing to deliver.
        if (frame.seq !== undefined) return onDataFrame(frame, frame.seq);
        if (frame.type === 'error' && frame.code === 'unknown_request' && frame.requestId) {
          unconfirmedCancels.delete(frame.requestId);
        }
    }
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
      sendBack({ type: 'socket.closed', code: event.code, reason: event.reason });
    };
    return () => {
      if (!current()) return;
      socket = null;
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

  const connection = connectionMachine.provide({
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
      announceOpen: sendParent(({ context }) => ({
        type: 'link.ready' as const,
        resumed: context.resumed,
        ...(context.lostReason ? { lost: context.lostReason } : {}),
      })),
      announceLost: sendParent({ type: 'link.lost' }),
    },
  });

  const thread = createActor(
    clientThreadMachine.provide({
      actors: { connection, request: requestLogic },
      actions: {
        sendRequest: ({ context }) => sendRequest(context.activeRequestId),
        resendUnacknowledged: ({ context }) => {
          const stream = streams.get(context.activeRequestId ?? '');
          // The server dedupes by requestId, so a resend is safe; only unacknowledged need it.
          if (stream && !stream.accepted) sendRequest(stream.requestId);
        },
        reportQueuedCancelled: (_, { requestId }) => settle(requestId, 'cancelled'),
      },
    }),
    {
      clock,
      input: {
        threadId,
        cancelTimeoutMs: config.cancelTimeoutMs ?? 500,
        connection: {
          url: options.url,
          threadId,
          ...(config.timeouts ? { timeouts: config.timeouts } : {}),
          ...(config.backoff ? { backoff: config.backoff } : {}),
        },
      },
    },
  );
  thread.subscribe({ error: () => {} });
  thread.start();
  const actor = thread.getSnapshot().children.connection as ConnectionActor;

  // The browser knows before our heartbeat does that the network is back: retry at once.
  const onOnline = () => actor.send({ type: 'connection.retry' });
  const events = globalThis as {
    addEventListener?: (type: string, listener: () => void) => void;
    removeEventListener?: (type: string, listener: () => void) => void;
  };
  events.addEventListener?.('online', onOnline);

  /** Ids taken back with adopt() and not yet confirmed by a resumed handshake. */
  const adopted = new Set<string>();

  function enqueue(requestId: string, text: string, adopt: boolean): RequestHandle {
    if (thread.getSnapshot().status !== 'active' || thread.getSnapshot().matches('closing')) {
      throw new ThreadClientError('closed', 'this thread client is closed');
    }
    if (thread.getSnapshot().context.queue.length >= queueLimit) {
      throw new ThreadClientError('queue_full', `request queue is full (${queueLimit} waiting)`);
    }
    if (streams.has(requestId)) throw new Error(`request ${requestId} is already open`);
    const stream = new RequestStream(requestId, text, (cancelled) =>
      thread.send({ type: 'request.cancel', requestId: cancelled.requestId }),
    );
    if (adopt) {
      stream.accepted = true;
      adopted.add(requestId);
    }
    streams.set(requestId, stream);
    thread.send({ type: 'request.queued', requestId });
    return stream;
  }

  function settleAll(message: string) {
    for (const requestId of [...streams.keys()]) {
      settle(requestId, 'failed', { code: 'closed', message, retryable: false });
    }
  }

  return {
    threadId,
    actor,
    thread,
    request(text: string, requestOptions?: { requestId?: string }) {
      return enqueue(requestOptions?.requestId ?? randomId(), text, false);
    },
    adopt(requestId: string) {
      return enqueue(requestId, '', true);
    },
    status() {
      const snapshot = actor.getSnapshot();
      const { context } = snapshot;
      const threadSnapshot = thread.getSnapshot();
      return {
        connection: stateName(snapshot),
        attempt: context.attempt,
        maxAttempts: context.maxAttempts,
        nextRetryAt: context.nextRetryAt,
        lastCloseCode: context.lastCloseCode,
        lastCloseReason: context.lastCloseReason,
        streaming: threadSnapshot.matches({ open: { work: 'streaming' } }),
        queued: threadSnapshot.context.queue.length,
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
          events.removeEventListener?.('online', onOnline);
          if (ackTimer !== null) clearTimeout(ackTimer);
          ackTimer = null;
          settleAll('the thread was closed');
          thread.stop();
          resolve();
        };
        if (thread.getSnapshot().status !== 'active') return done();
        const subscription = thread.subscribe((snapshot) => {
          if (snapshot.status === 'done') {
            subscription.unsubscribe();
            done();
          }
        });
        thread.send({ type: 'thread.close' });
      });
    },
  };
}
