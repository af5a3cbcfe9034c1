/**
 * `--inspect stately`: feeds the actor system's inspection events to Stately's hosted inspector
 * through the optional package `@statelyai/inspect` (`createSkyInspector`), for those with
 * internet access. The package is not a dependency: it is loaded when asked for, and start-up
 * stops with a clear message when it is not installed.
 */
import type { FastifyBaseLogger } from 'fastify';
import type { AnyActorRef, InspectionEvent } from 'xstate';

const PACKAGE = '@statelyai/inspect';

interface SkyInspector {
  inspect: ((event: InspectionEvent) => void) | { next?: (event: InspectionEvent) => void };
}

interface StatelyModule {
  createSkyInspector?: (options: { onerror?: (error: Error) => void }) => SkyInspector;
}

export class StatelyInspectError extends Error {
  override readonly name = 'StatelyInspectError';
}

/** Loads the package by a name the type checker does not resolve: it may well be absent. */
const loadPackage = (): Promise<unknown> => import(PACKAGE);

/** Starts the sky inspector on `system`; returns a function that detaches it. */
export async function attachStatelyInspector(
  system: AnyActorRef['system'],
  logger: FastifyBaseLogger,
  load: () => Promise<unknown> = loadPackage,
): Promise<() => void> {
  let loaded: unknown;
  try {
    loaded = await load();
  } catch (error) {
    throw new StatelyInspectError(
      `inspect=stately needs the optional package ${PACKAGE}: run \`npm install ${PACKAGE}\` (${
        error instanceof Error ? error.message : String(error)
      })`,
    );
  }
  const create = (loaded as StatelyModule | null)?.createSkyInspector;
  if (typeof create !== 'function') {
    throw new StatelyInspectError(`${PACKAGE} has no createSkyInspector: is it too old?`);
  }
  const sky = create({
    onerror: (error) => logger.warn({ err: error }, 'stately inspector failed'),
  });
  const subscription = system.inspect(sky.inspect);
  logger.info('feeding inspection events to the Stately inspector');
  return () => subscription.unsubscribe();
}
