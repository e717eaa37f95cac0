var __defProp = Object.defineProperty;
var __defNormalProp = (obj, key, value) => key in obj ? __defProp(obj, key, { enumerable: true, configurable: true, writable: true, value }) : obj[key] = value;
var __publicField = (obj, key, value) => __defNormalProp(obj, typeof key !== "symbol" ? key + "" : key, value);

// src/errors.ts
var StreampodError = class extends Error {
  /** `options.cause`: the error beneath this one, if another layer's caused it. */
  constructor(message, options) {
    super(message, options);
    /** Which case this is; see {@link ErrorKind}. */
    __publicField(this, "kind", "other");
    this.name = new.target.name;
  }
};
var OpenFailedError = class extends StreampodError {
  constructor(message, response, statusCode, reason) {
    super(reason === void 0 ? message : `${message}: ${reason}`);
    __publicField(this, "response", response);
    __publicField(this, "statusCode", statusCode);
    __publicField(this, "reason", reason);
    __publicField(this, "kind");
    this.kind = response;
  }
};
var EndpointNotFoundError = class extends OpenFailedError {
  constructor(endpoint, method, reason) {
    super(`no method ${endpoint}.${method}`, "endpointNotFound", 404, reason);
  }
};
var AuthenticationFailedError = class extends OpenFailedError {
  constructor(endpoint, method, reason) {
    super(`${endpoint}.${method}: authentication failed`, "authenticationFailed", 401, reason);
  }
};
var AuthorizationDeclinedError = class extends OpenFailedError {
  constructor(endpoint, method, reason) {
    super(`${endpoint}.${method}: authorization declined`, "authorizationDeclined", 403, reason);
  }
};
var InvalidArgumentsError = class extends OpenFailedError {
  constructor(endpoint, method, reason) {
    super(`${endpoint}.${method}: invalid arguments`, "invalidArguments", 400, reason);
  }
};
var ConnectionClosedError = class extends StreampodError {
  constructor() {
    super(...arguments);
    __publicField(this, "kind", "connectionLost");
  }
};
var ConnectFailedError = class extends ConnectionClosedError {
  constructor() {
    super(...arguments);
    __publicField(this, "kind", "connectFailed");
  }
};
var ConnectTimeoutError = class extends ConnectionClosedError {
  constructor() {
    super(...arguments);
    __publicField(this, "kind", "connectTimeout");
  }
};
var ConnectionLostError = class extends ConnectionClosedError {
  constructor() {
    super(...arguments);
    __publicField(this, "kind", "connectionLost");
  }
};
var IdleTimeoutError = class extends ConnectionClosedError {
  constructor() {
    super(...arguments);
    __publicField(this, "kind", "idleTimeout");
  }
};
var ClientClosedError = class extends ConnectionClosedError {
  constructor() {
    super(...arguments);
    __publicField(this, "kind", "clientClosed");
  }
};
var CallFailedError = class extends ConnectionClosedError {
  constructor() {
    super(...arguments);
    __publicField(this, "kind", "callFailed");
  }
};
var RejectedError = class extends ConnectionClosedError {
  constructor(reason) {
    super(`the server refused what the call sent: ${reason}`);
    __publicField(this, "reason", reason);
    __publicField(this, "kind", "rejected");
  }
};
var RevokedError = class extends ConnectionClosedError {
  constructor() {
    super(...arguments);
    __publicField(this, "kind", "revoked");
  }
};
var ResumeFailedError = class extends ConnectionClosedError {
  constructor(reason, options) {
    super(`the connection could not be resumed: ${reason}`, options);
    __publicField(this, "reason", reason);
    __publicField(this, "kind", "resumeFailed");
  }
};
var SerializableExceptionError = class extends StreampodError {
  constructor(className, data) {
    super(`the method threw ${className}`);
    __publicField(this, "className", className);
    __publicField(this, "data", data);
    __publicField(this, "kind", "exception");
  }
};
var ProtocolError = class extends StreampodError {
  constructor() {
    super(...arguments);
    __publicField(this, "kind", "protocol");
  }
};
function openFailed(res, endpoint, method, why) {
  switch (res) {
    case "endpointNotFound":
      return new EndpointNotFoundError(endpoint, method, why);
    case "authenticationFailed":
      return new AuthenticationFailedError(endpoint, method, why);
    case "authorizationDeclined":
      return new AuthorizationDeclinedError(endpoint, method, why);
    case "invalidArguments":
      return new InvalidArgumentsError(endpoint, method, why);
    case "success":
      return new ProtocolError("an open that succeeded reported as a failure");
  }
}

// src/values.ts
var Wrapped = class {
  constructor(className, data) {
    __publicField(this, "className", className);
    __publicField(this, "data", data);
  }
};
function wrap(className, data) {
  return new Wrapped(className, data);
}
var Typed = class {
  constructor(className, value) {
    __publicField(this, "className", className);
    __publicField(this, "value", value);
  }
};
function typed(className, value) {
  return new Typed(className, value);
}
async function* typedValues(className, source) {
  for await (const value of source) yield new Typed(className, value);
}
var BUILT_INS = /* @__PURE__ */ new Set([
  "int",
  "double",
  "String",
  "bool",
  "DateTime",
  "Duration",
  "UuidValue",
  "Uri",
  "ByteData",
  "BigInt",
  "null",
  "dynamic",
  "List",
  "Set",
  "Map"
]);
function fromTyped({ className, value }, encoding) {
  if (className.endsWith("?")) {
    if (value === null || value === void 0) return { className: "null", data: null };
    return fromTyped(new Typed(className.slice(0, -1), value), encoding);
  }
  return { className, data: toPlain(named(className, value), encoding) };
}
function named(className, value) {
  if (className.endsWith("?")) return value === null || value === void 0 ? value : named(className.slice(0, -1), value);
  const generic = /^(List|Set|Map)<(.*)>$/.exec(className);
  if (generic) {
    const args = splitTypeArgs(generic[2]);
    if (generic[1] === "Map" && isObject(value)) {
      const element = args[1] ?? "dynamic";
      return Object.fromEntries(Object.entries(value).map(([k, v]) => [k, named(element, v)]));
    }
    return Array.isArray(value) ? value.map((v) => named(args[0] ?? "dynamic", v)) : value;
  }
  if (BUILT_INS.has(className) || !isObject(value) || value instanceof Date) return value;
  return { ...value, __className__: className };
}
function toWrapped(value, encoding) {
  if (value instanceof Wrapped) return { className: value.className, data: value.data };
  if (value instanceof Typed) return fromTyped(value, encoding);
  if (value === null || value === void 0) return { className: "null", data: null };
  switch (typeof value) {
    case "number":
      return { className: Number.isInteger(value) ? "int" : "double", data: value };
    case "string":
      return { className: "String", data: value };
    case "boolean":
      return { className: "bool", data: value };
    case "bigint":
      return { className: "BigInt", data: value.toString() };
  }
  if (value instanceof Date) return { className: "DateTime", data: value.toISOString() };
  if (value instanceof Uint8Array) return { className: "ByteData", data: bytes(value, encoding) };
  if (Array.isArray(value)) {
    return { className: "List", data: value.map((v) => toWrapped(v, encoding)) };
  }
  if (typeof value === "object") {
    const object = value;
    if (typeof object.__className__ === "string") {
      return { className: object.__className__, data: modelData(object, encoding) };
    }
    const data = {};
    for (const [k, v] of Object.entries(object)) data[k] = toWrapped(v, encoding);
    return { className: "Map", data };
  }
  throw new TypeError(`no class for a ${typeof value}; use wrap(className, data)`);
}
function toPlain(value, encoding) {
  if (value instanceof Wrapped) return value.data;
  if (value === void 0) return null;
  if (typeof value === "bigint") return value.toString();
  if (value instanceof Date) return value.toISOString();
  if (value instanceof Uint8Array) return bytes(value, encoding);
  if (Array.isArray(value)) return value.map((v) => toPlain(v, encoding));
  if (value !== null && typeof value === "object") {
    const object = value;
    if (typeof object.__className__ === "string") return modelData(object, encoding);
    const out = {};
    for (const [k, v] of Object.entries(object)) out[k] = toPlain(v, encoding);
    return out;
  }
  return value;
}
function modelData(model, encoding) {
  const out = encoding === "json" ? { __className__: model.__className__ } : {};
  for (const [k, v] of Object.entries(model)) {
    if (k === "__className__" || encoding === "json" && (v === null || v === void 0)) continue;
    out[k] = toPlain(v, encoding);
  }
  return out;
}
function bytes(value, encoding) {
  return encoding === "json" ? `decode('${base64(value)}', 'base64')` : value;
}
function fromWrapped(className, data, encoding) {
  switch (className) {
    case "List":
    case "Set":
      if (!Array.isArray(data)) throw bad(className, data);
      return data.map((item) => fromWrappedValue(item, encoding));
    case "Map":
      if (Array.isArray(data)) {
        return new Map(
          data.map((e) => [
            fromWrappedValue(e.k, encoding),
            fromWrappedValue(e.v, encoding)
          ])
        );
      }
      if (!isObject(data)) throw bad(className, data);
      return Object.fromEntries(
        Object.entries(data).map(([k, v]) => [k, fromWrappedValue(v, encoding)])
      );
  }
  return fromData(className, data, encoding);
}
function fromWrappedValue(item, encoding) {
  if (!isObject(item) || typeof item.className !== "string") {
    throw new ProtocolError("an element of a dynamic container is not a wrapped value");
  }
  return fromWrapped(item.className, item.data, encoding);
}
function fromData(className, data, encoding) {
  if (className.endsWith("?")) {
    return data === null || data === void 0 ? null : fromData(className.slice(0, -1), data, encoding);
  }
  const generic = /^(List|Set|Map)<(.*)>$/.exec(className);
  if (generic) {
    const args = splitTypeArgs(generic[2]);
    if (generic[1] === "Map") {
      if (!isObject(data)) throw bad(className, data);
      const valueClass = args[1] ?? "dynamic";
      return Object.fromEntries(
        Object.entries(data).map(([k, v]) => [k, fromData(valueClass, v, encoding)])
      );
    }
    if (!Array.isArray(data)) throw bad(className, data);
    return data.map((v) => fromData(args[0] ?? "dynamic", v, encoding));
  }
  switch (className) {
    case "null":
      return null;
    case "int":
    case "double":
    case "Duration":
      if (typeof data !== "number" && typeof data !== "bigint") throw bad(className, data);
      return Number(data);
    case "String":
    case "UuidValue":
    case "Uri":
      if (typeof data !== "string") throw bad(className, data);
      return data;
    case "bool":
      if (typeof data === "boolean") return data;
      if (data === 0 || data === 1) return data === 1;
      throw bad(className, data);
    case "DateTime": {
      if (typeof data !== "string" && typeof data !== "number") throw bad(className, data);
      const date = new Date(data);
      if (Number.isNaN(date.getTime())) throw bad(className, data);
      return date;
    }
    case "ByteData":
      return bytesFrom(data, encoding);
    case "BigInt":
      try {
        return BigInt(data);
      } catch {
        throw bad(className, data);
      }
    case "dynamic":
      return data;
  }
  if (!isObject(data)) throw bad(className, data);
  const { __className__: _named, ...fields } = data;
  return { __className__: className, ...fields };
}
function bytesFrom(data, encoding) {
  if (data instanceof Uint8Array) return data;
  if (encoding === "json" && typeof data === "string") {
    const m = /^decode\('(.*)', 'base64'\)$/s.exec(data);
    if (m) return unbase64(m[1]);
  }
  throw bad("ByteData", data);
}
function splitTypeArgs(args) {
  const out = [];
  let depth = 0;
  let start = 0;
  for (let i = 0; i < args.length; i++) {
    const c = args[i];
    if (c === "<") depth++;
    else if (c === ">") depth--;
    else if (c === "," && depth === 0) {
      out.push(args.slice(start, i).trim());
      start = i + 1;
    }
  }
  out.push(args.slice(start).trim());
  return out;
}
function isObject(v) {
  return v !== null && typeof v === "object" && !Array.isArray(v) && !(v instanceof Uint8Array);
}
function bad(className, data) {
  const shown = typeof data === "string" || typeof data === "number" || typeof data === "boolean" || typeof data === "bigint" ? data.toString() : JSON.stringify(data) ?? typeof data;
  return new ProtocolError(`not a ${className}: ${shown.slice(0, 64)}`);
}
var ALPHABET = "ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz0123456789+/";
function base64(bytes2) {
  let out = "";
  for (let i = 0; i < bytes2.length; i += 3) {
    const [a, b, c] = [bytes2[i], bytes2[i + 1] ?? 0, bytes2[i + 2] ?? 0];
    out += ALPHABET[a >> 2] + ALPHABET[(a & 3) << 4 | b >> 4];
    out += i + 1 < bytes2.length ? ALPHABET[(b & 15) << 2 | c >> 6] : "=";
    out += i + 2 < bytes2.length ? ALPHABET[c & 63] : "=";
  }
  return out;
}
function unbase64(text) {
  const clean = text.replace(/=+$/, "");
  const out = new Uint8Array(Math.floor(clean.length * 3 / 4));
  let bits = 0;
  let value = 0;
  let n = 0;
  for (const ch of clean) {
    const index = ALPHABET.indexOf(ch);
    if (index < 0) throw bad("ByteData", text);
    value = value << 6 | index;
    bits += 6;
    if (bits >= 8) {
      bits -= 8;
      out[n++] = value >> bits & 255;
    }
  }
  return out.subarray(0, n);
}

// src/call.ts
var Call = class {
  constructor(socket, endpoint, method, cid, window) {
    __publicField(this, "socket", socket);
    __publicField(this, "endpoint", endpoint);
    __publicField(this, "method", method);
    __publicField(this, "cid", cid);
    __publicField(this, "window", window);
    __publicField(this, "values", []);
    __publicField(this, "ended", false);
    __publicField(this, "error");
    __publicField(this, "wake");
    __publicField(this, "pumps", /* @__PURE__ */ new Map());
    /** With flow control: the server's credit for each input (`fc`, then `crd(p)`). */
    __publicField(this, "inputWindow");
    /** With flow control: values the consumer took and the server has not been granted back. */
    __publicField(this, "taken", 0);
    /** Values received and not taken, against the window. */
    __publicField(this, "unread", 0);
    /** The key the server took for the call's keyed value frames (PROTOCOL.md §12). */
    __publicField(this, "key");
  }
  /** The server answered the open with its input credit: the call is flow-controlled. */
  flowControlled(inputWindow) {
    if (this.window !== void 0) this.inputWindow = inputWindow;
  }
  /** A value arrived; false if it is beyond the credit the call granted. */
  push(value) {
    if (this.ended) return true;
    if (this.inputWindow !== void 0 && this.window !== void 0 && this.unread >= this.window) return false;
    this.unread += 1;
    this.values.push(value);
    this.wake?.();
    return true;
  }
  /** The consumer took a value: grants the server more once half the window is taken. */
  tookOne() {
    this.unread -= 1;
    if (this.inputWindow === void 0 || this.window === void 0 || this.ended) return;
    this.taken += 1;
    if (this.taken >= Math.ceil(this.window / 2)) {
      this.socket.send({ type: "crd", data: this.target({ n: this.taken }) });
      this.taken = 0;
    }
  }
  /** The server granted `n` more values on input `name`. */
  grant(name, n) {
    this.pumps.get(name)?.grant(n);
  }
  /** The call ended (with `error`, or cleanly): after the values already here. */
  finish(error) {
    if (this.ended) return;
    this.ended = true;
    this.error = error;
    for (const pump of this.pumps.values()) pump.stop();
    this.wake?.();
  }
  /** The next value; `undefined` at the end; throws the call's error after its values. */
  async next() {
    for (; ; ) {
      const value = this.values.shift();
      if (value) return value;
      if (this.ended) {
        if (this.error) throw this.error;
        return void 0;
      }
      await new Promise((resolve) => this.wake = resolve);
      this.wake = void 0;
    }
  }
  /** The caller let go (or aborted, with `error`): tells the server, unless the call has ended. */
  cancel(error, reason = "done") {
    if (this.ended) return;
    this.finish(error);
    this.socket.send({ type: "cmsc", data: this.target({ cr: reason }) });
    this.socket.forget(this.cid);
  }
  /**
   * Feeds input stream `name`, at place `place` of the open's `is`, from `source` until it
   * ends, fails or is stopped.
   */
  pump(name, place, source) {
    const state = new Pump(this.inputWindow);
    this.pumps.set(name, state);
    const encoding = this.socket.encoding;
    void (async () => {
      try {
        for await (const value of credited(source, state)) {
          if (state.stopped) return;
          const o = toWrapped(value, encoding);
          const key = this.key;
          this.socket.send(
            key === void 0 ? { type: "msm", data: this.target({ p: name, o }) } : { type: "keyed", data: { k: key, i: place, o } }
          );
          await this.socket.drained();
        }
        if (!state.stopped) this.socket.send({ type: "cmsc", data: this.target({ p: name, cr: "done" }) });
      } catch (e) {
        if (state.stopped) return;
        if (e instanceof SerializableExceptionError) {
          const ex = toWrapped({ __className__: e.className, ...e.data }, encoding);
          this.socket.send({ type: "msse", data: this.target({ p: name, ex }) });
        }
        this.socket.send({ type: "cmsc", data: this.target({ p: name, cr: "error" }) });
      } finally {
        this.pumps.delete(name);
      }
    })();
  }
  /** The server closed input `name`: stop pulling it. */
  stopPump(name) {
    this.pumps.get(name)?.stop();
  }
  /** The call's target, with `rest` (an input's `p`, and the frame's own fields). */
  target(rest) {
    return { en: this.endpoint, m: this.method, cid: this.cid, ...rest };
  }
};
var Pump = class {
  constructor(credit) {
    __publicField(this, "credit", credit);
    __publicField(this, "stopped", false);
    __publicField(this, "wake");
  }
  stop() {
    this.stopped = true;
    this.wake?.();
  }
  grant(n) {
    if (this.credit === void 0) return;
    this.credit = Math.min(this.credit + n, MAX_CREDIT);
    this.wake?.();
  }
  /** Takes one value's credit, waiting for some; false once stopped. */
  async take() {
    while (this.credit === 0 && !this.stopped) {
      await new Promise((resolve) => this.wake = resolve);
      this.wake = void 0;
    }
    if (this.stopped) return false;
    if (this.credit !== void 0) this.credit -= 1;
    return true;
  }
};
async function* credited(source, pump) {
  const iterator = Symbol.asyncIterator in source ? source[Symbol.asyncIterator]() : fromSync(source[Symbol.iterator]());
  try {
    for (; ; ) {
      const next = await iterator.next();
      if (next.done || !await pump.take()) return;
      yield next.value;
    }
  } finally {
    await iterator.return?.();
  }
}
async function* fromSync(iterator) {
  for (; ; ) {
    const next = iterator.next();
    if (next.done) return;
    yield await next.value;
  }
}
var MAX_CREDIT = 2 ** 31 - 1;

// node_modules/@msgpack/msgpack/dist.esm/utils/utf8.mjs
function utf8Count(str) {
  const strLength = str.length;
  let byteLength = 0;
  let pos = 0;
  while (pos < strLength) {
    let value = str.charCodeAt(pos++);
    if ((value & 4294967168) === 0) {
      byteLength++;
      continue;
    } else if ((value & 4294965248) === 0) {
      byteLength += 2;
    } else {
      if (value >= 55296 && value <= 56319) {
        if (pos < strLength) {
          const extra = str.charCodeAt(pos);
          if ((extra & 64512) === 56320) {
            ++pos;
            value = ((value & 1023) << 10) + (extra & 1023) + 65536;
          }
        }
      }
      if ((value & 4294901760) === 0) {
        byteLength += 3;
      } else {
        byteLength += 4;
      }
    }
  }
  return byteLength;
}
function utf8EncodeJs(str, output, outputOffset) {
  const strLength = str.length;
  let offset = outputOffset;
  let pos = 0;
  while (pos < strLength) {
    let value = str.charCodeAt(pos++);
    if ((value & 4294967168) === 0) {
      output[offset++] = value;
      continue;
    } else if ((value & 4294965248) === 0) {
      output[offset++] = value >> 6 & 31 | 192;
    } else {
      if (value >= 55296 && value <= 56319) {
        if (pos < strLength) {
          const extra = str.charCodeAt(pos);
          if ((extra & 64512) === 56320) {
            ++pos;
            value = ((value & 1023) << 10) + (extra & 1023) + 65536;
          }
        }
      }
      if ((value & 4294901760) === 0) {
        output[offset++] = value >> 12 & 15 | 224;
        output[offset++] = value >> 6 & 63 | 128;
      } else {
        output[offset++] = value >> 18 & 7 | 240;
        output[offset++] = value >> 12 & 63 | 128;
        output[offset++] = value >> 6 & 63 | 128;
      }
    }
    output[offset++] = value & 63 | 128;
  }
}
var sharedTextEncoder = new TextEncoder();
var TEXT_ENCODER_THRESHOLD = 50;
function utf8EncodeTE(str, output, outputOffset) {
  sharedTextEncoder.encodeInto(str, output.subarray(outputOffset));
}
function utf8Encode(str, output, outputOffset) {
  if (str.length > TEXT_ENCODER_THRESHOLD) {
    utf8EncodeTE(str, output, outputOffset);
  } else {
    utf8EncodeJs(str, output, outputOffset);
  }
}
var CHUNK_SIZE = 4096;
function utf8DecodeJs(bytes2, inputOffset, byteLength) {
  let offset = inputOffset;
  const end = offset + byteLength;
  const units = [];
  let result = "";
  while (offset < end) {
    const byte1 = bytes2[offset++];
    if ((byte1 & 128) === 0) {
      units.push(byte1);
    } else if ((byte1 & 224) === 192) {
      const byte2 = bytes2[offset++] & 63;
      units.push((byte1 & 31) << 6 | byte2);
    } else if ((byte1 & 240) === 224) {
      const byte2 = bytes2[offset++] & 63;
      const byte3 = bytes2[offset++] & 63;
      units.push((byte1 & 31) << 12 | byte2 << 6 | byte3);
    } else if ((byte1 & 248) === 240) {
      const byte2 = bytes2[offset++] & 63;
      const byte3 = bytes2[offset++] & 63;
      const byte4 = bytes2[offset++] & 63;
      let unit = (byte1 & 7) << 18 | byte2 << 12 | byte3 << 6 | byte4;
      if (unit > 65535) {
        unit -= 65536;
        units.push(unit >>> 10 & 1023 | 55296);
        unit = 56320 | unit & 1023;
      }
      units.push(unit);
    } else {
      units.push(byte1);
    }
    if (units.length >= CHUNK_SIZE) {
      result += String.fromCharCode(...units);
      units.length = 0;
    }
  }
  if (units.length > 0) {
    result += String.fromCharCode(...units);
  }
  return result;
}
var sharedTextDecoder = new TextDecoder();
var TEXT_DECODER_THRESHOLD = 200;
function utf8DecodeTD(bytes2, inputOffset, byteLength) {
  const stringBytes = bytes2.subarray(inputOffset, inputOffset + byteLength);
  return sharedTextDecoder.decode(stringBytes);
}
function utf8Decode(bytes2, inputOffset, byteLength) {
  if (byteLength > TEXT_DECODER_THRESHOLD) {
    return utf8DecodeTD(bytes2, inputOffset, byteLength);
  } else {
    return utf8DecodeJs(bytes2, inputOffset, byteLength);
  }
}

// node_modules/@msgpack/msgpack/dist.esm/ExtData.mjs
var ExtData = class {
  constructor(type, data) {
    __publicField(this, "type");
    __publicField(this, "data");
    this.type = type;
    this.data = data;
  }
};

// node_modules/@msgpack/msgpack/dist.esm/DecodeError.mjs
var DecodeError = class _DecodeError extends Error {
  constructor(message) {
    super(message);
    const proto = Object.create(_DecodeError.prototype);
    Object.setPrototypeOf(this, proto);
    Object.defineProperty(this, "name", {
      configurable: true,
      enumerable: false,
      value: _DecodeError.name
    });
  }
};

// node_modules/@msgpack/msgpack/dist.esm/utils/int.mjs
var UINT32_MAX = 4294967295;
function setUint64(view, offset, value) {
  const high = value / 4294967296;
  const low = value;
  view.setUint32(offset, high);
  view.setUint32(offset + 4, low);
}
function setInt64(view, offset, value) {
  const high = Math.floor(value / 4294967296);
  const low = value;
  view.setUint32(offset, high);
  view.setUint32(offset + 4, low);
}
function getInt64(view, offset) {
  const high = view.getInt32(offset);
  const low = view.getUint32(offset + 4);
  return high * 4294967296 + low;
}
function getUint64(view, offset) {
  const high = view.getUint32(offset);
  const low = view.getUint32(offset + 4);
  return high * 4294967296 + low;
}

// node_modules/@msgpack/msgpack/dist.esm/timestamp.mjs
var EXT_TIMESTAMP = -1;
var TIMESTAMP32_MAX_SEC = 4294967296 - 1;
var TIMESTAMP64_MAX_SEC = 17179869184 - 1;
function encodeTimeSpecToTimestamp({ sec, nsec }) {
  if (sec >= 0 && nsec >= 0 && sec <= TIMESTAMP64_MAX_SEC) {
    if (nsec === 0 && sec <= TIMESTAMP32_MAX_SEC) {
      const rv = new Uint8Array(4);
      const view = new DataView(rv.buffer);
      view.setUint32(0, sec);
      return rv;
    } else {
      const secHigh = sec / 4294967296;
      const secLow = sec & 4294967295;
      const rv = new Uint8Array(8);
      const view = new DataView(rv.buffer);
      view.setUint32(0, nsec << 2 | secHigh & 3);
      view.setUint32(4, secLow);
      return rv;
    }
  } else {
    const rv = new Uint8Array(12);
    const view = new DataView(rv.buffer);
    view.setUint32(0, nsec);
    setInt64(view, 4, sec);
    return rv;
  }
}
function encodeDateToTimeSpec(date) {
  const msec = date.getTime();
  const sec = Math.floor(msec / 1e3);
  const nsec = (msec - sec * 1e3) * 1e6;
  const nsecInSec = Math.floor(nsec / 1e9);
  return {
    sec: sec + nsecInSec,
    nsec: nsec - nsecInSec * 1e9
  };
}
function encodeTimestampExtension(object) {
  if (object instanceof Date) {
    const timeSpec = encodeDateToTimeSpec(object);
    return encodeTimeSpecToTimestamp(timeSpec);
  } else {
    return null;
  }
}
function decodeTimestampToTimeSpec(data) {
  const view = new DataView(data.buffer, data.byteOffset, data.byteLength);
  switch (data.byteLength) {
    case 4: {
      const sec = view.getUint32(0);
      const nsec = 0;
      return { sec, nsec };
    }
    case 8: {
      const nsec30AndSecHigh2 = view.getUint32(0);
      const secLow32 = view.getUint32(4);
      const sec = (nsec30AndSecHigh2 & 3) * 4294967296 + secLow32;
      const nsec = nsec30AndSecHigh2 >>> 2;
      return { sec, nsec };
    }
    case 12: {
      const sec = getInt64(view, 4);
      const nsec = view.getUint32(0);
      return { sec, nsec };
    }
    default:
      throw new DecodeError(`Unrecognized data size for timestamp (expected 4, 8, or 12): ${data.length}`);
  }
}
function decodeTimestampExtension(data) {
  const timeSpec = decodeTimestampToTimeSpec(data);
  return new Date(timeSpec.sec * 1e3 + timeSpec.nsec / 1e6);
}
var timestampExtension = {
  type: EXT_TIMESTAMP,
  encode: encodeTimestampExtension,
  decode: decodeTimestampExtension
};

// node_modules/@msgpack/msgpack/dist.esm/ExtensionCodec.mjs
var _ExtensionCodec = class _ExtensionCodec {
  constructor() {
    // ensures ExtensionCodecType<X> matches ExtensionCodec<X>
    // this will make type errors a lot more clear
    // eslint-disable-next-line @typescript-eslint/naming-convention
    __publicField(this, "__brand");
    // built-in extensions
    __publicField(this, "builtInEncoders", []);
    __publicField(this, "builtInDecoders", []);
    // custom extensions
    __publicField(this, "encoders", []);
    __publicField(this, "decoders", []);
    this.register(timestampExtension);
  }
  register({ type, encode: encode2, decode: decode2 }) {
    if (type >= 0) {
      this.encoders[type] = encode2;
      this.decoders[type] = decode2;
    } else {
      const index = -1 - type;
      this.builtInEncoders[index] = encode2;
      this.builtInDecoders[index] = decode2;
    }
  }
  tryToEncode(object, context) {
    for (let i = 0; i < this.builtInEncoders.length; i++) {
      const encodeExt = this.builtInEncoders[i];
      if (encodeExt != null) {
        const data = encodeExt(object, context);
        if (data != null) {
          const type = -1 - i;
          return new ExtData(type, data);
        }
      }
    }
    for (let i = 0; i < this.encoders.length; i++) {
      const encodeExt = this.encoders[i];
      if (encodeExt != null) {
        const data = encodeExt(object, context);
        if (data != null) {
          const type = i;
          return new ExtData(type, data);
        }
      }
    }
    if (object instanceof ExtData) {
      return object;
    }
    return null;
  }
  decode(data, type, context) {
    const decodeExt = type < 0 ? this.builtInDecoders[-1 - type] : this.decoders[type];
    if (decodeExt) {
      return decodeExt(data, type, context);
    } else {
      return new ExtData(type, data);
    }
  }
};
__publicField(_ExtensionCodec, "defaultCodec", new _ExtensionCodec());
var ExtensionCodec = _ExtensionCodec;

// node_modules/@msgpack/msgpack/dist.esm/utils/typedArrays.mjs
function isArrayBufferLike(buffer) {
  return buffer instanceof ArrayBuffer || typeof SharedArrayBuffer !== "undefined" && buffer instanceof SharedArrayBuffer;
}
function ensureUint8Array(buffer) {
  if (buffer instanceof Uint8Array) {
    return buffer;
  } else if (ArrayBuffer.isView(buffer)) {
    return new Uint8Array(buffer.buffer, buffer.byteOffset, buffer.byteLength);
  } else if (isArrayBufferLike(buffer)) {
    return new Uint8Array(buffer);
  } else {
    return Uint8Array.from(buffer);
  }
}

// node_modules/@msgpack/msgpack/dist.esm/Encoder.mjs
var DEFAULT_MAX_DEPTH = 100;
var DEFAULT_INITIAL_BUFFER_SIZE = 2048;
var Encoder = class _Encoder {
  constructor(options) {
    __publicField(this, "extensionCodec");
    __publicField(this, "context");
    __publicField(this, "useBigInt64");
    __publicField(this, "maxDepth");
    __publicField(this, "initialBufferSize");
    __publicField(this, "sortKeys");
    __publicField(this, "forceFloat32");
    __publicField(this, "ignoreUndefined");
    __publicField(this, "forceIntegerToFloat");
    __publicField(this, "pos");
    __publicField(this, "view");
    __publicField(this, "bytes");
    __publicField(this, "entered", false);
    this.extensionCodec = options?.extensionCodec ?? ExtensionCodec.defaultCodec;
    this.context = options?.context;
    this.useBigInt64 = options?.useBigInt64 ?? false;
    this.maxDepth = options?.maxDepth ?? DEFAULT_MAX_DEPTH;
    this.initialBufferSize = options?.initialBufferSize ?? DEFAULT_INITIAL_BUFFER_SIZE;
    this.sortKeys = options?.sortKeys ?? false;
    this.forceFloat32 = options?.forceFloat32 ?? false;
    this.ignoreUndefined = options?.ignoreUndefined ?? false;
    this.forceIntegerToFloat = options?.forceIntegerToFloat ?? false;
    this.pos = 0;
    this.view = new DataView(new ArrayBuffer(this.initialBufferSize));
    this.bytes = new Uint8Array(this.view.buffer);
  }
  clone() {
    return new _Encoder({
      extensionCodec: this.extensionCodec,
      context: this.context,
      useBigInt64: this.useBigInt64,
      maxDepth: this.maxDepth,
      initialBufferSize: this.initialBufferSize,
      sortKeys: this.sortKeys,
      forceFloat32: this.forceFloat32,
      ignoreUndefined: this.ignoreUndefined,
      forceIntegerToFloat: this.forceIntegerToFloat
    });
  }
  reinitializeState() {
    this.pos = 0;
  }
  /**
   * This is almost equivalent to {@link Encoder#encode}, but it returns an reference of the encoder's internal buffer and thus much faster than {@link Encoder#encode}.
   *
   * @returns Encodes the object and returns a shared reference the encoder's internal buffer.
   */
  encodeSharedRef(object) {
    if (this.entered) {
      const instance = this.clone();
      return instance.encodeSharedRef(object);
    }
    try {
      this.entered = true;
      this.reinitializeState();
      this.doEncode(object, 1);
      return this.bytes.subarray(0, this.pos);
    } finally {
      this.entered = false;
    }
  }
  /**
   * @returns Encodes the object and returns a copy of the encoder's internal buffer.
   */
  encode(object) {
    if (this.entered) {
      const instance = this.clone();
      return instance.encode(object);
    }
    try {
      this.entered = true;
      this.reinitializeState();
      this.doEncode(object, 1);
      return this.bytes.slice(0, this.pos);
    } finally {
      this.entered = false;
    }
  }
  doEncode(object, depth) {
    if (depth > this.maxDepth) {
      throw new Error(`Too deep objects in depth ${depth}`);
    }
    if (object == null) {
      this.encodeNil();
    } else if (typeof object === "boolean") {
      this.encodeBoolean(object);
    } else if (typeof object === "number") {
      if (!this.forceIntegerToFloat) {
        this.encodeNumber(object);
      } else {
        this.encodeNumberAsFloat(object);
      }
    } else if (typeof object === "string") {
      this.encodeString(object);
    } else if (this.useBigInt64 && typeof object === "bigint") {
      this.encodeBigInt64(object);
    } else {
      this.encodeObject(object, depth);
    }
  }
  ensureBufferSizeToWrite(sizeToWrite) {
    const requiredSize = this.pos + sizeToWrite;
    if (this.view.byteLength < requiredSize) {
      this.resizeBuffer(requiredSize * 2);
    }
  }
  resizeBuffer(newSize) {
    const newBuffer = new ArrayBuffer(newSize);
    const newBytes = new Uint8Array(newBuffer);
    const newView = new DataView(newBuffer);
    newBytes.set(this.bytes);
    this.view = newView;
    this.bytes = newBytes;
  }
  encodeNil() {
    this.writeU8(192);
  }
  encodeBoolean(object) {
    if (object === false) {
      this.writeU8(194);
    } else {
      this.writeU8(195);
    }
  }
  encodeNumber(object) {
    if (!this.forceIntegerToFloat && Number.isSafeInteger(object)) {
      if (object >= 0) {
        if (object < 128) {
          this.writeU8(object);
        } else if (object < 256) {
          this.writeU8(204);
          this.writeU8(object);
        } else if (object < 65536) {
          this.writeU8(205);
          this.writeU16(object);
        } else if (object < 4294967296) {
          this.writeU8(206);
          this.writeU32(object);
        } else if (!this.useBigInt64) {
          this.writeU8(207);
          this.writeU64(object);
        } else {
          this.encodeNumberAsFloat(object);
        }
      } else {
        if (object >= -32) {
          this.writeU8(224 | object + 32);
        } else if (object >= -128) {
          this.writeU8(208);
          this.writeI8(object);
        } else if (object >= -32768) {
          this.writeU8(209);
          this.writeI16(object);
        } else if (object >= -2147483648) {
          this.writeU8(210);
          this.writeI32(object);
        } else if (!this.useBigInt64) {
          this.writeU8(211);
          this.writeI64(object);
        } else {
          this.encodeNumberAsFloat(object);
        }
      }
    } else {
      this.encodeNumberAsFloat(object);
    }
  }
  encodeNumberAsFloat(object) {
    if (this.forceFloat32) {
      this.writeU8(202);
      this.writeF32(object);
    } else {
      this.writeU8(203);
      this.writeF64(object);
    }
  }
  encodeBigInt64(object) {
    if (object >= BigInt(0)) {
      this.writeU8(207);
      this.writeBigUint64(object);
    } else {
      this.writeU8(211);
      this.writeBigInt64(object);
    }
  }
  writeStringHeader(byteLength) {
    if (byteLength < 32) {
      this.writeU8(160 + byteLength);
    } else if (byteLength < 256) {
      this.writeU8(217);
      this.writeU8(byteLength);
    } else if (byteLength < 65536) {
      this.writeU8(218);
      this.writeU16(byteLength);
    } else if (byteLength < 4294967296) {
      this.writeU8(219);
      this.writeU32(byteLength);
    } else {
      throw new Error(`Too long string: ${byteLength} bytes in UTF-8`);
    }
  }
  encodeString(object) {
    const maxHeaderSize = 1 + 4;
    const byteLength = utf8Count(object);
    this.ensureBufferSizeToWrite(maxHeaderSize + byteLength);
    this.writeStringHeader(byteLength);
    utf8Encode(object, this.bytes, this.pos);
    this.pos += byteLength;
  }
  encodeObject(object, depth) {
    const ext = this.extensionCodec.tryToEncode(object, this.context);
    if (ext != null) {
      this.encodeExtension(ext);
    } else if (Array.isArray(object)) {
      this.encodeArray(object, depth);
    } else if (ArrayBuffer.isView(object)) {
      this.encodeBinary(object);
    } else if (typeof object === "object") {
      this.encodeMap(object, depth);
    } else {
      throw new Error(`Unrecognized object: ${Object.prototype.toString.apply(object)}`);
    }
  }
  encodeBinary(object) {
    const size2 = object.byteLength;
    if (size2 < 256) {
      this.writeU8(196);
      this.writeU8(size2);
    } else if (size2 < 65536) {
      this.writeU8(197);
      this.writeU16(size2);
    } else if (size2 < 4294967296) {
      this.writeU8(198);
      this.writeU32(size2);
    } else {
      throw new Error(`Too large binary: ${size2}`);
    }
    const bytes2 = ensureUint8Array(object);
    this.writeU8a(bytes2);
  }
  encodeArray(object, depth) {
    const size2 = object.length;
    if (size2 < 16) {
      this.writeU8(144 + size2);
    } else if (size2 < 65536) {
      this.writeU8(220);
      this.writeU16(size2);
    } else if (size2 < 4294967296) {
      this.writeU8(221);
      this.writeU32(size2);
    } else {
      throw new Error(`Too large array: ${size2}`);
    }
    for (const item of object) {
      this.doEncode(item, depth + 1);
    }
  }
  countWithoutUndefined(object, keys) {
    let count = 0;
    for (const key of keys) {
      if (object[key] !== void 0) {
        count++;
      }
    }
    return count;
  }
  encodeMap(object, depth) {
    const keys = Object.keys(object);
    if (this.sortKeys) {
      keys.sort();
    }
    const size2 = this.ignoreUndefined ? this.countWithoutUndefined(object, keys) : keys.length;
    if (size2 < 16) {
      this.writeU8(128 + size2);
    } else if (size2 < 65536) {
      this.writeU8(222);
      this.writeU16(size2);
    } else if (size2 < 4294967296) {
      this.writeU8(223);
      this.writeU32(size2);
    } else {
      throw new Error(`Too large map object: ${size2}`);
    }
    for (const key of keys) {
      const value = object[key];
      if (!(this.ignoreUndefined && value === void 0)) {
        this.encodeString(key);
        this.doEncode(value, depth + 1);
      }
    }
  }
  encodeExtension(ext) {
    if (typeof ext.data === "function") {
      const data = ext.data(this.pos + 6);
      const size3 = data.length;
      if (size3 >= 4294967296) {
        throw new Error(`Too large extension object: ${size3}`);
      }
      this.writeU8(201);
      this.writeU32(size3);
      this.writeI8(ext.type);
      this.writeU8a(data);
      return;
    }
    const size2 = ext.data.length;
    if (size2 === 1) {
      this.writeU8(212);
    } else if (size2 === 2) {
      this.writeU8(213);
    } else if (size2 === 4) {
      this.writeU8(214);
    } else if (size2 === 8) {
      this.writeU8(215);
    } else if (size2 === 16) {
      this.writeU8(216);
    } else if (size2 < 256) {
      this.writeU8(199);
      this.writeU8(size2);
    } else if (size2 < 65536) {
      this.writeU8(200);
      this.writeU16(size2);
    } else if (size2 < 4294967296) {
      this.writeU8(201);
      this.writeU32(size2);
    } else {
      throw new Error(`Too large extension object: ${size2}`);
    }
    this.writeI8(ext.type);
    this.writeU8a(ext.data);
  }
  writeU8(value) {
    this.ensureBufferSizeToWrite(1);
    this.view.setUint8(this.pos, value);
    this.pos++;
  }
  writeU8a(values) {
    const size2 = values.length;
    this.ensureBufferSizeToWrite(size2);
    this.bytes.set(values, this.pos);
    this.pos += size2;
  }
  writeI8(value) {
    this.ensureBufferSizeToWrite(1);
    this.view.setInt8(this.pos, value);
    this.pos++;
  }
  writeU16(value) {
    this.ensureBufferSizeToWrite(2);
    this.view.setUint16(this.pos, value);
    this.pos += 2;
  }
  writeI16(value) {
    this.ensureBufferSizeToWrite(2);
    this.view.setInt16(this.pos, value);
    this.pos += 2;
  }
  writeU32(value) {
    this.ensureBufferSizeToWrite(4);
    this.view.setUint32(this.pos, value);
    this.pos += 4;
  }
  writeI32(value) {
    this.ensureBufferSizeToWrite(4);
    this.view.setInt32(this.pos, value);
    this.pos += 4;
  }
  writeF32(value) {
    this.ensureBufferSizeToWrite(4);
    this.view.setFloat32(this.pos, value);
    this.pos += 4;
  }
  writeF64(value) {
    this.ensureBufferSizeToWrite(8);
    this.view.setFloat64(this.pos, value);
    this.pos += 8;
  }
  writeU64(value) {
    this.ensureBufferSizeToWrite(8);
    setUint64(this.view, this.pos, value);
    this.pos += 8;
  }
  writeI64(value) {
    this.ensureBufferSizeToWrite(8);
    setInt64(this.view, this.pos, value);
    this.pos += 8;
  }
  writeBigUint64(value) {
    this.ensureBufferSizeToWrite(8);
    this.view.setBigUint64(this.pos, value);
    this.pos += 8;
  }
  writeBigInt64(value) {
    this.ensureBufferSizeToWrite(8);
    this.view.setBigInt64(this.pos, value);
    this.pos += 8;
  }
};

// node_modules/@msgpack/msgpack/dist.esm/encode.mjs
function encode(value, options) {
  const encoder = new Encoder(options);
  return encoder.encodeSharedRef(value);
}

// node_modules/@msgpack/msgpack/dist.esm/utils/prettyByte.mjs
function prettyByte(byte) {
  return `${byte < 0 ? "-" : ""}0x${Math.abs(byte).toString(16).padStart(2, "0")}`;
}

// node_modules/@msgpack/msgpack/dist.esm/CachedKeyDecoder.mjs
var DEFAULT_MAX_KEY_LENGTH = 16;
var DEFAULT_MAX_LENGTH_PER_KEY = 16;
var CachedKeyDecoder = class {
  constructor(maxKeyLength = DEFAULT_MAX_KEY_LENGTH, maxLengthPerKey = DEFAULT_MAX_LENGTH_PER_KEY) {
    __publicField(this, "hit", 0);
    __publicField(this, "miss", 0);
    __publicField(this, "caches");
    __publicField(this, "maxKeyLength");
    __publicField(this, "maxLengthPerKey");
    this.maxKeyLength = maxKeyLength;
    this.maxLengthPerKey = maxLengthPerKey;
    this.caches = [];
    for (let i = 0; i < this.maxKeyLength; i++) {
      this.caches.push([]);
    }
  }
  canBeCached(byteLength) {
    return byteLength > 0 && byteLength <= this.maxKeyLength;
  }
  find(bytes2, inputOffset, byteLength) {
    const records = this.caches[byteLength - 1];
    FIND_CHUNK: for (const record of records) {
      const recordBytes = record.bytes;
      for (let j = 0; j < byteLength; j++) {
        if (recordBytes[j] !== bytes2[inputOffset + j]) {
          continue FIND_CHUNK;
        }
      }
      return record.str;
    }
    return null;
  }
  store(bytes2, value) {
    const records = this.caches[bytes2.length - 1];
    const record = { bytes: bytes2, str: value };
    if (records.length >= this.maxLengthPerKey) {
      records[Math.random() * records.length | 0] = record;
    } else {
      records.push(record);
    }
  }
  decode(bytes2, inputOffset, byteLength) {
    const cachedValue = this.find(bytes2, inputOffset, byteLength);
    if (cachedValue != null) {
      this.hit++;
      return cachedValue;
    }
    this.miss++;
    const str = utf8DecodeJs(bytes2, inputOffset, byteLength);
    const slicedCopyOfBytes = Uint8Array.prototype.slice.call(bytes2, inputOffset, inputOffset + byteLength);
    this.store(slicedCopyOfBytes, str);
    return str;
  }
};

// node_modules/@msgpack/msgpack/dist.esm/Decoder.mjs
var STATE_ARRAY = "array";
var STATE_MAP_KEY = "map_key";
var STATE_MAP_VALUE = "map_value";
var mapKeyConverter = (key) => {
  if (typeof key === "string" || typeof key === "number") {
    return key;
  }
  throw new DecodeError("The type of key must be string or number but " + typeof key);
};
var StackPool = class {
  constructor() {
    __publicField(this, "stack", []);
    __publicField(this, "stackHeadPosition", -1);
  }
  get length() {
    return this.stackHeadPosition + 1;
  }
  top() {
    return this.stack[this.stackHeadPosition];
  }
  pushArrayState(size2) {
    const state = this.getUninitializedStateFromPool();
    state.type = STATE_ARRAY;
    state.position = 0;
    state.size = size2;
    state.array = new Array(size2);
  }
  pushMapState(size2) {
    const state = this.getUninitializedStateFromPool();
    state.type = STATE_MAP_KEY;
    state.readCount = 0;
    state.size = size2;
    state.map = {};
  }
  getUninitializedStateFromPool() {
    this.stackHeadPosition++;
    if (this.stackHeadPosition === this.stack.length) {
      const partialState = {
        type: void 0,
        size: 0,
        array: void 0,
        position: 0,
        readCount: 0,
        map: void 0,
        key: null
      };
      this.stack.push(partialState);
    }
    return this.stack[this.stackHeadPosition];
  }
  release(state) {
    const topStackState = this.stack[this.stackHeadPosition];
    if (topStackState !== state) {
      throw new Error("Invalid stack state. Released state is not on top of the stack.");
    }
    if (state.type === STATE_ARRAY) {
      const partialState = state;
      partialState.size = 0;
      partialState.array = void 0;
      partialState.position = 0;
      partialState.type = void 0;
    }
    if (state.type === STATE_MAP_KEY || state.type === STATE_MAP_VALUE) {
      const partialState = state;
      partialState.size = 0;
      partialState.map = void 0;
      partialState.readCount = 0;
      partialState.type = void 0;
    }
    this.stackHeadPosition--;
  }
  reset() {
    this.stack.length = 0;
    this.stackHeadPosition = -1;
  }
};
var HEAD_BYTE_REQUIRED = -1;
var EMPTY_VIEW = new DataView(new ArrayBuffer(0));
var EMPTY_BYTES = new Uint8Array(EMPTY_VIEW.buffer);
try {
  EMPTY_VIEW.getInt8(0);
} catch (e) {
  if (!(e instanceof RangeError)) {
    throw new Error("This module is not supported in the current JavaScript engine because DataView does not throw RangeError on out-of-bounds access");
  }
}
var MORE_DATA = new RangeError("Insufficient data");
var sharedCachedKeyDecoder = new CachedKeyDecoder();
var Decoder = class _Decoder {
  constructor(options) {
    __publicField(this, "extensionCodec");
    __publicField(this, "context");
    __publicField(this, "useBigInt64");
    __publicField(this, "rawStrings");
    __publicField(this, "maxStrLength");
    __publicField(this, "maxBinLength");
    __publicField(this, "maxArrayLength");
    __publicField(this, "maxMapLength");
    __publicField(this, "maxExtLength");
    __publicField(this, "keyDecoder");
    __publicField(this, "mapKeyConverter");
    __publicField(this, "totalPos", 0);
    __publicField(this, "pos", 0);
    __publicField(this, "view", EMPTY_VIEW);
    __publicField(this, "bytes", EMPTY_BYTES);
    __publicField(this, "headByte", HEAD_BYTE_REQUIRED);
    __publicField(this, "stack", new StackPool());
    __publicField(this, "entered", false);
    this.extensionCodec = options?.extensionCodec ?? ExtensionCodec.defaultCodec;
    this.context = options?.context;
    this.useBigInt64 = options?.useBigInt64 ?? false;
    this.rawStrings = options?.rawStrings ?? false;
    this.maxStrLength = options?.maxStrLength ?? UINT32_MAX;
    this.maxBinLength = options?.maxBinLength ?? UINT32_MAX;
    this.maxArrayLength = options?.maxArrayLength ?? UINT32_MAX;
    this.maxMapLength = options?.maxMapLength ?? UINT32_MAX;
    this.maxExtLength = options?.maxExtLength ?? UINT32_MAX;
    this.keyDecoder = options?.keyDecoder !== void 0 ? options.keyDecoder : sharedCachedKeyDecoder;
    this.mapKeyConverter = options?.mapKeyConverter ?? mapKeyConverter;
  }
  clone() {
    return new _Decoder({
      extensionCodec: this.extensionCodec,
      context: this.context,
      useBigInt64: this.useBigInt64,
      rawStrings: this.rawStrings,
      maxStrLength: this.maxStrLength,
      maxBinLength: this.maxBinLength,
      maxArrayLength: this.maxArrayLength,
      maxMapLength: this.maxMapLength,
      maxExtLength: this.maxExtLength,
      keyDecoder: this.keyDecoder
    });
  }
  reinitializeState() {
    this.totalPos = 0;
    this.headByte = HEAD_BYTE_REQUIRED;
    this.stack.reset();
  }
  setBuffer(buffer) {
    const bytes2 = ensureUint8Array(buffer);
    this.bytes = bytes2;
    this.view = new DataView(bytes2.buffer, bytes2.byteOffset, bytes2.byteLength);
    this.pos = 0;
  }
  appendBuffer(buffer) {
    if (this.headByte === HEAD_BYTE_REQUIRED && !this.hasRemaining(1)) {
      this.setBuffer(buffer);
    } else {
      const remainingData = this.bytes.subarray(this.pos);
      const newData = ensureUint8Array(buffer);
      const newBuffer = new Uint8Array(remainingData.length + newData.length);
      newBuffer.set(remainingData);
      newBuffer.set(newData, remainingData.length);
      this.setBuffer(newBuffer);
    }
  }
  hasRemaining(size2) {
    return this.view.byteLength - this.pos >= size2;
  }
  createExtraByteError(posToShow) {
    const { view, pos } = this;
    return new RangeError(`Extra ${view.byteLength - pos} of ${view.byteLength} byte(s) found at buffer[${posToShow}]`);
  }
  /**
   * @throws {@link DecodeError}
   * @throws {@link RangeError}
   */
  decode(buffer) {
    if (this.entered) {
      const instance = this.clone();
      return instance.decode(buffer);
    }
    try {
      this.entered = true;
      this.reinitializeState();
      this.setBuffer(buffer);
      const object = this.doDecodeSync();
      if (this.hasRemaining(1)) {
        throw this.createExtraByteError(this.pos);
      }
      return object;
    } finally {
      this.entered = false;
    }
  }
  *decodeMulti(buffer) {
    if (this.entered) {
      const instance = this.clone();
      yield* instance.decodeMulti(buffer);
      return;
    }
    try {
      this.entered = true;
      this.reinitializeState();
      this.setBuffer(buffer);
      while (this.hasRemaining(1)) {
        yield this.doDecodeSync();
      }
    } finally {
      this.entered = false;
    }
  }
  async decodeAsync(stream) {
    if (this.entered) {
      const instance = this.clone();
      return instance.decodeAsync(stream);
    }
    try {
      this.entered = true;
      let decoded = false;
      let object;
      for await (const buffer of stream) {
        if (decoded) {
          this.entered = false;
          throw this.createExtraByteError(this.totalPos);
        }
        this.appendBuffer(buffer);
        try {
          object = this.doDecodeSync();
          decoded = true;
        } catch (e) {
          if (!(e instanceof RangeError)) {
            throw e;
          }
        }
        this.totalPos += this.pos;
      }
      if (decoded) {
        if (this.hasRemaining(1)) {
          throw this.createExtraByteError(this.totalPos);
        }
        return object;
      }
      const { headByte, pos, totalPos } = this;
      throw new RangeError(`Insufficient data in parsing ${prettyByte(headByte)} at ${totalPos} (${pos} in the current buffer)`);
    } finally {
      this.entered = false;
    }
  }
  decodeArrayStream(stream) {
    return this.decodeMultiAsync(stream, true);
  }
  decodeStream(stream) {
    return this.decodeMultiAsync(stream, false);
  }
  async *decodeMultiAsync(stream, isArray) {
    if (this.entered) {
      const instance = this.clone();
      yield* instance.decodeMultiAsync(stream, isArray);
      return;
    }
    try {
      this.entered = true;
      let isArrayHeaderRequired = isArray;
      let arrayItemsLeft = -1;
      for await (const buffer of stream) {
        if (isArray && arrayItemsLeft === 0) {
          throw this.createExtraByteError(this.totalPos);
        }
        this.appendBuffer(buffer);
        if (isArrayHeaderRequired) {
          arrayItemsLeft = this.readArraySize();
          isArrayHeaderRequired = false;
          this.complete();
        }
        try {
          while (true) {
            yield this.doDecodeSync();
            if (--arrayItemsLeft === 0) {
              break;
            }
          }
        } catch (e) {
          if (!(e instanceof RangeError)) {
            throw e;
          }
        }
        this.totalPos += this.pos;
      }
    } finally {
      this.entered = false;
    }
  }
  doDecodeSync() {
    DECODE: while (true) {
      const headByte = this.readHeadByte();
      let object;
      if (headByte >= 224) {
        object = headByte - 256;
      } else if (headByte < 192) {
        if (headByte < 128) {
          object = headByte;
        } else if (headByte < 144) {
          const size2 = headByte - 128;
          if (size2 !== 0) {
            this.pushMapState(size2);
            this.complete();
            continue DECODE;
          } else {
            object = {};
          }
        } else if (headByte < 160) {
          const size2 = headByte - 144;
          if (size2 !== 0) {
            this.pushArrayState(size2);
            this.complete();
            continue DECODE;
          } else {
            object = [];
          }
        } else {
          const byteLength = headByte - 160;
          object = this.decodeString(byteLength, 0);
        }
      } else if (headByte === 192) {
        object = null;
      } else if (headByte === 194) {
        object = false;
      } else if (headByte === 195) {
        object = true;
      } else if (headByte === 202) {
        object = this.readF32();
      } else if (headByte === 203) {
        object = this.readF64();
      } else if (headByte === 204) {
        object = this.readU8();
      } else if (headByte === 205) {
        object = this.readU16();
      } else if (headByte === 206) {
        object = this.readU32();
      } else if (headByte === 207) {
        if (this.useBigInt64) {
          object = this.readU64AsBigInt();
        } else {
          object = this.readU64();
        }
      } else if (headByte === 208) {
        object = this.readI8();
      } else if (headByte === 209) {
        object = this.readI16();
      } else if (headByte === 210) {
        object = this.readI32();
      } else if (headByte === 211) {
        if (this.useBigInt64) {
          object = this.readI64AsBigInt();
        } else {
          object = this.readI64();
        }
      } else if (headByte === 217) {
        const byteLength = this.lookU8();
        object = this.decodeString(byteLength, 1);
      } else if (headByte === 218) {
        const byteLength = this.lookU16();
        object = this.decodeString(byteLength, 2);
      } else if (headByte === 219) {
        const byteLength = this.lookU32();
        object = this.decodeString(byteLength, 4);
      } else if (headByte === 220) {
        const size2 = this.readU16();
        if (size2 !== 0) {
          this.pushArrayState(size2);
          this.complete();
          continue DECODE;
        } else {
          object = [];
        }
      } else if (headByte === 221) {
        const size2 = this.readU32();
        if (size2 !== 0) {
          this.pushArrayState(size2);
          this.complete();
          continue DECODE;
        } else {
          object = [];
        }
      } else if (headByte === 222) {
        const size2 = this.readU16();
        if (size2 !== 0) {
          this.pushMapState(size2);
          this.complete();
          continue DECODE;
        } else {
          object = {};
        }
      } else if (headByte === 223) {
        const size2 = this.readU32();
        if (size2 !== 0) {
          this.pushMapState(size2);
          this.complete();
          continue DECODE;
        } else {
          object = {};
        }
      } else if (headByte === 196) {
        const size2 = this.lookU8();
        object = this.decodeBinary(size2, 1);
      } else if (headByte === 197) {
        const size2 = this.lookU16();
        object = this.decodeBinary(size2, 2);
      } else if (headByte === 198) {
        const size2 = this.lookU32();
        object = this.decodeBinary(size2, 4);
      } else if (headByte === 212) {
        object = this.decodeExtension(1, 0);
      } else if (headByte === 213) {
        object = this.decodeExtension(2, 0);
      } else if (headByte === 214) {
        object = this.decodeExtension(4, 0);
      } else if (headByte === 215) {
        object = this.decodeExtension(8, 0);
      } else if (headByte === 216) {
        object = this.decodeExtension(16, 0);
      } else if (headByte === 199) {
        const size2 = this.lookU8();
        object = this.decodeExtension(size2, 1);
      } else if (headByte === 200) {
        const size2 = this.lookU16();
        object = this.decodeExtension(size2, 2);
      } else if (headByte === 201) {
        const size2 = this.lookU32();
        object = this.decodeExtension(size2, 4);
      } else {
        throw new DecodeError(`Unrecognized type byte: ${prettyByte(headByte)}`);
      }
      this.complete();
      const stack = this.stack;
      while (stack.length > 0) {
        const state = stack.top();
        if (state.type === STATE_ARRAY) {
          state.array[state.position] = object;
          state.position++;
          if (state.position === state.size) {
            object = state.array;
            stack.release(state);
          } else {
            continue DECODE;
          }
        } else if (state.type === STATE_MAP_KEY) {
          if (object === "__proto__") {
            throw new DecodeError("The key __proto__ is not allowed");
          }
          state.key = this.mapKeyConverter(object);
          state.type = STATE_MAP_VALUE;
          continue DECODE;
        } else {
          state.map[state.key] = object;
          state.readCount++;
          if (state.readCount === state.size) {
            object = state.map;
            stack.release(state);
          } else {
            state.key = null;
            state.type = STATE_MAP_KEY;
            continue DECODE;
          }
        }
      }
      return object;
    }
  }
  readHeadByte() {
    if (this.headByte === HEAD_BYTE_REQUIRED) {
      this.headByte = this.readU8();
    }
    return this.headByte;
  }
  complete() {
    this.headByte = HEAD_BYTE_REQUIRED;
  }
  readArraySize() {
    const headByte = this.readHeadByte();
    switch (headByte) {
      case 220:
        return this.readU16();
      case 221:
        return this.readU32();
      default: {
        if (headByte < 160) {
          return headByte - 144;
        } else {
          throw new DecodeError(`Unrecognized array type byte: ${prettyByte(headByte)}`);
        }
      }
    }
  }
  pushMapState(size2) {
    if (size2 > this.maxMapLength) {
      throw new DecodeError(`Max length exceeded: map length (${size2}) > maxMapLengthLength (${this.maxMapLength})`);
    }
    this.stack.pushMapState(size2);
  }
  pushArrayState(size2) {
    if (size2 > this.maxArrayLength) {
      throw new DecodeError(`Max length exceeded: array length (${size2}) > maxArrayLength (${this.maxArrayLength})`);
    }
    this.stack.pushArrayState(size2);
  }
  decodeString(byteLength, headerOffset) {
    if (!this.rawStrings || this.stateIsMapKey()) {
      return this.decodeUtf8String(byteLength, headerOffset);
    }
    return this.decodeBinary(byteLength, headerOffset);
  }
  /**
   * @throws {@link RangeError}
   */
  decodeUtf8String(byteLength, headerOffset) {
    if (byteLength > this.maxStrLength) {
      throw new DecodeError(`Max length exceeded: UTF-8 byte length (${byteLength}) > maxStrLength (${this.maxStrLength})`);
    }
    if (this.bytes.byteLength < this.pos + headerOffset + byteLength) {
      throw MORE_DATA;
    }
    const offset = this.pos + headerOffset;
    let object;
    if (this.stateIsMapKey() && this.keyDecoder?.canBeCached(byteLength)) {
      object = this.keyDecoder.decode(this.bytes, offset, byteLength);
    } else {
      object = utf8Decode(this.bytes, offset, byteLength);
    }
    this.pos += headerOffset + byteLength;
    return object;
  }
  stateIsMapKey() {
    if (this.stack.length > 0) {
      const state = this.stack.top();
      return state.type === STATE_MAP_KEY;
    }
    return false;
  }
  /**
   * @throws {@link RangeError}
   */
  decodeBinary(byteLength, headOffset) {
    if (byteLength > this.maxBinLength) {
      throw new DecodeError(`Max length exceeded: bin length (${byteLength}) > maxBinLength (${this.maxBinLength})`);
    }
    if (!this.hasRemaining(byteLength + headOffset)) {
      throw MORE_DATA;
    }
    const offset = this.pos + headOffset;
    const object = this.bytes.subarray(offset, offset + byteLength);
    this.pos += headOffset + byteLength;
    return object;
  }
  decodeExtension(size2, headOffset) {
    if (size2 > this.maxExtLength) {
      throw new DecodeError(`Max length exceeded: ext length (${size2}) > maxExtLength (${this.maxExtLength})`);
    }
    const extType = this.view.getInt8(this.pos + headOffset);
    const data = this.decodeBinary(
      size2,
      headOffset + 1
      /* extType */
    );
    return this.extensionCodec.decode(data, extType, this.context);
  }
  lookU8() {
    return this.view.getUint8(this.pos);
  }
  lookU16() {
    return this.view.getUint16(this.pos);
  }
  lookU32() {
    return this.view.getUint32(this.pos);
  }
  readU8() {
    const value = this.view.getUint8(this.pos);
    this.pos++;
    return value;
  }
  readI8() {
    const value = this.view.getInt8(this.pos);
    this.pos++;
    return value;
  }
  readU16() {
    const value = this.view.getUint16(this.pos);
    this.pos += 2;
    return value;
  }
  readI16() {
    const value = this.view.getInt16(this.pos);
    this.pos += 2;
    return value;
  }
  readU32() {
    const value = this.view.getUint32(this.pos);
    this.pos += 4;
    return value;
  }
  readI32() {
    const value = this.view.getInt32(this.pos);
    this.pos += 4;
    return value;
  }
  readU64() {
    const value = getUint64(this.view, this.pos);
    this.pos += 8;
    return value;
  }
  readI64() {
    const value = getInt64(this.view, this.pos);
    this.pos += 8;
    return value;
  }
  readU64AsBigInt() {
    const value = this.view.getBigUint64(this.pos);
    this.pos += 8;
    return value;
  }
  readI64AsBigInt() {
    const value = this.view.getBigInt64(this.pos);
    this.pos += 8;
    return value;
  }
  readF32() {
    const value = this.view.getFloat32(this.pos);
    this.pos += 4;
    return value;
  }
  readF64() {
    const value = this.view.getFloat64(this.pos);
    this.pos += 8;
    return value;
  }
};

// node_modules/@msgpack/msgpack/dist.esm/decode.mjs
function decode(buffer, options) {
  const decoder = new Decoder(options);
  return decoder.decode(buffer);
}

// src/frames.ts
function isCounted(type) {
  return !(type === "ping" || type === "pong" || type === "rst" || type === "rsr" || type === "rsx" || type === "ack");
}
function encodeFrame(frame, encoding) {
  if (frame.type === "keyed") {
    const { k, i, o } = frame.data;
    return encode([k, i, o.className, o.data]);
  }
  if (encoding === "msgpack") return encode(frame);
  if (frame.type === "omsc") {
    return JSON.stringify({ ...frame, data: { ...frame.data, args: JSON.stringify(frame.data.args) } });
  }
  return JSON.stringify(frame);
}
function decodeFrame(raw, encoding) {
  let frame;
  try {
    if (encoding === "json") {
      if (typeof raw !== "string") throw new Error("a binary message on the JSON wire");
      frame = JSON.parse(raw);
    } else {
      if (typeof raw === "string") throw new Error("a text message on the MessagePack wire");
      frame = decode(raw instanceof ArrayBuffer ? new Uint8Array(raw) : raw);
    }
  } catch (e) {
    throw new ProtocolError("a frame that cannot be read", { cause: e });
  }
  return checked(frame);
}
var OPEN_RESULTS = [
  "success",
  "endpointNotFound",
  "authenticationFailed",
  "authorizationDeclined",
  "invalidArguments"
];
function checked(frame) {
  if (Array.isArray(frame)) return keyed(frame);
  if (!isRecord(frame) || typeof frame.type !== "string") throw new ProtocolError("a frame that is not a message");
  const { type } = frame;
  if (type === "ping" || type === "pong") return { type };
  const d = frame.data;
  if (!isRecord(d)) throw new ProtocolError(`a ${type} without its data`);
  const bad2 = (field) => new ProtocolError(`a ${type} with a bad \`${field}\``);
  const text = (field) => {
    const v = d[field];
    if (typeof v !== "string") throw bad2(field);
    return v;
  };
  const optionalText = (field) => {
    const v = d[field];
    if (v === void 0 || v === null) return void 0;
    if (typeof v !== "string") throw bad2(field);
    return v;
  };
  const count = (field, optional) => {
    const v = d[field];
    if ((v === void 0 || v === null) && optional) return void 0;
    if (typeof v !== "number" || !Number.isInteger(v) || v < 1) throw bad2(field);
    return v;
  };
  const position = (field) => {
    const v = d[field];
    if (typeof v !== "number" || !Number.isInteger(v) || v < 0 || v > 2 ** 53) throw bad2(field);
    return v;
  };
  const target = () => {
    const p = optionalText("p");
    return { en: text("en"), m: text("m"), cid: text("cid"), ...p === void 0 ? {} : { p } };
  };
  const value = (field) => {
    const v = d[field];
    if (!isRecord(v) || typeof v.className !== "string") throw bad2(field);
    return { className: v.className, data: v.data };
  };
  switch (type) {
    case "omsr": {
      const res = text("res");
      if (!OPEN_RESULTS.includes(res)) throw bad2("res");
      const fc = count("fc", true);
      const why = optionalText("why");
      const k = count("k", true);
      return {
        type,
        data: {
          cid: text("cid"),
          res,
          en: text("en"),
          m: text("m"),
          ...fc === void 0 ? {} : { fc },
          ...why === void 0 ? {} : { why },
          ...k === void 0 ? {} : { k }
        }
      };
    }
    case "msm":
      return { type, data: { ...target(), o: value("o") } };
    case "msse":
      return { type, data: { ...target(), ex: value("ex") } };
    case "cmsc": {
      const cr = text("cr");
      if (cr !== "done" && cr !== "error") throw bad2("cr");
      const why = optionalText("why");
      return { type, data: { ...target(), cr, ...why === void 0 ? {} : { why } } };
    }
    case "crd":
      return { type, data: { ...target(), n: count("n", false) } };
    case "brm":
      return { type, data: { req: String(d.req) } };
    case "rst":
      return { type, data: { tok: text("tok"), n: position("n"), win: position("win") } };
    case "rsx":
      return { type, data: { why: text("why") } };
    case "ack":
      return { type, data: { n: position("n") } };
    default:
      throw new ProtocolError(`an unexpected \`${type}\` frame`);
  }
}
function keyed(items) {
  const [k, i, className, data] = items;
  const key = (v) => typeof v === "number" && Number.isInteger(v) && v >= 0 && v <= MAX_KEY;
  if (items.length !== 4 || !key(k) || k === 0 || !(i === null || key(i)) || typeof className !== "string") {
    throw new ProtocolError("a keyed value frame that is not [k, i, className, data]");
  }
  return { type: "keyed", data: { k, i, o: { className, data } } };
}
var MAX_KEY = 2 ** 31 - 1;
function isRecord(v) {
  return v !== null && typeof v === "object" && !Array.isArray(v);
}

// src/resume.ts
var ACK_EVERY = 256;
var ACK_BYTES = 32 * 1024;
var ACK_DELAY_MS = 100;
var FIRST_RETRY_MS = 250;
var ResumeSession = class {
  constructor(token, windowMs, bufferBytes) {
    __publicField(this, "token", token);
    __publicField(this, "windowMs", windowMs);
    __publicField(this, "bufferBytes", bufferBytes);
    /** Call frames sent since the session began. */
    __publicField(this, "sent", 0);
    /** The sent frames the server has not acknowledged, oldest first. */
    __publicField(this, "kept", []);
    __publicField(this, "keptBytes", 0);
    /** Call frames received since the session began. */
    __publicField(this, "received", 0);
    __publicField(this, "acknowledged", 0);
    __publicField(this, "unacknowledgedBytes", 0);
  }
  /** A call frame went out (or was queued while the socket is away): kept until acknowledged. */
  keep(frame) {
    this.sent += 1;
    this.keptBytes += size(frame);
    this.kept.push(frame);
  }
  /** Fewer bytes are kept than the bound: pumps may send more. */
  hasRoom() {
    return this.keptBytes < this.bufferBytes;
  }
  /** The server has received `n` call frames: forget those; false if it claims more than was sent. */
  acknowledge(n) {
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
  receivedOne(bytes2) {
    this.received += 1;
    this.unacknowledgedBytes += bytes2;
    return this.received - this.acknowledged >= ACK_EVERY || this.unacknowledgedBytes >= ACK_BYTES;
  }
  /** What to acknowledge now, if anything arrived since the last acknowledgement. */
  takeAcknowledgement() {
    if (this.received === this.acknowledged) return void 0;
    this.acknowledged = this.received;
    this.unacknowledgedBytes = 0;
    return this.received;
  }
  /**
   * The session resumed on a socket whose server has received `n` of the client's call
   * frames: the frames it lacks, in order; `undefined` if `n` does not fit what was sent.
   * What the client had received went with `rsr`: no acknowledgement is owed.
   */
  resumed(n) {
    const firstKept = this.sent - this.kept.length;
    if (n < firstKept || !this.acknowledge(n)) return void 0;
    this.takeAcknowledgement();
    return [...this.kept];
  }
};
function backoffMs(attempt, maxMs) {
  if (attempt <= 1) return Math.min(FIRST_RETRY_MS, maxMs) * Math.random();
  const base = Math.min(FIRST_RETRY_MS * 2 ** Math.min(attempt - 1, 16), maxMs);
  return base / 2 + base / 2 * Math.random();
}
function size(frame) {
  if (typeof frame === "string") return frame.length;
  if (frame instanceof ArrayBuffer || ArrayBuffer.isView(frame)) return frame.byteLength;
  return 0;
}

// src/socket.ts
var CLOSE_RESUMABLE = 4e3;
var CLOSE_ABNORMAL = 1006;
var SEND_BUFFER = 1 << 20;
var Socket = class _Socket {
  constructor(Ctor, url, dialed, encoding, options) {
    __publicField(this, "Ctor", Ctor);
    __publicField(this, "url", url);
    __publicField(this, "encoding", encoding);
    __publicField(this, "options", options);
    __publicField(this, "calls", /* @__PURE__ */ new Map());
    /** The calls with keys, by key (PROTOCOL.md §12). */
    __publicField(this, "keys", /* @__PURE__ */ new Map());
    /** The key the next open asks for, one above the last; none without keyed frames. */
    __publicField(this, "nextKey");
    /** The key each open in flight asked for. */
    __publicField(this, "askedKeys", /* @__PURE__ */ new Map());
    /** Opens waiting for their `omsr`: resolved with `res`, or failed with the socket. */
    __publicField(this, "opening", /* @__PURE__ */ new Map());
    __publicField(this, "closed");
    /** The WebSocket; none while a resumable connection dials its next one. */
    __publicField(this, "ws");
    /** The session, once the server made the connection resumable. */
    __publicField(this, "session");
    __publicField(this, "idle");
    /** Running while no call is open: when it fires, the socket closes. */
    __publicField(this, "linger");
    __publicField(this, "ping");
    /** Running while an acknowledgement is owed and not yet due by count. */
    __publicField(this, "ackTimer");
    /** Resolves when the send buffer has drained, while some pump waits for it. */
    __publicField(this, "draining");
    this.nextKey = options.keyedFrames && encoding === "msgpack" ? 1 : void 0;
    this.attach(dialed);
  }
  /**
   * Connects, sends `ping` and waits for the first frame (Serverpod's handshake); with
   * `options.resume`, asks for a resumable connection, and the first frame is `rst`.
   */
  static async open(Ctor, url, encoding, options) {
    const at = options.resume ? `${url}?resume` : url;
    const dialed = await dial(Ctor, at, encoding, options.connectTimeoutMs, { type: "ping" });
    const socket = new _Socket(Ctor, at, dialed, encoding, options);
    socket.receive(dialed.first);
    socket.receiveEarly(dialed);
    return socket;
  }
  isOpen() {
    return this.closed === void 0;
  }
  /**
   * Sends a frame. A resumable connection keeps a call frame until the server acknowledges
   * it, and between sockets only keeps it: it leaves when the connection resumes. Other
   * frames (`ping`, `pong`, `ack`) are for the socket of the moment.
   */
  send(frame) {
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
  drained() {
    if (this.hasRoom()) return Promise.resolve();
    this.draining ?? (this.draining = new Promise((resolve) => {
      let wait = 4;
      const check = () => {
        if (this.hasRoom()) {
          this.draining = void 0;
          return resolve();
        }
        wait = Math.min(wait * 2, 64);
        setTimeout(check, wait);
      };
      setTimeout(check, wait);
    }));
    return this.draining;
  }
  hasRoom() {
    if (this.closed) return true;
    return (this.ws?.bufferedAmount ?? 0) <= SEND_BUFFER && (this.session?.hasRoom() ?? true);
  }
  /** Sends an open and resolves with its answer (its `fc` goes to the call). */
  open(call, data) {
    if (this.closed) return Promise.reject(this.closed);
    clearTimeout(this.linger);
    this.linger = void 0;
    this.calls.set(call.cid, call);
    const k = this.nextKey;
    if (k !== void 0) {
      this.askedKeys.set(call.cid, k);
      this.nextKey = k < MAX_KEY ? k + 1 : void 0;
    }
    return new Promise((resolve, reject) => {
      this.opening.set(call.cid, { resolve, reject });
      this.send({ type: "omsc", data: k === void 0 ? data : { ...data, k } });
    }).then((answer) => {
      if (answer.res !== "success") this.forget(call.cid);
      return answer;
    });
  }
  /** A call ended: forgets it, and closes the socket once nothing is left for a while. */
  forget(cid) {
    const key = this.calls.get(cid)?.key;
    if (key !== void 0) this.keys.delete(key);
    this.calls.delete(cid);
    if (this.isIdle() && !this.closed && this.linger === void 0) {
      this.linger = setTimeout(() => this.closeIfIdle(), this.options.lingerMs);
    }
  }
  isIdle() {
    return this.calls.size === 0 && this.opening.size === 0;
  }
  closeIfIdle() {
    this.linger = void 0;
    if (this.isIdle() && !this.closed) {
      this.shut(new ConnectionLostError("the socket closed when idle"));
      this.ws?.close(1e3, "idle");
    }
  }
  /** Fails every call and closes the socket. */
  fail(error) {
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
  shut(error) {
    this.closed = error;
    this.detach();
    clearTimeout(this.linger);
    this.options.onState({ state: "disconnected" });
  }
  /**
   * Makes the dialed socket the connection's: its frames, its close, its keepalive. The
   * frames that came after the first, while it was being attached, are for
   * {@link Socket.receiveEarly}.
   */
  attach({ ws }) {
    this.ws = ws;
    ws.onmessage = (event) => this.receive(event.data);
    ws.onerror = () => {
    };
    ws.onclose = (event) => {
      const { code, reason } = event ?? {};
      const said = typeof code === "number" ? ` (${code}${typeof reason === "string" && reason ? ` ${reason}` : ""})` : "";
      const error = new ConnectionLostError(`the method stream socket closed${said}`);
      if (code === CLOSE_ABNORMAL || code === CLOSE_RESUMABLE) this.lost(error);
      else this.fail(error);
    };
    this.ping = setInterval(() => this.send({ type: "ping" }), this.options.pingIntervalMs);
    this.resetIdle();
  }
  /** Handles what a dialed socket received (or whether it closed) before it was attached. */
  receiveEarly(dialed) {
    for (const raw of dialed.early.splice(0)) this.receive(raw);
    if (dialed.closedEarly) this.lost(new ConnectionLostError("the method stream socket closed"));
  }
  /** Lets go of the socket of the moment (closing it, if it is still open). */
  detach() {
    clearInterval(this.ping);
    clearTimeout(this.idle);
    clearTimeout(this.ackTimer);
    this.ackTimer = void 0;
    const ws = this.ws;
    this.ws = void 0;
    if (ws) {
      ws.onmessage = null;
      ws.onclose = null;
      ws.onerror = () => {
      };
      ws.close();
    }
  }
  /**
   * The socket is gone without the server ending the session. A resumable connection with
   * calls open dials a new one; any other fails every call with `error`.
   */
  lost(error) {
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
  async redial(session) {
    const deadline = Date.now() + session.windowMs;
    let last;
    for (let attempt = 1; ; attempt++) {
      this.options.onState({ state: "reconnecting", attempt });
      const wait = backoffMs(attempt, this.options.reconnectMaxDelayMs);
      if (Date.now() + wait >= deadline) break;
      await new Promise((resolve) => setTimeout(resolve, wait));
      if (this.closed) return;
      const auth = await this.options.auth();
      const rsr = { type: "rsr", data: { tok: session.token, n: session.received, ...auth === void 0 ? {} : { auth } } };
      let dialed;
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
    this.fail(new ResumeFailedError("expired", { cause: last }));
  }
  /** The server's first answer on a new socket: the session goes on there, or is over. */
  resumeOn(session, dialed) {
    const ws = dialed.ws;
    let frame;
    try {
      frame = decodeFrame(dialed.first, this.encoding);
    } catch {
      frame = void 0;
    }
    if (frame?.type !== "rst") {
      ws.close();
      return this.fail(new ResumeFailedError(frame?.type === "rsx" ? frame.data.why : "off"));
    }
    const lacking = session.resumed(frame.data.n);
    if (!lacking) {
      ws.close();
      return this.fail(new ProtocolError("the server resumed from a position the client cannot replay from"));
    }
    this.attach(dialed);
    for (const sent of lacking) ws.send(sent);
    this.options.onState({ state: "connected" });
    this.receiveEarly(dialed);
  }
  resetIdle() {
    clearTimeout(this.idle);
    this.idle = setTimeout(
      () => this.lost(new IdleTimeoutError(`no frame for ${this.options.idleTimeoutMs} ms: the connection went idle`)),
      this.options.idleTimeoutMs
    );
  }
  /** Counts a call frame of `bytes` received, and acknowledges when it is due. */
  received(bytes2) {
    const session = this.session;
    if (!session) return;
    if (session.receivedOne(bytes2)) return this.acknowledge();
    this.ackTimer ?? (this.ackTimer = setTimeout(() => this.acknowledge(), ACK_DELAY_MS));
  }
  acknowledge() {
    clearTimeout(this.ackTimer);
    this.ackTimer = void 0;
    const n = this.session?.takeAcknowledgement();
    if (n !== void 0) this.send({ type: "ack", data: { n } });
  }
  /** A value on `call`'s return stream. */
  push(call, value) {
    if (call.push(value)) return;
    call.cancel(new ProtocolError("the server sent beyond the call\u2019s credit"), "error");
    this.forget(call.cid);
  }
  receive(raw) {
    if (this.closed) return;
    this.resetIdle();
    let frame;
    try {
      frame = decodeFrame(raw, this.encoding);
    } catch (e) {
      const error = e instanceof StreampodError ? e : new ProtocolError("a frame that cannot be read", { cause: e });
      this.send({ type: "brm", data: { req: error.message } });
      return this.fail(error);
    }
    if (isCounted(frame.type)) this.received(size(raw));
    switch (frame.type) {
      case "ping":
        return this.send({ type: "pong" });
      case "pong":
        return;
      case "omsr": {
        const d = frame.data;
        const open = this.opening.get(d.cid);
        this.opening.delete(d.cid);
        const asked = this.askedKeys.get(d.cid);
        this.askedKeys.delete(d.cid);
        const call = this.calls.get(d.cid);
        if (d.fc !== void 0) call?.flowControlled(d.fc);
        if (call && d.res === "success" && d.k !== void 0 && d.k === asked) {
          call.key = d.k;
          this.keys.set(d.k, call);
        }
        return open?.resolve({ res: d.res, why: d.why });
      }
      case "msm": {
        const d = frame.data;
        const call = this.calls.get(d.cid);
        if (!call) return this.send({ type: "cmsc", data: { en: d.en, m: d.m, cid: d.cid, cr: "error" } });
        return this.push(call, d.o);
      }
      case "keyed": {
        const { k, i, o } = frame.data;
        const call = this.keys.get(k);
        if (call && i === null) return this.push(call, o);
        if (!call && i === null && (this.nextKey === void 0 || k < this.nextKey)) return;
        this.send({ type: "brm", data: { req: `a keyed value frame for key ${k}, input ${i}` } });
        return this.fail(new ProtocolError(`the server sent a keyed value frame for key ${k}, input ${i}`));
      }
      case "msse": {
        const { cid, ex } = frame.data;
        const call = this.calls.get(cid);
        if (!call) return;
        let data = ex.data;
        try {
          const { __className__: _class, ...fields } = fromWrapped(ex.className, ex.data, this.encoding);
          data = fields;
        } catch {
        }
        call.finish(new SerializableExceptionError(ex.className, data));
        return this.forget(cid);
      }
      case "cmsc": {
        const d = frame.data;
        const call = this.calls.get(d.cid);
        if (!call) return;
        if (d.p !== void 0) return call.stopPump(d.p);
        if (d.cr === "done") call.finish(void 0);
        else if (d.why === "revoked") call.finish(new RevokedError("the call was closed: its authentication was revoked"));
        else if (d.why !== void 0) call.finish(new RejectedError(d.why));
        else call.finish(new CallFailedError("the method failed on the server"));
        return this.forget(call.cid);
      }
      case "crd": {
        const d = frame.data;
        if (d.p !== void 0) this.calls.get(d.cid)?.grant(d.p, d.n);
        return;
      }
      case "brm":
        return this.fail(new ProtocolError(`the server reported a bad request: ${frame.data.req}`));
      case "rst": {
        if (!this.session && this.options.resume) {
          const { tok, win } = frame.data;
          this.session = new ResumeSession(tok, win, this.options.resumeBufferBytes);
        }
        return;
      }
      case "ack":
        if (this.session && !this.session.acknowledge(frame.data.n)) {
          this.fail(new ProtocolError(`the server acknowledged ${frame.data.n} frames, more than were sent`));
        }
        return;
      case "omsc":
      case "rsr":
      case "rsx":
        return;
    }
  }
};
function dial(Ctor, url, encoding, timeoutMs, hello) {
  return new Promise((resolve, reject) => {
    const ws = new Ctor(url);
    ws.binaryType = "arraybuffer";
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
      const dialed = { ws, first: event.data, early: [], closedEarly: false };
      ws.onmessage = (later) => dialed.early.push(later.data);
      ws.onclose = () => dialed.closedEarly = true;
      ws.onerror = () => {
      };
      resolve(dialed);
    };
  });
}

// src/client.ts
var Client = class {
  /** A client of the server at `url` (`http(s)://host:port`, any path). */
  constructor(url, options = {}) {
    __publicField(this, "url");
    __publicField(this, "options");
    __publicField(this, "encoding");
    /** `fc` of every open, if flow control is on. */
    __publicField(this, "window");
    __publicField(this, "socket");
    __publicField(this, "current", { state: "disconnected" });
    __publicField(this, "listeners", /* @__PURE__ */ new Set());
    const u = new URL(url);
    u.protocol = u.protocol === "https:" || u.protocol === "wss:" ? "wss:" : "ws:";
    u.pathname = "/v1/websocket";
    u.search = "";
    this.url = u.toString();
    this.options = {
      pingIntervalMs: 2e4,
      idleTimeoutMs: 4e4,
      connectTimeoutMs: 5e3,
      lingerMs: 1e3,
      resume: true,
      resumeBufferBytes: 1 << 20,
      reconnectMaxDelayMs: 5e3,
      keyedFrames: true,
      ...options
    };
    const window = options.window === void 0 ? 1024 : options.window;
    this.window = window === null ? void 0 : Math.min(Math.max(1, Math.floor(window)), MAX_CREDIT);
    this.encoding = options.encoding ?? "msgpack";
  }
  /** Where the client's connection stands now. */
  get state() {
    return this.current;
  }
  /**
   * Calls `listener` with each new state of the connection: `connecting` for the first
   * call, `connected`, `reconnecting` (with the attempt, from 1) while a dropped socket is
   * being replaced (its calls stay open), `disconnected` when no socket is needed or the
   * calls failed with it. Returns the function that stops it.
   */
  onStateChange(listener) {
    this.listeners.add(listener);
    return () => this.listeners.delete(listener);
  }
  /** Calls a method that returns a stream; see {@link CallStream}. */
  stream(endpoint, method, args = {}, inputs = {}, options = {}) {
    return { [Symbol.asyncIterator]: () => this.run(endpoint, method, args, inputs, options) };
  }
  /**
   * Calls a method that returns one value: resolves with it, or rejects with a
   * {@link ProtocolError} when the call ends without one (a void method: use
   * {@link Client.callVoid}).
   */
  async call(endpoint, method, args = {}, inputs = {}, options = {}) {
    let result;
    for await (const value of this.stream(endpoint, method, args, inputs, options)) {
      result ?? (result = { value });
    }
    if (!result) throw new ProtocolError(`${endpoint}.${method} ended without a value`);
    return result.value;
  }
  /** Calls a method that returns nothing: resolves when it has ended. */
  async callVoid(endpoint, method, args = {}, inputs = {}, options = {}) {
    for await (const _ of this.stream(endpoint, method, args, inputs, options)) {
    }
  }
  /** Closes the socket; every open call fails with {@link ClientClosedError}. */
  close() {
    const socket = this.socket;
    this.socket = void 0;
    socket?.then((s) => s.fail(new ClientClosedError("the client was closed")), () => {
    });
  }
  async *run(endpoint, method, args, inputs, options) {
    options.signal?.throwIfAborted();
    const call = await this.open(endpoint, method, args, inputs, options.authKey);
    const abort = () => {
      const reason = options.signal?.reason;
      call.cancel(reason instanceof Error ? reason : new StreampodError("aborted", { cause: reason }));
    };
    options.signal?.addEventListener("abort", abort);
    try {
      for (; ; ) {
        const value = await call.next();
        if (value === void 0) return;
        call.tookOne();
        yield fromWrapped(value.className, value.data, this.encoding);
      }
    } finally {
      options.signal?.removeEventListener("abort", abort);
      call.cancel();
    }
  }
  /** Opens a call: `omsc`, then its `omsr`; once more after a refreshed key. */
  async open(endpoint, method, args, inputs, key) {
    for (let attempt = 0; ; attempt++) {
      const auth = key === void 0 ? await this.auth() : authValue(typeof key === "string" ? key : await key());
      const socket = await this.connection();
      const call = new Call(socket, endpoint, method, randomUuid(), this.window);
      const { res, why } = await socket.open(call, {
        en: endpoint,
        m: method,
        cid: call.cid,
        args: toPlain(args, this.encoding),
        is: Object.keys(inputs),
        ...auth === void 0 ? {} : { auth },
        ...this.window === void 0 ? {} : { fc: this.window }
      });
      if (res === "success") {
        Object.entries(inputs).forEach(([name, source], place) => call.pump(name, place, source));
        return call;
      }
      const refresh = this.options.refreshAuthKey;
      if (res === "authenticationFailed" && key === void 0 && attempt === 0 && refresh && await refresh()) continue;
      throw openFailed(res, endpoint, method, why);
    }
  }
  /** The live socket, opened if there is none (concurrent first calls share one attempt). */
  connection() {
    const current = this.socket;
    if (current) {
      return current.then(
        (s) => s.isOpen() ? s : this.reconnect(current),
        () => this.reconnect(current)
      );
    }
    return this.reconnect(void 0);
  }
  reconnect(stale) {
    if (this.socket !== stale) return this.connection();
    const Ctor = this.options.WebSocket ?? globalThis.WebSocket;
    if (!Ctor) {
      return Promise.reject(new StreampodError("no WebSocket here: pass options.WebSocket (e.g. the ws package)"));
    }
    this.publish({ state: "connecting" });
    let opening = void 0;
    const onState = (state) => {
      if (this.socket === opening) this.publish(state);
    };
    opening = Socket.open(Ctor, this.url, this.encoding, { ...this.options, auth: () => this.auth(), onState });
    this.socket = opening;
    opening.then(
      (socket) => onState({ state: socket.isOpen() ? "connected" : "disconnected" }),
      () => onState({ state: "disconnected" })
    );
    opening.catch(() => {
      if (this.socket === opening) this.socket = void 0;
    });
    return opening;
  }
  /** The `auth` value of an open or a resume: the key, as `Bearer <key>` unless it has a scheme. */
  async auth() {
    return authValue(await this.options.authKey?.());
  }
  publish(state) {
    const same = state.state === this.current.state && (state.state !== "reconnecting" || this.current.state === "reconnecting" && state.attempt === this.current.attempt);
    if (same) return;
    this.current = state;
    for (const listener of this.listeners) listener(state);
  }
};
function authValue(key) {
  return key === void 0 ? void 0 : /^\S+ \S/.test(key) ? key : `Bearer ${key}`;
}
function randomUuid() {
  const c = globalThis.crypto;
  if (typeof c?.randomUUID === "function") return c.randomUUID();
  const b = new Uint8Array(16);
  c.getRandomValues(b);
  b[6] = b[6] & 15 | 64;
  b[8] = b[8] & 63 | 128;
  const h = Array.from(b, (x) => x.toString(16).padStart(2, "0")).join("");
  return `${h.slice(0, 8)}-${h.slice(8, 12)}-${h.slice(12, 16)}-${h.slice(16, 20)}-${h.slice(20)}`;
}
export {
  AuthenticationFailedError,
  AuthorizationDeclinedError,
  CallFailedError,
  Client,
  ClientClosedError,
  ConnectFailedError,
  ConnectTimeoutError,
  ConnectionClosedError,
  ConnectionLostError,
  EndpointNotFoundError,
  IdleTimeoutError,
  InvalidArgumentsError,
  OpenFailedError,
  ProtocolError,
  RejectedError,
  ResumeFailedError,
  RevokedError,
  SerializableExceptionError,
  StreampodError,
  Typed,
  Wrapped,
  typed,
  typedValues,
  wrap
};
