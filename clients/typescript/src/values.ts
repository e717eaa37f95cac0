/**
 * Values on the wire: every value travels wrapped, `{className, data}` (PROTOCOL.md §3.1),
 * and its `data` takes the wire's form (MessagePack, or Serverpod's JSON forms).
 *
 * The rule from JS to class: an integer `number` is `int`, any other `number` `double`, a
 * `string` `String`, a `boolean` `bool`, `null` (and `undefined`) `null`, a `Date`
 * `DateTime`, a `Uint8Array` `ByteData`, a `bigint` `BigInt`, a plain object with
 * `__className__` that model, an array a dynamic `List` and any other object a dynamic
 * `Map`. {@link wrap} sends anything else explicitly. Received values decode to the same JS
 * types; models arrive as plain objects with `__className__`.
 */

import { ProtocolError } from './errors.js';

/** The two wires (`encoding`, as the Rust client names it): MessagePack in binary frames, or
 * Serverpod's JSON in text frames. */
export type Encoding = 'msgpack' | 'json';

/** A value with its class named explicitly; see {@link wrap}. */
export class Wrapped {
  constructor(
    readonly className: string,
    readonly data: unknown,
  ) {}
}

/**
 * Sends `data` as class `className`, as it stands: `wrap('List<int>', [1, 2])`,
 * `wrap('Duration', 1500)`. `data` must already be in the wire's form for that class.
 */
export function wrap(className: string, data: unknown): Wrapped {
  return new Wrapped(className, data);
}

/** A value to send as class `className`, put in the wire's form when it is sent; see {@link typed}. */
export class Typed {
  constructor(
    readonly className: string,
    readonly value: unknown,
  ) {}
}

/**
 * Sends `value` as class `className` (`typed('double', 2)`, `typed('List<int>', [1, 2])`,
 * `typed('SimpleData', {num: 1})`), in the wire's form: unlike {@link wrap}, `value` is a
 * plain JS value. What a generated client does with every value of a typed input.
 */
export function typed(className: string, value: unknown): Typed {
  return new Typed(className, value);
}

/** `source`'s values, each sent as class `className` (pulled as they are sent). */
export async function* typedValues(
  className: string,
  source: AsyncIterable<unknown> | Iterable<unknown>,
): AsyncGenerator<Typed> {
  for await (const value of source) yield new Typed(className, value);
}

const BUILT_INS = new Set([
  'int', 'double', 'String', 'bool', 'DateTime', 'Duration', 'UuidValue', 'Uri', 'ByteData', 'BigInt',
  'null', 'dynamic', 'List', 'Set', 'Map',
]);

function fromTyped({ className, value }: Typed, encoding: Encoding): { className: string; data: unknown } {
  if (className.endsWith('?')) {
    if (value === null || value === undefined) return { className: 'null', data: null };
    return fromTyped(new Typed(className.slice(0, -1), value), encoding);
  }
  return { className, data: toPlain(named(className, value), encoding) };
}

/**
 * `value` with `__className__` on every model object the class `className` holds (a model,
 * or the elements of a typed container of models), so that Serverpod's JSON carries the
 * class inside the data as it expects.
 */
function named(className: string, value: unknown): unknown {
  if (className.endsWith('?')) return value === null || value === undefined ? value : named(className.slice(0, -1), value);
  const generic = /^(List|Set|Map)<(.*)>$/.exec(className);
  if (generic) {
    const args = splitTypeArgs(generic[2]);
    if (generic[1] === 'Map' && isObject(value)) {
      const element = args[1] ?? 'dynamic';
      return Object.fromEntries(Object.entries(value).map(([k, v]) => [k, named(element, v)]));
    }
    return Array.isArray(value) ? value.map((v) => named(args[0] ?? 'dynamic', v)) : value;
  }
  if (BUILT_INS.has(className) || !isObject(value) || value instanceof Date) return value;
  return { ...value, __className__: className };
}

/** `{className, data}` of a JS value. */
export function toWrapped(value: unknown, encoding: Encoding): { className: string; data: unknown } {
  if (value instanceof Wrapped) return { className: value.className, data: value.data };
  if (value instanceof Typed) return fromTyped(value, encoding);
  if (value === null || value === undefined) return { className: 'null', data: null };
  switch (typeof value) {
    case 'number':
      return { className: Number.isInteger(value) ? 'int' : 'double', data: value };
    case 'string':
      return { className: 'String', data: value };
    case 'boolean':
      return { className: 'bool', data: value };
    case 'bigint':
      return { className: 'BigInt', data: value.toString() };
  }
  if (value instanceof Date) return { className: 'DateTime', data: value.toISOString() };
  if (value instanceof Uint8Array) return { className: 'ByteData', data: bytes(value, encoding) };
  if (Array.isArray(value)) {
    return { className: 'List', data: value.map((v) => toWrapped(v, encoding)) };
  }
  if (typeof value === 'object') {
    const object = value as Record<string, unknown>;
    if (typeof object.__className__ === 'string') {
      return { className: object.__className__, data: modelData(object, encoding) };
    }
    const data: Record<string, unknown> = {};
    for (const [k, v] of Object.entries(object)) data[k] = toWrapped(v, encoding);
    return { className: 'Map', data };
  }
  throw new TypeError(`no class for a ${typeof value}; use wrap(className, data)`);
}

/**
 * A plain value (an argument, a model's field) in the wire's form: dates as ISO text,
 * bytes as binary (JSON: Serverpod's base64 text), big integers as text, models as their
 * fields (named with `__className__` on the JSON wire only).
 */
export function toPlain(value: unknown, encoding: Encoding): unknown {
  if (value instanceof Wrapped) return value.data;
  if (value === undefined) return null;
  if (typeof value === 'bigint') return value.toString();
  if (value instanceof Date) return value.toISOString();
  if (value instanceof Uint8Array) return bytes(value, encoding);
  if (Array.isArray(value)) return value.map((v) => toPlain(v, encoding));
  if (value !== null && typeof value === 'object') {
    const object = value as Record<string, unknown>;
    if (typeof object.__className__ === 'string') return modelData(object, encoding);
    const out: Record<string, unknown> = {};
    for (const [k, v] of Object.entries(object)) out[k] = toPlain(v, encoding);
    return out;
  }
  return value;
}

function modelData(model: Record<string, unknown>, encoding: Encoding): Record<string, unknown> {
  // Serverpod's JSON names the model first and leaves out null fields.
  const out: Record<string, unknown> = encoding === 'json' ? { __className__: model.__className__ } : {};
  for (const [k, v] of Object.entries(model)) {
    if (k === '__className__' || (encoding === 'json' && (v === null || v === undefined))) continue;
    out[k] = toPlain(v, encoding);
  }
  return out;
}

function bytes(value: Uint8Array, encoding: Encoding): unknown {
  return encoding === 'json' ? `decode('${base64(value)}', 'base64')` : value;
}

/** A received value as JS. Throws {@link ProtocolError} for data its class cannot hold. */
export function fromWrapped(className: string, data: unknown, encoding: Encoding): unknown {
  switch (className) {
    case 'List':
    case 'Set':
      if (!Array.isArray(data)) throw bad(className, data);
      return data.map((item) => fromWrappedValue(item, encoding));
    case 'Map':
      if (Array.isArray(data)) {
        // Keys that are not strings: `[{"k": .., "v": ..}]`.
        return new Map(
          data.map((e: { k: unknown; v: unknown }) => [
            fromWrappedValue(e.k, encoding),
            fromWrappedValue(e.v, encoding),
          ]),
        );
      }
      if (!isObject(data)) throw bad(className, data);
      return Object.fromEntries(
        Object.entries(data).map(([k, v]) => [k, fromWrappedValue(v, encoding)]),
      );
  }
  return fromData(className, data, encoding);
}

/** A wrapped value found inside a dynamic container. */
function fromWrappedValue(item: unknown, encoding: Encoding): unknown {
  if (!isObject(item) || typeof item.className !== 'string') {
    throw new ProtocolError('an element of a dynamic container is not a wrapped value');
  }
  return fromWrapped(item.className, item.data, encoding);
}

/** Data of a class whose elements are not wrapped: built-ins, typed containers, models. */
function fromData(className: string, data: unknown, encoding: Encoding): unknown {
  if (className.endsWith('?')) {
    return data === null || data === undefined ? null : fromData(className.slice(0, -1), data, encoding);
  }
  const generic = /^(List|Set|Map)<(.*)>$/.exec(className);
  if (generic) {
    const args = splitTypeArgs(generic[2]);
    if (generic[1] === 'Map') {
      if (!isObject(data)) throw bad(className, data);
      const valueClass = args[1] ?? 'dynamic';
      return Object.fromEntries(
        Object.entries(data).map(([k, v]) => [k, fromData(valueClass, v, encoding)]),
      );
    }
    if (!Array.isArray(data)) throw bad(className, data);
    return data.map((v) => fromData(args[0] ?? 'dynamic', v, encoding));
  }
  switch (className) {
    case 'null':
      return null;
    case 'int':
    case 'double':
    case 'Duration':
      if (typeof data !== 'number' && typeof data !== 'bigint') throw bad(className, data);
      return Number(data);
    case 'String':
    case 'UuidValue':
    case 'Uri':
      if (typeof data !== 'string') throw bad(className, data);
      return data;
    case 'bool':
      if (typeof data === 'boolean') return data;
      if (data === 0 || data === 1) return data === 1;
      throw bad(className, data);
    case 'DateTime': {
      if (typeof data !== 'string' && typeof data !== 'number') throw bad(className, data);
      const date = new Date(data);
      if (Number.isNaN(date.getTime())) throw bad(className, data);
      return date;
    }
    case 'ByteData':
      return bytesFrom(data, encoding);
    case 'BigInt':
      try {
        return BigInt(data as string);
      } catch {
        throw bad(className, data);
      }
    case 'dynamic':
      return data;
  }
  // A model: its fields as they are, named.
  if (!isObject(data)) throw bad(className, data);
  const { __className__: _named, ...fields } = data;
  return { __className__: className, ...fields };
}

function bytesFrom(data: unknown, encoding: Encoding): Uint8Array {
  if (data instanceof Uint8Array) return data;
  if (encoding === 'json' && typeof data === 'string') {
    const m = /^decode\('(.*)', 'base64'\)$/s.exec(data);
    if (m) return unbase64(m[1]);
  }
  throw bad('ByteData', data);
}

/** `Map<String,List<int>>`'s arguments: `['String', 'List<int>']`. */
function splitTypeArgs(args: string): string[] {
  const out: string[] = [];
  let depth = 0;
  let start = 0;
  for (let i = 0; i < args.length; i++) {
    const c = args[i];
    if (c === '<') depth++;
    else if (c === '>') depth--;
    else if (c === ',' && depth === 0) {
      out.push(args.slice(start, i).trim());
      start = i + 1;
    }
  }
  out.push(args.slice(start).trim());
  return out;
}

function isObject(v: unknown): v is Record<string, unknown> {
  return v !== null && typeof v === 'object' && !Array.isArray(v) && !(v instanceof Uint8Array);
}

function bad(className: string, data: unknown): ProtocolError {
  const shown =
    typeof data === 'string' || typeof data === 'number' || typeof data === 'boolean' || typeof data === 'bigint'
      ? data.toString()
      : (JSON.stringify(data) ?? typeof data);
  return new ProtocolError(`not a ${className}: ${shown.slice(0, 64)}`);
}

const ALPHABET = 'ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz0123456789+/';

function base64(bytes: Uint8Array): string {
  let out = '';
  for (let i = 0; i < bytes.length; i += 3) {
    const [a, b, c] = [bytes[i], bytes[i + 1] ?? 0, bytes[i + 2] ?? 0];
    out += ALPHABET[a >> 2] + ALPHABET[((a & 3) << 4) | (b >> 4)];
    out += i + 1 < bytes.length ? ALPHABET[((b & 15) << 2) | (c >> 6)] : '=';
    out += i + 2 < bytes.length ? ALPHABET[c & 63] : '=';
  }
  return out;
}

function unbase64(text: string): Uint8Array {
  const clean = text.replace(/=+$/, '');
  const out = new Uint8Array(Math.floor((clean.length * 3) / 4));
  let bits = 0;
  let value = 0;
  let n = 0;
  for (const ch of clean) {
    const index = ALPHABET.indexOf(ch);
    if (index < 0) throw bad('ByteData', text);
    value = (value << 6) | index;
    bits += 6;
    if (bits >= 8) {
      bits -= 8;
      out[n++] = (value >> bits) & 0xff;
    }
  }
  return out.subarray(0, n);
}
