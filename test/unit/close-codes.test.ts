import { describe, expect, it } from 'vitest';
import { type AnyActorRef, createActor, fromCallback, SimulatedClock } from 'xstate';
import { CloseCode, isRetryableClose } from '../../machines/close-codes.ts';
import {
  type ConnectionEvent,
  connectionMachine,
  type WebSocketActorInput,
} from '../../machines/connection.ts';

const FATAL = [1000, 4400, 4403, 4409, 4413, 4426];
const RETRYABLE = [1001, 1006, 1011, 1013, 4408, 4429, 4503];

describe('close code classification', () => {
  it.each(FATAL)('never retries after %i', (code) => {
    expect(isRetryableClose(code)).toBe(false);
  });

  it.each(RETRYABLE)('retries after %i', (code) => {
    expect(isRetryableClose(code)).toBe(true);
  });

  it('names the documented codes', () => {
    expect(CloseCode).toMatchObject({
      Normal: 1000,
      GoingAway: 1001,
      Abnormal: 1006,
      BadFrame: 4400,
      Forbidden: 4403,
      Timeout: 4408,
      Superseded: 4409,
      FrameTooLarge: 4413,
      UnsupportedProtocol: 4426,
      RateLimited: 4429,
    });
  });
});

/**
 * The real connection chart with its real backoff child, on a simulated clock. The socket is a
 * stand-in the test drives: each start of it is one connection attempt.
 */
function startConnection() {
  const clock = new SimulatedClock();
  const sockets: Array<(event: ConnectionEvent) => void> = [];
  const webSocket = fromCallback<ConnectionEvent, WebSocketActorInput>(({ sendBack }) => {
    sockets.push(sendBack);
  });
  const actor = createActor(connectionMachine.provide({ actors: { webSocket } }), {
    clock,
    input: { url: 'ws://threadline.test/ws', threadId: 'thread-1' },
  });
  actor.subscribe({ error: () => {} });
  actor.start();
  const latest = () => {
    const sendBack = sockets.at(-1);
    if (!sendBack) throw new Error('no socket was opened');
    return sendBack;
  };
  return {
    clock,
    actor,
    /** How many sockets the chart has opened: one per connection attempt. */
    attempts: () => sockets.length,
    drop: (code: number) => latest()({ type: 'socket.closed', code, reason: '' }),
    handshake: () => {
      latest()({ type: 'socket.opened' });
      latest()({ type: 'server.welcome', sessionId: 'session-1', resumed: false });
    },
    state: () => JSON.stringify(actor.getSnapshot().value),
    backoffState: () => {
      const backoff = actor.getSnapshot().children.backoff as AnyActorRef | undefined;
      return backoff?.getSnapshot().value as string | undefined;
    },
  };
}

const A_DAY = 24 * 60 * 60 * 1000;

describe('the reconnection backoff driving a connection', () => {
  it('makes 10 attempts on the documented schedule, then fails and waits for a manual retry', () => {
    const connection = startConnection();
    connection.drop(1006);
    // The chart's own delay choice is mid-jitter (random 0.5): the nominal schedule.
    const expected = [150, 1000, 2000, 4000, 8000, 16_000, 30_000, 30_000, 30_000, 30_000];
    for (const [index, delay] of expected.entries()) {
      const attempt = index + 1;
      expect(connection.state()).toBe('"reconnecting"');
      expect(connection.actor.getSnapshot().context).toMatchObject({
        attempt,
        maxAttempts: 10,
        retryDelayMs: delay,
      });
      connection.clock.increment(delay - 1);
      expect(connection.attempts(), `attempt ${attempt} is not early`).toBe(attempt);
      connection.clock.increment(1);
      expect(connection.attempts(), `attempt ${attempt} is on time`).toBe(attempt + 1);
      expect(connection.state()).toBe('{"linked":"connecting"}');
      connection.drop(1006);
    }
    expect(connection.state()).toBe('"failed"');
    expect(connection.backoffState()).toBe('exhausted');
    expect(connection.actor.getSnapshot().context.lastCloseCode).toBe(1006);
    connection.clock.increment(A_DAY);
    expect(connection.attempts()).toBe(11);

    // A manual retry starts a fresh series at once.
    connection.actor.send({ type: 'connection.retry' });
    expect(connection.attempts()).toBe(12);
    expect(connection.state()).toBe('{"linked":"connecting"}');
    expect(connection.actor.getSnapshot().context.attempt).toBe(1);
    connection.drop(1006);
    expect(connection.actor.getSnapshot().context).toMatchObject({
      attempt: 2,
      retryDelayMs: 1000,
    });
  });

  it('attempts at once on retryNow, and cancels the pending wait', () => {
    const connection = startConnection();
    connection.drop(1006);
    connection.clock.increment(150);
    connection.drop(1006);
    expect(connection.actor.getSnapshot().context).toMatchObject({
      attempt: 2,
      retryDelayMs: 1000,
    });

    connection.actor.send({ type: 'connection.retry' });
    expect(connection.attempts()).toBe(3);
    expect(connection.state()).toBe('{"linked":"connecting"}');
    expect(connection.backoffState()).toBe('idle');
    // The skipped timer does not fire a second attempt later.
    connection.clock.increment(1000);
    expect(connection.attempts()).toBe(3);
  });

  it('starts the next outage from attempt 1 after a successful handshake', () => {
    const connection = startConnection();
    connection.drop(1006);
    connection.clock.increment(150);
    connection.drop(1006);
    connection.clock.increment(1000);
    connection.handshake();
    expect(connection.state()).toBe('{"linked":{"open":"ready"}}');
    connection.drop(1001);
    expect(connection.actor.getSnapshot().context).toMatchObject({ attempt: 1, retryDelayMs: 150 });
  });

  it.each(FATAL)('never schedules a retry after a fatal close %i', (code) => {
    const connection = startConnection();
    connection.handshake();
    connection.drop(code);
    expect(connection.state()).toBe('"failed"');
    expect(connection.backoffState()).toBe('idle');
    expect(connection.actor.getSnapshot().context).toMatchObject({
      lastCloseCode: code,
      attempt: 0,
      nextRetryAt: null,
    });
    connection.clock.increment(A_DAY);
    expect(connection.attempts()).toBe(1);
  });

  it.each(RETRYABLE)('schedules a retry after a retryable close %i', (code) => {
    const connection = startConnection();
    connection.handshake();
    connection.drop(code);
    expect(connection.state()).toBe('"reconnecting"');
    expect(connection.backoffState()).toBe('waiting');
    connection.clock.increment(150);
    expect(connection.attempts()).toBe(2);
  });
});
