/**
 * The server at a glance, from `GET /health/websocket` read once a second by the dashboard
 * chart: overall state, circuit breaker and thermal level (each coloured and named), and live
 * numbers with a minute of history: connections, throughput, first-chunk latency, reconnects,
 * requests, replay buffer.
 */
import { useActorRef, useSelector } from '@xstate/react';
import { fromPromise } from 'xstate';
import { dashboardMachine } from '../../model/dashboard/dashboard-machine.ts';
import {
  breakerIndicator,
  type HealthSample,
  HISTORY_LIMIT,
  type Indicator,
  isHealthReport,
  overallIndicator,
  thermalIndicator,
  type WebsocketHealth,
} from '../../model/dashboard/health.ts';
import { Sparkline } from './Sparkline.tsx';

const dashboardLogic = dashboardMachine.provide({
  actors: {
    fetchHealth: fromPromise<WebsocketHealth>(async ({ signal }) => {
      const response = await fetch('/health/websocket', {
        signal,
        cache: 'no-store',
        headers: { accept: 'application/json' },
      });
      if (!response.ok) throw new Error(`the server answered ${response.status}`);
      const body: unknown = await response.json();
      if (!isHealthReport(body)) throw new Error('the health report was not understood');
      return body;
    }),
  },
});

export function Dashboard() {
  const dashboard = useActorRef(dashboardLogic, { input: {} });
  const latest = useSelector(dashboard, (snapshot) => snapshot.context.latest);
  const history = useSelector(dashboard, (snapshot) => snapshot.context.history);
  const phase = useSelector(dashboard, (snapshot) =>
    snapshot.matches('live')
      ? 'live'
      : snapshot.matches('unreachable')
        ? 'unreachable'
        : 'starting',
  );
  const problem = useSelector(dashboard, (snapshot) => snapshot.context.problem);

  return (
    <main className="view dashboard" aria-labelledby="dashboard-title">
      <div className="view-head">
        <h2 id="dashboard-title">Server dashboard</h2>
        <p className={`feed-state feed-${phase}`} role="status" data-testid="dashboard-state">
          <span className="dot" aria-hidden="true" />
          {phase === 'live' && latest
            ? `Live · updated ${clock(latest.last_update)} · every second`
            : phase === 'unreachable'
              ? `Server unreachable (${problem ?? 'no answer'}) · retrying every second`
              : 'Reading the server’s health…'}
        </p>
      </div>
      {latest ? (
        <Report latest={latest} history={history} stale={phase !== 'live'} />
      ) : (
        <p className="placeholder">No report yet.</p>
      )}
    </main>
  );
}

function Report({
  latest,
  history,
  stale,
}: {
  latest: WebsocketHealth;
  history: HealthSample[];
  stale: boolean;
}) {
  const series = <K extends keyof HealthSample>(key: K) =>
    history.map((sample) => sample[key] as number | null);
  const now = history.at(-1);
  const recentReconnects = history.reduce((sum, sample) => sum + (sample.reconnects ?? 0), 0);
  const requests = latest.requests;
  const firstChunk = latest.latency?.first_chunk;
  return (
    <div className={stale ? 'report stale' : 'report'}>
      <section className="indicators" aria-label="Server state">
        <IndicatorCard title="Server" indicator={overallIndicator(latest)} />
        <IndicatorCard
          title="Circuit breaker"
          indicator={breakerIndicator(latest.circuit_breaker)}
        />
        <IndicatorCard title="Thermal" indicator={thermalIndicator(latest.thermal)} />
      </section>
      <section className="metrics" aria-label="Live numbers">
        <Metric
          name="connections"
          title="Connections"
          value={count(latest.connections.active)}
          unit="open"
          detail={
            latest.connections.opened_total !== null
              ? `${latest.connections.opened_total} opened · ${latest.connections.closed_total ?? 0} closed`
              : 'totals need metrics on'
          }
          values={series('connections')}
        />
        <Metric
          name="throughput"
          title="Throughput"
          value={rate(now?.framesPerSecond ?? null)}
          unit="frames/s"
          detail={
            latest.messages
              ? `${latest.messages.frames_sent_total} sent · ${latest.messages.frames_received_total} received`
              : 'needs metrics on'
          }
          values={series('framesPerSecond')}
        />
        <Metric
          name="latency"
          title="First-chunk latency"
          value={ms(firstChunk?.p50_ms ?? null)}
          unit="ms p50"
          detail={
            firstChunk && firstChunk.count > 0
              ? `p90 ${ms(firstChunk.p90_ms)} ms · p99 ${ms(firstChunk.p99_ms)} ms · ${plural(firstChunk.count, 'answer')}`
              : 'no answer yet'
          }
          values={series('firstChunkP50')}
        />
        <Metric
          name="reconnects"
          title="Reconnects"
          value={count(recentReconnects)}
          unit="in the last minute"
          detail={
            latest.retry.resumed_total !== null
              ? `${plural(latest.retry.resumed_total, 'session')} resumed · ${latest.retry.sessions_detached} detached now`
              : `${latest.retry.sessions_detached} detached now`
          }
          values={series('reconnects')}
          tone="warn"
        />
        <Metric
          name="requests"
          title="Requests streaming"
          value={requests ? count(requests.active) : '—'}
          unit="now"
          detail={
            requests
              ? `${requests.started_total} started · ${requests.done_total} done · ${requests.cancelled_total} cancelled · ${requests.failed_total} failed`
              : 'needs metrics on'
          }
          values={series('requestsActive')}
        />
        <Metric
          name="buffer"
          title="Replay buffer"
          value={count(latest.queue.buffered_frames)}
          unit="frames held"
          detail={`${plural(latest.retry.sessions_active, 'session')} · limit ${latest.queue.limit_frames_per_session} frames each`}
          values={series('bufferedFrames')}
        />
      </section>
      <p className="report-foot">
        Up {duration(latest.uptime_seconds)} · report of {clock(latest.last_update)}
        {latest.last_activity ? ` · last activity ${clock(latest.last_activity)}` : ''}
      </p>
    </div>
  );
}

function IndicatorCard({ title, indicator }: { title: string; indicator: Indicator }) {
  return (
    <div
      className={`indicator tone-${indicator.tone}`}
      data-testid={`indicator-${title.toLowerCase().replaceAll(' ', '-')}`}
      data-tone={indicator.tone}
    >
      <span className="lamp" aria-hidden="true" />
      <div>
        <h3>{title}</h3>
        <p>
          <strong className="indicator-label">{indicator.label}</strong>
          <span className="indicator-detail">{indicator.detail}</span>
        </p>
      </div>
    </div>
  );
}

function Metric({
  name,
  title,
  value,
  unit,
  detail,
  values,
  tone,
}: {
  name: string;
  title: string;
  value: string;
  unit: string;
  detail: string;
  values: Array<number | null>;
  tone?: 'accent' | 'warn';
}) {
  const present = values.filter((item): item is number => item !== null);
  const range =
    present.length > 0
      ? `Over the last ${values.length} s: lowest ${format(Math.min(...present))}, highest ${format(Math.max(...present))}.`
      : 'No history yet.';
  return (
    <article className="metric" data-testid={`metric-${name}`} aria-labelledby={`metric-${name}`}>
      <h3 id={`metric-${name}`}>{title}</h3>
      <p className="metric-value">
        <span className="metric-number" data-testid={`value-${name}`}>
          {value}
        </span>{' '}
        <span className="metric-unit">{unit}</span>
      </p>
      <Sparkline values={values} capacity={HISTORY_LIMIT} tone={tone ?? 'accent'} />
      <p className="sr-only">{range}</p>
      <p className="metric-detail">{detail}</p>
    </article>
  );
}

function plural(count: number, noun: string): string {
  return `${count} ${noun}${count === 1 ? '' : 's'}`;
}

function format(value: number): string {
  return Number.isInteger(value) ? String(value) : value.toFixed(1);
}

function count(value: number): string {
  return String(value);
}

function rate(value: number | null): string {
  if (value === null) return '—';
  return value < 10 ? value.toFixed(1) : String(Math.round(value));
}

function ms(value: number | null): string {
  if (value === null) return '—';
  return value < 10 ? value.toFixed(2) : value < 100 ? value.toFixed(1) : String(Math.round(value));
}

function clock(iso: string): string {
  const date = new Date(iso);
  return Number.isNaN(date.getTime()) ? iso : date.toLocaleTimeString([], { hour12: false });
}

function duration(seconds: number): string {
  if (seconds < 60) return `${seconds} s`;
  if (seconds < 3600) return `${Math.floor(seconds / 60)} min ${seconds % 60} s`;
  return `${Math.floor(seconds / 3600)} h ${Math.floor((seconds % 3600) / 60)} min`;
}
