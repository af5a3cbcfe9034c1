/**
 * The real system a conversation-level path runs against: a real server whose upstream the test
 * plays (`ScriptedResponder`), the fault proxy, and either a real client or hand-speaking protocol
 * peers, each side on its own simulated clock. Disposed after the test, newest first: the client
 * (closed without waiting on a clock nobody will move), the answers still waiting, the proxy, the
 * server.
 */
import { type AnyActorRef, SimulatedClock } from 'xstate';
import type { RequestHandle, RequestResult } from '../../client/request-handle.ts';
import type { ThreadClient } from '../../client/thread-client.ts';
import type { Gateway } from '../../server/gateway.ts';
import { FaultProxy } from '../../test/support/fault-proxy.ts';
import { dispose, openClient, startServer, type TestServer } from '../../test/support/harness.ts';
import {
  clientCancelTimeoutMs,
  conversationBackoff,
  conversationServer,
  conversationTimeouts,
} from './conversation-settings.ts';
import { MicrostepLog } from './microstep-log.ts';
import { ProtocolPeer, type Resume } from './protocol-peer.ts';
import { ScriptedResponder } from './scripted-responder.ts';

/** How new links through the proxy behave: `refuse` closes them (1006) before they open. */
export type ConversationLink = 'live' | 'refuse';

export interface TrackedRequest {
  handle: RequestHandle;
  /** Chunks read from the handle, as a caller iterating it gets them. */
  chunks: string[];
  result: RequestResult | null;
}

export interface ConversationClient {
  client: ThreadClient;
  /** The thread chart's microsteps. */
  thread: MicrostepLog;
  /** The microsteps of the thread's request child, one request after another. */
  request: MicrostepLog;
  /** Every request asked, by id. */
  requests: Map<string, TrackedRequest>;
  /** Asks a request whose text is its id (the scripted upstream answers by text). */
  ask(requestId: string): TrackedRequest;
  /** The promise of `client.close()`, once asked. */
  closing: Promise<void> | null;
  close(): void;
}

export interface ConversationRig {
  server: TestServer;
  gateway: Gateway;
  proxy: FaultProxy;
  serverClock: SimulatedClock;
  clientClock: SimulatedClock;
  upstream: ScriptedResponder;
  /** The server's session actor (thread-lifecycle chart). */
  sessionActor(sessionId: string): AnyActorRef | undefined;
  /** The session's request child (the server's cancellation chart), while one streams. */
  requestActor(sessionId: string): AnyActorRef | undefined;
  /** Microsteps of a server actor found through `pick`. */
  serverLog(pick: () => AnyActorRef | undefined): MicrostepLog;
  /** A value of the server's Prometheus metrics (0 when absent). */
  metric(name: string, labels?: Record<string, string>): Promise<number>;
  /** Sets up the next links the client opens. */
  plan(link: ConversationLink): void;
  /** A protocol peer through the proxy. */
  openPeer(threadId: string, resume?: Resume): Promise<ProtocolPeer>;
  /** The real client through the proxy, under the current plan. */
  openClient(options?: { threadId?: string; resume?: Resume }): ConversationClient;
}

/**
 * `pick`, or when it finds nothing the actor it found last: a parent lets go of a child in the
 * same step that makes it final, and that last step must still be recorded.
 */
function lastSeen(pick: () => AnyActorRef | undefined): () => AnyActorRef | undefined {
  let last: AnyActorRef | undefined;
  return () => {
    last = pick() ?? last;
    return last;
  };
}

export async function startConversationRig(): Promise<ConversationRig> {
  const serverClock = new SimulatedClock();
  const clientClock = new SimulatedClock();
  const upstream = new ScriptedResponder();
  const server = await startServer(
    { ...conversationServer },
    { clock: serverClock, responder: upstream.responder },
  );
  const gateway = server.app.threadline;
  const proxy = await new FaultProxy({ targetPort: server.port }).start();
  dispose(() => proxy.stop());
  dispose(() => upstream.endAll());

  const sessionActor = (sessionId: string): AnyActorRef | undefined =>
    gateway.sessionActor(sessionId);

  function serverLog(pick: () => AnyActorRef | undefined): MicrostepLog {
    const log = new MicrostepLog(gateway.root.system, lastSeen(pick));
    dispose(() => log.stop());
    return log;
  }

  async function metric(name: string, labels: Record<string, string> = {}): Promise<number> {
    const response = await server.app.inject({ method: 'GET', url: '/metrics' });
    const wanted = Object.entries(labels).map(([key, value]) => `${key}="${value}"`);
    for (const line of response.body.split('\n')) {
      const match = /^([a-z_]+)(?:\{([^}]*)\})? (\S+)$/.exec(line);
      if (!match || match[1] !== `threadline_${name}`) continue;
      const given = (match[2] ?? '').split(',').filter(Boolean);
      if (wanted.every((label) => given.includes(label))) return Number(match[3]);
    }
    return 0;
  }

  function openConversationClient(
    options: { threadId?: string; resume?: Resume } = {},
  ): ConversationClient {
    const client = openClient(
      proxy.url,
      {
        clock: clientClock,
        random: () => 0.5,
        timeouts: conversationTimeouts,
        backoff: conversationBackoff,
        cancelTimeoutMs: clientCancelTimeoutMs,
        ...(options.resume ? { resume: options.resume } : {}),
      },
      options.threadId,
    );
    const system = client.thread.system;
    const thread = new MicrostepLog(system, () => client.thread);
    const request = new MicrostepLog(
      system,
      lastSeen(() => client.thread.getSnapshot().children.request),
    );
    const requests = new Map<string, TrackedRequest>();
    const conversation: ConversationClient = {
      client,
      thread,
      request,
      requests,
      closing: null,
      ask(requestId) {
        const handle = client.request(requestId, { requestId });
        const tracked: TrackedRequest = { handle, chunks: [], result: null };
        requests.set(requestId, tracked);
        void (async () => {
          for await (const chunk of handle) tracked.chunks.push(chunk);
        })();
        void handle.result.then((result) => {
          tracked.result = result;
        });
        return tracked;
      },
      close() {
        conversation.closing = client.close();
      },
    };
    dispose(async () => {
      // Whatever state a path left it in, close it now: its timers are moved by hand.
      const closing = conversation.closing ?? client.close();
      proxy.sever();
      clientClock.increment(conversationTimeouts.closeTimeoutMs * 2);
      await closing;
      thread.stop();
      request.stop();
    });
    return conversation;
  }

  return {
    server,
    gateway,
    proxy,
    serverClock,
    clientClock,
    upstream,
    sessionActor,
    requestActor: (sessionId) =>
      sessionActor(sessionId)?.getSnapshot().children.request as AnyActorRef | undefined,
    serverLog,
    metric,
    plan: (link) => proxy.setMode(link === 'refuse' ? 'refuse' : 'pass'),
    openPeer: (threadId, resume) => ProtocolPeer.open(proxy.url, threadId, resume),
    openClient: openConversationClient,
  };
}
