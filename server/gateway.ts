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
import { threadLifecycleMachine } from '../machines/thread-lifecycle.ts';
import { type Clock, systemClock } from './clock.ts';
import type { ServerConfig } from './config.ts';
import { type Responder, ResponderError } from './responders/responder.ts';
import type { Session, Transport } from './session.ts';
import { MemorySessionStore, type SessionStore } from './session-store.ts';
import { createSocketTransport } from './socket-transport.ts';

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
}

type ConnectionActor = ActorRefFrom<typeof serverConnectionMachine>;
type SessionActor = ActorRefFrom<typeof threadLifecycleMachine>;

interface Connection {
  id: string;
  socket: GatewaySocket;
  /** What the session sends through while this socket is attached. */
  transport: Transport;
  actor: ConnectionActor;
  session: Session | null;
  log: FastifyBaseLogger;
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

/** Lets other sockets be served between bursts of a fast stream. */
const yieldToEventLoop = () => new Promise<void>((resolve) => setImmediate(resolve));

export type Gateway = ReturnType<typeof createGateway>;

export function createGateway(options: GatewayOptions) {
  const { config, responder, logger } = options;
  const clock = options.clock ?? systemClock;
  const store = options.store ?? new MemorySessionStore(config);
  const connections = new Map<string, Connection>();

  function sessionActor(sessionId: string): SessionActor | undefined {
    return root.getSnapshot().children[sessionId] as SessionActor | undefined;
  }

  function refuseRequest(session: Session, requestId: string, code: ErrorCode, message: string) {
    session.emit({ type: 'error', requestId, code, message, retryable: retryableCodes.has(code) });
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
          if (!session.hasRoom()) await session.waitForRoom(signal);
          // Checked again after any wait: once aborted, no chunk of this request goes out.
          if (signal.aborted) return 'stopped';
          session.emit({ type: 'chunk', requestId: input.requestId, data: chunk });
          if (answerText.length < 32 * 1024) answerText += chunk;
          if (++count % 256 === 0) await yieldToEventLoop();
        }
        return 'done';
      };
      pump().then(
        (outcome) => {
          if (outcome === 'stopped') return sendBack({ type: 'answer.stopped' });
          session.recordTurn(text, answerText);
          sendBack({ type: 'answer.done' });
        },
        (error: unknown) => {
          if (signal.aborted) return sendBack({ type: 'answer.stopped' });
          // Only a responder knows whether trying again can help; an unexpected throw cannot.
          const code = error instanceof ResponderError ? error.code : 'internal';
          const retryable = error instanceof ResponderError ? error.retryable : false;
          const message = error instanceof Error ? error.message : String(error);
          logger.warn(
            { sessionId: session.id, requestId: input.requestId, err: error },
            'responder failed',
          );
          sendBack({ type: 'answer.failed', failure: { code, message, retryable } });
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
      },
      reportCancelled: ({ context }) => {
        const session = store.get(context.sessionId);
        session?.pendingText.delete(context.requestId);
        session?.emit({ type: 'cancelled', requestId: context.requestId });
      },
      reportForced: ({ context }) => {
        const session = store.get(context.sessionId);
        session?.pendingText.delete(context.requestId);
        session?.emit({ type: 'cancelled', requestId: context.requestId, forced: true });
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
        store.get(context.sessionId)?.replayAfter(event.lastSeq);
      },
      closeSocket: ({ context }) => {
        store.get(context.sessionId)?.transport?.close(CloseCode.Normal, 'bye');
      },
      releaseSession: ({ context }, params: { reason: 'expired' | 'closed' }) => {
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

  const root = createActor(
    serverRootMachine.provide({
      actors: { connection: connectionMachine, session: sessionMachine },
    }),
    { clock, inspect: options.inspect },
  );
  root.subscribe({ error: (error) => logger.error({ err: error }, 'server actor system failed') });
  root.start();

  function closeWith(connection: Connection, code: number, reason: string) {
    connection.log.info({ code, reason }, 'closing connection');
    connection.socket.close(code, reason);
  }

  function attach(connection: Connection, hello: HelloFrame) {
    let session: Session | undefined;
    let lost: SessionLossReason | undefined;
    let lastSeq = 0;
    if (hello.resume) {
      const existing = store.get(hello.resume.sessionId);
      if (existing) {
        if (existing.threadId !== hello.threadId || !existing.tokenMatches(hello.resume.token)) {
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
    if (!session) {
      session = store.create(hello.threadId);
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
    const previous = [...connections.values()].find(
      (other) => other !== connection && other.session === session,
    );
    if (previous) {
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
    session.transport = connection.transport;
    actor?.send({ type: 'socket.attached', lastSeq });
    connection.actor.send({ type: 'session.attached', sessionId: session.id });
    connection.log.info({ resumed, lost, lastSeq }, 'session attached');
  }

  function handleFrame(connection: Connection, frame: ClientFrame) {
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
        if (session.seenRequests.has(frame.requestId)) return; // a resend after resume: never twice
        session.seenRequests.add(frame.requestId);
        session.pendingText.set(frame.requestId, frame.text);
        connection.log.debug({ requestId: frame.requestId }, 'request received');
        return actor?.send({ type: 'request.start', requestId: frame.requestId });
      case 'cancel':
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

  function handleSocket(socket: GatewaySocket, meta: { remoteAddress?: string } = {}) {
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
    const actor = root.getSnapshot().children[id] as ConnectionActor;
    const connection: Connection = {
      id,
      socket,
      transport: createSocketTransport(socket),
      actor,
      session: null,
      log: logger.child({ connectionId: id }),
    };
    connections.set(id, connection);
    connection.log.debug({ remoteAddress: meta.remoteAddress }, 'connection opened');

    socket.on('message', (data, isBinary) => {
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
        handleFrame(connection, parseClientFrame(text));
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
      if (root.getSnapshot().status !== 'active') return; // shutting down: actors already stopped
      actor.send({ type: 'socket.closed', code });
      root.send({ type: 'connection.ended', connectionId: id });
      const session = connection.session;
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

  return {
    root,
    store,
    handleSocket,
    stop,
    get connectionCount() {
      return connections.size;
    },
  };
}
