/**
 * The client's side of a resumable connection (PROTOCOL.md §11): the session's token and
 * window from the server's `rst`, the call frames sent and kept until the server
 * acknowledges them, the call frames received and the acknowledgements owed for them, and
 * the waits between attempts at a new socket.
 */

/** Acknowledge at least every this many received call frames... */
const ACK_EVERY = 256;
/** ...and every this many bytes of them. */
const ACK_BYTES = 32 * 1024;
/** How long a received call frame may wait for its acknowledgement. */
export const ACK_DELAY_MS = 100;

/** The first reconnect attempt comes within this of the drop; each later wait doubles. */
const FIRST_RETRY_MS = 250;

/** A frame as it went out, kept for a replay. */
type Sent = Uint8Array | string;

/** A session the server made resumable. */
export class ResumeSession {
  /** Call frames sent since the session began. */
  private sent = 0;
  /** The sent frames the server has not acknowledged, oldest first. */
  private kept: Sent[] = [];
  private keptBytes = 0;
  /** Call frames received since the session began. */
  received = 0;
  private acknowledged = 0;
  private unacknowledgedBytes = 0;

  constructor(
    /** The server's token: a secret, never logged. */
    readonly token: string,
    /** How long the server keeps the session after the socket drops. */
    readonly windowMs: number,
    /** The most bytes kept before input pumps wait. */
    private readonly bufferBytes: number,
  ) {}

  /** A call frame went out (or was queued while the socket is away): kept until acknowledged. */
  keep(frame: Sent): void {
    this.sent += 1;
    this.keptBytes += size(frame);
    this.kept.push(frame);
  }

  /** Fewer bytes are kept than the bound: pumps may send more. */
  hasRoom(): boolean {
    return this.keptBytes < this.bufferBytes;
  }

  /** The server has received `n` call frames: forget those; false if it claims more than was sent. */
  acknowledge(n: number): boolean {
    if (n > this.sent) return false;
    const firstKept = this.sent - this.kept.length;
    const drop = Math.max(0, n - firstKept);
    for (const frame of this.kept.splice(0, drop)) this.keptBytes -= size(frame);
    return true;
  }

  /**
   * A call frame of `bytes` arrived: true when an acknowledgement is due at once (by
   * count or size); otherwise one is due within {@link ACK_DELAY_MS}.
   */
  receivedOne(bytes: number): boolean {
    this.received += 1;
    this.unacknowledgedBytes += bytes;
    return this.received - this.acknowledged >= ACK_EVERY || this.unacknowledgedBytes >= ACK_BYTES;
  }

  /** What to acknowledge now, if anything arrived since the last acknowledgement. */
  takeAcknowledgement(): number | undefined {
    if (this.received === this.acknowledged) return undefined;
    this.acknowledged = this.received;
    this.unacknowledgedBytes = 0;
    return this.received;
  }

  /**
   * The session resumed on a socket whose server has received `n` of the client's call
   * frames: the frames it lacks, in order; `undefined` if `n` does not fit what was sent.
   * What the client had received went with `rsr`: no acknowledgement is owed.
   */
  resumed(n: number): Sent[] | undefined {
    const firstKept = this.sent - this.kept.length;
    if (n < firstKept || !this.acknowledge(n)) return undefined;
    this.takeAcknowledgement();
    return [...this.kept];
  }
}

/**
 * The wait before the `attempt`-th try (from 1): anywhere within 250 ms for the first,
 * then between half and all of 250 ms × 2^(attempt − 1), at most `maxMs`.
 */
export function backoffMs(attempt: number, maxMs: number): number {
  if (attempt <= 1) return Math.min(FIRST_RETRY_MS, maxMs) * Math.random();
  const base = Math.min(FIRST_RETRY_MS * 2 ** Math.min(attempt - 1, 16), maxMs);
  return base / 2 + (base / 2) * Math.random();
}

/** A frame's length: bytes of a binary one, UTF-16 units of a text one (near enough). */
export function size(frame: unknown): number {
  if (typeof frame === 'string') return frame.length;
  if (frame instanceof ArrayBuffer || ArrayBuffer.isView(frame)) return frame.byteLength;
  return 0;
}
