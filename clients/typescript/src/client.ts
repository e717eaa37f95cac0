/**
 * The client: one WebSocket shared by every call, opened on the first call and closed once
 * no call has been left for `lingerMs` (1 s by default), so that the next call reuses it
 * (PROTOCOL.md §5; Serverpod's `ClientMethodStreamManager` closes at once).
 */

import {
  ConnectionClosedError,
  ProtocolError,
  RevokedError,
  SerializableExceptionError,
  StreampodError,
  openFailed,
} from './errors.js';
import { Frame, OpenResult, Target, WireValue, decodeFrame, encodeFrame } from './frames.js';
import { Encoding, fromWrapped, toPlain, toWrapped } from './values.js';

/** What the client needs of a WebSocket: the browser's, Node ≥ 22's, or the `ws` package's. */
export interface WebSocketLike {
  binaryType: string;
  readonly readyState: number;
  readonly bufferedAmount: number;
  send(data: string | Uint8Array): void;
  close(code?: number, reason?: string): void;
  onopen: ((event: unknown) => void) | null;
  onmessage: ((event: { data: unknown }) => void) | null;
  onclose: ((event: unknown) => void) | null;
  onerror: ((event: unknown) => void) | null;
}

/** A WebSocket constructor. */
export type WebSocketConstructor = new (url: string) => WebSocketLike;

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
}

/** Options of one call. */
export interface CallOptions {
  /** Aborting it cancels the call. */
  signal?: AbortSignal;
}

/** The input streams of a call, by parameter name. */
export type Inputs = Record<string, AsyncIterable<unknown> | Iterable<unknown>>;

/** A call's values as they arrive; iterating opens the call, leaving the loop cancels it. */
export type CallStream<T = unknown> = AsyncIterable<T>;

/** A client of one streampod (or Serverpod) server. */
export class Client {
  private readonly url: string;
  private readonly options: Required<
    Pick<ClientOptions, 'pingIntervalMs' | 'idleTimeoutMs' | 'connectTimeoutMs' | 'lingerMs'>
  > &
    ClientOptions;
  private readonly encoding: Encoding;
  /** `fc` of every open, if flow control is on. */
  private readonly window: number | undefined;
  private socket: Promise<Socket> | undefined;

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
      ...options,
    };
    const window = options.window === undefined ? 1024 : options.window;
    this.window = window === null ? undefined : Math.min(Math.max(1, Math.floor(window)), MAX_CREDIT);
    this.encoding = options.encoding ?? 'msgpack';
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

  /** Closes the socket; every open call fails with {@link ConnectionClosedError}. */
  close(): void {
    const socket = this.socket;
    this.socket = undefined;
    socket?.then((s) => s.fail(new ConnectionClosedError('the client was closed')), () => {});
  }

  private async *run<T>(
    endpoint: string,
    method: string,
    args: Record<string, unknown>,
    inputs: Inputs,
    options: CallOptions,
  ): AsyncGenerator<T> {
    options.signal?.throwIfAborted();
    const call = await this.open(endpoint, method, args, inputs);
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
  private async open(endpoint: string, method: string, args: Record<string, unknown>, inputs: Inputs): Promise<Call> {
    for (let attempt = 0; ; attempt++) {
      const key = await this.options.authKey?.();
      const socket = await this.connection();
      const call = new Call(socket, endpoint, method, randomUuid(), this.window);
      const { res, why } = await socket.open(call, {
        en: endpoint,
        m: method,
        cid: call.cid,
        args: toPlain(args, this.encoding),
        is: Object.keys(inputs),
        ...(key === undefined ? {} : { auth: /^\S+ \S/.test(key) ? key : `Bearer ${key}` }),
        ...(this.window === undefined ? {} : { fc: this.window }),
      });
      if (res === 'success') {
        for (const [name, source] of Object.entries(inputs)) call.pump(name, source);
        return call;
      }
      const refresh = this.options.refreshAuthKey;
      if (res === 'authenticationFailed' && attempt === 0 && refresh && (await refresh())) continue;
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
    const opening = Socket.open(Ctor, this.url, this.encoding, this.options);
    this.socket = opening;
    opening.catch(() => {
      if (this.socket === opening) this.socket = undefined;
    });
    return opening;
  }
}

/** The server's answer to an open: `res`, and on the MessagePack wire why it refused. */
interface Answer {
  res: OpenResult;
  why?: string;
}

/** One open WebSocket and the calls on it. */
class Socket {
  private readonly calls = new Map<string, Call>();
  /** Opens waiting for their `omsr`: resolved with `res`, or failed with the socket. */
  private readonly opening = new Map<string, { resolve: (answer: Answer) => void; reject: (e: Error) => void }>();
  private closed: StreampodError | undefined;
  private idle: ReturnType<typeof setTimeout> | undefined;
  /** Running while no call is open: when it fires, the socket closes. */
  private linger: ReturnType<typeof setTimeout> | undefined;
  private readonly ping: ReturnType<typeof setInterval>;
  /** Resolves when the send buffer has drained, while some pump waits for it. */
  private draining: Promise<void> | undefined;

  private constructor(
    private readonly ws: WebSocketLike,
    readonly encoding: Encoding,
    private readonly options: { pingIntervalMs: number; idleTimeoutMs: number; lingerMs: number },
  ) {
    ws.onmessage = (event) => this.receive(event.data);
    ws.onclose = () => this.fail(new ConnectionClosedError('the method stream socket closed'));
    ws.onerror = () => this.fail(new ConnectionClosedError('the method stream socket failed'));
    this.ping = setInterval(() => this.send({ type: 'ping' }), options.pingIntervalMs);
    this.resetIdle();
  }

  /** Connects, sends `ping` and waits for the first frame (Serverpod's handshake). */
  static open(
    Ctor: WebSocketConstructor,
    url: string,
    encoding: Encoding,
    options: { pingIntervalMs: number; idleTimeoutMs: number; connectTimeoutMs: number; lingerMs: number },
  ): Promise<Socket> {
    return new Promise((resolve, reject) => {
      const ws = new Ctor(url);
      ws.binaryType = 'arraybuffer';
      const timer = setTimeout(() => {
        ws.close();
        reject(new ConnectionClosedError(`no answer from ${url} within ${options.connectTimeoutMs} ms`));
      }, options.connectTimeoutMs);
      const failed = () => {
        clearTimeout(timer);
        reject(new ConnectionClosedError(`cannot connect to ${url}`));
      };
      ws.onerror = failed;
      ws.onclose = failed;
      ws.onopen = () => ws.send(encodeFrame({ type: 'ping' }, encoding));
      ws.onmessage = (event) => {
        clearTimeout(timer);
        const socket = new Socket(ws, encoding, options);
        socket.receive(event.data);
        resolve(socket);
      };
    });
  }

  isOpen(): boolean {
    return this.closed === undefined;
  }

  send(frame: Frame): void {
    if (this.closed) return;
    this.ws.send(encodeFrame(frame, this.encoding));
  }

  /**
   * Resolves once the socket holds less than {@link SEND_BUFFER} unsent (or has closed):
   * input pumps wait on it, so a fast source is pulled only as fast as the connection
   * sends. A WebSocket has no event for its buffer draining, so one timer per socket,
   * running only while some pump waits, looks at it, backing off from 4 ms to 64 ms; all
   * the waiting pumps share it.
   */
  drained(): Promise<void> {
    if (this.closed || this.ws.bufferedAmount <= SEND_BUFFER) return Promise.resolve();
    this.draining ??= new Promise<void>((resolve) => {
      let wait = 4;
      const check = () => {
        if (this.closed || this.ws.bufferedAmount <= SEND_BUFFER) {
          this.draining = undefined;
          return resolve();
        }
        wait = Math.min(wait * 2, 64);
        setTimeout(check, wait);
      };
      setTimeout(check, wait);
    });
    return this.draining;
  }

  /** Sends an open and resolves with its answer (its `fc` goes to the call). */
  open(call: Call, data: Extract<Frame, { type: 'omsc' }>['data']): Promise<Answer> {
    if (this.closed) return Promise.reject(this.closed);
    clearTimeout(this.linger);
    this.linger = undefined;
    // Registered before the open goes out, so that no early value is lost.
    this.calls.set(call.cid, call);
    return new Promise<Answer>((resolve, reject) => {
      this.opening.set(call.cid, { resolve, reject });
      this.send({ type: 'omsc', data });
    }).then((answer) => {
      if (answer.res !== 'success') this.forget(call.cid);
      return answer;
    });
  }

  /** A call ended: forgets it, and closes the socket once nothing is left for a while. */
  forget(cid: string): void {
    this.calls.delete(cid);
    if (this.calls.size === 0 && this.opening.size === 0 && !this.closed && this.linger === undefined) {
      this.linger = setTimeout(() => this.closeIfIdle(), this.options.lingerMs);
    }
  }

  private closeIfIdle(): void {
    this.linger = undefined;
    if (this.calls.size === 0 && this.opening.size === 0 && !this.closed) {
      this.shut(new ConnectionClosedError('the socket closed when idle'));
      this.ws.close(1000, 'idle');
    }
  }

  /** Fails every call and closes the socket. */
  fail(error: StreampodError): void {
    if (this.closed) return;
    this.shut(error);
    for (const call of this.calls.values()) call.finish(error);
    for (const open of this.opening.values()) open.reject(error);
    this.calls.clear();
    this.opening.clear();
    this.ws.close();
  }

  private shut(error: StreampodError): void {
    this.closed = error;
    clearInterval(this.ping);
    clearTimeout(this.idle);
    clearTimeout(this.linger);
  }

  private resetIdle(): void {
    clearTimeout(this.idle);
    this.idle = setTimeout(
      () => this.fail(new ConnectionClosedError('the method stream connection went idle')),
      this.options.idleTimeoutMs,
    );
  }

  private receive(raw: unknown): void {
    if (this.closed) return;
    this.resetIdle();
    let frame: Frame;
    try {
      frame = decodeFrame(raw, this.encoding);
    } catch (e) {
      const error = e instanceof StreampodError ? e : new ProtocolError('a frame that cannot be read', { cause: e });
      this.send({ type: 'brm', data: { req: error.message } });
      return this.fail(error);
    }
    switch (frame.type) {
      case 'ping':
        return this.send({ type: 'pong' });
      case 'pong':
        return;
      case 'omsr': {
        const d = frame.data;
        const open = this.opening.get(d.cid);
        this.opening.delete(d.cid);
        if (d.fc !== undefined) this.calls.get(d.cid)?.flowControlled(d.fc);
        return open?.resolve({ res: d.res, why: d.why });
      }
      case 'msm': {
        const d = frame.data;
        const call = this.calls.get(d.cid);
        if (!call) return this.send({ type: 'cmsc', data: { en: d.en, m: d.m, cid: d.cid, cr: 'error' } });
        if (call.push(d.o)) return;
        // Beyond the credit the call granted: that call fails, and is cancelled.
        call.cancel(new ProtocolError('the server sent beyond the call’s credit'), 'error');
        return this.forget(call.cid);
      }
      case 'msse': {
        const { cid, ex } = frame.data;
        const call = this.calls.get(cid);
        if (!call) return;
        let data: unknown = ex.data;
        try {
          // The exception's fields, without the class name the error carries already.
          const { __className__: _class, ...fields } = fromWrapped(ex.className, ex.data, this.encoding) as Record<string, unknown>;
          data = fields;
        } catch {
          // Left as it came.
        }
        call.finish(new SerializableExceptionError(ex.className, data));
        return this.forget(cid);
      }
      case 'cmsc': {
        const d = frame.data;
        const call = this.calls.get(d.cid);
        if (!call) return;
        if (d.p !== undefined) return call.stopPump(d.p);
        if (d.why === 'revoked') call.finish(new RevokedError('the call was closed: its authentication was revoked'));
        else call.finish(d.cr === 'error' ? new ConnectionClosedError('the call closed with an error') : undefined);
        return this.forget(call.cid);
      }
      case 'crd': {
        const d = frame.data;
        if (d.p !== undefined) this.calls.get(d.cid)?.grant(d.p, d.n);
        return;
      }
      case 'brm':
        return this.fail(new ProtocolError(`the server reported a bad request: ${frame.data.req}`));
      case 'omsc':
        // Not the server's to send.
        return;
    }
  }

}

/** One open call: its values in arrival order, its end, its input pumps. */
class Call {
  private readonly values: WireValue[] = [];
  private ended = false;
  private error: Error | undefined;
  private wake: (() => void) | undefined;
  private readonly pumps = new Map<string, Pump>();
  /** With flow control: the server's credit for each input (`fc`, then `crd(p)`). */
  private inputWindow: number | undefined;
  /** With flow control: values the consumer took and the server has not been granted back. */
  private taken = 0;
  /** Values received and not taken, against the window. */
  private unread = 0;

  constructor(
    private readonly socket: Socket,
    private readonly endpoint: string,
    private readonly method: string,
    readonly cid: string,
    /** `fc` of the open, if flow control is on. */
    private window: number | undefined,
  ) {}

  /** The server answered the open with its input credit: the call is flow-controlled. */
  flowControlled(inputWindow: number): void {
    if (this.window !== undefined) this.inputWindow = inputWindow;
  }

  /** A value arrived; false if it is beyond the credit the call granted. */
  push(value: WireValue): boolean {
    if (this.ended) return true;
    if (this.inputWindow !== undefined && this.window !== undefined && this.unread >= this.window) return false;
    this.unread += 1;
    this.values.push(value);
    this.wake?.();
    return true;
  }

  /** The consumer took a value: grants the server more once half the window is taken. */
  tookOne(): void {
    this.unread -= 1;
    if (this.inputWindow === undefined || this.window === undefined || this.ended) return;
    this.taken += 1;
    if (this.taken >= Math.ceil(this.window / 2)) {
      this.socket.send({ type: 'crd', data: this.target({ n: this.taken }) });
      this.taken = 0;
    }
  }

  /** The server granted `n` more values on input `name`. */
  grant(name: string, n: number): void {
    this.pumps.get(name)?.grant(n);
  }

  /** The call ended (with `error`, or cleanly): after the values already here. */
  finish(error?: Error): void {
    if (this.ended) return;
    this.ended = true;
    this.error = error;
    for (const pump of this.pumps.values()) pump.stop();
    this.wake?.();
  }

  /** The next value; `undefined` at the end; throws the call's error after its values. */
  async next(): Promise<WireValue | undefined> {
    for (;;) {
      const value = this.values.shift();
      if (value) return value;
      if (this.ended) {
        if (this.error) throw this.error;
        return undefined;
      }
      await new Promise<void>((resolve) => (this.wake = resolve));
      this.wake = undefined;
    }
  }

  /** The caller let go (or aborted, with `error`): tells the server, unless the call has ended. */
  cancel(error?: Error, reason: 'done' | 'error' = 'done'): void {
    if (this.ended) return;
    this.finish(error);
    this.socket.send({ type: 'cmsc', data: this.target({ cr: reason }) });
    this.socket.forget(this.cid);
  }

  /** Feeds input stream `name` from `source` until it ends, fails or is stopped. */
  pump(name: string, source: AsyncIterable<unknown> | Iterable<unknown>): void {
    const state = new Pump(this.inputWindow);
    this.pumps.set(name, state);
    const encoding = this.socket.encoding;
    void (async () => {
      try {
        // Pulled only as far as the server's credit goes, with flow control.
        for await (const value of credited(source, state)) {
          if (state.stopped) return;
          this.socket.send({ type: 'msm', data: this.target({ p: name, o: toWrapped(value, encoding) }) });
          // Waits while the socket is behind, so a fast source is pulled only as fast as
          // the connection sends.
          await this.socket.drained();
        }
        if (!state.stopped) this.socket.send({ type: 'cmsc', data: this.target({ p: name, cr: 'done' }) });
      } catch (e) {
        if (state.stopped) return;
        if (e instanceof SerializableExceptionError) {
          const ex = toWrapped({ __className__: e.className, ...(e.data as object) }, encoding);
          this.socket.send({ type: 'msse', data: this.target({ p: name, ex }) });
        }
        this.socket.send({ type: 'cmsc', data: this.target({ p: name, cr: 'error' }) });
      } finally {
        this.pumps.delete(name);
      }
    })();
  }

  /** The server closed input `name`: stop pulling it. */
  stopPump(name: string): void {
    this.pumps.get(name)?.stop();
  }

  /** The call's target, with `rest` (an input's `p`, and the frame's own fields). */
  private target<R extends object>(rest: R): Target & R {
    return { en: this.endpoint, m: this.method, cid: this.cid, ...rest };
  }
}

/** One input stream's pump: stopped or not, and the server's credit for it, if any. */
class Pump {
  stopped = false;
  private wake: (() => void) | undefined;

  constructor(
    /** Values the server still accepts; `undefined` without flow control. */
    private credit: number | undefined,
  ) {}

  stop(): void {
    this.stopped = true;
    this.wake?.();
  }

  grant(n: number): void {
    if (this.credit === undefined) return;
    this.credit = Math.min(this.credit + n, MAX_CREDIT);
    this.wake?.();
  }

  /** Takes one value's credit, waiting for some; false once stopped. */
  async take(): Promise<boolean> {
    while (this.credit === 0 && !this.stopped) {
      await new Promise<void>((resolve) => (this.wake = resolve));
      this.wake = undefined;
    }
    if (this.stopped) return false;
    if (this.credit !== undefined) this.credit -= 1;
    return true;
  }
}

/**
 * `source`, pulled only as far as `pump` has credit, and one value ahead: that value waits
 * for credit, while the source's end or failure, which need none, go at once (PROTOCOL.md
 * §10).
 */
async function* credited(source: AsyncIterable<unknown> | Iterable<unknown>, pump: Pump): AsyncGenerator<unknown> {
  const iterator = Symbol.asyncIterator in source ? source[Symbol.asyncIterator]() : fromSync(source[Symbol.iterator]());
  try {
    for (;;) {
      const next = await iterator.next();
      if (next.done || !(await pump.take())) return;
      yield next.value;
    }
  } finally {
    await iterator.return?.();
  }
}

async function* fromSync(iterator: Iterator<unknown>): AsyncGenerator<unknown> {
  for (;;) {
    const next = iterator.next();
    if (next.done) return;
    yield await next.value;
  }
}

/** The largest credit a frame may carry (PROTOCOL.md §10). */
const MAX_CREDIT = 2 ** 31 - 1;

/** Bytes the socket may hold unsent before input pumps wait. */
const SEND_BUFFER = 1 << 20;

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
