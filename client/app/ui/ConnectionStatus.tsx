/**
 * The shown thread's connection, always visible: announced (aria-live) when the situation
 * changes, with a countdown that is shown but not read out on every tick, and a retry button.
 */
import { shallowEqual, useSelector } from '@xstate/react';
import { connectionView, describeConnection } from '../model/describe.ts';
import type { Page, ThreadEntry } from '../model/page.ts';
import { useNow } from './use-now.ts';

export function ConnectionStatus({ entry, page }: { entry: ThreadEntry; page: Page }) {
  const view = useSelector(entry.client.actor, connectionView, shallowEqual);
  const resumed = useSelector(entry.conversation, (snapshot) => snapshot.matches('resumed'));
  const now = useNow(view.phase === 'reconnecting' ? 250 : null);
  const line = describeConnection(view, now);
  const note = resumed && line.tone === 'ok' ? 'Session resumed, nothing lost' : null;
  return (
    <div className={`connection tone-${line.tone}`} data-testid="connection">
      <span className="dot" aria-hidden="true" />
      <span className="connection-text">
        <span role="status" aria-live="polite" aria-atomic="true">
          <strong>{line.label}</strong>
          {line.detail ? <span className="connection-detail"> {line.detail}</span> : null}
          {note ? <span className="connection-note"> · {note}</span> : null}
        </span>
        {line.countdown ? (
          <span className="connection-countdown" aria-hidden="true">
            {line.countdown}
          </span>
        ) : null}
      </span>
      {line.action ? (
        <button type="button" className="button small" onClick={() => page.retry(entry.threadId)}>
          {line.action}
        </button>
      ) : null}
    </div>
  );
}
