/**
 * What a real actor actually did, transition by transition: the `@xstate.microstep` inspection
 * events of its actor system, kept in order so a replayed path can check each step against them.
 * Coverage counts only transitions seen here, never what the model merely predicts.
 */
import type { AnyActorRef, AnyMachineSnapshot, AnyTransitionDefinition, StateValue } from 'xstate';
import { waitFor } from '../../test/support/harness.ts';
import { transitionKey } from './chart-graph.ts';

export interface RealMicrostep {
  eventType: string;
  transitions: string[];
  value: StateValue;
  context: unknown;
  /** Ids of the state nodes active after the microstep. */
  nodes: string[];
}

export function activeNodeIds(snapshot: AnyMachineSnapshot): string[] {
  return snapshot._nodes.map((node) => node.id);
}

export class MicrostepLog {
  readonly steps: RealMicrostep[] = [];
  private cursor = 0;
  private readonly subscription: { unsubscribe(): void };

  /** Records the microsteps of `actor` (found through `pick` in case it starts later). */
  constructor(system: AnyActorRef['system'], pick: () => AnyActorRef | undefined) {
    this.subscription = system.inspect((event) => {
      if (event.type !== '@xstate.microstep' || event.actorRef !== pick()) return;
      const transitions = (event._transitions as AnyTransitionDefinition[]).map(transitionKey);
      // An event no transition takes still makes a microstep: nothing happened, nothing to check.
      if (transitions.length === 0) return;
      const snapshot = event.snapshot as AnyMachineSnapshot;
      this.steps.push({
        eventType: event.event.type,
        transitions,
        value: snapshot.value,
        context: snapshot.context,
        nodes: activeNodeIds(snapshot),
      });
    });
  }

  /** Microsteps not yet taken by `take`. */
  pending(): RealMicrostep[] {
    return this.steps.slice(this.cursor);
  }

  /**
   * Waits for the next microstep and requires it to take exactly `expected`: anything else the
   * real actor did first is a divergence from the path, reported with what happened instead.
   */
  async take(expected: string[], what: string, timeoutMs = 5000): Promise<RealMicrostep> {
    try {
      await waitFor(() => this.steps.length > this.cursor, { timeoutMs, what });
    } catch (error) {
      const last = this.steps.at(-1);
      throw new Error(
        `${(error as Error).message}; expected ${expected.join(' + ')}; the real actor is in ${JSON.stringify(last?.value ?? 'its initial state')}`,
      );
    }
    const step = this.steps[this.cursor] as RealMicrostep;
    if (JSON.stringify(step.transitions) !== JSON.stringify(expected)) {
      throw new Error(
        `${what}: expected ${expected.join(' + ')} but the real actor took ${step.transitions.join(' + ')} on ${step.eventType}`,
      );
    }
    this.cursor++;
    return step;
  }

  stop(): void {
    this.subscription.unsubscribe();
  }
}
