/**
 * The client-thread chart (the client's root) as a test model. What the real system does next
 * depends on more than the chart's own snapshot: on the request child the chart invokes, and on
 * what the server still holds. The phase says that:
 * - `child`: the active request's cancellation chart streams, has its cancel requested, or has
 *   ended and owes the chart its done event (`ending`, which then comes by itself);
 * - `onServer`: the active request reached the server's current session;
 * - `orphan`: the server still streams a request the client gave up on (a cancel the client
 *   forced after its own timeout, while the upstream has not stopped): the server refuses the
 *   next request as busy, by itself, as soon as it arrives.
 *
 * Events are offered only where the real system can produce them: server frames only while
 * linked, a refusal (or, for a request whose cancel is already asked, the end it causes) only
 * when due, the client's forced cancel only after a cancel. Request ids are the model's (`a`,
 * `b`, `c`: the first one free); the replay maps each to a fresh real id when it is queued.
 */
import type { AnyEventObject, AnyMachineSnapshot, EventObject } from 'xstate';
import type { ClientThreadInput } from '../../machines/client-thread.ts';
import { machines } from '../../machines/index.ts';
import { upstreamFailure } from './cancellation-model.ts';
import { generatedEventTypes } from './chart-graph.ts';
import {
  clientCancelTimeoutMs,
  conversationBackoff,
  conversationTimeouts,
} from './conversation-settings.ts';
import type { ChartModel } from './model-paths.ts';

export const clientThreadChart = machines['client-thread'];

export const clientThreadInput: ClientThreadInput = {
  threadId: 'model-thread',
  connection: {
    url: 'ws://model.invalid/ws',
    threadId: 'model-thread',
    timeouts: conversationTimeouts,
    backoff: conversationBackoff,
  },
  cancelTimeoutMs: clientCancelTimeoutMs,
};

const generated = generatedEventTypes(clientThreadChart);
function generatedEvent(prefix: string): EventObject {
  const type = generated.find((t) => t.startsWith(prefix));
  if (!type) throw new Error(`the chart has no ${prefix}…`);
  return { type };
}
export const refusalRetryElapsed = generatedEvent('xstate.after.refusalRetry.');
export const requestDone = generatedEvent('xstate.done.actor.request');
export const connectionDone = generatedEvent('xstate.done.actor.connection');

/** The refusal delay, as the chart defines it. */
export const refusalRetryMs = (() => {
  const delay = clientThreadChart.implementations.delays.refusalRetry;
  if (typeof delay !== 'number') throw new Error('refusalRetry is not a fixed delay');
  return delay;
})();

/** Transitions the real client can never take, with the reason: none. */
export const unreachableThroughTheClient: Record<string, string> = {};

/** Journeys the model leaves out on purpose, with the reason. */
export const unmodelled: Record<string, string> = {};

export interface ThreadPhase {
  child: 'none' | 'streaming' | 'cancelling' | 'ending';
  onServer: boolean;
  orphan: boolean;
  /** The model's active request id this phase was worked out for. */
  active: string | null;
}

const initialPhase: ThreadPhase = { child: 'none', onServer: false, orphan: false, active: null };

export function parsePhase(phase: string): ThreadPhase {
  return phase ? (JSON.parse(phase) as ThreadPhase) : initialPhase;
}

const attachedIn = (s: AnyMachineSnapshot) => s.matches({ open: { link: 'attached' } });
const streamingIn = (s: AnyMachineSnapshot) => s.matches({ open: { work: 'streaming' } });

/** The server's answer to the active request that is on its way, if one is due by itself. */
export function dueAnswer(snapshot: AnyMachineSnapshot, phase: ThreadPhase): AnyEventObject | null {
  if (!streamingIn(snapshot)) return null;
  if (phase.child === 'ending') return requestDone;
  if (!phase.orphan || !attachedIn(snapshot)) return null;
  // The server is busy with the orphan: it refuses the request, and a refused request whose
  // cancel was already asked for ends cancelled.
  if (phase.child === 'streaming') {
    return { type: 'request.refused', requestId: snapshot.context.activeRequestId };
  }
  return phase.child === 'cancelling' ? { type: 'answer.stopped' } : null;
}

function nextPhase(
  snapshot: AnyMachineSnapshot,
  event: EventObject | undefined,
  previous: string,
): ThreadPhase {
  if (!event || event.type === 'xstate.init') return initialPhase;
  const p = parsePhase(previous);
  let { child, onServer, orphan } = p;
  const { requestId, lost } = event as { requestId?: string; lost?: string };
  switch (event.type) {
    case 'link.ready':
      if (lost) {
        // A new session: the server holds nothing of ours, and the active request is lost.
        orphan = false;
        if (child === 'streaming' || child === 'cancelling') child = 'ending';
      } else if (child === 'streaming' || child === 'cancelling') {
        onServer = true; // resent on resume
      }
      break;
    case 'request.cancel':
      if (requestId === p.active && child === 'streaming') child = 'cancelling';
      break;
    case 'answer.done':
    case 'answer.stopped':
    case 'answer.failed':
      child = 'ending';
      break;
    case refusalRetryElapsed.type:
      orphan = false; // the replay lets the server finish the orphan first
      break;
    case requestDone.type:
      // Forced on the client: the server, if it had the request, goes on streaming it.
      if (child === 'cancelling') orphan = orphan || onServer;
      child = 'none';
      break;
  }
  const active: string | null = snapshot.context.activeRequestId;
  if (!streamingIn(snapshot)) {
    child = 'none';
    onServer = false;
  } else if (active !== p.active) {
    child = 'streaming';
    onServer = attachedIn(snapshot);
  }
  return { child, onServer, orphan, active };
}

function candidates(snapshot: AnyMachineSnapshot, phaseText: string): AnyEventObject[] {
  const phase = parsePhase(phaseText);
  if (snapshot.matches('closing')) return [connectionDone];
  if (snapshot.status !== 'active') return [];
  const due = dueAnswer(snapshot, phase);
  if (due) return [due];
  const queue: string[] = snapshot.context.queue;
  const active: string | null = snapshot.context.activeRequestId;
  const free = ['a', 'b', 'c'].find((id) => id !== active && !queue.includes(id));
  const user: AnyEventObject[] = [
    ...(queue.length === 0 && free ? [{ type: 'request.queued', requestId: free }] : []),
    ...queue.map((id) => ({ type: 'request.cancel', requestId: id })),
    { type: 'thread.close' },
  ];
  if (snapshot.matches('opening')) {
    // A page that starts with a stored session the server no longer has; a message queued
    // meanwhile goes to the new session and is answered there.
    const lost = [{ type: 'link.ready', resumed: false, lost: 'expired' }];
    return [{ type: 'link.ready', resumed: false }, ...lost, ...user];
  }
  const attached = attachedIn(snapshot);
  const link: AnyEventObject[] = attached
    ? [{ type: 'link.lost' }]
    : [
        { type: 'link.ready', resumed: true },
        { type: 'link.ready', resumed: false, lost: 'expired' },
      ];
  const work: AnyEventObject[] = [];
  if (snapshot.matches({ open: { work: 'refused' } })) work.push(refusalRetryElapsed);
  if (phase.child === 'streaming') {
    work.push({ type: 'request.cancel', requestId: active });
    if (attached)
      work.push({ type: 'answer.done' }, { type: 'answer.failed', failure: upstreamFailure });
  } else if (phase.child === 'cancelling') {
    work.push(requestDone);
    if (attached) work.push({ type: 'answer.done' }, { type: 'answer.stopped' });
  }
  return [...link, ...work, ...user];
}

export const clientThreadModel: ChartModel = {
  machine: clientThreadChart,
  input: clientThreadInput,
  identify: (snapshot) => ({
    value: snapshot.value,
    queue: snapshot.context.queue,
    active: snapshot.context.activeRequestId,
  }),
  phase: (snapshot, event, previous) => JSON.stringify(nextPhase(snapshot, event, previous)),
  events: candidates,
};
