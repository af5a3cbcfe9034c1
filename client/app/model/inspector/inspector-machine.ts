/**
 * The inspector page's chart. Two regions side by side: the server's actors, read from its
 * `/inspect` WebSocket once the server says it serves inspection (or `disabled` when it does
 * not, as in production), and the page's own actors, tapped locally. The selected actor is
 * part of the context, so the page draws only from this actor's snapshot. Pure: checking the
 * server, the socket and the page tap are provided by the page.
 */
import { assertEvent, assign, fromCallback, fromPromise, setup } from 'xstate';
import {
  type ActorStore,
  applyMessages,
  emptyStore,
  type InspectorMessage,
} from './actor-store.ts';
import type { ServerInspection } from './server-feed.ts';

export type FeedSource = 'server' | 'page';

export interface SelectedActor {
  source: FeedSource;
  ref: string;
}

export interface InspectorContext {
  server: ActorStore;
  page: ActorStore;
  selected: SelectedActor | null;
  /** The server's `inspect` setting, once known. */
  serverMode: string | null;
  /** Why the server's feed is not live, for the page to say. */
  problem: string | null;
}

export type InspectorEvent =
  | { type: 'server.opened' }
  | { type: 'server.received'; messages: InspectorMessage[]; at: number }
  | { type: 'server.closed'; code: number; reason: string }
  | { type: 'page.received'; messages: InspectorMessage[]; at: number }
  | { type: 'actor.select'; source: FeedSource; ref: string }
  | { type: 'server.retry' };

export const inspectorMachine = setup({
  types: {
    context: {} as InspectorContext,
    events: {} as InspectorEvent,
  },
  actors: {
    /** Provided by the page: `GET /inspect/status`. */
    checkServer: fromPromise<ServerInspection>(async () => ({ enabled: false, mode: 'unknown' })),
    /** Provided by the page: the `/inspect` socket, reporting `server.*` events. */
    serverFeed: fromCallback<InspectorEvent>(() => undefined),
    /** Provided by the page: its own systems, reporting `page.received`. */
    pageFeed: fromCallback<InspectorEvent>(() => undefined),
  },
  actions: {
    recordMode: assign((_, params: ServerInspection) => ({
      serverMode: params.mode,
      problem: null,
    })),
    recordUnreachable: assign({ problem: 'The server could not be reached.' }),
    recordClosed: assign({
      problem: ({ event }) => {
        assertEvent(event, 'server.closed');
        return event.code === 1001
          ? 'The server is shutting down.'
          : `The inspection socket closed (${event.code}${event.reason ? `: ${event.reason}` : ''}).`;
      },
    }),
    clearProblem: assign({ problem: null }),
    applyServerMessages: assign({
      server: ({ context, event }) => {
        assertEvent(event, 'server.received');
        return applyMessages(context.server, event.messages, event.at);
      },
    }),
    applyPageMessages: assign({
      page: ({ context, event }) => {
        assertEvent(event, 'page.received');
        return applyMessages(context.page, event.messages, event.at);
      },
    }),
    selectActor: assign({
      selected: ({ event }) => {
        assertEvent(event, 'actor.select');
        return { source: event.source, ref: event.ref };
      },
    }),
  },
  guards: {
    isServing: (_, params: ServerInspection) => params.enabled,
  },
  delays: {
    retryDelay: 1000,
  },
}).createMachine({
  id: 'inspector',
  context: {
    server: emptyStore,
    page: emptyStore,
    selected: null,
    serverMode: null,
    problem: null,
  },
  type: 'parallel',
  on: {
    'actor.select': { actions: 'selectActor' },
  },
  states: {
    server: {
      initial: 'checking',
      states: {
        /** Asking whether the server serves inspection at all. */
        checking: {
          invoke: {
            src: 'checkServer',
            onDone: [
              {
                guard: { type: 'isServing', params: ({ event }) => event.output },
                target: 'linked',
                actions: { type: 'recordMode', params: ({ event }) => event.output },
              },
              {
                target: 'disabled',
                actions: { type: 'recordMode', params: ({ event }) => event.output },
              },
            ],
            onError: { target: 'unreachable', actions: 'recordUnreachable' },
          },
        },
        /** Inspection is off on this server (the production preset's default). */
        disabled: {
          on: { 'server.retry': 'checking' },
        },
        linked: {
          invoke: { src: 'serverFeed' },
          initial: 'connecting',
          states: {
            connecting: { on: { 'server.opened': { target: 'live', actions: 'clearProblem' } } },
            /** Messages stream in. */
            live: {},
          },
          on: {
            'server.received': { actions: 'applyServerMessages' },
            'server.closed': { target: 'lost', actions: 'recordClosed' },
          },
        },
        /** The socket closed: check again shortly (the server may have restarted). */
        lost: {
          after: { retryDelay: 'checking' },
        },
        unreachable: {
          after: { retryDelay: 'checking' },
        },
      },
    },
    page: {
      invoke: { src: 'pageFeed' },
      on: {
        'page.received': { actions: 'applyPageMessages' },
      },
    },
  },
});
