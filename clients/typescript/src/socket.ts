/**
 * The client's connection: one WebSocket and the calls on it, with its keepalive and its
 * linger. A resumable connection (PROTOCOL.md §11) outlives its WebSocket: when it drops
 * with calls open, the connection dials a new one (with `rsr`, backing off with jitter for
 * as long as the server keeps the session), keeps the call frames it sends meanwhile, and
 * replays what the server lacks; the calls never notice.
 */

import { Call, CallSocket } from './call.js';
import {
  CallFailedError,
  ConnectFailedError,
  ConnectionLostError,
  ConnectTimeoutError,
  IdleTimeoutError,
  ProtocolError,
  RejectedError,
  ResumeFailedError,
  RevokedError,
  SerializableExceptionError,
  StreampodError,
} from './errors.js';
import { Frame, MAX_KEY, OpenResult, WireValue, decodeFrame, encodeFrame, isCounted } from './frames.js';
import { ACK_DELAY_MS, ResumeSession, backoffMs, size } from './resume.js';
import { Encoding, fromWrapped } from './values.js';

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

/** Where the client's connection stands (see `Client.onStateChange`). */
export type ConnectionState =
  | { state: 'disconnected' }
  | { state: 'connecting' }
  | { state: 'connected' }
  /** The socket dropped with calls open; this is the `attempt`-th try (from 1) at a new one. */
  | { state: 'reconnecting'; attempt: number };

/** The settings a connection runs with. */
export interface SocketOptions {
  pingIntervalMs: number;
  idleTimeoutMs: number;
  connectTimeoutMs: number;
  lingerMs: number;
  resume: boolean;
  resumeBufferBytes: number;
  reconnectMaxDelayMs: number;
  /** Whether opens ask for keyed value frames (PROTOCOL.md §12). */
  keyedFrames: boolean;
  /** The `auth` value a resume re-authenticates with. */
  auth: () => Promise<string | undefined>;
  /** Hears the connection's state. */
  onState: (state: ConnectionState) => void;
}

/** The server's answer to an open: `res`, and on the MessagePack wire why it refused. */
export interface Answer {
  res: OpenResult;
  why?: string;
}

/** The close code of a server that gave up on a resumable socket and keeps its session. */
const CLOSE_RESUMABLE = 4000;
/** The close code of a socket that ended without a close frame: a lost network. */
const CLOSE_ABNORMAL = 1006;

/** Bytes the socket may hold unsent before input pumps wait. */
const SEND_BUFFER = 1 << 20;

/** One connection and the calls on it. */
export class Socket implements CallSocket {
  private readonly calls = new Map<string, Call>();
  /** The calls with keys, by key (PROTOCOL.md §12). */
  private readonly keys = new Map<number, Call>();
  /** The key the next open asks for, one above the last; none without keyed frames. */
  private nextKey: number | undefined;
  /** The key each open in flight asked for. */
  private readonly askedKeys = new Map<string, number>();
  /** Opens waiting for their `omsr`: resolved with `res`, or failed with the socket. */
  private readonly opening = new Map<string, { resolve: (answer: Answer) => void; reject: (e: Error) => void }>();
  private closed: StreampodError | undefined;
  /** The WebSocket; none while a resumable connection dials its next one. */
  private ws: WebSocketLike | undefined;
  /** The session, once the server made the connection resumable. */
  private session: ResumeSession | undefined;
  private idle: ReturnType<typeof setTimeout> | undefined;
  /** Running while no call is open: when it fires, the socket closes. */
  private linger: ReturnType<typeof setTimeout> | undefined;
  private ping: ReturnType<typeof setInterval> | undefined;
  /** Running while an acknowledgement is owed and not yet due by count. */
  private ackTimer: ReturnType<typeof setTimeout> | undefined;
  /** Resolves when the send buffer has drained, while some pump waits for it. */
  private draining: Promise<void> | undefined;

  private constructor(
    private readonly Ctor: WebSocketConstructor,
    private readonly url: string,
    dialed: Dialed,
    readonly encoding: Encoding,
    private readonly options: SocketOptions,
  ) {
    this.nextKey = options.keyedFrames && encoding === 'msgpack' ? 1 : undefined;
    this.attach(dialed);
  }

  /**
   * Connects, sends `ping` and waits for the first frame (Serverpod's handshake); with
   * `options.resume`, asks for a resumable connection, and the first frame is `rst`.
   */
  static async open(Ctor: WebSocketConstructor, url: string, encoding: Encoding, options: SocketOptions): Promise<Socket> {
    const at = options.resume ? `${url}?resume` : url;
    const dialed = await dial(Ctor, at, encoding, options.connectTimeoutMs, { type: 'ping' });
    const socket = new Socket(Ctor, at, dialed, encoding, options);
    socket.receive(dialed.first);
    socket.receiveEarly(dialed);
    return socket;
  }

  isOpen(): boolean {
    return this.closed === undefined;
  }

  /**
   * Sends a frame. A resumable connection keeps a call frame until the server acknowledges
   * it, and between sockets only keeps it: it leaves when the connection resumes. Other
   * frames (`ping`, `pong`, `ack`) are for the socket of the moment.
   */
  send(frame: Frame): void {
    if (this.closed) return;
    const encoded = encodeFrame(frame, this.encoding);
    if (this.session && isCounted(frame.type)) this.session.keep(encoded);
    this.ws?.send(encoded);
  }

  /**
   * Resolves once the socket holds less than {@link SEND_BUFFER} unsent, and a resumable
   * connection keeps less than its bound for a replay (or the connection has closed):
   * input pumps wait on it, so a fast source is pulled only as fast as the connection
   * sends. A WebSocket has no event for its buffer draining, so one timer per socket,
   * running only while some pump waits, looks at it, backing off from 4 ms to 64 ms; all
   * the waiting pumps share it.
   */
  drained(): Promise<void> {
    if (this.hasRoom()) return Promise.resolve();
    this.draining ??= new Promise<void>((resolve) => {
      let wait = 4;
      const check = () => {
        if (this.hasRoom()) {
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

  private hasRoom(): boolean {
    if (this.closed) return true;
    return (this.ws?.bufferedAmount ?? 0) <= SEND_BUFFER && (this.session?.hasRoom() ?? true);
  }

  /** Sends an open and resolves with its answer (its `fc` goes to the call). */
  open(call: Call, data: Extract<Frame, { type: 'omsc' }>['data']): Promise<Answer> {
    if (this.closed) return Promise.reject(this.closed);
    clearTimeout(this.linger);
    this.linger = undefined;
    // Registered before the open goes out, so that no early value is lost.
    this.calls.set(call.cid, call);
    const k = this.nextKey;
    if (k !== undefined) {
      this.askedKeys.set(call.cid, k);
      this.nextKey = k < MAX_KEY ? k + 1 : undefined;
    }
    return new Promise<Answer>((resolve, reject) => {
      this.opening.set(call.cid, { resolve, reject });
      this.send({ type: 'omsc', data: k === undefined ? data : { ...data, k } });
    }).then((answer) => {
      if (answer.res !== 'success') this.forget(call.cid);
      return answer;
    });
  }

  /** A call ended: forgets it, and closes the socket once nothing is left for a while. */
  forget(cid: string): void {
    const key = this.calls.get(cid)?.key;
    if (key !== undefined) this.keys.delete(key);
    this.calls.delete(cid);
    if (this.isIdle() && !this.closed && this.linger === undefined) {
      this.linger = setTimeout(() => this.closeIfIdle(), this.options.lingerMs);
    }
  }

  private isIdle(): boolean {
    return this.calls.size === 0 && this.opening.size === 0;
  }

  private closeIfIdle(): void {
    this.linger = undefined;
    if (this.isIdle() && !this.closed) {
      this.shut(new ConnectionLostError('the socket closed when idle'));
      this.ws?.close(1000, 'idle');
    }
  }

  /** Fails every call and closes the socket. */
  fail(error: StreampodError): void {
    if (this.closed) return;
    this.shut(error);
    for (const call of this.calls.values()) call.finish(error);
    for (const open of this.opening.values()) open.reject(error);
    this.calls.clear();
    this.keys.clear();
    this.askedKeys.clear();
    this.opening.clear();
    this.ws?.close();
  }

  private shut(error: StreampodError): void {
    this.closed = error;
    this.detach();
    clearTimeout(this.linger);
    this.options.onState({ state: 'disconnected' });
  }

  /**
   * Makes the dialed socket the connection's: its frames, its close, its keepalive. The
   * frames that came after the first, while it was being attached, are for
   * {@link Socket.receiveEarly}.
   */
  private attach({ ws }: Dialed): void {
    this.ws = ws;
    ws.onmessage = (event) => this.receive(event.data);
    // An error is followed by a close, which decides.
    ws.onerror = () => {};
    ws.onclose = (event) => {
      const { code, reason } = (event ?? {}) as { code?: unknown; reason?: unknown };
      const said = typeof code === 'number' ? ` (${code}${typeof reason === 'string' && reason ? ` ${reason}` : ''})` : '';
      const error = new ConnectionLostError(`the method stream socket closed${said}`);
      // Closed by the server (the session is over), or lost (the server may keep it).
      if (code === CLOSE_ABNORMAL || code === CLOSE_RESUMABLE) this.lost(error);
      else this.fail(error);
    };
    this.ping = setInterval(() => this.send({ type: 'ping' }), this.options.pingIntervalMs);
    this.resetIdle();
  }

  /** Handles what a dialed socket received (or whether it closed) before it was attached. */
  private receiveEarly(dialed: Dialed): void {
    for (const raw of dialed.early.splice(0)) this.receive(raw);
    if (dialed.closedEarly) this.lost(new ConnectionLostError('the method stream socket closed'));
  }

  /** Lets go of the socket of the moment (closing it, if it is still open). */
  private detach(): void {
    clearInterval(this.ping);
    clearTimeout(this.idle);
    clearTimeout(this.ackTimer);
    this.ackTimer = undefined;
    const ws = this.ws;
    this.ws = undefined;
    if (ws) {
      ws.onmessage = null;
      ws.onclose = null;
      ws.onerror = () => {};
      ws.close();
    }
  }

  /**
   * The socket is gone without the server ending the session. A resumable connection with
   * calls open dials a new one; any other fails every call with `error`.
   */
  private lost(error: StreampodError): void {
    if (this.closed) return;
    const session = this.session;
    if (!session || this.isIdle() || session.windowMs <= 0) return this.fail(error);
    this.detach();
    void this.redial(session);
  }

  /**
   * Tries new sockets that resume `session`: the first within 250 ms, each next one after a
   * doubled wait (up to `reconnectMaxDelayMs`), until the server's window is over.
   */
  private async redial(session: ResumeSession): Promise<void> {
    const deadline = Date.now() + session.windowMs;
    let last: unknown;
    for (let attempt = 1; ; attempt++) {
      this.options.onState({ state: 'reconnecting', attempt });
      const wait = backoffMs(attempt, this.options.reconnectMaxDelayMs);
      if (Date.now() + wait >= deadline) break;
      await new Promise((resolve) => setTimeout(resolve, wait));
      if (this.closed) return;
      const auth = await this.options.auth();
      const rsr: Frame = { type: 'rsr', data: { tok: session.token, n: session.received, ...(auth === undefined ? {} : { auth }) } };
      let dialed: Dialed;
      try {
        const within = Math.min(this.options.connectTimeoutMs, deadline - Date.now());
        dialed = await dial(this.Ctor, this.url, this.encoding, within, rsr);
      } catch (e) {
        last = e;
        continue;
      }
      if (this.closed) return dialed.ws.close();
      return this.resumeOn(session, dialed);
    }
    this.fail(new ResumeFailedError('expired', { cause: last }));
  }

  /** The server's first answer on a new socket: the session goes on there, or is over. */
  private resumeOn(session: ResumeSession, dialed: Dialed): void {
    const ws = dialed.ws;
    let frame: Frame | undefined;
    try {
      frame = decodeFrame(dialed.first, this.encoding);
    } catch {
      frame = undefined;
    }
    if (frame?.type !== 'rst') {
      ws.close();
      return this.fail(new ResumeFailedError(frame?.type === 'rsx' ? frame.data.why : 'off'));
    }
    const lacking = session.resumed(frame.data.n);
    if (!lacking) {
      ws.close();
      return this.fail(new ProtocolError('the server resumed from a position the client cannot replay from'));
    }
    this.attach(dialed);
    for (const sent of lacking) ws.send(sent);
    this.options.onState({ state: 'connected' });
    this.receiveEarly(dialed);
  }

  private resetIdle(): void {
    clearTimeout(this.idle);
    this.idle = setTimeout(
      () => this.lost(new IdleTimeoutError(`no frame for ${this.options.idleTimeoutMs} ms: the connection went idle`)),
      this.options.idleTimeoutMs,
    );
  }

  /** Counts a call frame of `bytes` received, and acknowledges when it is due. */
  private received(bytes: number): void {
    const session = this.session;
    if (!session) return;
    if (session.receivedOne(bytes)) return this.acknowledge();
    this.ackTimer ??= setTimeout(() => this.acknowledge(), ACK_DELAY_MS);
  }

  private acknowledge(): void {
    clearTimeout(this.ackTimer);
    this.ackTimer = undefined;
    const n = this.session?.takeAcknowledgement();
    if (n !== undefined) this.send({ type: 'ack', data: { n } });
  }

  /** A value on `call`'s return stream. */
  private push(call: Call, value: WireValue): void {
    if (call.push(value)) return;
    // Beyond the credit the call granted: that call fails, and is cancelled.
    call.cancel(new ProtocolError('the server sent beyond the call’s credit'), 'error');
    this.forget(call.cid);
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
    if (isCounted(frame.type)) this.received(size(raw));
    switch (frame.type) {
      case 'ping':
        return this.send({ type: 'pong' });
      case 'pong':
        return;
      case 'omsr': {
        const d = frame.data;
        const open = this.opening.get(d.cid);
        this.opening.delete(d.cid);
        const asked = this.askedKeys.get(d.cid);
        this.askedKeys.delete(d.cid);
        const call = this.calls.get(d.cid);
        if (d.fc !== undefined) call?.flowControlled(d.fc);
        // The server took the key: the call's values travel keyed, both ways.
        if (call && d.res === 'success' && d.k !== undefined && d.k === asked) {
          call.key = d.k;
          this.keys.set(d.k, call);
        }
        return open?.resolve({ res: d.res, why: d.why });
      }
      case 'msm': {
        const d = frame.data;
        const call = this.calls.get(d.cid);
        if (!call) return this.send({ type: 'cmsc', data: { en: d.en, m: d.m, cid: d.cid, cr: 'error' } });
        return this.push(call, d.o);
      }
      case 'keyed': {
        const { k, i, o } = frame.data;
        const call = this.keys.get(k);
        if (call && i === null) return this.push(call, o);
        // A call that has ended (its key was asked for before): dropped, as its `msm` would be.
        if (!call && i === null && (this.nextKey === undefined || k < this.nextKey)) return;
        this.send({ type: 'brm', data: { req: `a keyed value frame for key ${k}, input ${i}` } });
        return this.fail(new ProtocolError(`the server sent a keyed value frame for key ${k}, input ${i}`));
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
        if (d.cr === 'done') call.finish(undefined);
        else if (d.why === 'revoked') call.finish(new RevokedError('the call was closed: its authentication was revoked'));
        else if (d.why !== undefined) call.finish(new RejectedError(d.why));
        else call.finish(new CallFailedError('the method failed on the server'));
        return this.forget(call.cid);
      }
      case 'crd': {
        const d = frame.data;
        if (d.p !== undefined) this.calls.get(d.cid)?.grant(d.p, d.n);
        return;
      }
      case 'brm':
        return this.fail(new ProtocolError(`the server reported a bad request: ${frame.data.req}`));
      case 'rst': {
        // The first frame of a connection that asked to be resumable.
        if (!this.session && this.options.resume) {
          const { tok, win } = frame.data;
          this.session = new ResumeSession(tok, win, this.options.resumeBufferBytes);
        }
        return;
      }
      case 'ack':
        if (this.session && !this.session.acknowledge(frame.data.n)) {
          this.fail(new ProtocolError(`the server acknowledged ${frame.data.n} frames, more than were sent`));
        }
        return;
      case 'omsc':
      case 'rsr':
      case 'rsx':
        // Not the server's to send here.
        return;
    }
  }
}

/**
 * A socket just opened: the server's first frame, and what came after it (or its close)
 * before the connection attached it. (The `ws` package delivers every frame of a chunk at
 * once, before any promise continues: none may be lost in between.)
 */
interface Dialed {
  ws: WebSocketLike;
  first: unknown;
  early: unknown[];
  closedEarly: boolean;
}

/**
 * Opens a WebSocket to `url`, sends `hello` as its first frame and resolves with the
 * server's first frame, all within `timeoutMs`.
 */
function dial(Ctor: WebSocketConstructor, url: string, encoding: Encoding, timeoutMs: number, hello: Frame): Promise<Dialed> {
  return new Promise((resolve, reject) => {
    const ws = new Ctor(url);
    ws.binaryType = 'arraybuffer';
    const timer = setTimeout(() => {
      ws.close();
      reject(new ConnectTimeoutError(`no answer from ${url} within ${timeoutMs} ms`));
    }, timeoutMs);
    const failed = () => {
      clearTimeout(timer);
      reject(new ConnectFailedError(`cannot connect to ${url}`));
    };
    ws.onerror = failed;
    ws.onclose = failed;
    ws.onopen = () => ws.send(encodeFrame(hello, encoding));
    ws.onmessage = (event) => {
      clearTimeout(timer);
      const dialed: Dialed = { ws, first: event.data, early: [], closedEarly: false };
      ws.onmessage = (later) => dialed.early.push(later.data);
      ws.onclose = () => (dialed.closedEarly = true);
      ws.onerror = () => {};
      resolve(dialed);
    };
  });
}
