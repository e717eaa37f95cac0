/**
 * The client: one WebSocket shared by every call, opened on the first call and closed once
 * no call has been left for `lingerMs` (1 s by default), so that the next call reuses it
 * (PROTOCOL.md §5; Serverpod's `ClientMethodStreamManager` closes at once). When it drops
 * with calls open, a streampod server lets the client resume them on a new one
 * (PROTOCOL.md §11).
 */

import { Call, MAX_CREDIT } from './call.js';
import { ClientClosedError, ProtocolError, StreampodError, openFailed } from './errors.js';
import { ConnectionState, Socket, WebSocketConstructor } from './socket.js';
import { Encoding, fromWrapped, toPlain } from './values.js';

export type { ConnectionState, WebSocketConstructor, WebSocketLike } from './socket.js';

/** Settings of a {@link Client}. */
export interface ClientOptions {
  /** The key sent with each call (as `Bearer <key>`; a value with a scheme goes as is). */
  authKey?: () => string | undefined | Promise<string | undefined>;
  /**
   * Called once when an open is answered `authenticationFailed`: if it resolves `true`,
   * the open is tried once more with a fresh key (Serverpod's refresh-and-retry rule).
   */
  refreshAuthKey?: () => boolean | Promise<boolean>;
  /** MessagePack in binary frames (default) or Serverpod's JSON in text frames. */
  encoding?: Encoding;
  /** The WebSocket implementation, where there is no global one (Node 20: the `ws` package). */
  WebSocket?: WebSocketConstructor;
  /** Interval of the client's `ping`. Default 20 s. */
  pingIntervalMs?: number;
  /** Time without any frame after which every call fails. Default 40 s. */
  idleTimeoutMs?: number;
  /** Time allowed to open the socket and get its first frame. Default 5 s. */
  connectTimeoutMs?: number;
  /**
   * How long the socket stays open after its last call, for the next call to use: calls
   * made one after another share it instead of paying a handshake each. Default 1 s, as
   * the Rust client's; 0 closes it at once, as Serverpod's client does.
   */
  lingerMs?: number;
  /**
   * Per-call flow control (PROTOCOL.md §10): the values the server may send a call ahead
   * of its consumer, granted back in halves as the consumer takes them; a call the
   * consumer stops reading then stops alone. `null` turns it off. Default 1024, as the
   * Rust client's. A server without it (Serverpod) just ignores it.
   */
  window?: number | null;
  /**
   * Whether calls survive a dropped socket (PROTOCOL.md §11): the client asks the server
   * for a resumable connection, and when the socket drops with calls open it reconnects
   * within the server's window and resumes them, with nothing lost or repeated. A server
   * that does not resume (Serverpod) ignores the request. Default `true`.
   */
  resume?: boolean;
  /**
   * Bytes of sent call frames kept until the server acknowledges them, for a replay: when
   * they reach it, input streams are not pulled until acknowledgements free some. Default
   * 1 MiB, as the server's.
   */
  resumeBufferBytes?: number;
  /** The longest wait between two reconnect attempts. Default 5 s. */
  reconnectMaxDelayMs?: number;
  /**
   * Whether calls ask for keyed value frames (PROTOCOL.md §12): on the MessagePack wire,
   * a call whose open the server answers with its key carries its values as
   * `[key, input, className, data]` instead of full `msm` messages (a 64-byte value's frame
   * shrinks from ~180 to ~80 bytes). A server without them answers without the key, and
   * the call uses `msm`. Default `true`, as the Rust client's.
   */
  keyedFrames?: boolean;
}

/** Options of one call. */
export interface CallOptions {
  /** Aborting it cancels the call. */
  signal?: AbortSignal;
  /**
   * The key of this call, instead of the client's `authKey` (as `Bearer <key>`; a value
   * with a scheme goes as is): for a page that acts for several users, or a call that needs
   * a key of its own. `refreshAuthKey` is not asked when such a key is refused. On a
   * resumed connection the server checks calls again with the client's key (PROTOCOL.md
   * §11): a call whose own key is another user's then ends with `RevokedError`.
   */
  authKey?: string | (() => string | undefined | Promise<string | undefined>);
}

/** The input streams of a call, by parameter name. */
export type Inputs = Record<string, AsyncIterable<unknown> | Iterable<unknown>>;

/** A call's values as they arrive; iterating opens the call, leaving the loop cancels it. */
export type CallStream<T = unknown> = AsyncIterable<T>;

/** A client of one streampod (or Serverpod) server. */
export class Client {
  private readonly url: string;
  private readonly options: Required<
    Pick<
      ClientOptions,
      | 'pingIntervalMs'
      | 'idleTimeoutMs'
      | 'connectTimeoutMs'
      | 'lingerMs'
      | 'resume'
      | 'resumeBufferBytes'
      | 'reconnectMaxDelayMs'
      | 'keyedFrames'
    >
  > &
    ClientOptions;
  private readonly encoding: Encoding;
  /** `fc` of every open, if flow control is on. */
  private readonly window: number | undefined;
  private socket: Promise<Socket> | undefined;
  private current: ConnectionState = { state: 'disconnected' };
  private readonly listeners = new Set<(state: ConnectionState) => void>();

  /** A client of the server at `url` (`http(s)://host:port`, any path). */
  constructor(url: string, options: ClientOptions = {}) {
    const u = new URL(url);
    u.protocol = u.protocol === 'https:' || u.protocol === 'wss:' ? 'wss:' : 'ws:';
    u.pathname = '/v1/websocket';
    u.search = '';
    this.url = u.toString();
    this.options = {
      pingIntervalMs: 20_000,
      idleTimeoutMs: 40_000,
      connectTimeoutMs: 5_000,
      lingerMs: 1_000,
      resume: true,
      resumeBufferBytes: 1 << 20,
      reconnectMaxDelayMs: 5_000,
      keyedFrames: true,
      ...options,
    };
    const window = options.window === undefined ? 1024 : options.window;
    this.window = window === null ? undefined : Math.min(Math.max(1, Math.floor(window)), MAX_CREDIT);
    this.encoding = options.encoding ?? 'msgpack';
  }

  /** Where the client's connection stands now. */
  get state(): ConnectionState {
    return this.current;
  }

  /**
   * Calls `listener` with each new state of the connection: `connecting` for the first
   * call, `connected`, `reconnecting` (with the attempt, from 1) while a dropped socket is
   * being replaced (its calls stay open), `disconnected` when no socket is needed or the
   * calls failed with it. Returns the function that stops it.
   */
  onStateChange(listener: (state: ConnectionState) => void): () => void {
    this.listeners.add(listener);
    return () => this.listeners.delete(listener);
  }

  /** Calls a method that returns a stream; see {@link CallStream}. */
  stream<T = unknown>(
    endpoint: string,
    method: string,
    args: Record<string, unknown> = {},
    inputs: Inputs = {},
    options: CallOptions = {},
  ): CallStream<T> {
    return { [Symbol.asyncIterator]: () => this.run<T>(endpoint, method, args, inputs, options) };
  }

  /**
   * Calls a method that returns one value: resolves with it, or rejects with a
   * {@link ProtocolError} when the call ends without one (a void method: use
   * {@link Client.callVoid}).
   */
  async call<T = unknown>(
    endpoint: string,
    method: string,
    args: Record<string, unknown> = {},
    inputs: Inputs = {},
    options: CallOptions = {},
  ): Promise<T> {
    let result: { value: T } | undefined;
    // Read to the end: the call ends by itself, no cancel needed.
    for await (const value of this.stream<T>(endpoint, method, args, inputs, options)) {
      result ??= { value };
    }
    if (!result) throw new ProtocolError(`${endpoint}.${method} ended without a value`);
    return result.value;
  }

  /** Calls a method that returns nothing: resolves when it has ended. */
  async callVoid(
    endpoint: string,
    method: string,
    args: Record<string, unknown> = {},
    inputs: Inputs = {},
    options: CallOptions = {},
  ): Promise<void> {
    for await (const _ of this.stream(endpoint, method, args, inputs, options)) {
      // A void method sends no value; one that does is read past.
    }
  }

  /** Closes the socket; every open call fails with {@link ClientClosedError}. */
  close(): void {
    const socket = this.socket;
    this.socket = undefined;
    socket?.then((s) => s.fail(new ClientClosedError('the client was closed')), () => {});
  }

  private async *run<T>(
    endpoint: string,
    method: string,
    args: Record<string, unknown>,
    inputs: Inputs,
    options: CallOptions,
  ): AsyncGenerator<T> {
    options.signal?.throwIfAborted();
    const call = await this.open(endpoint, method, args, inputs, options.authKey);
    const abort = () => {
      const reason: unknown = options.signal?.reason;
      call.cancel(reason instanceof Error ? reason : new StreampodError('aborted', { cause: reason }));
    };
    options.signal?.addEventListener('abort', abort);
    try {
      for (;;) {
        const value = await call.next();
        if (value === undefined) return;
        call.tookOne();
        yield fromWrapped(value.className, value.data, this.encoding) as T;
      }
    } finally {
      options.signal?.removeEventListener('abort', abort);
      // Left early (a `break`, an error, a value that cannot be decoded): cancel.
      call.cancel();
    }
  }

  /** Opens a call: `omsc`, then its `omsr`; once more after a refreshed key. */
  private async open(
    endpoint: string,
    method: string,
    args: Record<string, unknown>,
    inputs: Inputs,
    key: CallOptions['authKey'],
  ): Promise<Call> {
    for (let attempt = 0; ; attempt++) {
      const auth = key === undefined ? await this.auth() : authValue(typeof key === 'string' ? key : await key());
      const socket = await this.connection();
      const call = new Call(socket, endpoint, method, randomUuid(), this.window);
      const { res, why } = await socket.open(call, {
        en: endpoint,
        m: method,
        cid: call.cid,
        args: toPlain(args, this.encoding),
        is: Object.keys(inputs),
        ...(auth === undefined ? {} : { auth }),
        ...(this.window === undefined ? {} : { fc: this.window }),
      });
      if (res === 'success') {
        Object.entries(inputs).forEach(([name, source], place) => call.pump(name, place, source));
        return call;
      }
      const refresh = this.options.refreshAuthKey;
      if (res === 'authenticationFailed' && key === undefined && attempt === 0 && refresh && (await refresh())) continue;
      throw openFailed(res, endpoint, method, why);
    }
  }

  /** The live socket, opened if there is none (concurrent first calls share one attempt). */
  private connection(): Promise<Socket> {
    const current = this.socket;
    if (current) {
      return current.then(
        (s) => (s.isOpen() ? s : this.reconnect(current)),
        () => this.reconnect(current),
      );
    }
    return this.reconnect(undefined);
  }

  private reconnect(stale: Promise<Socket> | undefined): Promise<Socket> {
    if (this.socket !== stale) return this.connection();
    const Ctor = this.options.WebSocket ?? (globalThis as { WebSocket?: WebSocketConstructor }).WebSocket;
    if (!Ctor) {
      return Promise.reject(new StreampodError('no WebSocket here: pass options.WebSocket (e.g. the ws package)'));
    }
    this.publish({ state: 'connecting' });
    let opening: Promise<Socket> | undefined = undefined;
    // Only the client's latest socket reports its state.
    const onState = (state: ConnectionState) => {
      if (this.socket === opening) this.publish(state);
    };
    opening = Socket.open(Ctor, this.url, this.encoding, { ...this.options, auth: () => this.auth(), onState });
    this.socket = opening;
    opening.then(
      (socket) => onState({ state: socket.isOpen() ? 'connected' : 'disconnected' }),
      () => onState({ state: 'disconnected' }),
    );
    opening.catch(() => {
      if (this.socket === opening) this.socket = undefined;
    });
    return opening;
  }

  /** The `auth` value of an open or a resume: the key, as `Bearer <key>` unless it has a scheme. */
  private async auth(): Promise<string | undefined> {
    return authValue(await this.options.authKey?.());
  }

  private publish(state: ConnectionState): void {
    const same =
      state.state === this.current.state &&
      (state.state !== 'reconnecting' || (this.current.state === 'reconnecting' && state.attempt === this.current.attempt));
    if (same) return;
    this.current = state;
    for (const listener of this.listeners) listener(state);
  }
}

/** `key` as an `auth` value: `Bearer <key>`, unless it has a scheme already. */
function authValue(key: string | undefined): string | undefined {
  return key === undefined ? undefined : /^\S+ \S/.test(key) ? key : `Bearer ${key}`;
}

function randomUuid(): string {
  const c = globalThis.crypto;
  if (typeof c?.randomUUID === 'function') return c.randomUUID();
  const b = new Uint8Array(16);
  c.getRandomValues(b);
  b[6] = (b[6] & 0x0f) | 0x40;
  b[8] = (b[8] & 0x3f) | 0x80;
  const h = Array.from(b, (x) => x.toString(16).padStart(2, '0')).join('');
  return `${h.slice(0, 8)}-${h.slice(8, 12)}-${h.slice(12, 16)}-${h.slice(16, 20)}-${h.slice(20)}`;
}
