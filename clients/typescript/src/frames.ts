/**
 * Frames of both wires: `{type, data}` maps, one per WebSocket message (PROTOCOL.md §2):
 * MessagePack in binary messages, or Serverpod's JSON in text messages, where `args` is a
 * JSON string (PROTOCOL.md §9).
 */

import { decode, encode } from '@msgpack/msgpack';
import { ProtocolError } from './errors.js';
import { WireName } from './values.js';

/** One protocol message. */
export interface Frame {
  type: string;
  data?: Record<string, unknown>;
}

/** The message as one WebSocket message of `wire`. `args` is given as a plain object. */
export function encodeFrame(frame: Frame, wire: WireName): Uint8Array | string {
  if (wire === 'msgpack') return encode(frame);
  if (frame.type === 'omsc' && frame.data) {
    // Serverpod's JSON carries the arguments as a JSON string.
    frame = { ...frame, data: { ...frame.data, args: JSON.stringify(frame.data.args) } };
  }
  return JSON.stringify(frame);
}

/** Reads one WebSocket message of `wire`. */
export function decodeFrame(raw: unknown, wire: WireName): Frame {
  let frame: unknown;
  try {
    if (wire === 'json') {
      if (typeof raw !== 'string') throw new Error('a binary message on the JSON wire');
      frame = JSON.parse(raw);
    } else {
      if (typeof raw === 'string') throw new Error('a text message on the MessagePack wire');
      frame = decode(raw instanceof ArrayBuffer ? new Uint8Array(raw) : (raw as Uint8Array));
    }
  } catch (e) {
    throw new ProtocolError(`a frame that cannot be read: ${(e as Error).message}`);
  }
  if (frame === null || typeof frame !== 'object' || typeof (frame as Frame).type !== 'string') {
    throw new ProtocolError('a frame that is not a message');
  }
  return frame as Frame;
}
