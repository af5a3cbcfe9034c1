/**
 * Paths through a chart, from XState's graph utilities over the real machine. Simple paths when
 * there are few enough of them; otherwise shortest paths. Either way, extra paths (the shortest
 * path to a state plus one more edge) are added until every transition the traversal can take is
 * on some path: self-loops and targetless transitions never appear on simple or shortest paths.
 *
 * A state of the model is the snapshot's identity (value and what the guards read) plus a
 * "phase": what the snapshot alone does not say but the real system's next move depends on,
 * derived from the event that led there (for example "the backoff child owes an answer").
 */
import {
  type AnyActorScope,
  type AnyEventObject,
  type AnyMachineSnapshot,
  type AnyStateMachine,
  type AnyTransitionDefinition,
  createEmptyActor,
  type EventObject,
} from 'xstate';
import {
  getAdjacencyMap,
  getShortestPaths,
  getSimplePaths,
  type StatePath,
  type TraversalOptions,
} from 'xstate/graph';
import { transitionKey } from './chart-graph.ts';

export interface ChartModel {
  machine: AnyStateMachine;
  input?: unknown;
  /**
   * Candidate events for a state, with the payloads the guards need. Each chart lists its
   * delayed and done events here too (see `generatedEventTypes`); what the state cannot take
   * is dropped.
   */
  events(snapshot: AnyMachineSnapshot, phase: string): EventObject[];
  phase?(snapshot: AnyMachineSnapshot, event: EventObject | undefined, previous: string): string;
  /** What identifies a state of the model. Default: value and context. */
  identify?(snapshot: AnyMachineSnapshot): unknown;
  /** Above this many simple paths, use shortest paths instead. Default 200. */
  simplePathLimit?: number;
}

export interface PathStep {
  event: EventObject;
  /** The model's state after the event. */
  state: AnyMachineSnapshot;
  phase: string;
  /**
   * Keys of the transitions the model takes on this event, microstep by microstep (the event's
   * own, then any eventless or raised ones); none for the initial step.
   */
  microsteps: string[][];
  /** The same keys, flat. */
  transitions: string[];
}

export interface ModelPath {
  name: string;
  origin: 'simple' | 'shortest' | 'covering' | 'scenario';
  /** Step 0 is `xstate.init` into the initial state. */
  steps: PathStep[];
}

export interface ChartPaths {
  strategy: 'simple' | 'shortest';
  simplePathCount: number | null;
  paths: ModelPath[];
  /** Transition keys some path takes. */
  reachable: Set<string>;
}

type Snapshot = AnyMachineSnapshot;

/** `socket.closed(1006)`, `after connectTimeout`: short names for path titles. */
export function eventName(event: EventObject): string {
  const after = /^xstate\.after\.([^.]+)\./.exec(event.type);
  if (after) return `after ${after[1]}`;
  const { type, ...payload } = event as EventObject & Record<string, unknown>;
  const code = payload.code;
  return typeof code === 'number' ? `${type}(${code})` : type;
}

/**
 * The machine, except that every transition returns a new snapshot object. A transition that
 * changes nothing in the snapshot (a targetless one that only sends) returns the very same
 * object, yet it may change the phase, which is kept per snapshot object.
 */
function freshSnapshots(machine: AnyStateMachine): AnyStateMachine {
  const transition: AnyStateMachine['transition'] = (snapshot, event, scope) => {
    const next = machine.transition(snapshot, event, scope);
    return next === snapshot ? { ...next } : next;
  };
  return Object.create(machine, { transition: { value: transition } }) as AnyStateMachine;
}

/** An actor scope in which a machine steps without executing any effect. */
function silentScope(): AnyActorScope {
  const actor = createEmptyActor();
  return {
    self: actor,
    system: actor.system,
    id: '',
    sessionId: actor.sessionId,
    logger: () => {},
    defer: () => {},
    emit: () => {},
    stopChild: () => {},
    actionExecutor: () => {},
  } as unknown as AnyActorScope;
}

/**
 * The microsteps one event makes the model take, each as transition keys: the machine steps in
 * an actor scope of its own whose system reports microsteps to an inspector, as a running actor's
 * does. Effects are not executed (the scope's executor does nothing).
 */
function microstepsOf(machine: AnyStateMachine, before: Snapshot, event: EventObject): string[][] {
  const probe = createEmptyActor();
  const microsteps: string[][] = [];
  const subscription = probe.system.inspect((inspection) => {
    if (inspection.type !== '@xstate.microstep') return;
    const transitions = inspection._transitions as AnyTransitionDefinition[];
    if (transitions.length > 0) microsteps.push(transitions.map(transitionKey));
  });
  const scope = {
    self: probe,
    system: probe.system,
    id: '',
    sessionId: probe.sessionId,
    logger: () => {},
    defer: () => {},
    emit: () => {},
    stopChild: () => {},
    actionExecutor: () => {},
  } as unknown as AnyActorScope;
  machine.transition(before, event, scope);
  subscription.unsubscribe();
  return microsteps;
}

export class ModelTraversal {
  private readonly phases = new WeakMap<Snapshot, string>();
  private readonly logic: AnyStateMachine;
  readonly options: TraversalOptions<Snapshot, EventObject, unknown>;

  constructor(readonly model: ChartModel) {
    this.logic = freshSnapshots(model.machine);
    this.options = {
      input: model.input,
      serializeState: (state, event, previous) => {
        const phase =
          model.phase?.(state, event, previous ? (this.phases.get(previous) ?? '') : '') ?? '';
        this.phases.set(state, phase);
        return this.keyOf(state);
      },
      events: (state) =>
        model.events(state, this.phaseOf(state)).filter((event) => state.can(event)),
    };
  }

  phaseOf(state: Snapshot): string {
    const phase = this.phases.get(state);
    if (phase === undefined) throw new Error('snapshot was never serialized by the traversal');
    return phase;
  }

  keyOf(state: Snapshot): string {
    const identity = this.model.identify?.(state) ?? { value: state.value, context: state.context };
    return `${JSON.stringify(identity)}|${this.phaseOf(state)}`;
  }

  /** Turns a graph path into steps with the model's transitions on each. */
  toPath(path: StatePath<Snapshot, EventObject>, origin: ModelPath['origin']): ModelPath {
    const steps = path.steps.map((step, index): PathStep => {
      const before = path.steps[index - 1]?.state;
      const microsteps = before ? microstepsOf(this.model.machine, before, step.event) : [];
      return {
        event: step.event,
        state: step.state,
        phase: this.phaseOf(step.state),
        microsteps,
        transitions: microsteps.flat(),
      };
    });
    return { name: steps.map((step) => eventName(step.event)).join(' → '), origin, steps };
  }

  /** The one path that takes `events` from the initial state (a scenario written by hand). */
  pathFromEvents(events: AnyEventObject[]): ModelPath {
    // The machine is stepped event by event. (getPathsFromEvents would first map every state the
    // given events can reach from anywhere, which for a chart with a queue never ends.)
    const fromState = Object.values(getAdjacencyMap(this.logic, this.options))[0]?.state;
    if (!fromState) throw new Error('the model has no initial state');
    const scope = silentScope();
    const steps: Array<{ state: Snapshot; event: EventObject }> = [
      { state: fromState, event: { type: 'xstate.init' } },
    ];
    let state = fromState;
    for (const event of events) {
      if (!state.can(event)) {
        throw new Error(
          `no path takes ${events.map(eventName).join(' → ')}: not ${eventName(event)}`,
        );
      }
      const next: Snapshot = this.logic.transition(state, event, scope);
      this.options.serializeState?.(next, event, state);
      steps.push({ state: next, event });
      state = next;
    }
    return this.toPath({ state, steps, weight: events.length }, 'scenario');
  }

  /** Counts simple paths from the initial state, giving up past `limit`. */
  private countSimplePaths(limit: number): number | null {
    const adjacency = getAdjacencyMap(this.logic, this.options);
    const [start] = Object.keys(adjacency);
    if (start === undefined) return 0;
    let count = 0;
    const visiting = new Set<string>();
    const visit = (key: string): boolean => {
      if (++count > limit) return false;
      visiting.add(key);
      const edges: Array<{ state: Snapshot }> = Object.values(
        adjacency[key as keyof typeof adjacency]?.transitions ?? {},
      );
      for (const { state } of edges) {
        const next = this.keyOf(state);
        if (!visiting.has(next) && !visit(next)) return false;
      }
      visiting.delete(key);
      return true;
    };
    return visit(start) ? count : null;
  }

  /** Paths that together take every transition the traversal can reach. */
  coveringPaths(): ChartPaths {
    const limit = this.model.simplePathLimit ?? 200;
    const simplePathCount = this.countSimplePaths(limit);
    const strategy = simplePathCount === null ? 'shortest' : 'simple';
    const base = (
      strategy === 'simple'
        ? getSimplePaths(this.logic, this.options)
        : getShortestPaths(this.logic, this.options)
    ).map((path) => this.toPath(path, strategy));

    const shortest = new Map(
      getShortestPaths(this.logic, this.options).map((path) => [this.keyOf(path.state), path]),
    );
    let paths = withoutPrefixes(base);
    const reachable = new Set(paths.flatMap((path) => path.steps.flatMap((s) => s.transitions)));
    const adjacency = getAdjacencyMap(this.logic, this.options);
    for (const vertex of Object.values(adjacency)) {
      const edges: Array<{ event: EventObject; state: Snapshot }> = Object.values(
        vertex.transitions,
      );
      for (const { event, state } of edges) {
        const keys = microstepsOf(this.model.machine, vertex.state, event).flat();
        if (keys.every((key) => reachable.has(key))) continue;
        const head = shortest.get(this.keyOf(vertex.state));
        if (!head) throw new Error(`no shortest path to ${this.keyOf(vertex.state)}`);
        const path = this.toPath(
          { state, steps: [...head.steps, { event, state }], weight: head.weight + 1 },
          'covering',
        );
        for (const key of keys) reachable.add(key);
        paths.push(path);
      }
    }
    paths = withoutPrefixes(paths);
    return { strategy, simplePathCount, paths, reachable };
  }
}

/** Drops every path whose events are a prefix of another path's: the longer one replays it. */
function withoutPrefixes(paths: ModelPath[]): ModelPath[] {
  const names = paths.map((path) => path.steps.map((step) => JSON.stringify(step.event)));
  const kept: ModelPath[] = [];
  paths.forEach((path, index) => {
    const own = names[index] ?? [];
    const covered = names.some(
      (other, otherIndex) =>
        otherIndex !== index &&
        (other.length > own.length || (other.length === own.length && otherIndex < index)) &&
        own.every((event, i) => other[i] === event),
    );
    if (!covered) kept.push(path);
  });
  return kept;
}
