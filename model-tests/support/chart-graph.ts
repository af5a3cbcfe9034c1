/**
 * What a chart defines, read from its state nodes: every state node by id, and every candidate
 * transition (event, delayed, done and eventless edges; each guarded alternative on its own).
 * Keys name a transition by its source node, event and position, so the same transition has the
 * same key in the machine as written and in any `.provide(...)`d copy the real system runs.
 */
import type { AnyStateMachine, AnyStateNode, AnyTransitionDefinition } from 'xstate';
import { getStateNodes } from 'xstate/graph';

export interface ChartTransition {
  key: string;
  /** Human-readable: `source --event [guard]--> targets`. */
  label: string;
  eventType: string;
}

/** Every state node of the chart, root included, by id. */
export function stateNodesOf(machine: AnyStateMachine): AnyStateNode[] {
  return [machine.root, ...getStateNodes(machine.root)];
}

function guardName(transition: AnyTransitionDefinition): string | null {
  const { guard } = transition;
  if (guard === undefined) return null;
  if (typeof guard === 'string') return guard;
  if (typeof guard === 'function') return guard.name || 'inline guard';
  return String((guard as { type?: unknown }).type ?? 'guard');
}

/** The stable key of one transition definition (see the file comment). */
export function transitionKey(transition: AnyTransitionDefinition): string {
  const source: AnyStateNode = transition.source;
  const alwaysIndex = source.always?.indexOf(transition) ?? -1;
  if (alwaysIndex >= 0) return `${source.id}|always|${alwaysIndex}`;
  const index = source.transitions.get(transition.eventType)?.indexOf(transition) ?? -1;
  if (index < 0)
    throw new Error(`transition ${transition.eventType} is not defined on ${source.id}`);
  return `${source.id}|${transition.eventType}|${index}`;
}

function describe(transition: AnyTransitionDefinition, eventType: string): string {
  const guard = guardName(transition);
  const targets = (transition.target ?? []).map((target: AnyStateNode) => target.id).join(', ');
  return `${transition.source.id} --${eventType}${guard ? ` [${guard}]` : ''}--> ${targets || '(no target)'}`;
}

/** Every candidate transition the chart defines. */
export function transitionsOf(machine: AnyStateMachine): ChartTransition[] {
  const out: ChartTransition[] = [];
  for (const node of stateNodesOf(machine)) {
    for (const [eventType, candidates] of node.transitions) {
      for (const transition of candidates) {
        out.push({
          key: transitionKey(transition),
          label: describe(transition, eventType),
          eventType,
        });
      }
    }
    for (const transition of node.always ?? []) {
      out.push({
        key: transitionKey(transition),
        label: describe(transition, 'always'),
        eventType: '',
      });
    }
  }
  return out;
}

/** The delayed (`xstate.after.…`) and done (`xstate.done.…`) event types the chart listens for. */
export function generatedEventTypes(machine: AnyStateMachine): string[] {
  const types = transitionsOf(machine)
    .map((transition) => transition.eventType)
    .filter((type) => type.startsWith('xstate.after.') || type.startsWith('xstate.done.'));
  return [...new Set(types)];
}
