/**
 * What the gateway tells observability about, one call per event. The gateway holds a
 * `GatewayObserver` and calls it where things happen; `noopObserver` is the default, so the
 * gateway runs the same without metrics. Durations are in milliseconds, measured by the gateway
 * with `performance.now()` (real time, whatever clock the actor system runs on).
 */
import type { SessionLossReason } from '../../machines/protocol.ts';

/** Why a resume was not granted: the loss reasons of the protocol, or a refused token/thread. */
export type ResumeFailureReason = SessionLossReason | 'refused';

/**
 * How a request ended: answered in full, cancelled (confirmed by the responder stopping, or
 * forced after the cancel timeout), failed or refused with an error code, or abandoned because
 * its session ended (closed or expired) while it streamed.
 */
export type RequestOutcome = 'done' | 'cancelled' | 'forced' | 'failed' | 'abandoned';

/**
 * One open connection as observability sees it. The gateway's connection record is one: it
 * bumps `framesSent` for every data frame it hands the socket (a plain increment, nothing
 * allocated), and the observer reads it at scrape time and when the connection closes.
 */
export interface ConnectionTally {
  /** `performance.now()` when the socket was accepted. */
  readonly openedAt: number;
  /** Frames sent through the session transport on this connection, replays included. */
  framesSent: number;
}

export interface GatewayObserver {
  /** False for the no-op observer: lets the gateway skip even its cheap per-frame counting. */
  readonly enabled: boolean;
  connectionOpened(connection: ConnectionTally): void;
  connectionClosed(connection: ConnectionTally, code: number): void;
  /** A client frame arrived (any type, once it was parsed). */
  frameReceived(): void;
  sessionCreated(): void;
  /** A session was resumed; `latencyMs` runs from the hello to the replay handed to the socket. */
  sessionResumed(latencyMs: number): void;
  resumeFailed(reason: ResumeFailureReason): void;
  sessionEnded(reason: 'expired' | 'closed'): void;
  /** Frames sent again to a resuming client (also counted in its connection's `framesSent`). */
  framesReplayed(count: number): void;
  /** A request frame whose id this session had already seen: dropped, never started twice. */
  requestDeduplicated(): void;
  requestStarted(): void;
  /** `latencyMs` runs from the request frame's arrival to its first chunk handed to the session. */
  firstChunk(latencyMs: number): void;
  /** `code` is the error code for `failed`. */
  requestEnded(outcome: RequestOutcome, code?: string): void;
  /** `latencyMs` runs from the cancel frame's arrival to the `cancelled` frame. */
  cancelAcknowledged(latencyMs: number): void;
  /** A stream found the replay buffer or the socket's send queue full and paused for room. */
  queueOverflowed(): void;
}

const nothing = () => {};

/** Observes nothing: the default, and what `metrics: off` runs with. */
export const noopObserver: GatewayObserver = {
  enabled: false,
  connectionOpened: nothing,
  connectionClosed: nothing,
  frameReceived: nothing,
  sessionCreated: nothing,
  sessionResumed: nothing,
  resumeFailed: nothing,
  sessionEnded: nothing,
  framesReplayed: nothing,
  requestDeduplicated: nothing,
  requestStarted: nothing,
  firstChunk: nothing,
  requestEnded: nothing,
  cancelAcknowledged: nothing,
  queueOverflowed: nothing,
};
