/**
 * A chart's drawing, read from the machine object itself (the same `StateNode`s the actor runs):
 * every state as a node nested in its parent, every transition that goes somewhere as an edge
 * labelled with its event (`after <delay>`, `always`, `done(<actor>)` included), and the
 * transitions that stay put listed inside the state that handles them. Pure: no layout, no DOM.
 */
import type { AnyStateMachine, AnyStateNode } from 'xstate';
import { actionNames, eventLabel, guardName } from '../../../../machines/chart-labels.ts';

export type ChartNodeType = 'atomic' | 'compound' | 'parallel' | 'final' | 'history';

export interface ChartNode {
  /** The state's path from the root, dotted (`open.work.streaming`); `ROOT_ID` for the root. */
  id: string;
  key: string;
  type: ChartNodeType;
  /** The root, or a region of a parallel state (drawn dashed, side by side). */
  role: 'root' | 'region' | 'state';
  description?: string;
  children: ChartNode[];
  /** The initial child's id (compound states). */
  initial?: string;
  /** `entry / …`, `exit / …`, `invoke …` lines. */
  notes: string[];
  /** Transitions handled here that change no state: `event [guard] / actions`. */
  internal: string[];
}

export interface ChartEdge {
  id: string;
  source: string;
  target: string;
  /** `socket.detached`, `after sessionTtl`, `always`, `done(request)`. */
  event: string;
  guard?: string;
  actions: string[];
  /** What is drawn on the arrow: the event and its guard. */
  label: string;
  /** An initial-state arrow from the pseudo-state `source` (no event). */
  initial?: true;
}

export interface ChartGraph {
  machineId: string;
  root: ChartNode;
  edges: ChartEdge[];
}

export const ROOT_ID = '(root)';

/** The pseudo-state an initial arrow starts from, inside `parentId`. */
export function initialMarkerId(parentId: string): string {
  return `${parentId}::initial`;
}

export function nodeId(node: AnyStateNode): string {
  return node.path.length === 0 ? ROOT_ID : node.path.join('.');
}

interface TransitionLike {
  target?: readonly AnyStateNode[] | undefined;
  guard?: unknown;
  actions: readonly unknown[];
}

function buildNode(node: AnyStateNode, edges: ChartEdge[]): ChartNode {
  const id = nodeId(node);
  const notes: string[] = [];
  const entry = actionNames(node.entry);
  const exit = actionNames(node.exit);
  if (entry.length > 0) notes.push(`entry / ${entry.join(', ')}`);
  if (exit.length > 0) notes.push(`exit / ${exit.join(', ')}`);
  for (const invoke of node.invoke) {
    notes.push(`invoke ${typeof invoke.src === 'string' ? invoke.src : 'inline'}`);
  }
  const internal: string[] = [];
  const add = (transition: TransitionLike, event: string) => {
    const guard = guardName(transition.guard);
    const actions = actionNames(transition.actions);
    const label = `${event}${guard ? ` [${guard}]` : ''}`;
    const targets = transition.target ?? [];
    if (targets.length === 0) {
      internal.push(`${label}${actions.length > 0 ? ` / ${actions.join(', ')}` : ''}`);
      return;
    }
    for (const target of targets) {
      edges.push({
        id: `e${edges.length}`,
        source: id,
        target: nodeId(target),
        event,
        actions,
        label,
        ...(guard ? { guard } : {}),
      });
    }
  };
  for (const [eventType, transitions] of Object.entries(node.on)) {
    if (eventType.startsWith('xstate.after.')) continue; // drawn from `after`
    for (const transition of transitions) add(transition, eventLabel(eventType));
  }
  for (const delayed of node.after) add(delayed, eventLabel(delayed.eventType, delayed.delay));
  for (const transition of node.always ?? []) add(transition, 'always');

  const children = Object.values(node.states).map((child) => buildNode(child, edges));
  const out: ChartNode = {
    id,
    key: node.path.length === 0 ? node.machine.id : node.key,
    type: node.type,
    role: node.path.length === 0 ? 'root' : node.parent?.type === 'parallel' ? 'region' : 'state',
    children,
    notes,
    internal,
  };
  if (node.description) out.description = node.description;
  const initial = node.type === 'compound' ? node.initial?.target[0] : undefined;
  if (initial) {
    out.initial = nodeId(initial);
    edges.push({
      id: `e${edges.length}`,
      source: initialMarkerId(id),
      target: out.initial,
      event: '',
      actions: [],
      label: '',
      initial: true,
    });
  }
  return out;
}

export function chartGraph(machine: AnyStateMachine): ChartGraph {
  const edges: ChartEdge[] = [];
  const root = buildNode(machine.root, edges);
  return { machineId: machine.id, root, edges };
}

/** Every node of the graph, parents before children. */
export function allNodes(root: ChartNode): ChartNode[] {
  const out: ChartNode[] = [];
  const visit = (node: ChartNode) => {
    out.push(node);
    for (const child of node.children) visit(child);
  };
  visit(root);
  return out;
}
