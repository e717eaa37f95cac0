/**
 * One call on the client's connection: its values in arrival order, its end, its grants of
 * credit, and the pumps that feed its input streams (PROTOCOL.md §4, §10).
 */

import { SerializableExceptionError } from './errors.js';
import { Frame, Target, WireValue } from './frames.js';
import { Encoding, toWrapped } from './values.js';

/** What a call needs of its connection. */
export interface CallSocket {
  readonly encoding: Encoding;
  /** Sends a frame (kept for a replay on a resumable connection). */
  send(frame: Frame): void;
  /** The call ended: the connection forgets it. */
  forget(cid: string): void;
  /** Resolves once the connection has room for more input values. */
  drained(): Promise<void>;
}

/** One open call: its values in arrival order, its end, its input pumps. */
export class Call {
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
  /** The key the server took for the call's keyed value frames (PROTOCOL.md §12). */
  key: number | undefined;

  constructor(
    private readonly socket: CallSocket,
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

  /**
   * Feeds input stream `name`, at place `place` of the open's `is`, from `source` until it
   * ends, fails or is stopped.
   */
  pump(name: string, place: number, source: AsyncIterable<unknown> | Iterable<unknown>): void {
    const state = new Pump(this.inputWindow);
    this.pumps.set(name, state);
    const encoding = this.socket.encoding;
    void (async () => {
      try {
        // Pulled only as far as the server's credit goes, with flow control.
        for await (const value of credited(source, state)) {
          if (state.stopped) return;
          const o = toWrapped(value, encoding);
          const key = this.key;
          this.socket.send(
            key === undefined ? { type: 'msm', data: this.target({ p: name, o }) } : { type: 'keyed', data: { k: key, i: place, o } },
          );
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
export const MAX_CREDIT = 2 ** 31 - 1;

