/**
 * The transport-independent core of the server: the root actor system with every chart's effects
 * provided, and the handling of each socket's frames. `app.ts` adapts Fastify's sockets to it.
 */
import { randomUUID } from 'node:crypto';
import type { FastifyBaseLogger } from 'fastify';
import { type ActorRefFrom, createActor, fromCallback, type InspectionEvent } from 'xstate';
import { cancellationMachine } from '../machines/cancellation.ts';
import { CloseCode } from '../machines/close-codes.ts';
import {
  type ClientFrame,
  type ErrorCode,
  type HelloFrame,
  PROTOCOL_VERSION,
  ProtocolError,
  parseClientFrame,
  type SessionLossReason,
} from '../machines/protocol.ts';
import { serverConnectionMachine } from '../machines/server-connection.ts';
import { serverRootMachine } from '../machines/server-root.ts';
import { isShardId, serverShardMachine, shardIdFor } from '../machines/server-shard.ts';
import { threadLifecycleMachine } from '../machines/thread-lifecycle.ts';
import { createBreakerProtection } from './breaker/breaker-protection.ts';
import { type Clock, createSlicer, slicedClock } from './clock.ts';
import type { ServerConfig } from './config.ts';
import { indexDelayedEventsBySource } from './delayed-event-index.ts';
import { createDrainTracker, type DrainSummary } from './drain-tracker.ts';
import { countFrames } from './metrics/count-frames.ts';
import { type GatewayObserver, noopObserver, type RequestOutcome } from './metrics/observer.ts';
import { RequestTimes } from './metrics/request-times.ts';
import { isOriginAllowed } from './origin-policy.ts';
import { createRateLimiter } from './rate-limiter.ts';
import { type Responder, ResponderError } from './responders/responder.ts';
import type { Session, Transport } from './session.ts';
import { MemorySessionStore, type SessionStore } from './session-store.ts';
import { createSocketTransport } from './socket-transport.ts';
import { createThermalProtection, OverheatedError } from './thermal/thermal-protection.ts';

/** The socket as the gateway needs it: ws's WebSocket satisfies it. */
export interface GatewaySocket {
  send(data: string): void;
  close(code?: number, reason?: string): void;
  terminate(): void;
  readonly bufferedAmount: number;
  on(
    event: 'message',
    listener: (data: Buffer | ArrayBuffer | Buffer[], isBinary: boolean) => void,
  ): unknown;
  on(event: 'close', listener: (code: number, reason: Buffer) => void): unknown;
  on(event: 'error', listener: (error: Error) => void): unknown;
}

export interface GatewayOptions {
  config: ServerConfig;
  responder: Responder;
  logger: FastifyBaseLogger;
  clock?: Clock;
  store?: SessionStore;
  inspect?: (event: InspectionEvent) => void;
  /** Told about connections, sessions, frames and requests (metrics); a no-op by default. */
  observer?: GatewayObserver;
}

type ConnectionActor = ActorRefFrom<typeof serverConnectionMachine>;
type SessionActor = ActorRefFrom<typeof threadLifecycleMachine>;
type ShardActor = ActorRefFrom<typeof serverShardMachine>;

interface Connection {
  id: string;
  socket: GatewaySocket;
  /** What the session sends through while this socket is attached. */
  transport: Transport;
  actor: ConnectionActor;
  session: Session | null;
  log: FastifyBaseLogger;
  /** `performance.now()` at accept, and frames sent through `transport`: for metrics. */
  openedAt: number;
  framesSent: number;
}

const retryableCodes: ReadonlySet<ErrorCode> = new Set([
  'busy',
  'overheated',
  'upstream_unavailable',
  'upstream_failed',
  'draining',
  'internal',
]);

const PING = JSON.stringify({ type: 'ping' });

/**
 * What a frame costs against the rate limit. Acks and pongs are cheap for the server and a fast
 * stream needs many acks, so they weigh a twentieth of a request, cancel, hello or bye.
 */
function frameCost(frame: ClientFrame): number {
  return frame.type === 'ack' || frame.type === 'pong' ? 0.05 : 1;
}

/** Lets other sockets be served between bursts of a fast stream. */
const yieldToEventLoop = () => new Promise<void>((resolve) => setImmediate(resolve));

export type Gateway = ReturnType<typeof createGateway>;

export function createGateway(options: GatewayOptions) {
  const { config, logger } = options;
  // Thousands of timers falling due together (a TTL sweep) or sockets closing together (a network
  // blip) must not block the event loop: their actor work runs in slices (see clock.ts).
  const slicer = createSlicer();
  const clock = options.clock ?? slicedClock(slicer);
  const store = options.store ?? new MemorySessionStore(config);
  const connections = new Map<string, Connection>();
  /** The connection each session is attached to: set by its hello, cleared when that closes. */
  const attachedTo = new Map<Session, Connection>();
  const observer = options.observer ?? noopObserver;
  /** When each request's frame, and each cancel, arrived: for the latency metrics. */
  const requestArrivals = new RequestTimes();
  const cancelArrivals = new RequestTimes();
  // Server-wide protection: admission control, the status frame, the breaker around the upstream.
  const thermal = createThermalProtection({ config, clock, logger, onChange: broadcastStatus });
  const breaker = createBreakerProtection({ config, clock, logger, onChange: broadcastStatus });
  const responder = breaker.guard(options.responder);

  function shardOf(actorId: string): ShardActor | undefined {
    return root.getSnapshot().children[shardIdFor(actorId) as `shard-${number}`] as
      | ShardActor
      | undefined;
  }

  function sessionActor(sessionId: string): SessionActor | undefined {
    return shardOf(sessionId)?.getSnapshot().children[sessionId] as SessionActor | undefined;
  }

  /** Every connection and session actor, from every shard. */
  function* shardMembers(): Generator<ConnectionActor | SessionActor> {
    for (const [id, shard] of Object.entries(root.getSnapshot().children)) {
      if (!isShardId(id) || !shard) continue;
      for (const child of Object.values((shard as ShardActor).getSnapshot().children)) {
        if (child) yield child as ConnectionActor | SessionActor;
      }
    }
  }

  function* sessionActors(): Generator<SessionActor> {
    for (const actor of shardMembers()) {
      if (actor.getSnapshot().machine?.id === 'threadLifecycle') yield actor as SessionActor;
    }
  }

  /** The logger of the connection `session` is attached to (connectionId and sessionId on each
   * line), or one with the sessionId while it is detached. */
  function sessionLog(session: Session): FastifyBaseLogger {
    return attachedTo.get(session)?.log ?? logger.child({ sessionId: session.id });
  }

  /** Tells the observer how a request ended and, for a cancel, how long confirming it took. */
  function requestEnded(
    session: Session | undefined,
    requestId: string,
    outcome: RequestOutcome,
    code?: string,
  ) {
    observer.requestEnded(outcome, code);
    if (drain.active) {
      if (outcome === 'done') drain.finished();
      queueMicrotask(checkDrained);
    }
    if (!session) return;
    requestArrivals.drop(session, requestId);
    const sinceCancel = cancelArrivals.take(session, requestId);
    if (sinceCancel !== undefined && (outcome === 'cancelled' || outcome === 'forced')) {
      observer.cancelAcknowledged(sinceCancel);
    }
  }

  function refuseRequest(session: Session, requestId: string, code: ErrorCode, message: string) {
    requestEnded(session, requestId, 'failed', code);
    const retryAfterMs = retryAfterFor(code);
    session.emit({
      type: 'error',
      requestId,
      code,
      message,
      retryable: retryableCodes.has(code),
      ...(retryAfterMs !== undefined ? { retryAfterMs } : {}),
    });
  }

  /** When a refused or failed request is worth trying again, if the server can tell. */
  function retryAfterFor(code: string): number | undefined {
    if (code === 'overheated') return thermal.retryAfterMs();
    if (code === 'upstream_unavailable') return breaker.retryAfterMs();
    return undefined;
  }

  /**
   * Admission control: while the server is too hot or the upstream's breaker is open, a request
   * is refused before it starts. Nothing of it is remembered, so the same id may come again.
   */
  function refusedByProtection(session: Session, requestId: string): boolean {
    const refusal = thermal.refusal() ?? breaker.refusal();
    if (refusal) refuseRequest(session, requestId, refusal.code, refusal.message);
    return refusal !== null;
  }

  /** The server-wide status each attached client is sent: after its welcome, and on a change. */
  function statusFrame(): string {
    return JSON.stringify({
      type: 'status',
      thermal: thermal.status(),
      breaker: breaker.status(),
      draining: isDraining(),
    });
  }

  /** Not admitting new work: the root has left `serving` (draining) or stopped. */
  function isDraining(): boolean {
    const snapshot = root.getSnapshot();
    return snapshot.status !== 'active' || !snapshot.matches('serving');
  }

  function broadcastStatus() {
    if (connections.size === 0) return;
    const text = statusFrame();
    for (const connection of connections.values()) {
      if (connection.session) connection.transport.send(text);
    }
  }

  /**
   * Waits until the session can take another frame. A socket that stays congested past the
   * slow-consumer limit is closed with 1013: its session stays, so the client can resume.
   */
  async function waitForRoom(session: Session, signal: AbortSignal) {
    observer.queueOverflowed();
    const transport = session.transport;
    const stuck = setTimeout(() => {
      if (
        transport &&
        session.transport === transport &&
        transport.bufferedAmount >= config.sendHighWaterBytes
      ) {
        sessionLog(session).warn('consumer too slow; closing its socket');
        transport.close(CloseCode.TryAgainLater, 'consumer too slow');
        // It is not reading, so the closing handshake cannot complete: do not wait for it.
        setTimeout(() => transport.terminate(), 1000).unref();
      }
    }, config.slowConsumerTimeoutMs);
    try {
      await session.waitForRoom(signal);
    } finally {
      clearTimeout(stuck);
    }
  }

  /** Streams one answer into the session: the `answer` actor of the cancellation chart. */
  const answer = fromCallback<{ type: 'answer.abort' }, { sessionId: string; requestId: string }>(
    ({ input, sendBack, receive }) => {
      const controller = new AbortController();
      const { signal } = controller;
      receive(() => controller.abort(new Error('cancelled')));
      const session = store.get(input.sessionId);
      if (!session) return () => controller.abort();
      const text = session.pendingText.get(input.requestId) ?? '';
      session.emit({ type: 'accepted', requestId: input.requestId });
      // A responder that stops early because of the signal throws; one that runs out of words
      // has finished its answer, even if a cancel arrived after its last chunk (completed first).
      let answerText = '';
      const pump = async (): Promise<'done' | 'stopped'> => {
        let count = 0;
        for await (const chunk of responder({ text, history: session.history, signal })) {
          if (signal.aborted) return 'stopped';
          if (thermal.protecting) await thermal.pace(signal);
          if (!session.hasRoom()) await waitForRoom(session, signal);
          // Checked again after any wait: once aborted, no chunk of this request goes out.
          if (signal.aborted) return 'stopped';
          session.emit({ type: 'chunk', requestId: input.requestId, data: chunk });
          if (count === 0) {
            const sinceRequest = requestArrivals.take(session, input.requestId);
            if (sinceRequest !== undefined) observer.firstChunk(sinceRequest);
          }
          if (answerText.length < 32 * 1024) answerText += chunk;
          if (++count % 256 === 0) await yieldToEventLoop();
        }
        return 'done';
      };
      // Ending a request stops two actors, and XState scans every scheduled timer to stop one:
      // when thousands of answers end together, they end in slices (see clock.ts).
      const end = (event: Parameters<typeof sendBack>[0]) =>
        slicer.run({ cancelled: false, run: () => sendBack(event) });
      pump().then(
        (outcome) => {
          if (outcome === 'stopped') return end({ type: 'answer.stopped' });
          session.recordTurn(text, answerText);
          end({ type: 'answer.done' });
        },
        (error: unknown) => {
          if (signal.aborted) return end({ type: 'answer.stopped' });
          // Only a responder knows whether trying again can help; an unexpected throw cannot.
          const code =
            error instanceof ResponderError || error instanceof OverheatedError
              ? error.code
              : 'internal';
          const retryable =
            error instanceof ResponderError ? error.retryable : code === 'overheated';
          const message = error instanceof Error ? error.message : String(error);
          sessionLog(session).warn({ requestId: input.requestId, err: error }, 'responder failed');
          end({
            type: 'answer.failed',
            failure: { code, message, retryable, retryAfterMs: retryAfterFor(code) },
          });
        },
      );
      return () => controller.abort(new Error('stopped'));
    },
  );

  const requestMachine = cancellationMachine.provide({
    actors: { answer },
    actions: {
      reportDone: ({ context }) => {
        const session = store.get(context.sessionId);
        session?.pendingText.delete(context.requestId);
        session?.emit({ type: 'done', requestId: context.requestId });
        requestEnded(session, context.requestId, 'done');
      },
      reportCancelled: ({ context }) => {
        const session = store.get(context.sessionId);
        session?.pendingText.delete(context.requestId);
        session?.emit({ type: 'cancelled', requestId: context.requestId });
        requestEnded(session, context.requestId, 'cancelled');
      },
      reportForced: ({ context }) => {
        const session = store.get(context.sessionId);
        session?.pendingText.delete(context.requestId);
        session?.emit({ type: 'cancelled', requestId: context.requestId, forced: true });
        requestEnded(session, context.requestId, 'forced');
      },
      reportFailed: ({ context }, params) => {
        const session = store.get(context.sessionId);
        session?.pendingText.delete(context.requestId);
        session?.emit({
          type: 'error',
          requestId: context.requestId,
          code: params.code as ErrorCode,
          message: params.message,
          retryable: params.retryable,
          ...(params.retryAfterMs !== undefined ? { retryAfterMs: params.retryAfterMs } : {}),
        });
        requestEnded(session, context.requestId, 'failed', params.code);
      },
    },
  });

  const sessionMachine = threadLifecycleMachine.provide({
    actors: { request: requestMachine },
    actions: {
      refuseBusy: ({ context }, { requestId }) => {
        const session = store.get(context.sessionId);
        if (!session) return;
        // Not started, so the client may send it again once the thread is idle.
        session.seenRequests.delete(requestId);
        session.pendingText.delete(requestId);
        refuseRequest(session, requestId, 'busy', 'another request is streaming on this thread');
      },
      reportUnknownRequest: ({ context }, { requestId }) => {
        const session = store.get(context.sessionId);
        if (session) cancelArrivals.drop(session, requestId);
        session?.transport?.send(
          JSON.stringify({
            type: 'error',
            requestId,
            code: 'unknown_request',
            message: 'no request with this id is streaming',
            retryable: false,
          }),
        );
      },
      replayMissed: ({ context, event }) => {
        if (event.type !== 'socket.attached') return;
        const replayed = store.get(context.sessionId)?.replayAfter(event.lastSeq);
        if (replayed) observer.framesReplayed(replayed);
      },
      closeSocket: ({ context }) => {
        store.get(context.sessionId)?.transport?.close(CloseCode.Normal, 'bye');
      },
      releaseSession: ({ context }, params: { reason: 'expired' | 'closed' }) => {
        if (context.activeRequestId !== null)
          requestEnded(undefined, context.activeRequestId, 'abandoned');
        observer.sessionEnded(params.reason);
        store.delete(context.sessionId, params.reason);
        logger.info({ sessionId: context.sessionId, reason: params.reason }, 'session ended');
        root.send({ type: 'session.ended', sessionId: context.sessionId });
      },
    },
  });

  const connectionMachine = serverConnectionMachine.provide({
    actions: {
      sendPing: ({ context }) => connections.get(context.connectionId)?.socket.send(PING),
      closeForHandshakeTimeout: ({ context }) => {
        connections.get(context.connectionId)?.socket.close(CloseCode.Timeout, 'handshake timeout');
      },
      terminateSilentPeer: ({ context }) => {
        const connection = connections.get(context.connectionId);
        connection?.log.info('peer silent past the heartbeat limit; terminating');
        connection?.socket.terminate();
      },
    },
  });

  const drain = createDrainTracker();

  /** The sessions whose request is streaming now, with that request's id. */
  function streamingSessions(): Array<{ actor: SessionActor; requestId: string }> {
    const streaming: Array<{ actor: SessionActor; requestId: string }> = [];
    for (const actor of sessionActors()) {
      const requestId = actor.getSnapshot().context.activeRequestId;
      if (requestId) streaming.push({ actor, requestId });
    }
    return streaming;
  }

  /** While draining, tells the root once nothing streams any more. */
  function checkDrained() {
    if (root.getSnapshot().status !== 'active') return;
    if (root.getSnapshot().matches('serving')) return;
    if (streamingSessions().length === 0) root.send({ type: 'streams.idle' });
  }

  const root = createActor(
    serverRootMachine.provide({
      actors: {
        shard: serverShardMachine.provide({
          actors: { connection: connectionMachine, session: sessionMachine },
        }),
        thermal: thermal.machine,
        breaker: breaker.machine,
      },
      actions: {
        stopAdmitting: () => {
          drain.begin(streamingSessions().length);
          logger.info(
            { streams: drain.summary().streamsAtStart },
            'draining: admitting no new work',
          );
          // After this step, so the status reads the root as draining.
          queueMicrotask(() => {
            broadcastStatus();
            checkDrained();
          });
        },
        cancelStreams: () => {
          for (const { actor, requestId } of streamingSessions()) {
            drain.cancelled();
            actor.send({ type: 'request.cancel', requestId });
          }
        },
        closeSockets: () => {
          for (const connection of connections.values()) {
            drain.closing(connection.session?.bufferedFrames ?? 0);
            // Through the transport, so a batch still pending goes out before the close frame.
            connection.transport.close(CloseCode.GoingAway, 'server shutting down');
          }
        },
        reportDrained: () => logger.info(drain.summary(), 'drained'),
      },
    }),
    {
      clock,
      inspect: options.inspect,
      input: {
        thermal: thermal.input,
        breaker: breaker.input,
        drainTimeoutMs: config.drainTimeoutMs,
        cancelGraceMs: config.cancelTimeoutMs + 100,
      },
    },
  );
  indexDelayedEventsBySource(root.system);
  root.subscribe({ error: (error) => logger.error({ err: error }, 'server actor system failed') });
  root.start();
  thermal.attach(root.getSnapshot().children.thermal as Parameters<typeof thermal.attach>[0]);
  breaker.attach(root.getSnapshot().children.breaker as Parameters<typeof breaker.attach>[0]);

  function closeWith(connection: Connection, code: number, reason: string) {
    connection.log.info({ code, reason }, 'closing connection');
    connection.socket.close(code, reason);
  }

  function attach(connection: Connection, hello: HelloFrame) {
    const helloAt = performance.now();
    let session: Session | undefined;
    let lost: SessionLossReason | undefined;
    let lastSeq = 0;
    if (hello.resume) {
      const existing = store.get(hello.resume.sessionId);
      if (existing) {
        if (existing.threadId !== hello.threadId || !existing.tokenMatches(hello.resume.token)) {
          observer.resumeFailed('refused');
          return closeWith(connection, CloseCode.Forbidden, 'resume refused');
        }
        if (existing.framesAfter(hello.resume.lastSeq) === null) {
          lost = 'overflowed';
          sessionActor(existing.id)?.send({ type: 'thread.bye' });
        } else {
          session = existing;
          lastSeq = hello.resume.lastSeq;
        }
      } else {
        lost = store.lossReason(hello.resume.sessionId);
      }
    }
    const resumed = session !== undefined;
    if (lost) observer.resumeFailed(lost);
    if (!session) {
      session = store.create(hello.threadId);
      observer.sessionCreated();
      root.send({
        type: 'session.opened',
        input: {
          sessionId: session.id,
          sessionTtlMs: config.sessionTtlMs,
          cancelTimeoutMs: config.cancelTimeoutMs,
          closeTimeoutMs: config.closeTimeoutMs,
        },
      });
    }
    const actor = sessionActor(session.id);
    const previous = attachedTo.get(session);
    attachedTo.set(session, connection);
    if (previous && previous !== connection) {
      previous.session = null;
      closeWith(previous, CloseCode.Superseded, 'superseded by a newer connection');
      actor?.send({ type: 'socket.detached' });
    }
    connection.session = session;
    connection.log = connection.log.child({ sessionId: session.id });
    connection.socket.send(
      JSON.stringify({
        type: 'welcome',
        protocol: PROTOCOL_VERSION,
        sessionId: session.id,
        token: session.token,
        resumed,
        ...(lost ? { lost: { reason: lost } } : {}),
        heartbeatMs: config.heartbeatIntervalMs,
        silenceLimitMs: config.silenceLimitMs,
      }),
    );
    connection.transport.send(statusFrame());
    session.transport = connection.transport;
    actor?.send({ type: 'socket.attached', lastSeq });
    if (resumed) observer.sessionResumed(performance.now() - helloAt);
    connection.actor.send({ type: 'session.attached', sessionId: session.id });
    connection.log.info({ resumed, lost, lastSeq }, 'session attached');
  }

  function handleFrame(connection: Connection, frame: ClientFrame) {
    observer.frameReceived();
    connection.actor.send({ type: 'client.activity' });
    if (frame.type === 'hello') {
      if (connection.session) throw new ProtocolError(CloseCode.BadFrame, 'hello sent twice');
      return attach(connection, frame);
    }
    const session = connection.session;
    if (!session) throw new ProtocolError(CloseCode.BadFrame, "'hello' must be the first frame");
    const actor = sessionActor(session.id);
    switch (frame.type) {
      case 'request':
        // A resend after resume: never started twice.
        if (session.seenRequests.has(frame.requestId)) return observer.requestDeduplicated();
        observer.requestStarted();
        requestArrivals.mark(session, frame.requestId);
        if (isDraining()) {
          return refuseRequest(session, frame.requestId, 'draining', 'the server is shutting down');
        }
        if (refusedByProtection(session, frame.requestId)) return;
        session.seenRequests.add(frame.requestId);
        session.pendingText.set(frame.requestId, frame.text);
        connection.log.debug({ requestId: frame.requestId }, 'request received');
        return actor?.send({ type: 'request.start', requestId: frame.requestId });
      case 'cancel':
        cancelArrivals.mark(session, frame.requestId);
        connection.log.debug({ requestId: frame.requestId }, 'cancel received');
        return actor?.send({ type: 'request.cancel', requestId: frame.requestId });
      case 'ack':
        return session.ack(frame.seq);
      case 'bye':
        return actor?.send({ type: 'thread.bye' });
      case 'pong':
        return;
    }
  }

  function handleSocket(
    socket: GatewaySocket,
    meta: { remoteAddress?: string; origin?: string; host?: string } = {},
  ) {
    const id = randomUUID();
    root.send({
      type: 'connection.opened',
      input: {
        connectionId: id,
        handshakeTimeoutMs: config.handshakeTimeoutMs,
        heartbeatIntervalMs: config.heartbeatIntervalMs,
        silenceLimitMs: config.silenceLimitMs,
      },
    });
    const actor = shardOf(id)?.getSnapshot().children[id] as ConnectionActor;
    const connection: Connection = {
      id,
      socket,
      transport: createSocketTransport(socket),
      actor,
      session: null,
      log: logger.child({ connectionId: id }),
      openedAt: performance.now(),
      framesSent: 0,
    };
    if (observer.enabled) connection.transport = countFrames(connection.transport, connection);
    observer.connectionOpened(connection);
    connections.set(id, connection);
    connection.log.debug({ remoteAddress: meta.remoteAddress }, 'connection opened');
    const rateLimiter = createRateLimiter(config.rateLimitPerSecond, config.rateLimitBurst);
    if (isDraining()) {
      socket.close(CloseCode.Unavailable, 'server draining');
    } else if (!isOriginAllowed(meta.origin, meta.host, config.allowedOrigins)) {
      connection.log.warn({ origin: meta.origin }, 'origin not allowed');
      socket.close(CloseCode.Forbidden, 'origin not allowed');
    }

    socket.on('message', (data, isBinary) => {
      if (root.getSnapshot().status !== 'active') return; // shutting down: actors are stopped
      if (isBinary)
        return closeWith(connection, CloseCode.BadFrame, 'binary frames are not supported');
      const text = data.toString();
      if (Buffer.byteLength(text) > config.maxFrameBytes) {
        return closeWith(
          connection,
          CloseCode.FrameTooLarge,
          `frame exceeds ${config.maxFrameBytes} bytes`,
        );
      }
      try {
        const frame = parseClientFrame(text);
        if (!rateLimiter.take(frameCost(frame))) {
          return closeWith(connection, CloseCode.RateLimited, 'rate limited');
        }
        handleFrame(connection, frame);
      } catch (error) {
        if (error instanceof ProtocolError)
          return closeWith(connection, error.closeCode, error.message);
        connection.log.error({ err: error }, 'failed to handle a frame');
        closeWith(connection, CloseCode.InternalError, 'internal error');
      }
    });
    socket.on('error', (error) => connection.log.warn({ err: error }, 'socket error'));
    socket.on('close', (code) => {
      connections.delete(id);
      observer.connectionClosed(connection, code);
      if (root.getSnapshot().status !== 'active') return; // shutting down: actors already stopped
      // Its timers find no connection now, so stopping its actor may wait for a slice.
      slicer.run({
        cancelled: false,
        run: () => {
          if (root.getSnapshot().status !== 'active') return;
          actor.send({ type: 'socket.closed', code });
          root.send({ type: 'connection.ended', connectionId: id });
        },
      });
      const session = connection.session;
      if (session && attachedTo.get(session) === connection) attachedTo.delete(session);
      if (session && session.transport === connection.transport) {
        session.transport = null;
        sessionActor(session.id)?.send({ type: 'socket.detached' });
      }
      connection.log.debug({ code }, 'connection closed');
    });
  }

  /** Closes every socket with `code` and stops the actor system. */
  function stop(code: number = CloseCode.GoingAway, reason = 'server shutting down') {
    for (const connection of connections.values()) connection.socket.close(code, reason);
    root.stop();
  }

  /**
   * Graceful shutdown: stop admitting, let streams finish (up to `drainTimeoutMs`), cancel the
   * rest, close every socket with 1001, stop every actor. Resolves with what it did.
   */
  function drainAndStop(): Promise<DrainSummary> {
    return new Promise((resolve) => {
      if (root.getSnapshot().status !== 'active') return resolve(drain.summary());
      root.subscribe({ complete: () => resolve(drain.summary()) });
      root.send({ type: 'server.drain' });
    });
  }

  return {
    root,
    store,
    handleSocket,
    stop,
    drain: drainAndStop,
    thermal,
    breaker,
    get connectionCount() {
      return connections.size;
    },
    /** The connection and session actors alive under the root (for leak checks). */
    get memberActorCount() {
      let count = 0;
      for (const _ of shardMembers()) count++;
      return count;
    },
    sessionActor,
    /** Not admitting new work: the root has left `serving` (draining) or stopped. */
    get draining() {
      return isDraining();
    },
    /** The connection a session is attached to, if any (for log lines). */
    connectionOf(sessionId: string): string | undefined {
      const session = store.get(sessionId);
      return session ? attachedTo.get(session)?.id : undefined;
    },
    /** The session a connection carries, if any (for log lines). */
    sessionOf(connectionId: string): string | undefined {
      return connections.get(connectionId)?.session?.id;
    },
  };
}
