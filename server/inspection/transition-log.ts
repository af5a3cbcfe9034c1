/**
 * Debug-level log lines for every chart's transitions, from the inspection events: one line per
 * microstep that took transitions (re-entering ones included; an event no transition matched is
 * not logged), plus one when a chart starts and one when it stops or finishes. Each line carries
 * the chart, the event, where it went, and the Threadline ids (`connectionId`, `sessionId`,
 * `requestId`) found in the actor's context, completed through the gateway's links. Only installed when the logger is at debug or trace,
 * so it costs nothing otherwise.
 */
import type { FastifyBaseLogger } from 'fastify';
import type { InspectedMicrostepEvent, InspectedSnapshotEvent, InspectionEvent } from 'xstate';
import { machineName } from './describe.ts';

const ID_FIELDS = ['connectionId', 'sessionId', 'requestId'] as const;

interface SnapshotLike {
  value?: unknown;
  status?: unknown;
  context?: unknown;
}

function pathOf(node: { path: string[] }): string {
  return node.path.join('.') || '(root)';
}

/** Where a connection's session and a session's connection are found (the gateway). */
export interface LinkLookup {
  connectionOf(sessionId: string): string | undefined;
  sessionOf(connectionId: string): string | undefined;
}

export function transitionLogger(
  logger: FastifyBaseLogger,
  links?: LinkLookup,
): (event: InspectionEvent) => void {
  const line = (event: InspectedSnapshotEvent | InspectedMicrostepEvent) => {
    const snapshot = event.snapshot as SnapshotLike;
    const fields: Record<string, unknown> = {
      chart: machineName(event.actorRef) ?? 'unknown',
      actor: event.actorRef.sessionId,
      event: event.event.type,
      state: snapshot.value,
    };
    const context = snapshot.context;
    if (typeof context === 'object' && context !== null) {
      for (const field of ID_FIELDS) {
        const value = (context as Record<string, unknown>)[field];
        if (typeof value === 'string' && value !== '') fields[field] = value;
      }
    }
    // A session's chart knows no socket and a socket's chart no session: the gateway does.
    if (links && typeof fields.sessionId === 'string' && fields.connectionId === undefined) {
      const connectionId = links.connectionOf(fields.sessionId);
      if (connectionId) fields.connectionId = connectionId;
    }
    if (links && typeof fields.connectionId === 'string' && fields.sessionId === undefined) {
      const sessionId = links.sessionOf(fields.connectionId);
      if (sessionId) fields.sessionId = sessionId;
    }
    return fields;
  };

  return (event) => {
    if (event.type === '@xstate.microstep') {
      if (event._transitions.length === 0) return;
      const fields = line(event);
      fields.transitions = event._transitions.map(
        (transition) =>
          `${pathOf(transition.source)} → ${
            transition.target?.map(pathOf).join(', ') ?? pathOf(transition.source)
          }`,
      );
      logger.debug(fields, 'transition');
      return;
    }
    if (event.type !== '@xstate.snapshot') return;
    const snapshot = event.snapshot as SnapshotLike;
    if (snapshot.value === undefined) return; // not a state machine
    if (event.event.type === 'xstate.init') logger.debug(line(event), 'chart started');
    else if (snapshot.status !== 'active') {
      logger.debug({ ...line(event), status: snapshot.status }, 'chart ended');
    }
  };
}
