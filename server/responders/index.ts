import type { ServerConfig } from '../config.ts';
import { counterResponder } from './counter.ts';
import { createLocalResponder } from './local.ts';
import type { Responder } from './responder.ts';

/** The responder the configuration names. */
export function createResponder(config: ServerConfig): Responder {
  switch (config.responder) {
    case 'counter':
      return counterResponder;
    case 'openai':
      throw new Error('the openai responder is not available yet');
    default:
      return createLocalResponder(config.localWordDelayMs);
  }
}
