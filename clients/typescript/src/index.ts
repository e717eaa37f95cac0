/**
 * streampod's client for browsers and Node: streaming methods of a streampod (or
 * Serverpod) server over one shared WebSocket.
 *
 * ```ts
 * import { Client } from 'streampod';
 * const client = new Client('http://127.0.0.1:8080');
 * for await (const v of client.stream('methodStreaming', 'intEchoStream', {}, { stream: [1, 2, 3] })) {
 *   console.log(v);
 * }
 * client.close();
 * ```
 */

export { Client } from './client.js';
export type {
  CallOptions,
  CallStream,
  ClientOptions,
  ConnectionState,
  Inputs,
  WebSocketConstructor,
  WebSocketLike,
} from './client.js';
export {
  AuthenticationFailedError,
  AuthorizationDeclinedError,
  CallFailedError,
  ClientClosedError,
  ConnectFailedError,
  ConnectionClosedError,
  ConnectionLostError,
  ConnectTimeoutError,
  EndpointNotFoundError,
  IdleTimeoutError,
  InvalidArgumentsError,
  OpenFailedError,
  ProtocolError,
  RejectedError,
  ResumeFailedError,
  RevokedError,
  SerializableExceptionError,
  StreampodError,
} from './errors.js';
export type { ErrorKind, OpenResultError } from './errors.js';
export { typed, Typed, typedValues, wrap, Wrapped } from './values.js';
export type { Encoding } from './values.js';
export type { OpenResult } from './frames.js';
