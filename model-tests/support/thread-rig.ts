/**
 * The real system a connection-level path runs against: a real server, a real client, and the
 * fault proxy between them, each on its own simulated clock so a step moves exactly one side's
 * time. Everything is disposed after the test, the client first (closed without waiting on a
 * clock nobody will move), then the proxy, then the server.
 */
import { SimulatedClock } from 'xstate';
import type { ThreadClient, ThreadClientConfig } from '../../client/index.ts';
import { PROTOCOL_VERSION } from '../../machines/protocol.ts';
import { FaultProxy } from '../../test/support/fault-proxy.ts';
import {
  dispose,
  openClient,
  openRawSocket,
  startServer,
  type TestServer,
} from '../../test/support/harness.ts';
import { MicrostepLog } from './microstep-log.ts';
import {
  rigBackoff,
  rigHeartbeatMs,
  rigRandom,
  rigServerSilenceLimitMs,
  rigTimeouts,
} from './rig-settings.ts';

/** How the next TCP link through the proxy behaves. */
export type LinkPlan =
  /** Accepted, then nothing passes: the socket never opens. */
  | 'blackhole'
  /** Accepted and destroyed: the socket closes with 1006 before it opens. */
  | 'refuse'
  /** Opens, but the client's frames never reach the server: held in the handshake. */
  | 'muted'
  /** Everything passes. */
  | 'live';

export interface ThreadRig {
  server: TestServer;
  proxy: FaultProxy;
  clientClock: SimulatedClock;
  serverClock: SimulatedClock;
  /** Sets up the next link the client opens. */
  plan(link: LinkPlan): void;
  /** The plan the latest link was opened under. */
  readonly link: LinkPlan;
  /** Opens the client through the proxy, under the current plan. */
  open(config?: Pick<ThreadClientConfig, 'resume'>): Promise<OpenThread>;
  /** A session on the server that the client does not own (for a forged resume). */
  decoySession(): Promise<string>;
}

export interface OpenThread {
  client: ThreadClient;
  /** The connection chart's microsteps. */
  connection: MicrostepLog;
  /** The backoff child's microsteps. */
  backoff: MicrostepLog;
  /** Another connection resumes the client's session straight on the server (4409 for us). */
  supersede(): Promise<void>;
  /** The promise of `client.close()`, once asked. */
  closing: Promise<void> | null;
  close(): void;
}

export async function startThreadRig(): Promise<ThreadRig> {
  const clientClock = new SimulatedClock();
  const serverClock = new SimulatedClock();
  // The server's clock moves only to make it ping; each pong resets its silence watch.
  const server = await startServer(
    {
      responder: 'counter',
      heartbeatIntervalMs: rigHeartbeatMs,
      silenceLimitMs: rigServerSilenceLimitMs,
      handshakeTimeoutMs: 600_000,
    },
    { clock: serverClock },
  );
  const proxy = await new FaultProxy({ targetPort: server.port }).start();
  dispose(() => proxy.stop());
  let link: LinkPlan = 'live';

  function plan(next: LinkPlan) {
    link = next;
    proxy.muteClientAfterUpgrade(next === 'muted');
    // Blackhole also stops existing links: set it only when none should live on.
    proxy.setMode(next === 'refuse' ? 'refuse' : next === 'blackhole' ? 'blackhole' : 'pass');
  }

  async function open(config: Pick<ThreadClientConfig, 'resume'> = {}): Promise<OpenThread> {
    const client = openClient(proxy.url, {
      ...config,
      clock: clientClock,
      random: () => rigRandom,
      timeouts: rigTimeouts,
      backoff: rigBackoff,
    });
    const system = client.actor.system;
    const connection = new MicrostepLog(system, () => client.actor);
    const backoff = new MicrostepLog(system, () => client.actor.getSnapshot().children.backoff);
    const thread: OpenThread = {
      client,
      connection,
      backoff,
      closing: null,
      close() {
        thread.closing = client.close();
      },
      async supersede() {
        const resume = client.resumeInfo();
        if (!resume) throw new Error('the client has no session to supersede');
        const raw = await openRawSocket(server.url);
        raw.send({ type: 'hello', protocol: PROTOCOL_VERSION, threadId: client.threadId, resume });
        const welcome = await raw.next();
        if (welcome.type !== 'welcome' || welcome.resumed !== true) {
          throw new Error(`the session was not resumed: ${JSON.stringify(welcome)}`);
        }
        // The other device goes away again, so the server counts only the client's sockets.
        raw.ws.terminate();
        await raw.closed;
      },
    };
    dispose(async () => {
      // Whatever state a path left it in, close it now: the close timer is moved by hand.
      const closing = thread.closing ?? client.close();
      proxy.sever();
      clientClock.increment(rigTimeouts.closeTimeoutMs);
      await closing;
      connection.stop();
      backoff.stop();
    });
    return thread;
  }

  async function decoySession(): Promise<string> {
    const raw = await openRawSocket(server.url);
    raw.send({ type: 'hello', protocol: PROTOCOL_VERSION, threadId: 'decoy-thread' });
    const welcome = await raw.next();
    if (typeof welcome.sessionId !== 'string') throw new Error('no welcome for the decoy');
    // Its device goes away; the session stays (its TTL runs on a clock nobody moves).
    raw.ws.terminate();
    await raw.closed;
    return welcome.sessionId;
  }

  return {
    server,
    proxy,
    clientClock,
    serverClock,
    plan,
    get link() {
      return link;
    },
    open,
    decoySession,
  };
}
