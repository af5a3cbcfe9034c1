/**
 * The embedded local responder: no model, no network, no keys. It answers with a short text built
 * from the message and the thread's history, streamed word by word, so the app is useful offline
 * and every transport feature (streaming, stop, resume) can be tried by hand.
 */
import { pause, type Responder } from './responder.ts';

const openings = [
  'Here is what I make of',
  'Thinking about',
  'A few words on',
  'Let me stream an answer to',
];

function compose(text: string, turn: number): string {
  const topic = text.trim().replace(/\s+/g, ' ').slice(0, 80) || 'an empty message';
  const opening = openings[turn % openings.length];
  const memory =
    turn === 0
      ? 'This is the first message of the thread.'
      : `This thread has ${turn} earlier ${turn === 1 ? 'exchange' : 'exchanges'}, and I still have them.`;
  return (
    `${opening} “${topic}”. ${memory} ` +
    'I am the local responder: I stream one word at a time over a persistent WebSocket, ' +
    'so you can press Stop mid-sentence, drop the network, or reload the page, and the answer ' +
    'resumes where it left off without losing or repeating a word.'
  );
}

export function createLocalResponder(wordDelayMs: number): Responder {
  return async function* ({ text, history, signal }) {
    const words = compose(text, history.length).split(/(?<= )/);
    for (const word of words) {
      if (wordDelayMs > 0) await pause(wordDelayMs, signal);
      signal.throwIfAborted();
      yield word;
    }
  };
}
