/**
 * The delivery half of a session: numbers every outbound data frame, keeps it until the client
 * acknowledges it, replays what a resuming client missed, and tells producers when to wait.
 * This is the data path, so it is plain code; the session's lifecycle is the thread-lifecycle
 * chart, which drives this object through the gateway.
 */
import { randomBytes, timingSafeEqual } from 'node:crypto';
import type { DataFrame } from '../machines/protocol.ts';
import type { Turn } from './responders/responder.ts';

/** The one socket a session is attached to, as the session needs it. */
export interface Transport {
  send(text: string): void;
  readonly bufferedAmount: number;
  close(code: number, reason: string): void;
  /** Drops the link without a closing handshake (for a peer that no longer reads). */
  terminate(): void;
}

export interface SessionLimits {
  replayBufferFrames: number;
  replayBufferBytes: number;
  sendHighWaterBytes: number;
}

type Unnumbered<T> = T extends unknown ? Omit<T, 'seq'> : never;
export type OutboundDataFrame = Unnumbered<DataFrame>;

/** History kept for the responder: enough context for a conversation, bounded in memory. */
const HISTORY_TURNS = 50;
const HISTORY_ANSWER_CHARS = 32 * 1024;

export class Session {
  readonly token = randomBytes(24).toString('base64url');
  /** Request ids this session has accepted: a request is never started twice. */
  readonly seenRequests = new Set<string>();
  readonly history: Turn[] = [];
  /** Text of requests accepted but not yet started by the lifecycle chart. */
  readonly pendingText = new Map<string, string>();
  transport: Transport | null = null;
  private nextSeq = 1;
  private frames: string[] = [];
  private head = 0;
  private firstSeq = 1;
  private bytes = 0;
  private roomWaiters: Array<() => void> = [];

  constructor(
    readonly id: string,
    readonly threadId: string,
    private readonly limits: SessionLimits,
  ) {}

  /** The highest seq assigned so far. */
  get lastSeq(): number {
    return this.nextSeq - 1;
  }

  get bufferedFrames(): number {
    return this.frames.length - this.head;
  }

  get bufferedBytes(): number {
    return this.bytes;
  }

  tokenMatches(candidate: string): boolean {
    const expected = Buffer.from(this.token);
    const given = Buffer.from(candidate);
    // Compare equal-length buffers only, so timing reveals nothing about the token's content.
    return given.length === expected.length && timingSafeEqual(given, expected);
  }

  /** Numbers, keeps and (when attached) sends one data frame. Returns its seq. */
  emit(frame: OutboundDataFrame): number {
    const seq = this.nextSeq++;
    // `type` and `seq` lead every frame, which keeps captures readable.
    const text = JSON.stringify(Object.assign({ type: frame.type, seq }, frame));
    this.frames.push(text);
    this.bytes += text.length;
    this.transport?.send(text);
    return seq;
  }

  /** Cumulative acknowledgement: frames up to `seq` are no longer needed for replay. */
  ack(seq: number): void {
    const upTo = Math.min(seq, this.lastSeq);
    while (this.firstSeq <= upTo && this.head < this.frames.length) {
      this.bytes -= (this.frames[this.head] as string).length;
      this.head++;
      this.firstSeq++;
    }
    if (this.head > 1024 && this.head * 2 > this.frames.length) {
      this.frames = this.frames.slice(this.head);
      this.head = 0;
    }
    this.wakeProducers();
  }

  /** The frames after `lastSeq`, or null when some of them are no longer kept. */
  framesAfter(lastSeq: number): string[] | null {
    if (lastSeq + 1 < this.firstSeq || lastSeq > this.lastSeq) return null;
    return this.frames.slice(this.head + (lastSeq + 1 - this.firstSeq));
  }

  /** Sends every kept frame after `lastSeq` on the attached transport. */
  replayAfter(lastSeq: number): number {
    const frames = this.framesAfter(lastSeq) ?? [];
    for (const text of frames) this.transport?.send(text);
    return frames.length;
  }

  /** Whether a producer may emit another chunk now without growing memory past the limits. */
  hasRoom(): boolean {
    return this.bufferHasRoom() && !this.socketCongested();
  }

  private bufferHasRoom(): boolean {
    return (
      this.bufferedFrames < this.limits.replayBufferFrames &&
      this.bytes < this.limits.replayBufferBytes
    );
  }

  private socketCongested(): boolean {
    return (
      this.transport !== null && this.transport.bufferedAmount >= this.limits.sendHighWaterBytes
    );
  }

  /** Resolves when `hasRoom()` holds again, or the signal aborts. */
  waitForRoom(signal: AbortSignal): Promise<void> {
    return new Promise((resolve) => {
      const onAbort = () => this.wakeProducers();
      signal.addEventListener('abort', onAbort, { once: true });
      const check = () => {
        if (signal.aborted || this.hasRoom()) {
          signal.removeEventListener('abort', onAbort);
          return resolve();
        }
        this.roomWaiters.push(check);
        // A full buffer waits for an ack, which wakes us; a congested socket has no drain event
        // in ws, so that alone is polled.
        if (this.bufferHasRoom()) setTimeout(() => this.wakeProducers(), 2);
      };
      check();
    });
  }

  recordTurn(request: string, answer: string): void {
    this.history.push({ request, answer: answer.slice(0, HISTORY_ANSWER_CHARS) });
    if (this.history.length > HISTORY_TURNS) this.history.shift();
  }

  /** Frees the replay buffer and releases any waiting producer. */
  release(): void {
    this.frames = [];
    this.head = 0;
    this.bytes = 0;
    this.transport = null;
    this.wakeProducers();
  }

  private wakeProducers(): void {
    const waiters = this.roomWaiters;
    if (waiters.length === 0) return;
    this.roomWaiters = [];
    for (const waiter of waiters) waiter();
  }
}
