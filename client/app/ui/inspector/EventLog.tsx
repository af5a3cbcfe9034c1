/** The selected actor's recent events, newest first: what arrived, from whom, where it led. */
import type { ActorStore, LogEntry } from '../../model/inspector/actor-store.ts';
import { senderName } from './actor-names.ts';

export function EventLog({ entries, store }: { entries: LogEntry[]; store: ActorStore }) {
  if (entries.length === 0) {
    return <p className="placeholder">No events yet: they appear here as they happen.</p>;
  }
  return (
    <ol className="event-log" aria-label="Events, newest first" data-testid="event-log">
      {entries.map((entry) => (
        <li key={entry.seq} className={`log-${entry.kind}`}>
          <time className="log-time">{entry.at ? timeOf(entry.at) : ''}</time>
          <span className="log-body">
            <code className="log-event">
              {entry.kind === 'ended' ? `ended: ${entry.type}` : entry.type}
            </code>
            {entry.from ? (
              <span className="log-from"> from {senderName(store, entry.from)}</span>
            ) : null}
            {entry.to ? <span className="log-to"> → {entry.to}</span> : null}
            {entry.payload ? <code className="log-payload">{entry.payload}</code> : null}
          </span>
        </li>
      ))}
    </ol>
  );
}

function timeOf(at: number): string {
  const date = new Date(at);
  const pad = (value: number, width = 2) => String(value).padStart(width, '0');
  return `${pad(date.getHours())}:${pad(date.getMinutes())}:${pad(date.getSeconds())}.${pad(date.getMilliseconds(), 3)}`;
}
