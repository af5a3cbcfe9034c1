/**
 * The actors of one system as a tree of buttons, grouped by chart (sessions with their request
 * children, and so on). Ended actors stay listed, greyed, for a while. Tab moves between them,
 * Enter or Space selects one.
 */
import { type ActorStore, type ActorView, childrenOf } from '../../model/inspector/actor-store.ts';
import type { FeedSource, SelectedActor } from '../../model/inspector/inspector-machine.ts';
import { actorName, actorSummary } from './actor-names.ts';

export interface ActorGroup {
  title: string;
  charts: string[];
}

export const serverGroups: ActorGroup[] = [
  { title: 'Server root', charts: ['server-root'] },
  { title: 'Thermal', charts: ['thermal-hysteresis'] },
  { title: 'Circuit breaker', charts: ['circuit-breaker'] },
  { title: 'Connections', charts: ['server-connection'] },
  { title: 'Sessions', charts: ['thread-lifecycle'] },
];

export const pageGroups: ActorGroup[] = [
  { title: 'Tabs', charts: ['tabs'] },
  { title: 'Threads', charts: ['client-thread'] },
  { title: 'Conversations', charts: ['conversation'] },
];

interface ActorListProps {
  source: FeedSource;
  store: ActorStore;
  groups: ActorGroup[];
  selected: SelectedActor | null;
  onSelect: (selection: SelectedActor) => void;
}

/** The actors each group starts from: the root itself and its children (server), or the roots. */
function topLevel(store: ActorStore): ActorView[] {
  const root = store.root ? store.actors[store.root] : undefined;
  if (!root) return childrenOf(store, undefined);
  return [
    root,
    ...childrenOf(store, root.ref),
    ...childrenOf(store, undefined).filter((a) => a !== root),
  ];
}

export function ActorList({ source, store, groups, selected, onSelect }: ActorListProps) {
  const top = topLevel(store);
  const known = new Set(groups.flatMap((group) => group.charts));
  const all = [
    ...groups,
    {
      title: 'Other',
      charts: [...new Set(top.map((actor) => actor.chart ?? ''))].filter((c) => !known.has(c)),
    },
  ];
  const root = store.root;
  return (
    <div className="actor-groups">
      {all.map((group) => {
        const members = top.filter((actor) => group.charts.includes(actor.chart ?? ''));
        if (members.length === 0 && group.title === 'Other') return null;
        const live = members.filter((actor) => !actor.ended).length;
        return (
          <section key={group.title} className="actor-group" aria-label={group.title}>
            <h4>
              {group.title}
              <span className="count"> {live}</span>
            </h4>
            {members.length === 0 ? (
              <p className="actor-none">none</p>
            ) : (
              <ul className="actor-tree">
                {members.map((actor) => (
                  <ActorItem
                    key={actor.ref}
                    actor={actor}
                    store={store}
                    source={source}
                    selected={selected}
                    onSelect={onSelect}
                    // The root's children are the groups themselves.
                    nest={actor.ref !== root}
                  />
                ))}
              </ul>
            )}
          </section>
        );
      })}
    </div>
  );
}

function ActorItem({
  actor,
  store,
  source,
  selected,
  onSelect,
  nest,
}: {
  actor: ActorView;
  store: ActorStore;
  source: FeedSource;
  selected: SelectedActor | null;
  onSelect: (selection: SelectedActor) => void;
  nest: boolean;
}) {
  const children = nest ? childrenOf(store, actor.ref) : [];
  const isSelected = selected?.source === source && selected.ref === actor.ref;
  return (
    <li>
      <button
        type="button"
        className={['actor', isSelected ? 'selected' : '', actor.ended ? 'ended' : '']
          .join(' ')
          .trim()}
        aria-pressed={isSelected}
        data-ref={actor.ref}
        data-actor-id={actor.id}
        data-chart={actor.chart ?? ''}
        onClick={() => onSelect({ source, ref: actor.ref })}
      >
        <span className="actor-name">{actorName(actor)}</span>
        <span className="actor-state">{actorSummary(actor)}</span>
      </button>
      {children.length > 0 ? (
        <ul>
          {children.map((child) => (
            <ActorItem
              key={child.ref}
              actor={child}
              store={store}
              source={source}
              selected={selected}
              onSelect={onSelect}
              nest
            />
          ))}
        </ul>
      ) : null}
    </li>
  );
}
