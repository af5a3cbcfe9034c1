/**
 * What the page says, as pure functions of actor snapshots and the time: the connection line, the
 * server's conditions, the notice after a failed resume, and each turn's badge. Kept apart from
 * React so the wording can be tested without a browser.
 */
import { CloseCode } from '../../../machines/close-codes.ts';
import type { ConnectionContext } from '../../../machines/connection.ts';
import type { SessionLossReason } from '../../../machines/protocol.ts';
import type { ServerConditions, Turn } from './conversation-machine.ts';

export type ConnectionPhase =
  | 'connecting'
  | 'handshaking'
  | 'ready'
  | 'closing'
  | 'reconnecting'
  | 'failed'
  | 'closed';

/** The parts of a connection snapshot the page shows. */
export interface ConnectionView {
  phase: ConnectionPhase;
  attempt: number;
  maxAttempts: number;
  nextRetryAt: number | null;
  lastCloseCode: number | null;
  lastCloseReason: string | null;
  connections: number;
}

/** Reads the connection chart's snapshot (`{ linked: { open: 'ready' } }`, `'failed'`, …). */
export function connectionView(snapshot: {
  value: unknown;
  context: ConnectionContext;
}): ConnectionView {
  const { value, context } = snapshot;
  let phase: ConnectionPhase = 'connecting';
  if (value === 'reconnecting' || value === 'failed' || value === 'closed') phase = value;
  else if (typeof value === 'object' && value !== null && 'linked' in value) {
    const linked = (value as { linked: unknown }).linked;
    if (linked === 'closing') phase = 'closing';
    else if (typeof linked === 'object' && linked !== null && 'open' in linked) {
      phase = (linked as { open: unknown }).open === 'ready' ? 'ready' : 'handshaking';
    }
  }
  return {
    phase,
    attempt: context.attempt,
    maxAttempts: context.maxAttempts,
    nextRetryAt: context.nextRetryAt,
    lastCloseCode: context.lastCloseCode,
    lastCloseReason: context.lastCloseReason,
    connections: context.connections,
  };
}

export interface ConnectionLine {
  tone: 'ok' | 'pending' | 'warn' | 'error';
  /** What is announced (aria-live): changes only when the situation does. */
  label: string;
  /** An explanation after the label, announced with it. */
  detail: string | null;
  /** A countdown after the label: shown, not announced on every tick. */
  countdown: string | null;
  /** The button offered, if any. */
  action: 'Retry now' | 'Retry' | null;
}

const fatalReasons: Partial<Record<number, string>> = {
  [CloseCode.Superseded]: 'This thread was opened in another tab or window.',
  [CloseCode.Forbidden]: 'The server refused the connection',
  [CloseCode.UnsupportedProtocol]: 'The server speaks another protocol version: reload the page.',
  [CloseCode.BadFrame]: 'The server and the page disagreed about a message: reload the page.',
};

function seconds(ms: number): number {
  return Math.max(0, Math.ceil(ms / 1000));
}

/** Why the connection gave up: the close code's meaning, or the attempts spent. */
function failureDetail(view: ConnectionView): string {
  const meaning = view.lastCloseCode !== null ? fatalReasons[view.lastCloseCode] : undefined;
  if (!meaning) return `Gave up after ${view.maxAttempts} attempts.`;
  if (meaning.endsWith('.')) return meaning;
  return view.lastCloseReason ? `${meaning} (${view.lastCloseReason}).` : `${meaning}.`;
}

export function describeConnection(view: ConnectionView, now: number): ConnectionLine {
  const line = { detail: null, countdown: null, action: null };
  const attempt = `(attempt ${view.attempt}/${view.maxAttempts})`;
  switch (view.phase) {
    case 'ready':
      return { ...line, tone: 'ok', label: 'Connected' };
    case 'connecting':
    case 'handshaking':
      if (view.attempt > 0) return { ...line, tone: 'warn', label: `Reconnecting ${attempt}…` };
      return { ...line, tone: 'pending', label: 'Connecting…' };
    case 'reconnecting':
      return {
        ...line,
        tone: 'warn',
        label: `Reconnecting ${attempt}`,
        countdown: view.nextRetryAt === null ? '…' : ` in ${seconds(view.nextRetryAt - now)} s…`,
        action: 'Retry now',
      };
    case 'failed':
      return {
        ...line,
        tone: 'error',
        label: 'Connection lost',
        detail: failureDetail(view),
        action: 'Retry',
      };
    case 'closing':
    case 'closed':
      return { ...line, tone: 'pending', label: 'Closed' };
  }
}

export interface ServerLine {
  /** Announced when it appears. */
  label: string;
  /** A countdown after the label: shown, not announced on every tick. */
  countdown: string | null;
  /** What it means for the user. */
  detail: string | null;
}

/** One line per condition of the server worth telling, worst first. */
export function describeServer(server: ServerConditions | null, now: number): ServerLine[] {
  if (!server) return [];
  const lines: ServerLine[] = [];
  if (server.draining) {
    lines.push({
      label: 'Server is restarting',
      countdown: null,
      detail: ': this thread will reconnect by itself.',
    });
  }
  if (server.thermal.state === 'throttled' || server.thermal.state === 'critical') {
    const celsius =
      server.thermal.celsius >= 0 ? ` (${Math.round(server.thermal.celsius)} °C)` : '';
    lines.push({
      label: 'Server is cooling down',
      countdown: null,
      detail: `${celsius}: answers are slower, and new ones may be refused until it is cooler.`,
    });
  }
  if (server.breaker.state === 'open' || server.breaker.state === 'halfOpen') {
    const { retryAfterMs } = server.breaker;
    const left =
      server.breaker.state === 'open' && retryAfterMs !== undefined
        ? seconds(server.receivedAt + retryAfterMs - now)
        : 0;
    lines.push({
      label: 'Upstream unavailable, retrying',
      countdown: left > 0 ? ` in ${left} s…` : ' now…',
      detail: null,
    });
  }
  return lines;
}

const lossReasons: Record<SessionLossReason, string> = {
  expired: 'the server keeps a thread for 5 minutes after a disconnect, and that time ran out',
  unknown: 'the server no longer knows this session (it may have restarted)',
  overflowed: 'more was missed than the server could keep',
  store_reset: 'the server’s data was wiped or replaced since this session began',
};

function quote(text: string): string {
  const oneLine = text.trim().replace(/\s+/g, ' ');
  return `“${oneLine.length > 40 ? `${oneLine.slice(0, 39)}…` : oneLine}”`;
}

/** The notice after a resume failed: why, and exactly what was lost. */
export function describeLoss(reason: SessionLossReason, turns: Turn[]): string {
  const cut = turns.filter((turn) => turn.error?.code === 'session_lost');
  const answered = turns.filter((turn) => turn.status !== 'failed').length;
  const parts = [`This thread could not be resumed: ${lossReasons[reason]}.`];
  if (cut.length > 0) {
    parts.push(
      `Lost: the rest of the answer to ${cut.map((turn) => quote(turn.text)).join(', ')}.`,
    );
  }
  if (answered > 0) {
    parts.push(
      'The server no longer remembers the earlier messages; they are still shown here, and new messages start a fresh conversation.',
    );
  }
  return parts.join(' ');
}

export interface TurnBadge {
  text: string;
  tone: 'muted' | 'warn' | 'error';
}

/** The badge beside an answer, from the turn and whether the thread is connected. */
export function turnBadge(turn: Turn, connected: boolean, active: boolean): TurnBadge | null {
  switch (turn.status) {
    case 'waiting':
      if (!connected) return { text: 'Pending: sends when reconnected', tone: 'warn' };
      return active ? { text: 'Thinking…', tone: 'muted' } : { text: 'Queued', tone: 'muted' };
    case 'stopping':
      return { text: 'Stopping…', tone: 'muted' };
    case 'stopped':
      return { text: 'Stopped', tone: 'warn' };
    case 'failed':
      return { text: turn.error?.code === 'session_lost' ? 'Cut off' : 'Failed', tone: 'error' };
    default:
      return null;
  }
}

const errorTexts: Record<string, string> = {
  overheated: 'The server is cooling down and did not start this answer. Try again in a moment.',
  upstream_unavailable: 'The upstream model is unavailable right now. Try again in a moment.',
  draining: 'The server was restarting. Try again in a moment.',
  session_lost: 'The session could not be resumed, so the rest of this answer was lost.',
};

/** Why an answer failed, in words for a person. */
export function describeTurnError(turn: Turn): string | null {
  if (!turn.error) return null;
  return errorTexts[turn.error.code] ?? turn.error.message;
}

/** A tab's title: the first message, shortened. */
export function threadTitle(turns: Turn[], index: number): string {
  const first = turns[0]?.text.trim().replace(/\s+/g, ' ');
  if (!first) return `Thread ${index + 1}`;
  return first.length > 24 ? `${first.slice(0, 23)}…` : first;
}
