/**
 * The page's thread tabs: which threads are open, in order, and which one is shown. At most
 * `maxThreads` are open; the chart says so by being `full`, and refuses another while it is.
 */
import { assertEvent, assign, setup } from 'xstate';

export const MAX_THREADS = 5;

export interface TabsInput {
  threadIds?: string[];
  activeId?: string | null;
  maxThreads?: number;
}

export interface TabsContext {
  threadIds: string[];
  activeId: string | null;
  maxThreads: number;
}

export type TabsEvent =
  | { type: 'tab.open'; threadId: string }
  | { type: 'tab.select'; threadId: string }
  | { type: 'tab.close'; threadId: string };

export const tabsMachine = setup({
  types: {
    context: {} as TabsContext,
    events: {} as TabsEvent,
    input: {} as TabsInput,
  },
  actions: {
    addTab: assign(({ context, event }) => {
      assertEvent(event, 'tab.open');
      return { threadIds: [...context.threadIds, event.threadId], activeId: event.threadId };
    }),
    selectTab: assign({
      activeId: ({ event }) => {
        assertEvent(event, 'tab.select');
        return event.threadId;
      },
    }),
    /** Removes the tab; if it was shown, its right neighbour (else its left one) is shown. */
    removeTab: assign(({ context, event }) => {
      assertEvent(event, 'tab.close');
      const index = context.threadIds.indexOf(event.threadId);
      const threadIds = context.threadIds.filter((id) => id !== event.threadId);
      const activeId =
        context.activeId === event.threadId
          ? (threadIds[Math.min(index, threadIds.length - 1)] ?? null)
          : context.activeId;
      return { threadIds, activeId };
    }),
  },
  guards: {
    isFull: ({ context }) => context.threadIds.length >= context.maxThreads,
    isOpenTab: ({ context, event }) => {
      assertEvent(event, ['tab.select', 'tab.close']);
      return context.threadIds.includes(event.threadId);
    },
    isNewTab: ({ context, event }) => {
      assertEvent(event, 'tab.open');
      return !context.threadIds.includes(event.threadId);
    },
  },
}).createMachine({
  id: 'tabs',
  context: ({ input }) => {
    const maxThreads = input.maxThreads ?? MAX_THREADS;
    const threadIds = (input.threadIds ?? []).slice(0, maxThreads);
    const activeId =
      input.activeId && threadIds.includes(input.activeId)
        ? input.activeId
        : (threadIds[0] ?? null);
    return { threadIds, activeId, maxThreads };
  },
  initial: 'roomy',
  on: {
    'tab.select': { guard: 'isOpenTab', actions: 'selectTab' },
    'tab.close': { guard: 'isOpenTab', target: '.roomy', actions: 'removeTab' },
  },
  states: {
    /** Another thread may be opened. */
    roomy: {
      always: { guard: 'isFull', target: 'full' },
      on: {
        'tab.open': { guard: 'isNewTab', actions: 'addTab' },
      },
    },
    /** `maxThreads` are open: close one to open another. */
    full: {},
  },
});
