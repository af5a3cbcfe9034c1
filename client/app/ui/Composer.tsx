/**
 * The message box: Enter sends, Shift+Enter is a new line. Send is disabled while the thread
 * streams; Stop cancels and says "Stopping…" until the server confirms. The draft lives in the
 * conversation actor, so it survives a tab switch and a reload.
 */
import { useSelector } from '@xstate/react';
import { useEffect, useRef } from 'react';
import type { Page, ThreadEntry } from '../model/page.ts';

export function Composer({ entry, page }: { entry: ThreadEntry; page: Page }) {
  const draft = useSelector(entry.conversation, (snapshot) => snapshot.context.draft);
  const activeId = useSelector(entry.client.thread, (snapshot) => snapshot.context.activeRequestId);
  const stopping = useSelector(entry.conversation, (snapshot) =>
    snapshot.context.turns.some(
      (turn) => turn.requestId === activeId && turn.status === 'stopping',
    ),
  );
  const streaming = activeId !== null;
  const box = useRef<HTMLTextAreaElement>(null);
  const canSend = !streaming && draft.trim() !== '';

  // When the Stop button goes away under the keyboard focus, the focus returns to the box.
  useEffect(() => {
    if (!streaming && (document.activeElement === document.body || !document.activeElement)) {
      box.current?.focus();
    }
  }, [streaming]);

  const send = () => {
    if (!canSend) return;
    page.send(entry.threadId, draft);
    // Send is disabled while the answer streams: keep the keyboard in the message box.
    box.current?.focus();
  };

  return (
    <form
      className="composer"
      onSubmit={(event) => {
        event.preventDefault();
        send();
      }}
    >
      <label htmlFor={`message-${entry.threadId}`} className="sr-only">
        Message
      </label>
      <textarea
        id={`message-${entry.threadId}`}
        ref={box}
        className="message-box"
        rows={2}
        placeholder="Type a message…"
        value={draft}
        // biome-ignore lint/a11y/noAutofocus: the message box is where every visit starts typing
        autoFocus
        aria-describedby={`message-help-${entry.threadId}`}
        onChange={(event) =>
          entry.conversation.send({ type: 'draft.changed', text: event.target.value })
        }
        onKeyDown={(event) => {
          if (event.key !== 'Enter' || event.shiftKey || event.nativeEvent.isComposing) return;
          event.preventDefault();
          send();
        }}
      />
      <div className="composer-actions">
        {streaming ? (
          <button
            type="button"
            className="button stop"
            disabled={stopping}
            onClick={() => page.stop(entry.threadId)}
          >
            {stopping ? 'Stopping…' : 'Stop'}
          </button>
        ) : null}
        <button type="submit" className="button primary" disabled={!canSend}>
          Send
        </button>
      </div>
      <p id={`message-help-${entry.threadId}`} className="composer-help">
        Enter sends · Shift+Enter starts a new line
      </p>
    </form>
  );
}
