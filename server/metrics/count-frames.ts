/**
 * Makes each frame sent through a connection's transport bump the connection's `framesSent`:
 * one increment per frame, nothing allocated. The transport's `send` is wrapped in place, so
 * whatever else a transport offers is left as it is. Only installed when metrics are on.
 */
import type { Transport } from '../session.ts';
import type { ConnectionTally } from './observer.ts';

export function countFrames<T extends Pick<Transport, 'send'>>(
  transport: T,
  tally: ConnectionTally,
): T {
  const send = transport.send.bind(transport);
  transport.send = (text: string) => {
    tally.framesSent++;
    send(text);
  };
  return transport;
}
