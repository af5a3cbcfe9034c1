/**
 * The cancellation chart as a test model. The same chart runs on both sides of a request: the
 * server's instance around the upstream (its `answer` actor is the responder pump), the client's
 * around the server's final frames. Each path is replayed with one side as its subject, the side
 * whose real instance must take exactly the path, while the other side does what the real system
 * makes it do. Some transitions only one side can take; they are listed here with the reason.
 */
import type { EventObject } from 'xstate';
import type { AnswerFailure } from '../../machines/cancellation.ts';
import { machines } from '../../machines/index.ts';
import { generatedEventTypes } from './chart-graph.ts';
import { clientCancelTimeoutMs } from './conversation-settings.ts';
import type { ChartModel } from './model-paths.ts';

export const cancellationChart = machines.cancellation;

export type Side = 'server' | 'client';
export const sides: readonly Side[] = ['server', 'client'];

const [cancelTimeoutType] = generatedEventTypes(cancellationChart);
if (!cancelTimeoutType) throw new Error('the cancellation chart has no cancel timeout');
export const cancelTimeoutElapsed: EventObject = { type: cancelTimeoutType };

/** How the scripted upstream fails, as the final error frame reports it. */
export const upstreamFailure: AnswerFailure = {
  code: 'upstream_failed',
  message: 'the upstream failed',
  retryable: true,
};

/**
 * Transitions a side's real instance can never take, with the reason. The server's `answer`
 * reports `answer.stopped` only once the request's AbortSignal fired, and nothing but the
 * chart's own `abortAnswer` (on entering `cancelRequested`) fires it; and once it fired, the
 * pump reports whatever the responder throws as stopped, never as failed.
 */
export const unreachableOn: Record<Side, Record<string, string>> = {
  server: {
    'cancellation.streaming|answer.stopped|0':
      'the upstream stops only when the AbortSignal fires, which only a requested cancel does',
    'cancellation.cancelRequested|answer.failed|0':
      'after the AbortSignal fired, any throw of the upstream is reported as stopped',
  },
  client: {},
};

export const cancellationModel: ChartModel = {
  machine: cancellationChart,
  input: {
    sessionId: 'model-thread',
    requestId: 'model-request',
    cancelTimeoutMs: clientCancelTimeoutMs,
  },
  events: () => [
    { type: 'request.cancel' },
    { type: 'answer.done' },
    { type: 'answer.stopped' },
    { type: 'answer.failed', failure: upstreamFailure },
    cancelTimeoutElapsed,
  ],
};
