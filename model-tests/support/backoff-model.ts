/**
 * The reconnection-backoff chart as a test model. In the real system the chart is the connection
 * chart's child, so what can happen to it next depends on where the connection is; the phase says
 * that: `connecting` (a link is being made after an attempt), `ready` (the handshake completed and
 * reset the attempts), or nothing (no link: the connection waits or has given up).
 *
 * The traversal runs on the chart with its three reports to the parent (`sendParent`) provided as
 * no-ops: the graph utilities step a machine without a parent, and those reports change nothing
 * in the chart itself. States, guards, context and delays are the chart's own.
 */
import type { AnyMachineSnapshot, EventObject } from 'xstate';
import { machines } from '../../machines/index.ts';
import { generatedEventTypes } from './chart-graph.ts';
import type { ChartModel } from './model-paths.ts';
import { rigBackoff } from './rig-settings.ts';

export const backoffChart = machines['reconnection-backoff'];

export const Connecting = 'connecting';
export const Ready = 'ready';

const retryDelayEvents: EventObject[] = generatedEventTypes(backoffChart).map((type) => ({ type }));

/**
 * Transitions of the chart the real client can never take, with the reason. None today: the
 * chart takes `backoff.reset` only while idle, the one state in which a welcome can arrive.
 */
export const unreachableThroughTheClient: Record<string, string> = {};

function candidates(snapshot: AnyMachineSnapshot, phase: string): EventObject[] {
  const schedule = { type: 'backoff.schedule' };
  const retryNow = { type: 'backoff.retryNow' };
  const reset = { type: 'backoff.reset' };
  if (snapshot.matches('idle')) {
    // Linked: a drop schedules, a welcome resets. Only a fatal close after a welcome leaves the
    // backoff idle with the connection failed, where a retry can reach it.
    return phase === Ready ? [schedule, retryNow] : [schedule, reset];
  }
  if (snapshot.matches('waiting')) return [...retryDelayEvents, retryNow];
  return [retryNow];
}

export const backoffModel: ChartModel = {
  machine: backoffChart.provide({
    actions: { reportScheduled: () => {}, requestAttempt: () => {}, reportExhausted: () => {} },
  }),
  input: { policy: rigBackoff },
  identify: (snapshot) => ({ value: snapshot.value, attempt: snapshot.context.attempt }),
  phase: (snapshot, event) => {
    if (!snapshot.matches('idle')) return '';
    return event?.type === 'backoff.reset' ? Ready : Connecting;
  },
  events: candidates,
};
