import { describe, expect, it } from 'vitest';
import WebSocket from 'ws';
import { SimulatedClock } from 'xstate';
import { welcomeFrame } from '../../machines/protocol.ts';
import { openRawSocket, type RawSocket, startServer, waitFor } from '../support/harness.ts';

const TIMINGS = { heartbeatIntervalMs: 50, silenceLimitMs: 200, handshakeTimeoutMs: 100 };

/**
 * Resolves once the server has answered a ws-level ping. The server handles a socket's frames in
 * order, so every frame sent before has been acted on by then; and a close the server already
 * sent arrives before the pong.
 */
function roundTrip(ws: WebSocket): Promise<void> {
  return new Promise((resolve) => {
    ws.once('pong', () => resolve());
    ws.ping();
  });
}

/** A server whose actor system runs on a clock the test moves by hand. */
async function startSimulatedServer(overrides: Record<string, unknown> = {}) {
  const clock = new SimulatedClock();
  const server = await startServer({ ...TIMINGS, ...overrides }, { clock });
  return { clock, server };
}

/** Reads messages until a `done` frame, unpacking batches (one tick's frames in one message). */
async function framesUntilDone(raw: RawSocket): Promise<unknown[]> {
  const frames: unknown[] = [];
  while (!frames.some((frame) => (frame as { type?: unknown }).type === 'done')) {
    const message: unknown = await raw.next();
    frames.push(...(Array.isArray(message) ? message : [message]));
  }
  return frames;
}

async function hello(url: string, fields: Record<string, unknown> = {}) {
  const raw = await openRawSocket(url);
  raw.send({ type: 'hello', protocol: 1, threadId: 'thread-1', ...fields });
  const welcome = await raw.next();
  // Right after the welcome the server tells every client its condition (thermal, breaker).
  if (welcome.type === 'welcome') expect(await raw.next()).toMatchObject({ type: 'status' });
  return { raw, welcome };
}

describe('the server heartbeat, on a simulated clock', () => {
  it('closes a socket that never says hello with 4408 when the handshake timeout ends', async () => {
    const { clock, server } = await startSimulatedServer();
    const raw = await openRawSocket(server.url);
    await waitFor(() => server.app.threadline.connectionCount === 1, { what: 'the connection' });
    clock.increment(99);
    await roundTrip(raw.ws);
    expect(raw.ws.readyState).toBe(WebSocket.OPEN);
    clock.increment(1);
    const closed = await raw.closed;
    expect(closed.code).toBe(4408);
    expect(closed.reason).toBe('handshake timeout');
    expect(raw.received).toEqual([]);
  });

  it('pings a handshaken socket on every beat, and on no other', async () => {
    const { clock, server } = await startSimulatedServer();
    const { raw } = await hello(server.url);
    for (let beat = 1; beat <= 3; beat++) {
      clock.increment(49);
      await roundTrip(raw.ws);
      // welcome and status, then one ping per beat so far
      expect(raw.received, `before beat ${beat}`).toHaveLength(beat + 1);
      clock.increment(1);
      expect(await raw.next()).toEqual({ type: 'ping' });
    }
  });

  it('terminates a socket that stops answering once the silence limit passes', async () => {
    const { clock, server } = await startSimulatedServer();
    const { raw } = await hello(server.url);
    // One beat at a time: the simulated clock fires a re-armed timer only on a later increment.
    for (const step of [50, 50, 50, 49]) clock.increment(step);
    await roundTrip(raw.ws);
    expect(raw.ws.readyState).toBe(WebSocket.OPEN);
    expect(raw.received.map((frame) => frame.type)).toEqual([
      'welcome',
      'status',
      'ping',
      'ping',
      'ping',
    ]);
    clock.increment(1);
    // Terminated, not closed: a silent peer may not be there to answer a close handshake.
    expect((await raw.closed).code).toBe(1006);
    await waitFor(() => server.app.threadline.connectionCount === 0, {
      what: 'the server to let go',
    });
  });

  it('keeps a socket that answers every ping open, and drops it when it stops', async () => {
    const { clock, server } = await startSimulatedServer();
    const { raw } = await hello(server.url);
    for (let beat = 1; beat <= 10; beat++) {
      clock.increment(50);
      expect(await raw.next()).toEqual({ type: 'ping' });
      raw.send({ type: 'pong' });
      await roundTrip(raw.ws);
    }
    // 500 ms on the clock: more than twice the silence limit, and still open.
    expect(raw.ws.readyState).toBe(WebSocket.OPEN);
    // Now silent: pings keep coming, and the limit runs from the last pong.
    for (const step of [50, 50, 50, 49]) clock.increment(step);
    await roundTrip(raw.ws);
    expect(raw.ws.readyState).toBe(WebSocket.OPEN);
    clock.increment(1);
    expect((await raw.closed).code).toBe(1006);
  });
});

describe('the server heartbeat, on the real clock', () => {
  it('closes a silent newcomer with 4408 after the handshake timeout', async () => {
    const server = await startServer(TIMINGS);
    const started = performance.now();
    const raw = await openRawSocket(server.url);
    const closed = await raw.closed;
    const elapsed = performance.now() - started;
    expect(closed).toEqual({ code: 4408, reason: 'handshake timeout' });
    expect(elapsed).toBeGreaterThanOrEqual(TIMINGS.handshakeTimeoutMs - 5);
    expect(elapsed).toBeLessThan(2000);
  });

  it('pings a quiet peer, then terminates it after the silence limit', async () => {
    const server = await startServer(TIMINGS);
    // From before the hello: the hello is the peer's last word, so the limit runs from it.
    const started = performance.now();
    const { raw } = await hello(server.url);
    expect(await raw.next()).toEqual({ type: 'ping' });
    const closed = await raw.closed;
    const elapsed = performance.now() - started;
    expect(closed.code).toBe(1006);
    expect(elapsed).toBeGreaterThanOrEqual(TIMINGS.silenceLimitMs - 5);
    expect(elapsed).toBeLessThan(2000);
    expect(raw.received.filter((frame) => frame.type === 'ping').length).toBeGreaterThanOrEqual(2);
  });
});

describe('the welcome frame and the handshake', () => {
  it('gives a fresh session with an unguessable token and the heartbeat it will apply', async () => {
    const { server } = await startSimulatedServer();
    const first = await hello(server.url, { threadId: 'thread-a' });
    const second = await hello(server.url, { threadId: 'thread-b' });
    for (const { welcome } of [first, second]) {
      expect(welcomeFrame.parse(welcome)).toEqual(welcome);
      expect(welcome).toMatchObject({
        type: 'welcome',
        protocol: 1,
        resumed: false,
        heartbeatMs: 50,
        silenceLimitMs: 200,
      });
      expect(welcome).not.toHaveProperty('lost');
      // base64url of at least 16 random bytes: 22 characters carry ≥ 128 bits.
      expect(welcome.token).toMatch(/^[A-Za-z0-9_-]{22,}$/);
      expect(welcome.sessionId).toEqual(expect.any(String));
    }
    expect(second.welcome.sessionId).not.toBe(first.welcome.sessionId);
    expect(second.welcome.token).not.toBe(first.welcome.token);
  });

  it('refuses a resume with a wrong token or thread with 4403, saying nothing of the session', async () => {
    const { server } = await startSimulatedServer();
    const owner = await hello(server.url, { threadId: 'thread-a' });
    const { sessionId, token } = owner.welcome as { sessionId: string; token: string };
    const attempts = [
      { threadId: 'thread-a', resume: { sessionId, token: `${token}x`, lastSeq: 0 } },
      { threadId: 'thread-a', resume: { sessionId, token: token.slice(1), lastSeq: 0 } },
      { threadId: 'thread-b', resume: { sessionId, token, lastSeq: 0 } },
    ];
    const reasons: string[] = [];
    for (const fields of attempts) {
      const thief = await openRawSocket(server.url);
      thief.send({ type: 'hello', protocol: 1, ...fields });
      const closed = await thief.closed;
      expect(closed.code).toBe(4403);
      expect(thief.received).toEqual([]);
      reasons.push(closed.reason);
    }
    // One reason for every refusal: it tells a guesser neither which part was wrong nor any secret.
    expect(new Set(reasons).size).toBe(1);
    const [reason = ''] = reasons;
    expect(reason.length).toBeGreaterThan(0);
    for (const secret of [sessionId, token, 'thread-a', 'thread-b', 'token', 'thread']) {
      expect(reason).not.toContain(secret);
    }

    // The refusals did not disturb the rightful owner, who can still resume after a drop.
    await roundTrip(owner.raw.ws);
    expect(owner.raw.ws.readyState).toBe(WebSocket.OPEN);
    owner.raw.ws.close(1000);
    await owner.raw.closed;
    const back = await hello(server.url, {
      threadId: 'thread-a',
      resume: { sessionId, token, lastSeq: 0 },
    });
    expect(back.welcome).toMatchObject({ type: 'welcome', sessionId, resumed: true });
  });

  it('starts a new session when asked to resume an unknown one, and says so', async () => {
    const { server } = await startSimulatedServer();
    const { welcome } = await hello(server.url, {
      resume: { sessionId: 'no-such-session', token: 'whatever', lastSeq: 7 },
    });
    expect(welcome).toMatchObject({ type: 'welcome', resumed: false, lost: { reason: 'unknown' } });
    expect(welcome.sessionId).not.toBe('no-such-session');
    expect(welcome.token).toMatch(/^[A-Za-z0-9_-]{22,}$/);
  });

  it('answers a cancel for an unknown request with unknown_request and stays open', async () => {
    const { server } = await startSimulatedServer({ responder: 'counter' });
    const { raw } = await hello(server.url);
    raw.send({ type: 'cancel', requestId: 'ghost' });
    const error = await raw.next();
    expect(error).toMatchObject({
      type: 'error',
      requestId: 'ghost',
      code: 'unknown_request',
      retryable: false,
    });
    expect(error.message).toEqual(expect.stringMatching(/.+/));
    // Not data: it takes no seq, so the next request's frames start at 1.
    expect(error).not.toHaveProperty('seq');
    raw.send({ type: 'request', requestId: 'r1', text: '2' });
    expect(await framesUntilDone(raw)).toEqual([
      { type: 'accepted', seq: 1, requestId: 'r1' },
      { type: 'chunk', seq: 2, requestId: 'r1', data: '0\n' },
      { type: 'chunk', seq: 3, requestId: 'r1', data: '1\n' },
      { type: 'done', seq: 4, requestId: 'r1' },
    ]);
  });
});
