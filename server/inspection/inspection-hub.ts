/**
 * The one tap on the server's actor system for inspection: it fans XState's inspection events
 * out to inspector pages and, at debug level, logs every chart's transitions. It is attached to
 * the system (`system.inspect`) only while a page watches or transitions are logged, so when
 * nobody is interested XState finds no inspection observer and the data path pays nothing.
 */
import type { FastifyBaseLogger } from 'fastify';
import type { AnyActorRef, InspectionEvent, Subscription } from 'xstate';
import { helloMessage, type InspectorMessage, toMessage } from './describe.ts';
import { type LinkLookup, transitionLogger } from './transition-log.ts';

/** Receives each message as JSON text (serialised once for every page). */
export type InspectorListener = (text: string, message: InspectorMessage) => void;

export interface InspectionHub {
  /** Pages watching now. */
  readonly listenerCount: number;
  /** Whether the hub is attached to the actor system right now. */
  readonly attached: boolean;
  /** Sends `hello` to `listener`, then every message until the returned function is called. */
  watch(listener: InspectorListener): () => void;
  /** Detaches from the system and forgets every listener. */
  dispose(): void;
}

const DEBUG_LEVELS = new Set(['debug', 'trace']);

export function createInspectionHub(
  root: AnyActorRef,
  logger: FastifyBaseLogger,
  links?: LinkLookup,
): InspectionHub {
  const listeners = new Set<InspectorListener>();
  const logTransition = DEBUG_LEVELS.has(logger.level) ? transitionLogger(logger, links) : null;
  let subscription: Subscription | null = null;

  const publish = (event: InspectionEvent) => {
    logTransition?.(event);
    if (listeners.size === 0) return;
    const message = toMessage(event);
    if (!message) return;
    const text = JSON.stringify(message);
    for (const listener of listeners) listener(text, message);
  };
  // XState calls this inside the actors' own processing: a throw here would fail the actor
  // system, so whatever goes wrong in observing stays here.
  const onEvent = (event: InspectionEvent) => {
    try {
      publish(event);
    } catch (error) {
      logger.warn({ err: error, inspectionEvent: event.type }, 'inspection failed');
    }
  };

  /** Attached exactly while someone is interested. */
  const sync = () => {
    const wanted = listeners.size > 0 || logTransition !== null;
    if (wanted && !subscription) subscription = root.system.inspect(onEvent);
    if (!wanted && subscription) {
      subscription.unsubscribe();
      subscription = null;
    }
  };
  sync();

  return {
    get listenerCount() {
      return listeners.size;
    },
    get attached() {
      return subscription !== null;
    },
    watch(listener) {
      const hello = helloMessage(root);
      listener(JSON.stringify(hello), hello);
      listeners.add(listener);
      sync();
      return () => {
        listeners.delete(listener);
        sync();
      };
    },
    dispose() {
      listeners.clear();
      subscription?.unsubscribe();
      subscription = null;
    },
  };
}
