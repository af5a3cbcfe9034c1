import type { ServerConfig } from '../config.ts';
import { counterResponder } from './counter.ts';
import { createLocalResponder } from './local.ts';
import { createOpenAIResponder } from './openai.ts';
import type { Responder } from './responder.ts';

/** The responder the configuration names. */
export function createResponder(config: ServerConfig): Responder {
  switch (config.responder) {
    case 'counter':
      return counterResponder;
    case 'openai':
      return createOpenAIResponder({
        baseURL: config.openaiBaseUrl,
        apiKey: config.openaiApiKey,
        model: config.openaiModel,
      });
    default:
      return createLocalResponder(config.localWordDelayMs);
  }
}
