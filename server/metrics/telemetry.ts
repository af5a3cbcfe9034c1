/**
 * The observer that counts: plain numbers and small maps updated at each gateway event, read at
 * scrape time by the Prometheus registry (`prometheus.ts`) and by `/health/websocket`. Nothing
 * here runs per chunk; the per-frame count lives on each connection (`ConnectionTally`) and is
 * summed when read.
 */
import { type LatencySummary, LatencyWindow } from './latency-window.ts';
import type {
  ConnectionTally,
  GatewayObserver,
  RequestOutcome,
  ResumeFailureReason,
} from './observer.ts';

export type LatencyKind = 'firstChunk' | 'cancelAck' | 'resume' | 'connectionDuration';

/** Receives every sample as it is recorded (the Prometheus histograms), in seconds. */
export interface TelemetrySink {
  latency(kind: LatencyKind, seconds: number): void;
  connectionFrames(frames: number): void;
}

function bump<K>(map: Map<K, number>, key: K, by = 1): void {
  map.set(key, (map.get(key) ?? 0) + by);
}

export class Telemetry implements GatewayObserver {
  readonly enabled = true;
  readonly startedAt = Date.now();
  /** Wall-clock time of the last event recorded. */
  lastActivity = this.startedAt;

  readonly openConnections = new Set<ConnectionTally>();
  connectionsOpened = 0;
  readonly connectionsClosedByCode = new Map<number, number>();
  /** Frames sent on connections that have closed; open ones are summed from their tallies. */
  private framesSentClosed = 0;
  framesReceivedTotal = 0;
  framesReplayedTotal = 0;
  requestsDeduplicatedTotal = 0;

  sessionsCreated = 0;
  sessionsResumed = 0;
  readonly resumeFailures = new Map<ResumeFailureReason, number>();
  readonly sessionsEnded = new Map<'expired' | 'closed', number>();

  requestsStarted = 0;
  readonly requestsEnded = new Map<RequestOutcome, number>();
  readonly requestsFailedByCode = new Map<string, number>();
  queueOverflowsTotal = 0;

  readonly latency: Record<LatencyKind, LatencyWindow> = {
    firstChunk: new LatencyWindow(),
    cancelAck: new LatencyWindow(),
    resume: new LatencyWindow(),
    connectionDuration: new LatencyWindow(),
  };

  private sink: TelemetrySink | null = null;

  /** Forwards every later sample to `sink` as well (one sink; a second replaces the first). */
  attach(sink: TelemetrySink): void {
    this.sink = sink;
  }

  get framesSent(): number {
    let total = this.framesSentClosed;
    for (const connection of this.openConnections) total += connection.framesSent;
    return total;
  }

  get connectionsClosed(): number {
    let total = 0;
    for (const count of this.connectionsClosedByCode.values()) total += count;
    return total;
  }

  get requestsActive(): number {
    let ended = 0;
    for (const count of this.requestsEnded.values()) ended += count;
    return this.requestsStarted - ended;
  }

  latencySummary(kind: LatencyKind): LatencySummary {
    return this.latency[kind].summary();
  }

  connectionOpened(connection: ConnectionTally): void {
    this.touch();
    this.connectionsOpened++;
    this.openConnections.add(connection);
  }

  connectionClosed(connection: ConnectionTally, code: number): void {
    if (!this.openConnections.delete(connection)) return; // reported once only
    this.touch();
    bump(this.connectionsClosedByCode, code);
    this.framesSentClosed += connection.framesSent;
    this.record('connectionDuration', performance.now() - connection.openedAt);
    this.sink?.connectionFrames(connection.framesSent);
  }

  frameReceived(): void {
    this.framesReceivedTotal++;
  }

  sessionCreated(): void {
    this.touch();
    this.sessionsCreated++;
  }

  sessionResumed(latencyMs: number): void {
    this.touch();
    this.sessionsResumed++;
    this.record('resume', latencyMs);
  }

  resumeFailed(reason: ResumeFailureReason): void {
    this.touch();
    bump(this.resumeFailures, reason);
  }

  sessionEnded(reason: 'expired' | 'closed'): void {
    this.touch();
    bump(this.sessionsEnded, reason);
  }

  framesReplayed(count: number): void {
    this.framesReplayedTotal += count;
  }

  requestDeduplicated(): void {
    this.requestsDeduplicatedTotal++;
  }

  requestStarted(): void {
    this.touch();
    this.requestsStarted++;
  }

  firstChunk(latencyMs: number): void {
    this.record('firstChunk', latencyMs);
  }

  requestEnded(outcome: RequestOutcome, code?: string): void {
    this.touch();
    bump(this.requestsEnded, outcome);
    if (outcome === 'failed') bump(this.requestsFailedByCode, code ?? 'internal');
  }

  cancelAcknowledged(latencyMs: number): void {
    this.record('cancelAck', latencyMs);
  }

  queueOverflowed(): void {
    this.queueOverflowsTotal++;
  }

  private record(kind: LatencyKind, ms: number): void {
    this.latency[kind].record(ms);
    this.sink?.latency(kind, ms / 1000);
  }

  private touch(): void {
    this.lastActivity = Date.now();
  }
}
