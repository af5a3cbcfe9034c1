import type { ServerConfig } from '../config.ts';
import { counterResponder } from './counter.ts';
import { createLocalResponder } from './local.ts';
import type { Responder } from './responder.ts';

/** The responder the configuration names. */
export function createResponder(config: ServerConfig): Responder {
  switch (config.responder) {
    case 'counter':
      return counterResponder;
    case 'openai': {
      // The SDK weighs megabytes of heap: load it only on a server that uses it.
      let responder: Promise<Responder> | null = null;
      const options = {
        baseURL: config.openaiBaseUrl,
        apiKey: config.openaiApiKey,
        model: config.openaiModel,
      };
      return async function* (request) {
        responder ??= import('./openai.ts').then((module) => module.createOpenAIResponder(options));
        yield* (await responder)(request);
      };
    }
    default:
      return createLocalResponder(config.localWordDelayMs);
  }
}
