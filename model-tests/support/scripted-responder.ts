/**
 * An upstream the test plays by hand. Each answer streams one chunk at once, then waits for the
 * test to say how it ends: it completes, it fails, or it stops the way a responder stopped by its
 * AbortSignal must (by throwing). Until then it does not react to the signal at all, like a slow
 * upstream: that is what lets a path reach the edges where a cancel is not confirmed yet, is
 * overtaken by the answer's end, or is forced after the cancel timeout.
 */
import {
  type Responder,
  ResponderError,
  type ResponderRequest,
} from '../../server/responders/responder.ts';
import { waitFor } from '../../test/support/harness.ts';

export type AnswerEnding = 'finish' | 'fail' | 'stop';

/** The one chunk an answer streams before it waits. */
export const chunkOf = (text: string) => `${text}:chunk`;

export class ScriptedAnswer {
  ending: AnswerEnding | null = null;
  readonly released: Promise<AnswerEnding>;
  private release: (ending: AnswerEnding) => void = () => {};

  constructor(
    readonly text: string,
    readonly signal: AbortSignal,
  ) {
    this.released = new Promise((resolve) => {
      this.release = resolve;
    });
  }

  /** Ends the answer (once): `finish` returns, `fail` throws a retryable upstream failure. */
  end(ending: AnswerEnding): void {
    if (this.ending) return;
    this.ending = ending;
    this.release(ending);
  }
}

export class ScriptedResponder {
  /** Answers by request text (the tests use the request id as its text). */
  readonly answers = new Map<string, ScriptedAnswer>();

  readonly responder: Responder = (request) => this.run(request);

  private async *run({ text, signal }: ResponderRequest): AsyncIterable<string> {
    const answer = new ScriptedAnswer(text, signal);
    this.answers.set(text, answer);
    yield chunkOf(text);
    const ending = await answer.released;
    if (ending === 'fail') {
      throw new ResponderError(`the upstream failed on ${text}`, 'upstream_failed', true);
    }
    if (ending === 'stop') throw signal.reason ?? new Error(`${text} stopped`);
  }

  /** The answer to `text`, once the server has started it. */
  answer(text: string): Promise<ScriptedAnswer> {
    return waitFor(() => this.answers.get(text), {
      what: `the server to start answering ${text}`,
    }) as Promise<ScriptedAnswer>;
  }

  /** Lets every answer still waiting go, so no responder outlives its test. */
  endAll(): void {
    for (const answer of this.answers.values()) answer.end('stop');
  }
}
