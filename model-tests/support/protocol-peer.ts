/**
 * A client that speaks the wire protocol by hand over a real socket: it says hello (or resumes),
 * sends frames as a test dictates, and keeps every frame it receives, so a test can check what a
 * client of the session actually got: data frames in `seq` order, replays, refusals, the close.
 */
import { PROTOCOL_VERSION } from '../../machines/protocol.ts';
import { openRawSocket, type RawSocket, waitFor } from '../../test/support/harness.ts';

export type Frame = Record<string, unknown>;

export interface Resume {
  sessionId: string;
  token: string;
  lastSeq: number;
}

export class ProtocolPeer {
  private constructor(
    readonly raw: RawSocket,
    readonly welcome: Frame,
  ) {}

  /** Opens a socket to `url`, says hello (resuming `resume` if given) and waits for the welcome. */
  static async open(url: string, threadId: string, resume?: Resume): Promise<ProtocolPeer> {
    const raw = await openRawSocket(url);
    raw.send({
      type: 'hello',
      protocol: PROTOCOL_VERSION,
      threadId,
      ...(resume ? { resume } : {}),
    });
    const welcome = await raw.next();
    if (welcome.type !== 'welcome') throw new Error(`expected a welcome, got ${welcome.type}`);
    return new ProtocolPeer(raw, welcome);
  }

  get sessionId(): string {
    return String(this.welcome.sessionId);
  }

  get token(): string {
    return String(this.welcome.token);
  }

  /** Frames that carry a `seq`, in arrival order. */
  dataFrames(): Frame[] {
    return this.raw.received.filter((frame) => typeof frame.seq === 'number');
  }

  /** The highest `seq` received so far (0 for none). */
  lastSeq(): number {
    return Math.max(0, ...this.dataFrames().map((frame) => frame.seq as number));
  }

  send(frame: Frame): void {
    this.raw.send(frame);
  }

  /** Waits for a received frame with these fields. */
  frame(fields: Frame, what = JSON.stringify(fields)): Promise<Frame> {
    const matches = (frame: Frame) =>
      Object.entries(fields).every(([key, value]) => frame[key] === value);
    return waitFor(() => this.raw.received.find(matches), {
      what: `a frame ${what}`,
    }) as Promise<Frame>;
  }

  /** Whether a frame with these fields was received. */
  has(fields: Frame): boolean {
    return this.raw.received.some((frame) =>
      Object.entries(fields).every(([key, value]) => frame[key] === value),
    );
  }
}
