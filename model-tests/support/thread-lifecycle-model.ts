/**
 * The thread-lifecycle chart (the server's session) as a test model. A client of the session
 * speaks the protocol by hand, so the model offers each event only where such a client, the
 * network or the server's clock can produce it: frames (`request`, `cancel`, `bye`) only while a
 * socket is attached, a resume only while detached, the TTL only while detached, the request's
 * end (the upstream finishing) whether or not anyone listens.
 *
 * Request ids are the model's: `Active` is the request the session streams (each start gets a
 * fresh real id in the replay), `Unknown` one the session never saw.
 */
import type { AnyEventObject, AnyMachineSnapshot } from 'xstate';
import { machines } from '../../machines/index.ts';
import type { ThreadLifecycleInput } from '../../machines/thread-lifecycle.ts';
import { generatedEventTypes } from './chart-graph.ts';
import { conversationServer } from './conversation-settings.ts';
import type { ChartModel } from './model-paths.ts';

export const lifecycleChart = machines['thread-lifecycle'];

export const Active = 'active';
export const Unknown = 'unknown';

export const lifecycleInput: ThreadLifecycleInput = {
  sessionId: 'model-session',
  sessionTtlMs: conversationServer.sessionTtlMs,
  cancelTimeoutMs: conversationServer.cancelTimeoutMs,
  closeTimeoutMs: conversationServer.closeTimeoutMs,
};

const generated = generatedEventTypes(lifecycleChart);
const afterEvent = (delay: string) => {
  const type = generated.find((t) => t.startsWith(`xstate.after.${delay}.`));
  if (!type) throw new Error(`the chart has no ${delay} delay`);
  return { type };
};
export const sessionTtlElapsed = afterEvent('sessionTtl');
export const closeTimeoutElapsed = afterEvent('closeTimeout');
export const requestEnded = { type: 'xstate.done.actor.request' };

function candidates(snapshot: AnyMachineSnapshot): AnyEventObject[] {
  if (snapshot.matches('closing')) return [{ type: 'socket.detached' }, closeTimeoutElapsed];
  if (!snapshot.matches('open')) return [];
  const streaming = snapshot.matches({ open: { work: 'streaming' } });
  const events: AnyEventObject[] = [];
  if (snapshot.matches({ open: { link: 'attached' } })) {
    events.push(
      { type: 'socket.detached' },
      { type: 'request.start', requestId: Active },
      { type: 'request.cancel', requestId: Unknown },
      { type: 'thread.bye' },
    );
    if (streaming) events.push({ type: 'request.cancel', requestId: Active });
  } else {
    events.push({ type: 'socket.attached', lastSeq: 0 }, sessionTtlElapsed);
  }
  if (streaming) events.push(requestEnded);
  return events;
}

export const lifecycleModel: ChartModel = {
  machine: lifecycleChart,
  input: lifecycleInput,
  identify: (snapshot) => ({ value: snapshot.value, active: snapshot.context.activeRequestId }),
  events: candidates,
};
