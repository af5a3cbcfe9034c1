/**
 * Writes every chart of `machines/index.ts` to docs/machines: `<chart>.json`, the definition as
 * it runs (states, transitions, guards, actions, delays and invocations, read from the machine's
 * own state nodes), and `<chart>.md`, a Mermaid state diagram with a table of every transition,
 * plus an index page. `npm run machines:export` rewrites them; a test fails when the committed
 * files differ from what `renderMachineDocs()` returns.
 */
import { mkdirSync, readdirSync, rmSync, writeFileSync } from 'node:fs';
import { join, resolve } from 'node:path';
import { fileURLToPath } from 'node:url';
import type { AnyStateMachine, AnyStateNode } from 'xstate';
import { actionNames, eventLabel, guardName } from '../machines/chart-labels.ts';
import { machines } from '../machines/index.ts';

/** Where the generated files live, relative to this script. */
export const machineDocsDir = fileURLToPath(new URL('../docs/machines/', import.meta.url));

// ---------------------------------------------------------------------------------------------
// The definition, as plain JSON.

export interface TransitionJson {
  /** Target state paths from the root (`open.work.idle`); absent for a targetless transition. */
  target?: string[];
  guard?: string;
  actions?: string[];
  reenter?: true;
}

export interface StateJson {
  type: string;
  description?: string;
  initial?: string;
  entry?: string[];
  exit?: string[];
  invoke?: Array<{ id: string; src: string; systemId?: string }>;
  on?: Record<string, TransitionJson[]>;
  after?: Record<string, TransitionJson[]>;
  always?: TransitionJson[];
  states?: Record<string, StateJson>;
}

export interface MachineJson {
  chart: string;
  id: string;
  source: string;
  root: StateJson;
}

/** A state node's path from the root, dotted (`''` for the root). */
function pathOf(node: AnyStateNode): string {
  return node.path.join('.');
}

interface TransitionLike {
  target?: readonly AnyStateNode[] | undefined;
  guard?: unknown;
  actions: readonly unknown[];
  reenter?: boolean;
}

function transitionJson(transition: TransitionLike): TransitionJson {
  const out: TransitionJson = {};
  if (transition.target && transition.target.length > 0) {
    out.target = transition.target.map(pathOf);
  }
  const guard = guardName(transition.guard);
  if (guard) out.guard = guard;
  const actions = actionNames(transition.actions);
  if (actions.length > 0) out.actions = actions;
  if (transition.reenter) out.reenter = true;
  return out;
}

function stateJson(node: AnyStateNode): StateJson {
  const out: StateJson = { type: node.type };
  if (node.description) out.description = node.description;
  const initial = node.initial?.target[0];
  if (node.type === 'compound' && initial) out.initial = initial.key;
  const entry = actionNames(node.entry);
  if (entry.length > 0) out.entry = entry;
  const exit = actionNames(node.exit);
  if (exit.length > 0) out.exit = exit;
  if (node.invoke.length > 0) {
    out.invoke = node.invoke.map((invoke) => ({
      id: invoke.id,
      src: typeof invoke.src === 'string' ? invoke.src : 'inline',
      ...(invoke.systemId ? { systemId: invoke.systemId } : {}),
    }));
  }
  const on: Record<string, TransitionJson[]> = {};
  for (const [eventType, transitions] of Object.entries(node.on)) {
    if (eventType.startsWith('xstate.after.')) continue; // listed under `after`
    on[eventType] = transitions.map(transitionJson);
  }
  if (Object.keys(on).length > 0) out.on = on;
  if (node.after.length > 0) {
    const after: Record<string, TransitionJson[]> = {};
    for (const delayed of node.after) {
      const delay = String(delayed.delay);
      after[delay] ??= [];
      after[delay].push(transitionJson(delayed));
    }
    out.after = after;
  }
  if (node.always && node.always.length > 0) out.always = node.always.map(transitionJson);
  const children = Object.values(node.states);
  if (children.length > 0) {
    out.states = Object.fromEntries(children.map((child) => [child.key, stateJson(child)]));
  }
  return out;
}

export function machineJson(chart: string, machine: AnyStateMachine): MachineJson {
  return { chart, id: machine.id, source: `machines/${chart}.ts`, root: stateJson(machine.root) };
}

// ---------------------------------------------------------------------------------------------
// The diagram.

/** One transition of the chart, flattened, for the diagram and the table. */
interface Edge {
  source: AnyStateNode;
  targets: AnyStateNode[];
  label: string;
  event: string;
  guard?: string;
  actions: string[];
}

function edgesOf(node: AnyStateNode): Edge[] {
  const edges: Edge[] = [];
  const add = (transition: TransitionLike, event: string) => {
    const guard = guardName(transition.guard);
    const actions = actionNames(transition.actions);
    edges.push({
      source: node,
      targets: [...(transition.target ?? [])],
      event,
      actions,
      ...(guard ? { guard } : {}),
      label: [
        event,
        guard ? ` [${guard}]` : '',
        actions.length ? ` / ${actions.join(', ')}` : '',
      ].join(''),
    });
  };
  for (const [eventType, transitions] of Object.entries(node.on)) {
    if (eventType.startsWith('xstate.after.')) continue;
    for (const transition of transitions) add(transition, eventLabel(eventType));
  }
  for (const delayed of node.after) add(delayed, eventLabel(delayed.eventType, delayed.delay));
  for (const transition of node.always ?? []) add(transition, 'always');
  for (const child of Object.values(node.states)) edges.push(...edgesOf(child));
  return edges;
}

/** A Mermaid id for a state: its path with underscores (`open_work_idle`), `root` for the root. */
function mermaidId(node: AnyStateNode): string {
  const id = node.path.join('_').replaceAll(/[^A-Za-z0-9_]/g, '_');
  return id === '' ? 'root' : id;
}

/** Mermaid labels cannot hold `:` or `;`, and `#` starts an entity. */
function mermaidText(text: string): string {
  return text.replaceAll(/[:;#]/g, ' ');
}

function isAncestor(ancestor: AnyStateNode, node: AnyStateNode): boolean {
  for (let parent = node.parent; parent; parent = parent.parent) {
    if (parent === ancestor) return true;
  }
  return false;
}

/** The child of `ancestor` on the way down to `node` (or `node` itself). */
function childToward(ancestor: AnyStateNode, node: AnyStateNode): AnyStateNode {
  let current = node;
  while (current.parent && current.parent !== ancestor) current = current.parent;
  return current;
}

function commonAncestor(a: AnyStateNode, b: AnyStateNode): AnyStateNode {
  for (
    let candidate: AnyStateNode | undefined = a.parent;
    candidate;
    candidate = candidate.parent
  ) {
    if (b === candidate || isAncestor(candidate, b)) return candidate;
  }
  return a.machine.root;
}

/**
 * The diagram's arrows for one edge. Mermaid cannot draw an arrow between states of different
 * composite states, so an arrow that crosses a boundary is drawn between the states that hold
 * its ends side by side (the exact ends are in the table and the JSON); a transition declared
 * on an ancestor of its target (“from any state in here”) is drawn from each of that
 * ancestor's children, and a targetless one declared there as a loop on each of them.
 */
function arrows(
  edge: Edge,
): Array<{ parent: AnyStateNode; from: AnyStateNode; to: AnyStateNode; label: string }> {
  const out: Array<{ parent: AnyStateNode; from: AnyStateNode; to: AnyStateNode; label: string }> =
    [];
  const children = Object.values(edge.source.states).filter((child) => child.type !== 'final');
  if (edge.targets.length === 0 && children.length > 0) {
    // Handled in any state in here, staying put: a loop on each of them.
    for (const child of children)
      out.push({ parent: edge.source, from: child, to: child, label: edge.label });
    return out;
  }
  const targets = edge.targets.length > 0 ? edge.targets : [edge.source];
  for (const target of targets) {
    if (target !== edge.source && isAncestor(edge.source, target)) {
      const targetChild = childToward(edge.source, target);
      for (const child of children) {
        out.push({ parent: edge.source, from: child, to: targetChild, label: edge.label });
      }
      continue;
    }
    let parent: AnyStateNode;
    if (target === edge.source) parent = edge.source.parent ?? edge.source;
    else if (isAncestor(target, edge.source)) parent = target.parent ?? target;
    else parent = commonAncestor(edge.source, target);
    const from = edge.source === parent ? edge.source : childToward(parent, edge.source);
    const to = target === parent ? target : childToward(parent, target);
    const lifted = from !== edge.source || to !== target;
    const end = edge.targets.length > 0 ? pathOf(target) : 'itself';
    const detail = lifted ? ` (${pathOf(edge.source) || 'root'} → ${end})` : '';
    out.push({ parent, from, to, label: `${edge.label}${detail}` });
  }
  return out;
}

function notesOf(node: AnyStateNode): string[] {
  const notes: string[] = [];
  const entry = actionNames(node.entry);
  const exit = actionNames(node.exit);
  if (entry.length > 0) notes.push(`entry / ${entry.join(', ')}`);
  if (exit.length > 0) notes.push(`exit / ${exit.join(', ')}`);
  for (const invoke of node.invoke) {
    notes.push(`invoke ${typeof invoke.src === 'string' ? invoke.src : 'inline'} as ${invoke.id}`);
  }
  return notes;
}

export function mermaidDiagram(machine: AnyStateMachine): string {
  const byParent = new Map<AnyStateNode, string[]>();
  for (const edge of edgesOf(machine.root)) {
    for (const arrow of arrows(edge)) {
      const line = `${mermaidId(arrow.from)} --> ${mermaidId(arrow.to)} : ${mermaidText(arrow.label)}`;
      const lines = byParent.get(arrow.parent) ?? [];
      if (!lines.includes(line)) lines.push(line);
      byParent.set(arrow.parent, lines);
    }
  }

  const lines: string[] = ['stateDiagram-v2'];
  const body = (node: AnyStateNode, indent: string) => {
    const children = Object.values(node.states);
    if (node.type === 'compound') {
      const initial = node.initial?.target[0];
      if (initial) lines.push(`${indent}[*] --> ${mermaidId(initial)}`);
    }
    children.forEach((child, index) => {
      if (node.type === 'parallel' && index > 0) lines.push(`${indent}--`);
      const id = mermaidId(child);
      if (Object.keys(child.states).length > 0) {
        // Mermaid allows a composite state no description: its entry/exit/invoke are in the table.
        lines.push(`${indent}state "${child.key}" as ${id} {`);
        body(child, `${indent}  `);
        lines.push(`${indent}}`);
      } else {
        lines.push(`${indent}state "${child.key}" as ${id}`);
        for (const note of notesOf(child)) lines.push(`${indent}${id} : ${mermaidText(note)}`);
      }
      if (child.type === 'final') lines.push(`${indent}${id} --> [*]`);
    });
    // A parallel state's regions are separated by `--`: its own arrows would land in the last one.
    if (node.type !== 'parallel')
      for (const line of byParent.get(node) ?? []) lines.push(`${indent}${line}`);
  };
  body(machine.root, '  ');
  // Arrows between regions of a parallel state (rare) are drawn at the top level.
  for (const [parent, parentLines] of byParent) {
    if (parent.type === 'parallel') for (const line of parentLines) lines.push(`  ${line}`);
  }
  return lines.join('\n');
}

function cell(text: string): string {
  return text.replaceAll('|', '\\|');
}

function transitionTable(machine: AnyStateMachine): string[] {
  const rows = edgesOf(machine.root).map((edge) => {
    const targets = edge.targets.map((target) => `\`${pathOf(target) || '(root)'}\``).join(', ');
    return `| \`${pathOf(edge.source) || '(root)'}\` | \`${cell(edge.event)}\` | ${
      edge.guard ? `\`${cell(edge.guard)}\`` : ''
    } | ${targets || '(stays)'} | ${edge.actions.map((action) => `\`${cell(action)}\``).join(', ')} |`;
  });
  return ['| from | event | guard | to | actions |', '|---|---|---|---|---|', ...rows];
}

function stateTable(machine: AnyStateMachine): string[] {
  const rows: string[] = [];
  const visit = (node: AnyStateNode) => {
    const notes = notesOf(node);
    rows.push(`| \`${pathOf(node) || '(root)'}\` | ${node.type} | ${cell(notes.join('; '))} |`);
    for (const child of Object.values(node.states)) visit(child);
  };
  visit(machine.root);
  return ['| state | type | entry, exit, invoke |', '|---|---|---|', ...rows];
}

export function machineMarkdown(chart: string, machine: AnyStateMachine): string {
  return [
    `# ${chart}`,
    '',
    `<!-- Generated from machines/${chart}.ts by scripts/export-machines.ts.`,
    '     Do not edit by hand: run `npm run machines:export`. A test fails when this page is stale. -->',
    '',
    `Machine id \`${machine.id}\`, defined in [machines/${chart}.ts](../../machines/${chart}.ts);`,
    `its definition as JSON is [${chart}.json](${chart}.json). An arrow that would cross a`,
    'composite state is drawn between the states holding its ends (noted in brackets); the table',
    'lists every transition exactly.',
    '',
    '```mermaid',
    mermaidDiagram(machine),
    '```',
    '',
    '## States',
    '',
    ...stateTable(machine),
    '',
    '## Transitions',
    '',
    ...transitionTable(machine),
    '',
  ].join('\n');
}

function indexPage(): string {
  const rows = Object.entries(machines).map(
    ([chart, machine]) =>
      `| [${chart}](${chart}.md) | \`${machine.id}\` | [${chart}.json](${chart}.json) |`,
  );
  return [
    '# Statecharts',
    '',
    '<!-- Generated by scripts/export-machines.ts: run `npm run machines:export`. -->',
    '',
    'Every chart of `machines/index.ts`: a Mermaid diagram with its transitions, and the',
    'definition as JSON, both read from the running machine objects.',
    '',
    '| chart | machine id | definition |',
    '|---|---|---|',
    ...rows,
    '',
  ].join('\n');
}

/** Every generated file by name. Pure: reads nothing but the machines. */
export function renderMachineDocs(): Map<string, string> {
  const files = new Map<string, string>();
  for (const [chart, machine] of Object.entries(machines) as [string, AnyStateMachine][]) {
    files.set(`${chart}.json`, `${JSON.stringify(machineJson(chart, machine), null, 2)}\n`);
    files.set(`${chart}.md`, machineMarkdown(chart, machine));
  }
  files.set('README.md', indexPage());
  return files;
}

const runDirectly =
  process.argv[1] !== undefined && resolve(process.argv[1]) === fileURLToPath(import.meta.url);

if (runDirectly) {
  const files = renderMachineDocs();
  mkdirSync(machineDocsDir, { recursive: true });
  // Files of charts that no longer exist go: the folder holds generated files only.
  for (const name of readdirSync(machineDocsDir)) {
    if (!files.has(name)) rmSync(join(machineDocsDir, name));
  }
  for (const [name, text] of files) writeFileSync(join(machineDocsDir, name), text);
  process.stdout.write(`wrote ${files.size} files to ${machineDocsDir}\n`);
}
