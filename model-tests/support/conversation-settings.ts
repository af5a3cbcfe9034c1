/**
 * The timings every conversation-level model test (thread-lifecycle, cancellation, client-thread)
 * runs with, shared by the models (which predict from them) and the rig (which configures the
 * real server and client with them). Only the timers a path moves by hand are short; everything
 * else is far beyond what any path adds up on either clock, so nothing fires unasked: no ping, no
 * silence limit, no reconnection attempt of its own.
 */
import type { BackoffPolicy } from '../../machines/backoff-schedule.ts';
import type { ConnectionTimeouts } from '../../machines/connection.ts';

const never = 600_000;

/** The server's settings; its clock is simulated and moved only by the paths. */
export const conversationServer = {
  sessionTtlMs: 10_000,
  cancelTimeoutMs: 500,
  closeTimeoutMs: 500,
  heartbeatIntervalMs: never / 2,
  silenceLimitMs: never,
  handshakeTimeoutMs: never,
} as const;

/** The client's cancel timeout, on its own simulated clock. */
export const clientCancelTimeoutMs = 500;

export const conversationTimeouts: ConnectionTimeouts = {
  connectTimeoutMs: never,
  handshakeTimeoutMs: never,
  silenceLimitMs: never,
  closeTimeoutMs: 500,
};

/** A dropped link waits for a press on "retry": the next attempt is ten minutes away. */
export const conversationBackoff: BackoffPolicy = {
  maxAttempts: 10,
  firstDelayMaxMs: never * 2,
  baseDelayMs: never,
  maxDelayMs: never,
  jitter: 0,
};
