/** The Threadline client, for Node (pass `ws` as `WebSocket`) and browsers (global WebSocket). */

export { CloseCode, isRetryableClose } from '../machines/close-codes.ts';
export type {
  RequestError,
  RequestHandle,
  RequestResult,
  RequestStatus,
} from './request-handle.ts';
export {
  type ClientClock,
  type ConnectionActor,
  createThreadClient,
  stateName,
  type ThreadClient,
  type ThreadClientConfig,
  ThreadClientError,
  type ThreadClientOptions,
  type ThreadStatus,
  type WebSocketConstructor,
  type WebSocketLike,
} from './thread-client.ts';
