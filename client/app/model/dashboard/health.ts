/**
 * The server's `GET /health/websocket` report as the dashboard keeps it: each report becomes a
 * sample (rates from the difference with the one before, over the server's own clock), and a
 * short history of samples feeds the sparklines. Pure.
 */
import type { WebsocketHealth } from '../../../../server/health/websocket-health.ts';

export type { WebsocketHealth };

export interface HealthSample {
  /** The server's time of the report, in ms since the epoch. */
  at: number;
  connections: number;
  /** Frames sent per second since the previous report (null without one, or metrics off). */
  framesPerSecond: number | null;
  requestsActive: number | null;
  /** First-chunk latency percentiles over the server's recent window, in ms. */
  firstChunkP50: number | null;
  firstChunkP90: number | null;
  /** Sessions resumed since the previous report. */
  reconnects: number | null;
  bufferedFrames: number;
  /** Counters as reported, for the next difference. */
  framesSentTotal: number | null;
  resumedTotal: number | null;
}

/** About a minute at one report a second. */
export const HISTORY_LIMIT = 60;

function difference(now: number | null, before: number | null | undefined): number | null {
  if (now === null || before === null || before === undefined) return null;
  const delta = now - before;
  return delta >= 0 ? delta : null; // a restarted server starts counting again
}

export function toSample(
  health: WebsocketHealth,
  previous: HealthSample | undefined,
): HealthSample {
  const at = Date.parse(health.last_update);
  const framesSentTotal = health.messages?.frames_sent_total ?? null;
  const resumedTotal = health.retry.resumed_total;
  const seconds = previous ? (at - previous.at) / 1000 : 0;
  const frames = difference(framesSentTotal, previous?.framesSentTotal);
  return {
    at,
    connections: health.connections.active,
    framesPerSecond: frames !== null && seconds > 0 ? frames / seconds : null,
    requestsActive: health.requests?.active ?? null,
    firstChunkP50: health.latency?.first_chunk.p50_ms ?? null,
    firstChunkP90: health.latency?.first_chunk.p90_ms ?? null,
    reconnects: difference(resumedTotal, previous?.resumedTotal),
    bufferedFrames: health.queue.buffered_frames,
    framesSentTotal,
    resumedTotal,
  };
}

/** `history` with a sample of `health` added, the oldest dropped beyond `limit`. */
export function addSample(
  history: readonly HealthSample[],
  health: WebsocketHealth,
  limit = HISTORY_LIMIT,
): HealthSample[] {
  const next = [...history, toSample(health, history.at(-1))];
  return next.length > limit ? next.slice(next.length - limit) : next;
}

/** The report's minimal shape, checked before it is believed. */
export function isHealthReport(value: unknown): value is WebsocketHealth {
  if (typeof value !== 'object' || value === null) return false;
  const record = value as Record<string, unknown>;
  return (
    typeof record.status === 'string' &&
    typeof record.last_update === 'string' &&
    typeof record.connections === 'object' &&
    record.connections !== null &&
    typeof record.queue === 'object' &&
    typeof record.retry === 'object' &&
    typeof record.thermal === 'object' &&
    typeof record.circuit_breaker === 'object'
  );
}

export type Tone = 'ok' | 'warn' | 'error' | 'muted';

export interface Indicator {
  tone: Tone;
  /** Said in words too, never by colour alone. */
  label: string;
  detail: string;
}

function seconds(ms: number): string {
  return `${Math.max(0, Math.ceil(ms / 1000))} s`;
}

export function breakerIndicator(breaker: WebsocketHealth['circuit_breaker']): Indicator {
  switch (breaker.state) {
    case 'closed':
      return { tone: 'ok', label: 'Closed', detail: 'The upstream answers normally.' };
    case 'halfOpen':
      return { tone: 'warn', label: 'Half-open', detail: 'One trial request decides.' };
    case 'open':
      return {
        tone: 'error',
        label: 'Open',
        detail:
          breaker.retryAfterMs !== undefined
            ? `Failing fast; next trial in ${seconds(breaker.retryAfterMs)}.`
            : 'Failing fast after repeated upstream failures.',
      };
  }
}

export function thermalIndicator(thermal: WebsocketHealth['thermal']): Indicator {
  const reading = thermal.celsius >= 0 ? `${thermal.celsius.toFixed(1)} °C` : '';
  switch (thermal.state) {
    case 'normal':
      return { tone: 'ok', label: 'Normal', detail: reading || 'Within limits.' };
    case 'throttled':
      return {
        tone: 'warn',
        label: 'Throttled',
        detail: `${reading ? `${reading}: ` : ''}new requests refused until it cools down.`,
      };
    case 'critical':
      return {
        tone: 'error',
        label: 'Critical',
        detail: `${reading ? `${reading}: ` : ''}streams stopped until it cools down.`,
      };
    case 'unavailable':
      return { tone: 'muted', label: 'No sensor', detail: 'No temperature reading.' };
  }
}

export function overallIndicator(health: WebsocketHealth): Indicator {
  switch (health.status) {
    case 'ok':
      return { tone: 'ok', label: 'Healthy', detail: 'Admitting and streaming normally.' };
    case 'degraded': {
      const reasons: string[] = [];
      if (health.thermal.state === 'throttled') reasons.push('throttled while it cools down');
      if (health.circuit_breaker.state !== 'closed') {
        reasons.push(
          `the upstream breaker is ${health.circuit_breaker.state === 'open' ? 'open' : 'half-open'}`,
        );
      }
      const detail = reasons.length > 0 ? reasons.join('; ') : 'not at full service';
      return {
        tone: 'warn',
        label: 'Degraded',
        detail: `${detail[0]?.toUpperCase()}${detail.slice(1)}.`,
      };
    }
    case 'critical':
      return { tone: 'error', label: 'Critical', detail: 'Too hot: not admitting new work.' };
    case 'draining':
      return { tone: 'warn', label: 'Draining', detail: 'Shutting down: no new work admitted.' };
  }
}
