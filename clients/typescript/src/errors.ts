/**
 * The errors a call can end with. Every one is a {@link StreampodError}; an open the server
 * refused carries the HTTP-like status code Serverpod's clients use (404, 401, 403, 400).
 */

import type { OpenResult } from './frames.js';

/** The base of every error the client reports. */
export class StreampodError extends Error {
  /** `options.cause`: the error beneath this one, if another layer's caused it. */
  constructor(message: string, options?: ErrorOptions) {
    super(message, options);
    this.name = new.target.name;
  }
}

/** An open the server refused; `statusCode` as Serverpod's client maps it. */
export class OpenFailedError extends StreampodError {
  constructor(
    message: string,
    /** `res` of the server's `omsr`. */
    readonly response: string,
    /** 404, 401, 403 or 400. */
    readonly statusCode: number,
  ) {
    super(message);
  }
}

/** No such endpoint or method (`endpointNotFound`, 404). */
export class EndpointNotFoundError extends OpenFailedError {
  constructor(endpoint: string, method: string) {
    super(`no method ${endpoint}.${method}`, 'endpointNotFound', 404);
  }
}

/** The call needs a signed-in user and the key did not give one (`authenticationFailed`, 401). */
export class AuthenticationFailedError extends OpenFailedError {
  constructor(endpoint: string, method: string) {
    super(`${endpoint}.${method}: authentication failed`, 'authenticationFailed', 401);
  }
}

/** The user lacks a scope the method requires (`authorizationDeclined`, 403). */
export class AuthorizationDeclinedError extends OpenFailedError {
  constructor(endpoint: string, method: string) {
    super(`${endpoint}.${method}: authorization declined`, 'authorizationDeclined', 403);
  }
}

/** The arguments or input streams do not match the method (`invalidArguments`, 400). */
export class InvalidArgumentsError extends OpenFailedError {
  constructor(endpoint: string, method: string) {
    super(`${endpoint}.${method}: invalid arguments`, 'invalidArguments', 400);
  }
}

/**
 * The call ended without a value or an exception to show for it: the socket closed or
 * failed, went idle, the client was closed, or the server closed the call with an error.
 */
export class ConnectionClosedError extends StreampodError {}

/**
 * The server closed the call because the caller's authentication was revoked (a streampod
 * server on the MessagePack wire says so; otherwise a revocation is a plain
 * {@link ConnectionClosedError}).
 */
export class RevokedError extends ConnectionClosedError {}

/**
 * The socket dropped and the connection could not be resumed (PROTOCOL.md §11): the
 * server refused (`reason` says why: `expired`, `closed`, `unknown`, `elsewhere`,
 * `encoding`, `off`) or the window ran out before an attempt got through (`expired`). The
 * method is gone: call again, and work out what was missed. A
 * {@link ConnectionClosedError}, for code that handles any lost call alike.
 */
export class ResumeFailedError extends ConnectionClosedError {
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
export class ProtocolError extends StreampodError {}

/** The error for an open answered with `res` (and, from streampod, why). */
export function openFailed(res: OpenResult, endpoint: string, method: string, why?: string): StreampodError {
  const error = openError(res, endpoint, method);
  if (why !== undefined) error.message += `: ${why}`;
  return error;
}

function openError(res: OpenResult, endpoint: string, method: string): StreampodError {
  switch (res) {
    case 'endpointNotFound':
      return new EndpointNotFoundError(endpoint, method);
    case 'authenticationFailed':
      return new AuthenticationFailedError(endpoint, method);
    case 'authorizationDeclined':
      return new AuthorizationDeclinedError(endpoint, method);
    case 'invalidArguments':
      return new InvalidArgumentsError(endpoint, method);
    case 'success':
      return new ProtocolError('an open that succeeded reported as a failure');
  }
}
