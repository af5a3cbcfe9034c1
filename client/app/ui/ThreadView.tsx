/** One thread: notices about the session and the server, the conversation, the message box. */
import { useSelector } from '@xstate/react';
import { describeLoss, describeServer } from '../model/describe.ts';
import type { Page, ThreadEntry } from '../model/page.ts';
import { Composer } from './Composer.tsx';
import { Conversation } from './Conversation.tsx';
import { useNow } from './use-now.ts';

export function ThreadView({ entry, page }: { entry: ThreadEntry; page: Page }) {
  return (
    <main className="thread">
      <LostNotice entry={entry} />
      <ServerConditionsBanner entry={entry} />
      <Conversation entry={entry} page={page} />
      <Composer entry={entry} page={page} />
    </main>
  );
}

/** After a failed resume: what was lost, until dismissed or the next message. */
function LostNotice({ entry }: { entry: ThreadEntry }) {
  const text = useSelector(entry.conversation, (snapshot) =>
    snapshot.matches('lost') && snapshot.context.lostReason
      ? describeLoss(snapshot.context.lostReason, snapshot.context.turns)
      : null,
  );
  if (!text) return null;
  return (
    <div className="notice notice-error" role="alert">
      <p>{text}</p>
      <button
        type="button"
        className="button small"
        onClick={() => entry.conversation.send({ type: 'notice.dismiss' })}
      >
        Dismiss
      </button>
    </div>
  );
}

/** The server's conditions (cooling down, upstream breaker open) while connected. */
function ServerConditionsBanner({ entry }: { entry: ThreadEntry }) {
  const server = useSelector(entry.conversation, (snapshot) => snapshot.context.server);
  const connected = useSelector(entry.client.actor, (snapshot) =>
    snapshot.matches({ linked: { open: 'ready' } }),
  );
  const ticking = server?.breaker.state === 'open' && server.breaker.retryAfterMs !== undefined;
  const now = useNow(ticking ? 250 : null);
  const lines = connected ? describeServer(server, now) : [];
  return (
    <div className="conditions" role="status" aria-live="polite">
      {lines.map((line) => (
        <p key={line.label} className="notice notice-warn condition">
          <strong>{line.label}</strong>
          {line.countdown ? <span aria-hidden="true">{line.countdown}</span> : null}
          {line.detail ? <span className="condition-detail">{line.detail}</span> : null}
        </p>
      ))}
    </div>
  );
}
