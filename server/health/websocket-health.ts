/**
 * The body of `GET /health/websocket`: the transport's health as JSON, for dashboards and
 * people. Counts come from the telemetry (absent when metrics are off: those sections are then
 * null), gauges from the gateway, server state from the running charts.
 */
import { type GatewayView, sessionStats } from '../metrics/gateway-view.ts';
import type { LatencySummary } from '../metrics/latency-window.ts';
import type { Telemetry } from '../metrics/telemetry.ts';
import type { BreakerStatus, SystemStatus, ThermalStatus } from './system-status.ts';

export interface WebsocketHealthSources {
  gateway: GatewayView;
  telemetry: Telemetry | null;
  status: SystemStatus;
  limits: { replayBufferFrames: number; replayBufferBytes: number };
  /** `Date.now()` when the server was built. */
  startedAt: number;
}

export interface WebsocketHealth {
  status: 'ok' | 'degraded' | 'critical' | 'draining';
  metrics: boolean;
  connections: {
    active: number;
    opened_total: number | null;
    closed_total: number | null;
    closed_by_code: Record<string, number> | null;
  };
  messages: {
    frames_sent_total: number;
    frames_replayed_total: number;
    frames_received_total: number;
    frames_deduplicated_total: number;
  } | null;
  requests: {
    active: number;
    started_total: number;
    done_total: number;
    cancelled_total: number;
    forced_total: number;
    abandoned_total: number;
    failed_total: number;
    failed_by_code: Record<string, number>;
  } | null;
  queue: {
    buffered_frames: number;
    buffered_bytes: number;
    limit_frames_per_session: number;
    limit_bytes_per_session: number;
    overflows_total: number | null;
  };
  retry: {
    sessions_active: number;
    sessions_detached: number;
    resumed_total: number | null;
    resume_failures: Record<string, number> | null;
    expired_total: number | null;
  };
  circuit_breaker: BreakerStatus;
  latency: {
    first_chunk: LatencySummary;
    cancel_ack: LatencySummary;
    resume: LatencySummary;
    connection_duration: LatencySummary;
  } | null;
  thermal: ThermalStatus;
  uptime_seconds: number;
  /** When this report was made (ISO 8601). */
  last_update: string;
  /** When the last connection, session or request event happened (ISO 8601), if metrics are on. */
  last_activity: string | null;
}

function record<K extends string | number>(map: Map<K, number>): Record<string, number> {
  const out: Record<string, number> = {};
  for (const [key, value] of map) out[String(key)] = value;
  return out;
}

function sum(map: Map<string, number>): number {
  let total = 0;
  for (const value of map.values()) total += value;
  return total;
}

/** The overall verdict: critical when hot, degraded while the breaker is not closed. */
export function overallStatus(status: SystemStatus): WebsocketHealth['status'] {
  if (status.draining()) return 'draining';
  if (status.thermal().state === 'critical') return 'critical';
  if (status.breaker().state !== 'closed' || status.thermal().state === 'throttled')
    return 'degraded';
  return 'ok';
}

export function websocketHealth(sources: WebsocketHealthSources): WebsocketHealth {
  const { gateway, telemetry: t, status, limits } = sources;
  const sessions = sessionStats(gateway);
  const now = Date.now();
  return {
    status: overallStatus(status),
    metrics: t !== null,
    connections: {
      active: gateway.connectionCount,
      opened_total: t ? t.connectionsOpened : null,
      closed_total: t ? t.connectionsClosed : null,
      closed_by_code: t ? record(t.connectionsClosedByCode) : null,
    },
    messages: t
      ? {
          frames_sent_total: t.framesSent,
          frames_replayed_total: t.framesReplayedTotal,
          frames_received_total: t.framesReceivedTotal,
          frames_deduplicated_total: t.requestsDeduplicatedTotal,
        }
      : null,
    requests: t
      ? {
          active: t.requestsActive,
          started_total: t.requestsStarted,
          done_total: t.requestsEnded.get('done') ?? 0,
          cancelled_total: t.requestsEnded.get('cancelled') ?? 0,
          forced_total: t.requestsEnded.get('forced') ?? 0,
          abandoned_total: t.requestsEnded.get('abandoned') ?? 0,
          failed_total: sum(t.requestsFailedByCode),
          failed_by_code: record(t.requestsFailedByCode),
        }
      : null,
    queue: {
      buffered_frames: sessions.bufferedFrames,
      buffered_bytes: sessions.bufferedBytes,
      limit_frames_per_session: limits.replayBufferFrames,
      limit_bytes_per_session: limits.replayBufferBytes,
      overflows_total: t ? t.queueOverflowsTotal : null,
    },
    retry: {
      sessions_active: sessions.active,
      sessions_detached: sessions.detached,
      resumed_total: t ? t.sessionsResumed : null,
      resume_failures: t ? record(t.resumeFailures) : null,
      expired_total: t ? (t.sessionsEnded.get('expired') ?? 0) : null,
    },
    circuit_breaker: status.breaker(),
    latency: t
      ? {
          first_chunk: t.latencySummary('firstChunk'),
          cancel_ack: t.latencySummary('cancelAck'),
          resume: t.latencySummary('resume'),
          connection_duration: t.latencySummary('connectionDuration'),
        }
      : null,
    thermal: status.thermal(),
    uptime_seconds: Math.round((now - sources.startedAt) / 1000),
    last_update: new Date(now).toISOString(),
    last_activity: t ? new Date(t.lastActivity).toISOString() : null,
  };
}
