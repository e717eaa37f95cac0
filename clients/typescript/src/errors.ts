/**
 * The errors a call can end with. Every one is a {@link StreampodError} with a `kind` that
 * says which case it is and what an app can do about it (see {@link ErrorKind}); each kind
 * has its class too, for `instanceof`. An open the server refused carries the HTTP-like
 * status code Serverpod's clients use (404, 401, 403, 400).
 */

import type { OpenResult } from './frames.js';

/**
 * Which error this is, and what an app should do:
 *
 * | kind | what happened | what to do |
 * |---|---|---|
 * | `connectFailed` | the socket could not be opened (server down, refused, wrong URL) | retry later, with backoff |
 * | `connectTimeout` | the socket opened, the server said nothing in time | retry later |
 * | `connectionLost` | the socket closed or failed with the call open, and was not resumed | call again |
 * | `idleTimeout` | no frame for `idleTimeoutMs`: the network or the server is gone | call again |
 * | `resumeFailed` | the socket dropped and the server could not resume (`reason`) | call again, and catch up on what was missed |
 * | `clientClosed` | the app closed the client | nothing: it asked for it |
 * | `endpointNotFound` | no such endpoint or method (404) | give up: a bug or a version mismatch |
 * | `authenticationFailed` | the method needs a signed-in user: no key, or one refused (401; `reason` says which) | sign in (again), then call again |
 * | `authorizationDeclined` | the user lacks a scope (403) | give up, tell the user |
 * | `invalidArguments` | arguments or inputs do not fit the method (400) | give up: a bug; report `reason` |
 * | `revoked` | the user's authentication was revoked during the call | sign in again |
 * | `rejected` | the server refused a value the call sent (`reason`) | give up: a bug; report `reason` |
 * | `exception` | the method threw a serializable exception | the app's own: read `className` and `data` |
 * | `callFailed` | the method failed on the server and said nothing more | report; calling again may work |
 * | `protocol` | a frame or value this client cannot read | report: a bug or a version mismatch |
 * | `other` | anything else (no WebSocket here, an aborted call) | read the message |
 */
export type ErrorKind =
  | 'connectFailed'
  | 'connectTimeout'
  | 'connectionLost'
  | 'idleTimeout'
  | 'resumeFailed'
  | 'clientClosed'
  | OpenResultError
  | 'revoked'
  | 'rejected'
  | 'exception'
  | 'callFailed'
  | 'protocol'
  | 'other';

/** The `res` values of a refused open. */
export type OpenResultError = Exclude<OpenResult, 'success'>;

/** The base of every error the client reports. */
export class StreampodError extends Error {
  /** Which case this is; see {@link ErrorKind}. */
  readonly kind: ErrorKind = 'other';

  /** `options.cause`: the error beneath this one, if another layer's caused it. */
  constructor(message: string, options?: ErrorOptions) {
    super(message, options);
    this.name = new.target.name;
  }
}

/** An open the server refused; `statusCode` as Serverpod's client maps it. */
export class OpenFailedError extends StreampodError {
  override readonly kind: OpenResultError;

  constructor(
    message: string,
    /** `res` of the server's `omsr`. */
    readonly response: OpenResultError,
    /** 404, 401, 403 or 400. */
    readonly statusCode: number,
    /** What was wrong, as a streampod server puts it (MessagePack wire only). */
    readonly reason?: string,
  ) {
    super(reason === undefined ? message : `${message}: ${reason}`);
    this.kind = response;
  }
}

/** No such endpoint or method (`endpointNotFound`, 404). */
export class EndpointNotFoundError extends OpenFailedError {
  constructor(endpoint: string, method: string, reason?: string) {
    super(`no method ${endpoint}.${method}`, 'endpointNotFound', 404, reason);
  }
}

/**
 * The call needs a signed-in user and the key did not give one (`authenticationFailed`,
 * 401). A streampod server says whether the call carried no key or one it refused.
 */
export class AuthenticationFailedError extends OpenFailedError {
  constructor(endpoint: string, method: string, reason?: string) {
    super(`${endpoint}.${method}: authentication failed`, 'authenticationFailed', 401, reason);
  }
}

/** The user lacks a scope the method requires (`authorizationDeclined`, 403). */
export class AuthorizationDeclinedError extends OpenFailedError {
  constructor(endpoint: string, method: string, reason?: string) {
    super(`${endpoint}.${method}: authorization declined`, 'authorizationDeclined', 403, reason);
  }
}

/** The arguments or input streams do not match the method (`invalidArguments`, 400). */
export class InvalidArgumentsError extends OpenFailedError {
  constructor(endpoint: string, method: string, reason?: string) {
    super(`${endpoint}.${method}: invalid arguments`, 'invalidArguments', 400, reason);
  }
}

/**
 * The call ended without a value or an exception to show for it. Never thrown as itself:
 * one of its subclasses says why (see {@link ErrorKind}); catch this one to handle every
 * lost call alike.
 */
export class ConnectionClosedError extends StreampodError {
  override readonly kind: ErrorKind = 'connectionLost';
}

/** The socket could not be opened: the server is down or refused it, or the URL is wrong. */
export class ConnectFailedError extends ConnectionClosedError {
  override readonly kind = 'connectFailed';
}

/** The socket opened, but the server sent nothing within `connectTimeoutMs`. */
export class ConnectTimeoutError extends ConnectionClosedError {
  override readonly kind = 'connectTimeout';
}

/** The socket closed or failed while the call was open, and was not resumed. */
export class ConnectionLostError extends ConnectionClosedError {
  override readonly kind = 'connectionLost';
}

/** No frame arrived within `idleTimeoutMs`: the network or the server is gone. */
export class IdleTimeoutError extends ConnectionClosedError {
  override readonly kind = 'idleTimeout';
}

/** The app closed the client ({@link Client.close}) while the call was open. */
export class ClientClosedError extends ConnectionClosedError {
  override readonly kind = 'clientClosed';
}

/** The method failed on the server without a serializable exception; the server says no more. */
export class CallFailedError extends ConnectionClosedError {
  override readonly kind = 'callFailed';
}

/**
 * The server ended the call because of a value it sent: one an input's type cannot hold,
 * or one beyond the credit the server granted (`reason` says which). A bug in the calling
 * code: report it. (A streampod server on the MessagePack wire says so; otherwise this is
 * a {@link CallFailedError}.)
 */
export class RejectedError extends ConnectionClosedError {
  override readonly kind = 'rejected';

  constructor(
    /** What was wrong, as the server put it. */
    readonly reason: string,
  ) {
    super(`the server refused what the call sent: ${reason}`);
  }
}

/**
 * The server closed the call because the caller's authentication was revoked (a streampod
 * server on the MessagePack wire says so; otherwise a revocation is a
 * {@link CallFailedError}). Sign in again.
 */
export class RevokedError extends ConnectionClosedError {
  override readonly kind = 'revoked';
}

/**
 * The socket dropped and the connection could not be resumed (PROTOCOL.md §11): the
 * server refused (`reason` says why: `expired`, `closed`, `unknown`, `elsewhere`,
 * `encoding`, `off`) or the window ran out before an attempt got through (`expired`). The
 * method is gone: call again, and work out what was missed. A
 * {@link ConnectionClosedError}, for code that handles any lost call alike.
 */
export class ResumeFailedError extends ConnectionClosedError {
  override readonly kind = 'resumeFailed';

  constructor(
    /** Why, as the server said, or `expired` when no attempt reached it in time. */
    readonly reason: string,
    options?: ErrorOptions,
  ) {
    super(`the connection could not be resumed: ${reason}`, options);
  }
}

/** The method threw a serializable exception: its class and its data. */
export class SerializableExceptionError extends StreampodError {
  override readonly kind = 'exception';

  constructor(
    /** The exception's class, e.g. `ExceptionWithData`. */
    readonly className: string,
    /** The exception's fields, decoded as values are. */
    readonly data: unknown,
  ) {
    super(`the method threw ${className}`);
  }
}

/** A value the client could not decode, or a frame it could not read. */
export class ProtocolError extends StreampodError {
  override readonly kind = 'protocol';
}

/** The error for an open answered with `res` (and, from streampod, why). */
export function openFailed(res: OpenResult, endpoint: string, method: string, why?: string): StreampodError {
  switch (res) {
    case 'endpointNotFound':
      return new EndpointNotFoundError(endpoint, method, why);
    case 'authenticationFailed':
      return new AuthenticationFailedError(endpoint, method, why);
    case 'authorizationDeclined':
      return new AuthorizationDeclinedError(endpoint, method, why);
    case 'invalidArguments':
      return new InvalidArgumentsError(endpoint, method, why);
    case 'success':
      return new ProtocolError('an open that succeeded reported as a failure');
  }
}
