/**
 * The Prometheus view of one server: its own registry (never prom-client's global one, so two
 * servers in one process do not clash), with every Threadline metric read from the telemetry
 * and the gateway at scrape time, latency histograms fed as samples arrive, and process
 * metrics. Names follow Prometheus conventions: base units in the name, `_total` on counters.
 */
import { Counter, Gauge, Histogram, Registry } from 'prom-client';
import { breakerStates, type SystemStatus, thermalStates } from '../health/system-status.ts';
import { type GatewayView, sessionStats } from './gateway-view.ts';
import type { RequestOutcome, ResumeFailureReason } from './observer.ts';
import { registerProcessMetrics } from './process-metrics.ts';
import type { LatencyKind, Telemetry } from './telemetry.ts';

export interface PrometheusSources {
  telemetry: Telemetry;
  gateway: GatewayView;
  status: SystemStatus;
  /** Inspector pages watching right now. */
  inspectorClients?: () => number;
}

export interface PrometheusMetrics {
  readonly registry: Registry;
  readonly contentType: string;
  /** The exposition text of every metric, read now. */
  scrape(): Promise<string>;
  /** Stops the process collectors' event-loop monitor. */
  dispose(): void;
}

const PREFIX = 'threadline_';

/** Latency buckets, in seconds: sub-millisecond on a LAN up to seconds over a bad link. */
const LATENCY_BUCKETS = [
  0.0005, 0.001, 0.0025, 0.005, 0.01, 0.025, 0.05, 0.1, 0.25, 0.5, 1, 2.5, 5,
];
const DURATION_BUCKETS = [0.1, 1, 10, 60, 300, 900, 3600, 4 * 3600, 24 * 3600];
const FRAME_BUCKETS = [0, 1, 10, 100, 1000, 10_000, 100_000, 1_000_000];

const resumeFailureReasons: readonly ResumeFailureReason[] = [
  'expired',
  'unknown',
  'overflowed',
  'refused',
];

type Entries = Iterable<readonly [string | number, number]>;

export function createPrometheusMetrics(sources: PrometheusSources): PrometheusMetrics {
  const { telemetry, gateway, status } = sources;
  const registry = new Registry();
  const registers = [registry];

  /** A counter whose value is read from the telemetry at scrape time. */
  const counter = (name: string, help: string, read: () => number) =>
    new Counter({
      name: PREFIX + name,
      help,
      registers,
      collect() {
        this.reset();
        this.inc(read());
      },
    });
  /** A counter with one label, one sample per entry; `seed` values are always present. */
  const labelled = (
    name: string,
    help: string,
    label: string,
    read: () => Entries,
    seed: readonly string[] = [],
  ) =>
    new Counter({
      name: PREFIX + name,
      help,
      labelNames: [label],
      registers,
      collect() {
        this.reset();
        for (const value of seed) this.inc({ [label]: value }, 0);
        for (const [key, count] of read()) this.inc({ [label]: String(key) }, count);
      },
    });
  const gauge = (name: string, help: string, read: () => number) =>
    new Gauge({
      name: PREFIX + name,
      help,
      registers,
      collect() {
        this.set(read());
      },
    });
  /** One sample per possible state, 1 for the current one (the usual Prometheus enum). */
  const stateGauge = (name: string, help: string, states: readonly string[], read: () => string) =>
    new Gauge({
      name: PREFIX + name,
      help,
      labelNames: ['state'],
      registers,
      collect() {
        const current = read();
        for (const state of states) this.set({ state }, state === current ? 1 : 0);
      },
    });
  const ended = (outcome: RequestOutcome) => () => telemetry.requestsEnded.get(outcome) ?? 0;

  // Connections.
  gauge('connections_active', 'Open WebSocket connections.', () => gateway.connectionCount);
  counter(
    'connections_opened_total',
    'WebSocket connections accepted.',
    () => telemetry.connectionsOpened,
  );
  labelled(
    'connections_closed_total',
    'WebSocket connections closed, by close code.',
    'code',
    () => telemetry.connectionsClosedByCode,
  );

  // Sessions. Read at scrape time: one pass over the store per gauge.
  gauge(
    'sessions_active',
    'Sessions held: attached to a socket, or detached and kept for their TTL.',
    () => gateway.store.size,
  );
  gauge(
    'sessions_detached',
    'Sessions without a socket, waiting for a resume.',
    () => sessionStats(gateway).detached,
  );
  counter(
    'sessions_created_total',
    'Sessions started (a new thread, or a resume not granted).',
    () => telemetry.sessionsCreated,
  );
  counter(
    'sessions_resumed_total',
    'Resumes granted: a reconnecting client got its session back.',
    () => telemetry.sessionsResumed,
  );
  labelled(
    'session_resume_failures_total',
    'Resumes not granted, by reason (expired, unknown, overflowed, refused).',
    'reason',
    () => telemetry.resumeFailures,
    resumeFailureReasons,
  );
  counter(
    'sessions_expired_total',
    'Sessions dropped after their TTL without a socket.',
    () => telemetry.sessionsEnded.get('expired') ?? 0,
  );
  counter(
    'sessions_closed_total',
    'Sessions closed by the client saying goodbye.',
    () => telemetry.sessionsEnded.get('closed') ?? 0,
  );

  // Frames and the replay buffer.
  counter(
    'frames_sent_total',
    'Data frames handed to sockets, replays included.',
    () => telemetry.framesSent,
  );
  counter(
    'frames_replayed_total',
    'Data frames sent again to resuming clients.',
    () => telemetry.framesReplayedTotal,
  );
  counter(
    'frames_received_total',
    'Client frames received and parsed.',
    () => telemetry.framesReceivedTotal,
  );
  counter(
    'frames_deduplicated_total',
    'Client request frames dropped because the session had already seen the request id (a resend after a resume). The client drops duplicate server frames itself.',
    () => telemetry.requestsDeduplicatedTotal,
  );
  gauge(
    'replay_buffer_frames',
    'Unacknowledged frames kept for replay, over all sessions.',
    () => sessionStats(gateway).bufferedFrames,
  );
  gauge(
    'replay_buffer_bytes',
    'Unacknowledged bytes kept for replay, over all sessions.',
    () => sessionStats(gateway).bufferedBytes,
  );
  counter(
    'queue_overflows_total',
    'Times a stream found the replay buffer or the socket send queue full and paused for room.',
    () => telemetry.queueOverflowsTotal,
  );

  // Requests.
  counter(
    'requests_started_total',
    'Requests accepted (duplicates excluded).',
    () => telemetry.requestsStarted,
  );
  gauge('requests_active', 'Requests accepted and not yet ended.', () => telemetry.requestsActive);
  counter('requests_done_total', 'Requests answered in full.', ended('done'));
  new Counter({
    name: `${PREFIX}requests_cancelled_total`,
    help: 'Requests cancelled; forced="true" when the responder did not stop within the cancel timeout.',
    labelNames: ['forced'],
    registers,
    collect() {
      this.reset();
      this.inc({ forced: 'false' }, telemetry.requestsEnded.get('cancelled') ?? 0);
      this.inc({ forced: 'true' }, telemetry.requestsEnded.get('forced') ?? 0);
    },
  });
  labelled(
    'requests_failed_total',
    'Requests that ended with an error frame (refusals included), by error code.',
    'code',
    () => telemetry.requestsFailedByCode,
  );
  counter(
    'requests_abandoned_total',
    'Requests whose session ended (closed or expired) while they streamed.',
    ended('abandoned'),
  );

  // Latency.
  const histogram = (name: string, help: string, buckets: number[]) =>
    new Histogram({ name: PREFIX + name, help, buckets, registers });
  const latency: Record<LatencyKind, Histogram> = {
    firstChunk: histogram(
      'first_chunk_latency_seconds',
      'From a request frame arriving to its first chunk handed to the socket.',
      LATENCY_BUCKETS,
    ),
    cancelAck: histogram(
      'cancel_ack_latency_seconds',
      'From a cancel frame arriving to the cancelled frame.',
      LATENCY_BUCKETS,
    ),
    resume: histogram(
      'resume_latency_seconds',
      'From a resuming hello arriving to the missed frames handed to the socket.',
      LATENCY_BUCKETS,
    ),
    connectionDuration: histogram(
      'connection_duration_seconds',
      'How long WebSocket connections stayed open.',
      DURATION_BUCKETS,
    ),
  };
  const framesPerConnection = histogram(
    'connection_frames',
    'Data frames sent per connection, observed when it closes.',
    FRAME_BUCKETS,
  );
  telemetry.attach({
    latency: (kind, seconds) => latency[kind].observe(seconds),
    connectionFrames: (frames) => framesPerConnection.observe(frames),
  });

  // Server state.
  stateGauge(
    'circuit_breaker_state',
    'Circuit breaker state (1 for the current one).',
    breakerStates,
    () => status.breaker().state,
  );
  stateGauge(
    'thermal_state',
    'Thermal state (1 for the current one).',
    thermalStates,
    () => status.thermal().state,
  );
  gauge(
    'thermal_temperature_celsius',
    'Last temperature reading; -1 without a sensor.',
    () => status.thermal().celsius,
  );
  gauge('draining', '1 while the server admits no new work (draining or stopped).', () =>
    status.draining() ? 1 : 0,
  );
  gauge(
    'uptime_seconds',
    'Seconds since this server was built.',
    () => (Date.now() - telemetry.startedAt) / 1000,
  );
  if (sources.inspectorClients) {
    gauge(
      'inspector_clients',
      'Live statechart inspector pages connected.',
      sources.inspectorClients,
    );
  }

  const process = registerProcessMetrics(registry);

  return {
    registry,
    contentType: registry.contentType,
    scrape: () => registry.metrics(),
    dispose: () => process.dispose(),
  };
}
