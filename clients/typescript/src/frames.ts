/**
 * Frames of both wires: `{type, data}` maps, one per WebSocket message (PROTOCOL.md §2):
 * MessagePack in binary messages, or Serverpod's JSON in text messages, where `args` is a
 * JSON string (PROTOCOL.md §9); and, on the MessagePack wire, keyed value frames
 * `[k, i, className, data]` (PROTOCOL.md §12), read and written here as `{type: 'keyed'}`. Every frame the client reads is checked against its type's
 * shape as it is decoded, so the rest of the client works with {@link Frame}, a
 * discriminated union, and casts nothing.
 */

import { decode, encode } from '@msgpack/msgpack';
import { ProtocolError } from './errors.js';
import { Encoding } from './values.js';

/** The server's answers to an open (`res` of `omsr`). */
export type OpenResult =
  | 'success'
  | 'endpointNotFound'
  | 'authenticationFailed'
  | 'authorizationDeclined'
  | 'invalidArguments';

/** A wrapped value: `o` of `msm`, `ex` of `msse`. */
export interface WireValue {
  className: string;
  data: unknown;
}

/** The stream a frame is about: a call (`en`, `m`, `cid`), and an input stream `p`. */
export interface Target {
  en: string;
  m: string;
  cid: string;
  p?: string;
}

/** One protocol message (PROTOCOL.md §3, §10). */
export type Frame =
  | { type: 'ping' }
  | { type: 'pong' }
  | {
      type: 'omsc';
      data: { en: string; m: string; cid: string; args: unknown; is: string[]; auth?: string; fc?: number; k?: number };
    }
  | { type: 'omsr'; data: { cid: string; res: OpenResult; en: string; m: string; fc?: number; why?: string; k?: number } }
  | { type: 'msm'; data: Target & { o: WireValue } }
  /** A keyed value frame: a value of the call whose open took key `k`, on input `i` (its place in `is`) or, with `i` null, on the return stream. */
  | { type: 'keyed'; data: { k: number; i: number | null; o: WireValue } }
  | { type: 'msse'; data: Target & { ex: WireValue } }
  | { type: 'cmsc'; data: Target & { cr: 'done' | 'error'; why?: string } }
  | { type: 'crd'; data: Target & { n: number } }
  | { type: 'brm'; data: { req: string } }
  // The resume extension (PROTOCOL.md §11).
  | { type: 'rst'; data: { tok: string; n: number; win: number } }
  | { type: 'rsr'; data: { tok: string; n: number; auth?: string } }
  | { type: 'rsx'; data: { why: string } }
  | { type: 'ack'; data: { n: number } };

/**
 * Whether a resumable connection numbers, keeps and replays frames of this type: every
 * frame but `ping`, `pong` and the resume frames themselves (PROTOCOL.md §11).
 */
export function isCounted(type: Frame['type']): boolean {
  return !(type === 'ping' || type === 'pong' || type === 'rst' || type === 'rsr' || type === 'rsx' || type === 'ack');
}

/** The message as one WebSocket message of `encoding`. `args` is given as a plain object. */
export function encodeFrame(frame: Frame, encoding: Encoding): Uint8Array | string {
  if (frame.type === 'keyed') {
    // MessagePack's alone: a call on the JSON wire never gets a key.
    const { k, i, o } = frame.data;
    return encode([k, i, o.className, o.data]);
  }
  if (encoding === 'msgpack') return encode(frame);
  if (frame.type === 'omsc') {
    // Serverpod's JSON carries the arguments as a JSON string.
    return JSON.stringify({ ...frame, data: { ...frame.data, args: JSON.stringify(frame.data.args) } });
  }
  return JSON.stringify(frame);
}

/** Reads one WebSocket message of `encoding`, checked against its type's shape. */
export function decodeFrame(raw: unknown, encoding: Encoding): Frame {
  let frame: unknown;
  try {
    if (encoding === 'json') {
      if (typeof raw !== 'string') throw new Error('a binary message on the JSON wire');
      frame = JSON.parse(raw);
    } else {
      if (typeof raw === 'string') throw new Error('a text message on the MessagePack wire');
      frame = decode(raw instanceof ArrayBuffer ? new Uint8Array(raw) : (raw as Uint8Array));
    }
  } catch (e) {
    throw new ProtocolError('a frame that cannot be read', { cause: e });
  }
  return checked(frame);
}

const OPEN_RESULTS: readonly string[] = [
  'success',
  'endpointNotFound',
  'authenticationFailed',
  'authorizationDeclined',
  'invalidArguments',
];

/** `frame` as a {@link Frame}, or a {@link ProtocolError} naming what is wrong. */
function checked(frame: unknown): Frame {
  if (Array.isArray(frame)) return keyed(frame);
  if (!isRecord(frame) || typeof frame.type !== 'string') throw new ProtocolError('a frame that is not a message');
  const { type } = frame;
  if (type === 'ping' || type === 'pong') return { type };
  const d = frame.data;
  if (!isRecord(d)) throw new ProtocolError(`a ${type} without its data`);
  const bad = (field: string) => new ProtocolError(`a ${type} with a bad \`${field}\``);
  const text = (field: string): string => {
    const v = d[field];
    if (typeof v !== 'string') throw bad(field);
    return v;
  };
  const optionalText = (field: string): string | undefined => {
    const v = d[field];
    if (v === undefined || v === null) return undefined;
    if (typeof v !== 'string') throw bad(field);
    return v;
  };
  const count = (field: string, optional: boolean): number | undefined => {
    const v = d[field];
    if ((v === undefined || v === null) && optional) return undefined;
    if (typeof v !== 'number' || !Number.isInteger(v) || v < 1) throw bad(field);
    return v;
  };
  /** A position: an integer from 0 to 2^53 (PROTOCOL.md §11). */
  const position = (field: string): number => {
    const v = d[field];
    if (typeof v !== 'number' || !Number.isInteger(v) || v < 0 || v > 2 ** 53) throw bad(field);
    return v;
  };
  const target = (): Target => {
    const p = optionalText('p');
    return { en: text('en'), m: text('m'), cid: text('cid'), ...(p === undefined ? {} : { p }) };
  };
  const value = (field: string): WireValue => {
    const v = d[field];
    if (!isRecord(v) || typeof v.className !== 'string') throw bad(field);
    return { className: v.className, data: v.data };
  };
  switch (type) {
    case 'omsr': {
      const res = text('res');
      if (!OPEN_RESULTS.includes(res)) throw bad('res');
      const fc = count('fc', true);
      const why = optionalText('why');
      const k = count('k', true);
      return {
        type,
        data: {
          cid: text('cid'),
          res: res as OpenResult,
          en: text('en'),
          m: text('m'),
          ...(fc === undefined ? {} : { fc }),
          ...(why === undefined ? {} : { why }),
          ...(k === undefined ? {} : { k }),
        },
      };
    }
    case 'msm':
      return { type, data: { ...target(), o: value('o') } };
    case 'msse':
      return { type, data: { ...target(), ex: value('ex') } };
    case 'cmsc': {
      const cr = text('cr');
      if (cr !== 'done' && cr !== 'error') throw bad('cr');
      const why = optionalText('why');
      return { type, data: { ...target(), cr, ...(why === undefined ? {} : { why }) } };
    }
    case 'crd':
      return { type, data: { ...target(), n: count('n', false) as number } };
    case 'brm':
      return { type, data: { req: String(d.req) } };
    case 'rst':
      return { type, data: { tok: text('tok'), n: position('n'), win: position('win') } };
    case 'rsx':
      return { type, data: { why: text('why') } };
    case 'ack':
      return { type, data: { n: position('n') } };
    default:
      // An open or a resume is not the server's to send; anything else is not a message.
      throw new ProtocolError(`an unexpected \`${type}\` frame`);
  }
}

/** A keyed value frame, `[k, i, className, data]` (PROTOCOL.md §12). */
function keyed(items: unknown[]): Frame {
  const [k, i, className, data] = items;
  const key = (v: unknown) => typeof v === 'number' && Number.isInteger(v) && v >= 0 && v <= MAX_KEY;
  if (items.length !== 4 || !key(k) || k === 0 || !(i === null || key(i)) || typeof className !== 'string') {
    throw new ProtocolError('a keyed value frame that is not [k, i, className, data]');
  }
  return { type: 'keyed', data: { k: k as number, i: i as number | null, o: { className, data } } };
}

/** The largest key of a keyed value frame: 2³¹ − 1. */
export const MAX_KEY = 2 ** 31 - 1;

function isRecord(v: unknown): v is Record<string, unknown> {
  return v !== null && typeof v === 'object' && !Array.isArray(v);
}
