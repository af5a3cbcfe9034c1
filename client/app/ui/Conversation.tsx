/** The turns of one thread: each message and its answer, streaming in as it arrives. */
import { useSelector } from '@xstate/react';
import { useEffect, useRef } from 'react';
import { isOpenTurn, type Turn } from '../model/conversation-machine.ts';
import { describeTurnError, turnBadge } from '../model/describe.ts';
import type { Page, ThreadEntry } from '../model/page.ts';

export function Conversation({ entry, page }: { entry: ThreadEntry; page: Page }) {
  const turns = useSelector(entry.conversation, (snapshot) => snapshot.context.turns);
  const connected = useSelector(entry.client.actor, (snapshot) =>
    snapshot.matches({ linked: { open: 'ready' } }),
  );
  const activeId = useSelector(entry.client.thread, (snapshot) => snapshot.context.activeRequestId);
  const scroller = useRef<HTMLDivElement>(null);
  const pinned = useRef(true);

  // Follow the answer as it grows, unless the reader has scrolled up to read something else.
  useEffect(() => {
    const element = scroller.current;
    if (element && pinned.current) element.scrollTop = element.scrollHeight;
  });

  return (
    <div
      className="conversation"
      ref={scroller}
      onScroll={(event) => {
        const element = event.currentTarget;
        pinned.current = element.scrollHeight - element.scrollTop - element.clientHeight < 40;
      }}
    >
      {turns.length === 0 ? (
        <div className="empty">
          <h2>Start a conversation</h2>
          <p>
            Type a message below and press Enter. The answer streams in word by word; press Stop to
            cut it short. Drop the network or reload the page mid-answer: nothing is lost or
            repeated.
          </p>
        </div>
      ) : (
        <ol className="turns" aria-label="Conversation">
          {turns.map((turn) => (
            <TurnView
              key={turn.requestId}
              turn={turn}
              connected={connected}
              active={turn.requestId === activeId}
              onSendAgain={() => page.send(entry.threadId, turn.text)}
            />
          ))}
        </ol>
      )}
    </div>
  );
}

function TurnView({
  turn,
  connected,
  active,
  onSendAgain,
}: {
  turn: Turn;
  connected: boolean;
  active: boolean;
  onSendAgain: () => void;
}) {
  const badge = turnBadge(turn, connected, active);
  const error = describeTurnError(turn);
  const streaming = turn.status === 'streaming';
  return (
    <li className={`turn status-${turn.status}`} data-request-id={turn.requestId}>
      <div className="message user">
        <span className="sr-only">You: </span>
        {turn.text}
      </div>
      <div className="message answer" aria-busy={isOpenTurn(turn)}>
        <span className="sr-only">Answer: </span>
        {turn.answer ? (
          <span className="answer-text" data-testid="answer">
            {turn.answer}
          </span>
        ) : null}
        {streaming ? <span className="caret" aria-hidden="true" /> : null}
        {badge || error ? (
          <div className="answer-footer">
            {badge ? <span className={`badge badge-${badge.tone}`}>{badge.text}</span> : null}
            {error ? <span className="answer-error">{error}</span> : null}
            {turn.status === 'failed' ? (
              <button type="button" className="button small" onClick={onSendAgain}>
                Send again
              </button>
            ) : null}
          </div>
        ) : null}
      </div>
    </li>
  );
}
