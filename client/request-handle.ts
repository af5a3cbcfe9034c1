/**
 * One request as the caller holds it: an async iterable of the answer's chunks and a promise of
 * how it ended. Chunks are buffered until iterated, so none is missed by a late reader.
 */
import type { ErrorCode } from '../machines/protocol.ts';

export type RequestStatus = 'done' | 'cancelled' | 'failed';

export interface RequestError {
  code: ErrorCode | 'closed';
  message: string;
  retryable: boolean;
  retryAfterMs?: number;
}

export interface RequestResult {
  status: RequestStatus;
  /** The whole answer received, or what arrived before it was cancelled or failed. */
  text: string;
  error?: RequestError;
}

export interface RequestHandle extends AsyncIterable<string> {
  readonly requestId: string;
  readonly result: Promise<RequestResult>;
  /** Stops the answer; `result` settles as `cancelled` (or `done` if it had already finished). */
  cancel(): void;
}

export class RequestStream implements RequestHandle {
  readonly result: Promise<RequestResult>;
  /** The server has acknowledged it (`accepted`): no need to send it again after a resume. */
  accepted = false;
  private text = '';
  private settled: RequestResult | null = null;
  private resolveResult!: (result: RequestResult) => void;
  private pending: string[] = [];
  private wake: (() => void) | null = null;

  constructor(
    readonly requestId: string,
    readonly prompt: string,
    private readonly onCancel: (stream: RequestStream) => void,
  ) {
    this.result = new Promise((resolve) => {
      this.resolveResult = resolve;
    });
  }

  get isSettled(): boolean {
    return this.settled !== null;
  }

  cancel(): void {
    if (!this.settled) this.onCancel(this);
  }

  push(chunk: string): void {
    if (this.settled) return;
    this.text += chunk;
    this.pending.push(chunk);
    this.wake?.();
  }

  settle(status: RequestStatus, error?: RequestError): void {
    if (this.settled) return;
    this.settled = error ? { status, text: this.text, error } : { status, text: this.text };
    this.resolveResult(this.settled);
    this.wake?.();
  }

  async *[Symbol.asyncIterator](): AsyncIterator<string> {
    let index = 0;
    while (true) {
      if (index < this.pending.length) {
        yield this.pending[index++] as string;
        continue;
      }
      if (this.settled) return;
      // Drop what has been read, keeping memory flat for long answers.
      this.pending = [];
      index = 0;
      await new Promise<void>((resolve) => {
        this.wake = resolve;
      });
      this.wake = null;
    }
  }
}
