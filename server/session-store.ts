/**
 * Where sessions live. The in-memory store is the default; the interface is small so that a
 * shared store (Redis) can stand behind it and let a client resume on any node.
 */
import { randomUUID } from 'node:crypto';
import type { SessionLossReason } from '../machines/protocol.ts';
import { Session, type SessionLimits } from './session.ts';

export interface SessionStore {
  create(threadId: string): Session;
  get(sessionId: string): Session | undefined;
  /** Forgets a session, remembering why so a late resume can be told. */
  delete(sessionId: string, reason: 'expired' | 'closed'): void;
  /** Why a session id is not (or no longer) here. */
  lossReason(sessionId: string): SessionLossReason;
  readonly size: number;
  values(): IterableIterator<Session>;
}

/** How many ended session ids are remembered, to say "expired" rather than "unknown". */
const TOMBSTONES = 10_000;

export class MemorySessionStore implements SessionStore {
  private readonly sessions = new Map<string, Session>();
  private readonly tombstones = new Map<string, 'expired' | 'closed'>();

  constructor(private readonly limits: SessionLimits) {}

  create(threadId: string): Session {
    const session = new Session(randomUUID(), threadId, this.limits);
    this.sessions.set(session.id, session);
    return session;
  }

  get(sessionId: string): Session | undefined {
    return this.sessions.get(sessionId);
  }

  delete(sessionId: string, reason: 'expired' | 'closed'): void {
    const session = this.sessions.get(sessionId);
    if (!session) return;
    session.release();
    this.sessions.delete(sessionId);
    this.tombstones.set(sessionId, reason);
    if (this.tombstones.size > TOMBSTONES) {
      const oldest = this.tombstones.keys().next().value;
      if (oldest !== undefined) this.tombstones.delete(oldest);
    }
  }

  lossReason(sessionId: string): SessionLossReason {
    // A closed session is gone on purpose; a resume of it is as good as unknown.
    return this.tombstones.get(sessionId) === 'expired' ? 'expired' : 'unknown';
  }

  get size(): number {
    return this.sessions.size;
  }

  values(): IterableIterator<Session> {
    return this.sessions.values();
  }
}
