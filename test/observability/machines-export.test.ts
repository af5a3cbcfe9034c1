/**
 * docs/machines must be what scripts/export-machines.ts renders from the running machines: one
 * JSON definition and one Mermaid page per chart of `machines/index.ts`, and nothing stale.
 */
import { existsSync, readdirSync, readFileSync } from 'node:fs';
import { join } from 'node:path';
import { describe, expect, it } from 'vitest';
import type { AnyStateMachine, AnyStateNode } from 'xstate';
import { machines } from '../../machines/index.ts';
import {
  type MachineJson,
  machineDocsDir,
  mermaidDiagram,
  renderMachineDocs,
  type StateJson,
} from '../../scripts/export-machines.ts';

const stale = 'docs/machines is out of date: run `npm run machines:export`';

function statePaths(node: AnyStateNode): string[] {
  return allNodes(node).map((each) => each.path.join('.'));
}

function allNodes(node: AnyStateNode): AnyStateNode[] {
  return [node, ...Object.values(node.states).flatMap(allNodes)];
}

function jsonPaths(state: StateJson, prefix: string[] = []): string[] {
  return [
    prefix.join('.'),
    ...Object.entries(state.states ?? {}).flatMap(([key, child]) =>
      jsonPaths(child, [...prefix, key]),
    ),
  ];
}

describe('docs/machines', () => {
  const rendered = renderMachineDocs();

  it('is exactly what `npm run machines:export` writes', () => {
    expect(existsSync(machineDocsDir), stale).toBe(true);
    const onDisk = readdirSync(machineDocsDir).sort();
    expect(onDisk, stale).toEqual([...rendered.keys()].sort());
    for (const [name, text] of rendered) {
      expect(readFileSync(join(machineDocsDir, name), 'utf8'), `${name}: ${stale}`).toBe(text);
    }
  });

  it('has a definition and a diagram for every chart', () => {
    for (const chart of Object.keys(machines)) {
      expect(rendered.has(`${chart}.json`), chart).toBe(true);
      expect(rendered.get(`${chart}.md`), chart).toContain('```mermaid\nstateDiagram-v2\n');
    }
  });

  for (const [chart, machine] of Object.entries(machines) as [string, AnyStateMachine][]) {
    it(`${chart}: the JSON holds every state and the diagram draws every state`, () => {
      const json = JSON.parse(rendered.get(`${chart}.json`) ?? '{}') as MachineJson;
      expect(json).toMatchObject({ chart, id: machine.id, source: `machines/${chart}.ts` });
      expect(jsonPaths(json.root).sort()).toEqual(statePaths(machine.root).sort());
      const diagram = mermaidDiagram(machine);
      for (const path of statePaths(machine.root).filter(Boolean)) {
        const id = path.replaceAll('.', '_').replaceAll(/[^A-Za-z0-9_]/g, '_');
        expect(diagram, `${chart}: state ${path}`).toMatch(new RegExp(`state "[^"]+" as ${id}\\b`));
      }
      // Mermaid refuses a description on a composite state.
      for (const node of allNodes(machine.root)) {
        if (Object.keys(node.states).length === 0 || node.path.length === 0) continue;
        const id = node.path.join('_').replaceAll(/[^A-Za-z0-9_]/g, '_');
        expect(diagram, `${chart}: composite ${id}`).not.toMatch(new RegExp(`^\\s*${id} : `, 'm'));
      }
      // Mermaid reads `:` and `;` in an arrow's label as syntax.
      for (const line of diagram.split('\n').filter((text) => text.includes(' --> '))) {
        expect(line.split(' : ').length, line).toBeLessThanOrEqual(2);
        expect(line, line).not.toContain(';');
      }
    });
  }

  it('records transitions with their guards, actions and delays as they run', () => {
    const json = JSON.parse(rendered.get('thread-lifecycle.json') ?? '{}') as MachineJson;
    const open = json.root.states?.open;
    expect(open?.type).toBe('parallel');
    expect(open?.on?.['thread.bye']).toEqual([{ target: ['closing'] }]);
    const streaming = open?.states?.work?.states?.streaming;
    expect(streaming?.invoke).toEqual([{ id: 'request', src: 'request' }]);
    expect(streaming?.on?.['request.cancel']?.[0]).toEqual({
      guard: 'isActiveRequest',
      actions: ['forwardCancel'],
    });
    expect(open?.states?.link?.states?.detached?.after).toEqual({
      sessionTtl: [{ target: ['expired'] }],
    });
    expect(json.root.states?.expired?.entry).toEqual(['releaseSession(reason=expired)']);
  });
});
