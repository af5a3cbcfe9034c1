/**
 * The dashboard's chart: it reads the server's health report once a second, on the second
 * (each state re-enters itself every `pollInterval`, starting a read), whether or not the last
 * read worked, and keeps a short history of samples. `live` while reports arrive,
 * `unreachable` while they do not (the last numbers stay, marked stale). Pure: the page
 * provides `fetchHealth`, which is given an AbortSignal for a read the next one replaces.
 */
import { assign, fromPromise, setup } from 'xstate';
import { addSample, type HealthSample, HISTORY_LIMIT, type WebsocketHealth } from './health.ts';

export interface DashboardContext {
  latest: WebsocketHealth | null;
  history: HealthSample[];
  historyLimit: number;
  /** Why the last read failed, while unreachable. */
  problem: string | null;
}

export interface DashboardInput {
  historyLimit?: number;
}

function describeError(error: unknown): string {
  return error instanceof Error ? error.message : String(error);
}

export const dashboardMachine = setup({
  types: {
    context: {} as DashboardContext,
    input: {} as DashboardInput,
  },
  actors: {
    /** Provided by the page: `GET /health/websocket`. */
    fetchHealth: fromPromise<WebsocketHealth>(async () => {
      throw new Error('fetchHealth is provided by the page');
    }),
  },
  actions: {
    recordReport: assign(({ context }, report: WebsocketHealth) => ({
      latest: report,
      history: addSample(context.history, report, context.historyLimit),
      problem: null,
    })),
    recordProblem: assign((_, params: { error: unknown }) => ({
      problem: describeError(params.error),
    })),
  },
  delays: {
    pollInterval: 1000,
  },
}).createMachine({
  id: 'dashboard',
  context: ({ input }) => ({
    latest: null,
    history: [],
    historyLimit: input.historyLimit ?? HISTORY_LIMIT,
    problem: null,
  }),
  initial: 'starting',
  states: {
    /** The first read: nothing to show yet. */
    starting: {
      initial: 'reading',
      after: { pollInterval: { target: 'starting', reenter: true } },
      states: {
        reading: {
          invoke: {
            src: 'fetchHealth',
            onDone: {
              target: '#dashboard.live.read',
              actions: { type: 'recordReport', params: ({ event }) => event.output },
            },
            onError: {
              target: '#dashboard.unreachable.read',
              actions: { type: 'recordProblem', params: ({ event }) => ({ error: event.error }) },
            },
          },
        },
      },
    },
    /** Reports arrive: one read each `pollInterval` (a read still running then is dropped). */
    live: {
      initial: 'reading',
      after: { pollInterval: { target: 'live', reenter: true } },
      states: {
        reading: {
          invoke: {
            src: 'fetchHealth',
            onDone: {
              target: 'read',
              actions: { type: 'recordReport', params: ({ event }) => event.output },
            },
            onError: {
              target: '#dashboard.unreachable.read',
              actions: { type: 'recordProblem', params: ({ event }) => ({ error: event.error }) },
            },
          },
        },
        read: {},
      },
    },
    /** The last read failed: the last numbers stay, and reads go on at the same pace. */
    unreachable: {
      initial: 'reading',
      after: { pollInterval: { target: 'unreachable', reenter: true } },
      states: {
        reading: {
          invoke: {
            src: 'fetchHealth',
            onDone: {
              target: '#dashboard.live.read',
              actions: { type: 'recordReport', params: ({ event }) => event.output },
            },
            onError: {
              target: 'read',
              actions: { type: 'recordProblem', params: ({ event }) => ({ error: event.error }) },
            },
          },
        },
        read: {},
      },
    },
  },
});
