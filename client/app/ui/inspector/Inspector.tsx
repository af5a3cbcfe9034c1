/**
 * The live statechart inspector: the actors of the server's system (from its `/inspect` socket)
 * and of this page's own systems, and for the selected one its chart with the current state
 * filled in, its event log and its context. Everything shown comes from the inspector chart's
 * snapshot; the server is watched only while this view is open.
 */
import { useActorRef, useSelector } from '@xstate/react';
import { fromCallback, fromPromise } from 'xstate';
import type { ActorView } from '../../model/inspector/actor-store.ts';
import { describeValue } from '../../model/inspector/actor-store.ts';
import { chartOf } from '../../model/inspector/charts.ts';
import {
  type FeedSource,
  type InspectorEvent,
  inspectorMachine,
  type SelectedActor,
} from '../../model/inspector/inspector-machine.ts';
import { watchPage } from '../../model/inspector/page-feed.ts';
import { checkInspection, inspectUrl, openServerFeed } from '../../model/inspector/server-feed.ts';
import { pageActors } from '../../page-actors.ts';
import { ActorList, pageGroups, serverGroups } from './ActorList.tsx';
import { actorName } from './actor-names.ts';
import { ChartView } from './ChartView.tsx';
import { EventLog } from './EventLog.tsx';

const inspectorLogic = inspectorMachine.provide({
  actors: {
    checkServer: fromPromise(({ signal }) => checkInspection(globalThis.location.href, signal)),
    serverFeed: fromCallback<InspectorEvent>(({ sendBack }) =>
      openServerFeed(inspectUrl(globalThis.location.href), {
        opened: () => sendBack({ type: 'server.opened' }),
        messages: (messages) => sendBack({ type: 'server.received', messages, at: Date.now() }),
        closed: (code, reason) => sendBack({ type: 'server.closed', code, reason }),
      }),
    ),
    pageFeed: fromCallback<InspectorEvent>(({ sendBack }) =>
      watchPage({
        actors: pageActors,
        onMessages: (messages) => sendBack({ type: 'page.received', messages, at: Date.now() }),
      }),
    ),
  },
});

export function Inspector() {
  const inspector = useActorRef(inspectorLogic);
  const server = useSelector(inspector, (snapshot) => snapshot.context.server);
  const page = useSelector(inspector, (snapshot) => snapshot.context.page);
  const selected = useSelector(inspector, (snapshot) => snapshot.context.selected);
  const select = (selection: SelectedActor) =>
    inspector.send({ type: 'actor.select', ...selection });

  return (
    <main className="view inspector" aria-labelledby="inspector-title">
      <div className="view-head">
        <h2 id="inspector-title">Live statechart inspector</h2>
        <ServerState inspector={inspector} />
      </div>
      <div className="inspector-body">
        <aside className="actor-panel" aria-label="Actors">
          <section className="actor-source" aria-labelledby="server-actors">
            <h3 id="server-actors">Server</h3>
            <ServerNotice inspector={inspector} />
            {Object.keys(server.actors).length > 0 ? (
              <ActorList
                source="server"
                store={server}
                groups={serverGroups}
                selected={selected}
                onSelect={select}
              />
            ) : null}
          </section>
          <section className="actor-source" aria-labelledby="page-actors">
            <h3 id="page-actors">This page</h3>
            <ActorList
              source="page"
              store={page}
              groups={pageGroups}
              selected={selected}
              onSelect={select}
            />
          </section>
        </aside>
        <SelectedPanel inspector={inspector} />
      </div>
    </main>
  );
}

type InspectorRef = ReturnType<typeof useActorRef<typeof inspectorLogic>>;

function ServerState({ inspector }: { inspector: InspectorRef }) {
  const phase = useSelector(inspector, (snapshot) => {
    const server = snapshot.value.server;
    return typeof server === 'string' ? server : `linked.${Object.values(server)[0] ?? ''}`;
  });
  const count = useSelector(
    inspector,
    (snapshot) => Object.values(snapshot.context.server.actors).filter((a) => !a.ended).length,
  );
  const text =
    phase === 'linked.live'
      ? `Live · ${count} server actors`
      : phase === 'disabled'
        ? 'Server inspection is off'
        : phase === 'lost' || phase === 'unreachable'
          ? 'Reconnecting to the server…'
          : 'Connecting to the server…';
  const tone = phase === 'linked.live' ? 'live' : phase === 'disabled' ? 'off' : 'starting';
  return (
    <p className={`feed-state feed-${tone}`} role="status" data-testid="inspector-state">
      <span className="dot" aria-hidden="true" />
      {text}
    </p>
  );
}

function ServerNotice({ inspector }: { inspector: InspectorRef }) {
  const disabled = useSelector(inspector, (snapshot) => snapshot.matches({ server: 'disabled' }));
  const mode = useSelector(inspector, (snapshot) => snapshot.context.serverMode);
  const problem = useSelector(inspector, (snapshot) => snapshot.context.problem);
  const dropped = useSelector(inspector, (snapshot) => snapshot.context.server.dropped);
  if (disabled) {
    return (
      <div className="notice notice-warn inline" data-testid="inspection-off">
        <p>
          <strong>Inspection is off on this server</strong> (its <code>inspect</code> setting is{' '}
          <code>{mode ?? 'off'}</code>, as the production preset has it), so its actors are not
          streamed. Start it with <code>--inspect local</code> to watch them here. This page’s own
          actors are below.
        </p>
        <button
          type="button"
          className="button small"
          onClick={() => inspector.send({ type: 'server.retry' })}
        >
          Check again
        </button>
      </div>
    );
  }
  return (
    <>
      {problem ? <p className="notice notice-warn inline">{problem}</p> : null}
      {dropped > 0 ? (
        <p className="notice notice-warn inline">
          {dropped} messages were skipped while this page fell behind.
        </p>
      ) : null}
    </>
  );
}

function SelectedPanel({ inspector }: { inspector: InspectorRef }) {
  const selection = useSelector(
    inspector,
    (snapshot) => {
      const selected = snapshot.context.selected;
      if (!selected) return null;
      const store = snapshot.context[selected.source];
      const actor = store.actors[selected.ref];
      return actor ? { source: selected.source, actor } : { source: selected.source, actor: null };
    },
    sameSelection,
  );
  const store = useSelector(inspector, (snapshot) =>
    selection ? snapshot.context[selection.source] : null,
  );

  if (!selection) {
    return (
      <section className="chart-panel empty-panel" aria-label="Selected actor">
        <p className="placeholder">
          Select an actor on the left to see its chart, its current state and its events.
        </p>
      </section>
    );
  }
  const { actor, source } = selection;
  if (!actor || !store) {
    return (
      <section className="chart-panel empty-panel" aria-label="Selected actor">
        <p className="placeholder">That actor is gone.</p>
      </section>
    );
  }
  return <ActorDetails actor={actor} source={source} store={store} />;
}

function sameSelection(
  a: { source: FeedSource; actor: ActorView | null } | null,
  b: { source: FeedSource; actor: ActorView | null } | null,
): boolean {
  return a === b || (a !== null && b !== null && a.source === b.source && a.actor === b.actor);
}

function ActorDetails({
  actor,
  source,
  store,
}: {
  actor: ActorView;
  source: FeedSource;
  store: Parameters<typeof EventLog>[0]['store'];
}) {
  const chart = actor.chart && chartOf(actor.chart) ? actor.chart : null;
  const current = describeValue(actor.value);
  return (
    <section
      className="chart-panel"
      aria-labelledby="selected-actor"
      data-testid="selected-actor"
      data-ref={actor.ref}
    >
      <div className="selected-head">
        <h3 id="selected-actor">
          {actorName(actor)}
          <span className="selected-where">
            {source === 'server' ? ' · server' : ' · this page'}
          </span>
        </h3>
        <p className="selected-meta">
          {chart ? (
            <>
              chart <code>{chart}</code>
            </>
          ) : (
            'no chart (not a state machine)'
          )}{' '}
          · id <code title={actor.id}>{actor.id}</code> ·{' '}
          <span className={actor.ended ? 'status ended' : 'status'}>{actor.status}</span>
        </p>
        <p className="current-state">
          Current state:{' '}
          <strong className="current-state-value" data-testid="current-state">
            {current || (actor.ended ? actor.status : '—')}
          </strong>
        </p>
      </div>
      {chart ? <ChartView chart={chart} value={actor.value} status={actor.status} /> : null}
      <div className="selected-foot">
        <section className="log-panel" aria-labelledby="event-log-title">
          <h4 id="event-log-title">Events</h4>
          <EventLog entries={actor.log} store={store} />
        </section>
        <section className="context-panel" aria-labelledby="context-title">
          <h4 id="context-title">Context</h4>
          {actor.context !== undefined ? (
            <pre className="context">{JSON.stringify(actor.context, null, 2)}</pre>
          ) : (
            <p className="placeholder">No context.</p>
          )}
        </section>
      </div>
    </section>
  );
}
