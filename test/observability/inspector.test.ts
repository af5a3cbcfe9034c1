/**
 * Live inspection: the `/inspect` WebSocket of a real server streams the actor system's
 * inspection events (tapped only while a page watches), transitions are logged at debug level,
 * and the optional Stately feed loads, or says what is missing.
 */
import type { FastifyBaseLogger } from 'fastify';
import { describe, expect, it } from 'vitest';
import { createActor, type InspectionEvent, SimulatedClock } from 'xstate';
import { serverConnectionMachine } from '../../machines/server-connection.ts';
import { resolveConfig } from '../../server/config.ts';
import type { ActorInfo, InspectorMessage } from '../../server/inspection/describe.ts';
import { small } from '../../server/inspection/describe.ts';
import { createInspectionHub } from '../../server/inspection/inspection-hub.ts';
import { attachStatelyInspector, StatelyInspectError } from '../../server/inspection/stately.ts';
import { dispose, openClient, openRawSocket, startServer, waitFor } from '../support/harness.ts';

type Message = InspectorMessage & Record<string, unknown>;

function inspectUrl(port: number): string {
  return `ws://127.0.0.1:${port}/inspect`;
}

/** A logger that records its debug lines; every other level is dropped. */
function recordingLogger(level: string) {
  const lines: Array<{ fields: Record<string, unknown>; message: string }> = [];
  const drop = () => {};
  const logger = {
    level,
    debug: (fields: Record<string, unknown>, message: string) => lines.push({ fields, message }),
    info: drop,
    warn: drop,
    error: drop,
    fatal: drop,
    trace: drop,
    silent: drop,
    child: () => logger,
  };
  return { logger: logger as unknown as FastifyBaseLogger, lines };
}

function startConnectionChart(connectionId: string) {
  const actor = createActor(serverConnectionMachine, {
    clock: new SimulatedClock(),
    input: {
      connectionId,
      handshakeTimeoutMs: 1000,
      heartbeatIntervalMs: 1000,
      silenceLimitMs: 2000,
    },
  });
  dispose(() => {
    actor.stop();
  });
  return actor;
}

describe('/inspect', () => {
  it('taps the actor system only while a page watches, and streams its actors and transitions', async () => {
    const server = await startServer({ responder: 'counter', inspect: 'local' });
    const { inspection } = server.app.observability;
    expect(inspection.attached).toBe(false);

    const page = await openRawSocket(inspectUrl(server.port));
    const hello = (await page.next()) as Message;
    expect(hello.type).toBe('hello');
    expect(hello.version).toBe(1);
    expect(hello.charts).toMatchObject({
      server: 'server-root',
      threadLifecycle: 'thread-lifecycle',
      cancellation: 'cancellation',
    });
    const actors = hello.actors as ActorInfo[];
    expect(actors[0]).toMatchObject({ ref: hello.root, machine: 'server-root', value: 'serving' });
    expect(actors.find((actor) => actor.systemId === 'thermal')?.machine).toBe(
      'thermal-hysteresis',
    );
    expect(actors.find((actor) => actor.systemId === 'breaker')?.machine).toBe('circuit-breaker');
    await waitFor(() => inspection.attached && inspection.listenerCount === 1);

    const client = openClient(server.url);
    expect((await client.request('3').result).status).toBe('done');
    const session = server.app.threadline.store.values().next().value;
    if (!session) throw new Error('no session');
    const messages = () => page.received as Message[];
    const created = (machine: string) =>
      messages()
        .filter((message) => message.type === 'actor')
        .map((message) => message.actor as ActorInfo)
        .find((actor) => actor.machine === machine);
    await waitFor(() => created('cancellation'), { what: 'the request actor' });
    expect(created('server-connection')?.parent).toBe(hello.root);
    const lifecycle = created('thread-lifecycle');
    expect(lifecycle?.id).toBe(session.id);
    const lifecycleRef = lifecycle?.ref;
    const snapshots = messages().filter(
      (message) => message.type === 'snapshot' && message.ref === lifecycleRef,
    );
    expect(snapshots.map((snapshot) => snapshot.value)).toContainEqual({
      open: { link: 'attached', work: 'streaming' },
    });
    expect(
      messages().some(
        (message) =>
          message.type === 'event' &&
          message.ref === lifecycleRef &&
          (message.event as { type?: string }).type === 'request.start',
      ),
    ).toBe(true);
    await waitFor(() =>
      messages().some(
        (message) =>
          message.type === 'snapshot' &&
          message.ref === created('cancellation')?.ref &&
          message.status === 'done',
      ),
    );
    // Small messages: no context dumps, no sockets, no functions.
    for (const message of messages()) expect(JSON.stringify(message).length).toBeLessThan(2048);

    // A page that connects now is told about the live connection and session.
    const late = await openRawSocket(inspectUrl(server.port));
    const lateHello = (await late.next()) as Message;
    const live = lateHello.actors as ActorInfo[];
    expect(live.find((actor) => actor.id === session.id)).toMatchObject({
      machine: 'thread-lifecycle',
      status: 'active',
      value: { open: { link: 'attached', work: 'idle' } },
    });
    expect(live.some((actor) => actor.machine === 'server-connection')).toBe(true);
    late.ws.close();
    page.ws.close();
    await waitFor(() => !inspection.attached && inspection.listenerCount === 0, {
      what: 'the hub to detach when the last page left',
    });
  });

  it('keeps the actor system running when an inspection listener throws', async () => {
    const server = await startServer({ responder: 'counter' });
    let calls = 0;
    const stop = server.app.observability.inspection.watch(() => {
      if (++calls > 1) throw new Error('a broken page');
    });
    dispose(stop);
    const client = openClient(server.url);
    expect((await client.request('3').result).status).toBe('done');
    expect(calls).toBeGreaterThan(1);
    expect(server.app.threadline.root.getSnapshot().status).toBe('active');
  });

  it('is not served when inspection is off, as the production preset has it', async () => {
    expect(resolveConfig({}, 'production').inspect).toBe('off');
    const server = await startServer({ inspect: 'off' });
    await expect(openRawSocket(inspectUrl(server.port))).rejects.toThrow('404');
    expect(server.app.observability.inspection.attached).toBe(false);
  });

  it('closes inspector pages when the server closes', async () => {
    const server = await startServer({ inspect: 'local' });
    const page = await openRawSocket(inspectUrl(server.port));
    await page.next();
    await server.close();
    expect((await page.closed).code).toBe(1001);
  });
});

describe('transition logs', () => {
  it('logs each transition of a chart at debug level, with the ids from its context', () => {
    const actor = startConnectionChart('c-1');
    const { logger, lines } = recordingLogger('debug');
    const hub = createInspectionHub(actor, logger);
    expect(hub.attached).toBe(true);
    actor.start();
    actor.send({ type: 'session.attached', sessionId: 's-1' });
    actor.send({ type: 'client.activity' });
    actor.send({ type: 'socket.closed', code: 1006 });
    actor.stop(); // as the gateway does once the socket is gone
    expect(lines[0]).toEqual({
      message: 'chart started',
      fields: {
        chart: 'server-connection',
        actor: actor.sessionId,
        event: 'xstate.init',
        state: 'handshaking',
        connectionId: 'c-1',
      },
    });
    expect(lines[1]).toEqual({
      message: 'transition',
      fields: {
        chart: 'server-connection',
        actor: actor.sessionId,
        event: 'session.attached',
        state: { open: { heartbeat: 'waiting', watchdog: 'listening' } },
        transitions: ['handshaking → open'],
        connectionId: 'c-1',
      },
    });
    // A re-entering transition is a transition too (it restarts the watchdog's timer).
    expect(lines[2]?.fields.transitions).toEqual([
      'open.watchdog.listening → open.watchdog.listening',
    ]);
    expect(lines[3]?.fields).toMatchObject({ event: 'socket.closed', state: 'closed' });
    expect(lines[4]).toMatchObject({ message: 'chart ended', fields: { status: 'stopped' } });
    expect(lines).toHaveLength(5);
    hub.dispose();
    expect(hub.attached).toBe(false);
  });

  it('completes the ids through the gateway: the session of a socket, the socket of a session', () => {
    const actor = startConnectionChart('c-5');
    const { logger, lines } = recordingLogger('debug');
    const links = {
      sessionOf: (connectionId: string) => (connectionId === 'c-5' ? 's-5' : undefined),
      connectionOf: () => undefined,
    };
    const hub = createInspectionHub(actor, logger, links);
    actor.start();
    actor.send({ type: 'session.attached', sessionId: 's-5' });
    expect(lines[1]?.fields).toMatchObject({ connectionId: 'c-5', sessionId: 's-5' });
    hub.dispose();
  });

  it('taps nothing and logs nothing above debug level', () => {
    const actor = startConnectionChart('c-2');
    const { logger, lines } = recordingLogger('info');
    const hub = createInspectionHub(actor, logger);
    actor.start();
    actor.send({ type: 'session.attached', sessionId: 's-2' });
    expect(hub.attached).toBe(false);
    expect(lines).toEqual([]);
  });
});

describe('inspection messages', () => {
  it('keep plain data only: no functions, sockets or class instances; arrays by length; long strings cut', () => {
    class Socket {
      readonly fd = 3;
    }
    const copy = small({
      id: 'a',
      count: 2,
      ok: true,
      none: null,
      send: () => {},
      socket: new Socket(),
      queue: [1, 2, 3],
      text: 'x'.repeat(500),
      nested: { deeper: { deepest: { tooDeep: 1 } } },
    }) as Record<string, unknown>;
    expect(copy).toMatchObject({ id: 'a', count: 2, ok: true, none: null, queue: '[3 items]' });
    expect(copy).not.toHaveProperty('send');
    expect(copy).not.toHaveProperty('socket');
    expect(String(copy.text).length).toBeLessThan(200);
    expect(copy.nested).toEqual({ deeper: {} });
  });
});

describe('--inspect stately', () => {
  it('says what to install when @statelyai/inspect is missing', async () => {
    const actor = startConnectionChart('c-3');
    const { logger } = recordingLogger('info');
    const missing = () => Promise.reject(new Error("Cannot find package '@statelyai/inspect'"));
    await expect(attachStatelyInspector(actor.system, logger, missing)).rejects.toThrow(
      StatelyInspectError,
    );
    await expect(attachStatelyInspector(actor.system, logger, missing)).rejects.toThrow(
      'npm install @statelyai/inspect',
    );
  });

  it('feeds the sky inspector every inspection event until detached', async () => {
    const actor = startConnectionChart('c-4');
    const { logger } = recordingLogger('info');
    const received: InspectionEvent[] = [];
    const fakePackage = {
      createSkyInspector: () => ({ inspect: (event: InspectionEvent) => received.push(event) }),
    };
    const detach = await attachStatelyInspector(actor.system, logger, async () => fakePackage);
    actor.start();
    actor.send({ type: 'session.attached', sessionId: 's-4' });
    expect(received.some((event) => event.type === '@xstate.snapshot')).toBe(true);
    const count = received.length;
    detach();
    actor.send({ type: 'client.activity' });
    expect(received.length).toBe(count);
  });
});
