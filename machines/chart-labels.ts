/**
 * How a chart's parts read as text — actions, guards, events — for the diagram exporter and the
 * live inspector alike, so a document and the inspector label the same chart the same way.
 */

/** Objects and functions alike: XState's built-in actions are functions with fields. */
function isRecord(value: unknown): value is Record<string, unknown> {
  return (typeof value === 'object' && value !== null) || typeof value === 'function';
}

/** Params worth printing: plain values only (inline functions say nothing on a label). */
function paramsText(params: unknown): string {
  if (!isRecord(params)) return '';
  const parts = Object.entries(params)
    .filter(([, value]) => ['string', 'number', 'boolean'].includes(typeof value))
    .map(([key, value]) => `${key}=${String(value)}`);
  return parts.length > 0 ? `(${parts.join(', ')})` : '';
}

/** An action as a name: `sendPing`, `releaseSession(reason=expired)`, `spawnChild(session)`. */
function actionName(action: unknown): string | null {
  if (typeof action === 'string') return action;
  if (!isRecord(action)) return null;
  const type = typeof action.type === 'string' ? action.type : undefined;
  if (!type) return 'inline';
  if (type === 'xstate.spawnChild') {
    return `spawnChild(${typeof action.src === 'string' ? action.src : 'inline'})`;
  }
  if (type.startsWith('xstate.')) return type.slice('xstate.'.length);
  return `${type}${paramsText(action.params)}`;
}

/** The raise/cancel pair XState adds to a state for each of its `after` delays. */
function isDelayBookkeeping(action: unknown): boolean {
  if (!isRecord(action)) return false;
  if (action.type === 'xstate.raise') return String(action.id).startsWith('xstate.after.');
  if (action.type === 'xstate.cancel') return String(action.sendId).startsWith('xstate.after.');
  return false;
}

/** The names of the actions a transition or state runs, without XState's own bookkeeping. */
export function actionNames(actions: readonly unknown[]): string[] {
  return actions
    .filter((action) => !isDelayBookkeeping(action))
    .map(actionName)
    .filter((name): name is string => name !== null);
}

/** A guard as a name, with its params: `isRetryable`, `isAbove(celsius=85)`. */
export function guardName(guard: unknown): string | undefined {
  if (guard === undefined || guard === null) return undefined;
  if (typeof guard === 'string') return guard;
  if (isRecord(guard) && typeof guard.type === 'string') {
    return `${guard.type}${paramsText(guard.params)}`;
  }
  return 'inline';
}

/** How an event reads on an arrow: `after sessionTtl`, `after 250 ms`, `done(request)`, `always`. */
export function eventLabel(eventType: string, delay?: unknown): string {
  if (delay !== undefined) {
    return typeof delay === 'number' ? `after ${delay} ms` : `after ${String(delay)}`;
  }
  if (eventType === '') return 'always';
  const done = /^xstate\.done\.actor\.(.+)$/.exec(eventType);
  if (done) return `done(${done[1]})`;
  const error = /^xstate\.error\.actor\.(.+)$/.exec(eventType);
  if (error) return `error(${error[1]})`;
  if (eventType.startsWith('xstate.done.state.')) return 'done';
  return eventType;
}
