/**
 * The timings every connection-level model test runs with, shared by the model (which predicts
 * payloads from them) and the rig (which configures the real client and server with them).
 */
import type { BackoffPolicy } from '../../machines/backoff-schedule.ts';
import type { ConnectionTimeouts } from '../../machines/connection.ts';

export const rigTimeouts: ConnectionTimeouts = {
  connectTimeoutMs: 1000,
  handshakeTimeoutMs: 1000,
  silenceLimitMs: 3000,
  closeTimeoutMs: 500,
};

/** Two attempts per outage, so exhaustion is two failures away. */
export const rigBackoff: BackoffPolicy = {
  maxAttempts: 2,
  firstDelayMaxMs: 300,
  baseDelayMs: 1000,
  maxDelayMs: 4000,
  jitter: 0.25,
};

/** The client's jitter source: fixed, so delays are known in advance. */
export const rigRandom = 0.5;

/** The server pings this often, on its own clock (moved by hand). */
export const rigHeartbeatMs = 1000;

/** The server's silence limit; its welcome makes it the client's too. */
export const rigServerSilenceLimitMs = 3000;
