/** What the local responder answers, computed by the responder itself, to compare whole answers. */
import { createLocalResponder } from '../../server/responders/local.ts';
import type { Turn } from '../../server/responders/responder.ts';

export async function localAnswer(text: string, history: Turn[] = []): Promise<string> {
  let answer = '';
  const responder = createLocalResponder(0);
  for await (const word of responder({ text, history, signal: new AbortController().signal })) {
    answer += word;
  }
  return answer;
}
