/**
 * One thread as the page shows it: the turns (what was sent, the answer so far, how it ended),
 * the draft in the message box, the server's latest conditions, and the notice about the
 * session (resumed, or lost). Pure: the page feeds it events from the thread client and
 * persists its context; the UI renders from its snapshot.
 */
import { assertEvent, assign, setup } from 'xstate';
import type { SessionLossReason, StatusFrame } from '../../../machines/protocol.ts';

/**
 * waiting: handed to the client, no answer yet (pending while offline, queued, or thinking);
 * streaming: the answer is arriving; stopping: Stop was pressed, the server has not confirmed;
 * done / stopped / failed: how it ended.
 */
export type TurnStatus = 'waiting' | 'streaming' | 'stopping' | 'done' | 'stopped' | 'failed';

export interface TurnError {
  code: string;
  message: string;
}

export interface Turn {
  requestId: string;
  /** What the user sent. */
  text: string;
  /** The answer so far. */
  answer: string;
  status: TurnStatus;
  error?: TurnError;
}

/** The latest status frame of the server, stamped with when it arrived (page clock). */
export type ServerConditions = Omit<StatusFrame, 'type'> & { receivedAt: number };

export interface ConversationInput {
  threadId: string;
  turns?: Turn[];
  draft?: string;
}

export interface ConversationContext {
  threadId: string;
  turns: Turn[];
  draft: string;
  server: ServerConditions | null;
  /** Why the latest resume failed, while the notice about it is shown. */
  lostReason: SessionLossReason | null;
}

export type ConversationEvent =
  | { type: 'draft.changed'; text: string }
  /** A message was handed to the client: a new turn, and the draft is cleared. */
  | { type: 'turn.sent'; requestId: string; text: string }
  | { type: 'turn.chunk'; requestId: string; data: string }
  | { type: 'turn.stopping'; requestId: string }
  | {
      type: 'turn.ended';
      requestId: string;
      status: 'done' | 'cancelled' | 'failed';
      error?: TurnError;
    }
  | { type: 'server.status'; status: ServerConditions }
  | { type: 'session.resumed' }
  | { type: 'session.lost'; reason: SessionLossReason }
  | { type: 'notice.dismiss' };

/** Turns that have not ended yet: their answer may still change. */
export function isOpenTurn(turn: Turn): boolean {
  return turn.status === 'waiting' || turn.status === 'streaming' || turn.status === 'stopping';
}

function updateTurn(turns: Turn[], requestId: string, change: (turn: Turn) => Turn): Turn[] {
  return turns.map((turn) => (turn.requestId === requestId ? change(turn) : turn));
}

export const conversationMachine = setup({
  types: {
    context: {} as ConversationContext,
    events: {} as ConversationEvent,
    input: {} as ConversationInput,
  },
  actions: {
    recordDraft: assign({
      draft: ({ event }) => {
        assertEvent(event, 'draft.changed');
        return event.text;
      },
    }),
    addTurn: assign(({ context, event }) => {
      assertEvent(event, 'turn.sent');
      const turn: Turn = {
        requestId: event.requestId,
        text: event.text,
        answer: '',
        status: 'waiting',
      };
      return { turns: [...context.turns, turn], draft: '' };
    }),
    appendChunk: assign({
      turns: ({ context, event }) => {
        assertEvent(event, 'turn.chunk');
        return updateTurn(context.turns, event.requestId, (turn) =>
          isOpenTurn(turn)
            ? {
                ...turn,
                answer: turn.answer + event.data,
                status: turn.status === 'waiting' ? 'streaming' : turn.status,
              }
            : turn,
        );
      },
    }),
    markStopping: assign({
      turns: ({ context, event }) => {
        assertEvent(event, 'turn.stopping');
        return updateTurn(context.turns, event.requestId, (turn) =>
          isOpenTurn(turn) ? { ...turn, status: 'stopping' } : turn,
        );
      },
    }),
    endTurn: assign({
      turns: ({ context, event }) => {
        assertEvent(event, 'turn.ended');
        const status: TurnStatus =
          event.status === 'done' ? 'done' : event.status === 'cancelled' ? 'stopped' : 'failed';
        return updateTurn(context.turns, event.requestId, (turn) => {
          if (!isOpenTurn(turn)) return turn;
          const { error: _previous, ...rest } = turn;
          return event.error ? { ...rest, status, error: event.error } : { ...rest, status };
        });
      },
    }),
    recordServerStatus: assign({
      server: ({ event }) => {
        assertEvent(event, 'server.status');
        return event.status;
      },
    }),
    recordLoss: assign({
      lostReason: ({ event }) => {
        assertEvent(event, 'session.lost');
        return event.reason;
      },
    }),
    clearLoss: assign({ lostReason: null }),
  },
  delays: {
    /** How long "session resumed" stays on screen. */
    resumedNoticeTime: 4000,
  },
}).createMachine({
  id: 'conversation',
  context: ({ input }) => ({
    threadId: input.threadId,
    turns: input.turns ?? [],
    draft: input.draft ?? '',
    server: null,
    lostReason: null,
  }),
  on: {
    'draft.changed': { actions: 'recordDraft' },
    'turn.sent': { actions: 'addTurn' },
    'turn.chunk': { actions: 'appendChunk' },
    'turn.stopping': { actions: 'markStopping' },
    'turn.ended': { actions: 'endTurn' },
    'server.status': { actions: 'recordServerStatus' },
  },
  initial: 'quiet',
  states: {
    /** No notice about the session. */
    quiet: {
      on: {
        'session.resumed': 'resumed',
        'session.lost': { target: 'lost', actions: 'recordLoss' },
      },
    },
    /** The session resumed after a drop or a reload: said briefly. */
    resumed: {
      after: { resumedNoticeTime: 'quiet' },
      on: {
        'session.resumed': { target: 'resumed', reenter: true },
        'session.lost': { target: 'lost', actions: 'recordLoss' },
        'notice.dismiss': 'quiet',
      },
    },
    /** The session could not be resumed: stays until dismissed, or until a message is sent. */
    lost: {
      on: {
        'session.resumed': { target: 'resumed', actions: 'clearLoss' },
        'session.lost': { target: 'lost', actions: 'recordLoss' },
        'notice.dismiss': { target: 'quiet', actions: 'clearLoss' },
        'turn.sent': { target: 'quiet', actions: ['addTurn', 'clearLoss'] },
      },
    },
  },
});
