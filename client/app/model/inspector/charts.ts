/**
 * Every chart the inspector can draw, by name: the shared charts of `machines/index.ts` (the
 * server's and the client's, the very objects the code runs) and the page's own (tabs,
 * conversation). The server names its actors' charts with the same names.
 */
import type { AnyStateMachine } from 'xstate';
import { machines } from '../../../../machines/index.ts';
import { conversationMachine } from '../conversation-machine.ts';
import { tabsMachine } from '../tabs-machine.ts';

export const charts: Readonly<Record<string, AnyStateMachine>> = {
  ...machines,
  tabs: tabsMachine,
  conversation: conversationMachine,
};

/** Chart name by machine id (`threadLifecycle` → `thread-lifecycle`). */
export const chartNameById: ReadonlyMap<string, string> = new Map(
  Object.entries(charts).map(([name, machine]) => [machine.id, name]),
);

export function chartOf(name: string | undefined): AnyStateMachine | undefined {
  return name === undefined ? undefined : charts[name];
}
