// Go's encoding/json, as far as etcd 3.4's JSON gateway exposes it to clients.
//
// The gateway reads a request with json.Decoder.Decode into a json.RawMessage, then the
// legacy (reflection-based) golang/protobuf jsonpb walks it with json.Unmarshal into
// map[string]json.RawMessage, []json.RawMessage and scalars. Every error a client can
// provoke is one of Go's own messages ("invalid character 'x' looking for beginning of
// value", "json: cannot unmarshal string into Go value of type int64", "unexpected EOF",
// "illegal base64 data at input byte 4"). To answer with the same bytes we scan the body as
// UTF-8 bytes with a port of Go's scanner state machine (encoding/json/scanner.go) and
// reproduce the decoder's type errors and base64's error offsets.

/** An error whose message is exactly what Go would print. */
export class GoError extends Error {
  constructor(message: string) {
    super(message);
    this.name = "GoError";
  }
}

// ---------------------------------------------------------------------------------------
// Scanner (port of encoding/json/scanner.go)

const scanContinue = 0;
const scanBeginLiteral = 1;
const scanBeginObject = 2;
const scanObjectKey = 3;
const scanObjectValue = 4;
const scanEndObject = 5;
const scanBeginArray = 6;
const scanArrayValue = 7;
const scanEndArray = 8;
const scanSkipSpace = 9;
const scanEnd = 10;
const scanError = 11;

const parseObjectKey = 0;
const parseObjectValue = 1;
const parseArrayValue = 2;

const maxNestingDepth = 10000;

type StepFn = (s: Scanner, c: number) => number;

class Scanner {
  step: StepFn = stateBeginValue;
  endTop = false;
  parseState: number[] = [];
  err: GoError | null = null;

  reset(): void {
    this.step = stateBeginValue;
    this.parseState = [];
    this.err = null;
    this.endTop = false;
  }

  eof(): number {
    if (this.err) return scanError;
    if (this.endTop) return scanEnd;
    this.step(this, 0x20);
    if (this.endTop) return scanEnd;
    if (!this.err) this.err = new GoError("unexpected end of JSON input");
    return scanError;
  }

  pushParseState(c: number, newParseState: number, successState: number): number {
    this.parseState.push(newParseState);
    if (this.parseState.length <= maxNestingDepth) return successState;
    return this.error(c, "exceeded max depth");
  }

  popParseState(): void {
    this.parseState.pop();
    if (this.parseState.length === 0) {
      this.step = stateEndTop;
      this.endTop = true;
    } else {
      this.step = stateEndValue;
    }
  }

  error(c: number, context: string): number {
    this.step = stateError;
    this.err = new GoError(`invalid character ${quoteChar(c)} ${context}`);
    return scanError;
  }
}

const isSpace = (c: number) => c === 0x20 || c === 0x09 || c === 0x0d || c === 0x0a;
const isDigit = (c: number) => c >= 0x30 && c <= 0x39;
const isHex = (c: number) => isDigit(c) || (c >= 0x61 && c <= 0x66) || (c >= 0x41 && c <= 0x46);

function stateBeginValueOrEmpty(s: Scanner, c: number): number {
  if (isSpace(c)) return scanSkipSpace;
  if (c === 0x5d) return stateEndValue(s, c);
  return stateBeginValue(s, c);
}

function stateBeginValue(s: Scanner, c: number): number {
  if (isSpace(c)) return scanSkipSpace;
  switch (c) {
    case 0x7b: // {
      s.step = stateBeginStringOrEmpty;
      return s.pushParseState(c, parseObjectKey, scanBeginObject);
    case 0x5b: // [
      s.step = stateBeginValueOrEmpty;
      return s.pushParseState(c, parseArrayValue, scanBeginArray);
    case 0x22: // "
      s.step = stateInString;
      return scanBeginLiteral;
    case 0x2d: // -
      s.step = stateNeg;
      return scanBeginLiteral;
    case 0x30: // 0
      s.step = state0;
      return scanBeginLiteral;
    case 0x74: // t
      s.step = lit("true", 1);
      return scanBeginLiteral;
    case 0x66: // f
      s.step = lit("false", 1);
      return scanBeginLiteral;
    case 0x6e: // n
      s.step = lit("null", 1);
      return scanBeginLiteral;
  }
  if (c >= 0x31 && c <= 0x39) {
    s.step = state1;
    return scanBeginLiteral;
  }
  return s.error(c, "looking for beginning of value");
}

function stateBeginStringOrEmpty(s: Scanner, c: number): number {
  if (isSpace(c)) return scanSkipSpace;
  if (c === 0x7d) {
    s.parseState[s.parseState.length - 1] = parseObjectValue;
    return stateEndValue(s, c);
  }
  return stateBeginString(s, c);
}

function stateBeginString(s: Scanner, c: number): number {
  if (isSpace(c)) return scanSkipSpace;
  if (c === 0x22) {
    s.step = stateInString;
    return scanBeginLiteral;
  }
  return s.error(c, "looking for beginning of object key string");
}

function stateEndValue(s: Scanner, c: number): number {
  const n = s.parseState.length;
  if (n === 0) {
    s.step = stateEndTop;
    s.endTop = true;
    return stateEndTop(s, c);
  }
  if (isSpace(c)) {
    s.step = stateEndValue;
    return scanSkipSpace;
  }
  switch (s.parseState[n - 1]) {
    case parseObjectKey:
      if (c === 0x3a) {
        s.parseState[n - 1] = parseObjectValue;
        s.step = stateBeginValue;
        return scanObjectKey;
      }
      return s.error(c, "after object key");
    case parseObjectValue:
      if (c === 0x2c) {
        s.parseState[n - 1] = parseObjectKey;
        s.step = stateBeginString;
        return scanObjectValue;
      }
      if (c === 0x7d) {
        s.popParseState();
        return scanEndObject;
      }
      return s.error(c, "after object key:value pair");
    case parseArrayValue:
      if (c === 0x2c) {
        s.step = stateBeginValue;
        return scanArrayValue;
      }
      if (c === 0x5d) {
        s.popParseState();
        return scanEndArray;
      }
      return s.error(c, "after array element");
  }
  return s.error(c, "");
}

function stateEndTop(s: Scanner, c: number): number {
  if (!isSpace(c)) s.error(c, "after top-level value");
  return scanEnd;
}

function stateInString(s: Scanner, c: number): number {
  if (c === 0x22) {
    s.step = stateEndValue;
    return scanContinue;
  }
  if (c === 0x5c) {
    s.step = stateInStringEsc;
    return scanContinue;
  }
  if (c < 0x20) return s.error(c, "in string literal");
  return scanContinue;
}

function stateInStringEsc(s: Scanner, c: number): number {
  switch (c) {
    case 0x62: case 0x66: case 0x6e: case 0x72: case 0x74: case 0x5c: case 0x2f: case 0x22:
      s.step = stateInString;
      return scanContinue;
    case 0x75:
      s.step = escU(4);
      return scanContinue;
  }
  return s.error(c, "in string escape code");
}

const escUStates: StepFn[] = [];
function escU(remaining: number): StepFn {
  let f = escUStates[remaining];
  if (!f) {
    f = (s, c) => {
      if (isHex(c)) {
        s.step = remaining === 1 ? stateInString : escU(remaining - 1);
        return scanContinue;
      }
      return s.error(c, "in \\u hexadecimal character escape");
    };
    escUStates[remaining] = f;
  }
  return f;
}

function stateNeg(s: Scanner, c: number): number {
  if (c === 0x30) {
    s.step = state0;
    return scanContinue;
  }
  if (c >= 0x31 && c <= 0x39) {
    s.step = state1;
    return scanContinue;
  }
  return s.error(c, "in numeric literal");
}

function state1(s: Scanner, c: number): number {
  if (isDigit(c)) {
    s.step = state1;
    return scanContinue;
  }
  return state0(s, c);
}

function state0(s: Scanner, c: number): number {
  if (c === 0x2e) {
    s.step = stateDot;
    return scanContinue;
  }
  if (c === 0x65 || c === 0x45) {
    s.step = stateE;
    return scanContinue;
  }
  return stateEndValue(s, c);
}

function stateDot(s: Scanner, c: number): number {
  if (isDigit(c)) {
    s.step = stateDot0;
    return scanContinue;
  }
  return s.error(c, "after decimal point in numeric literal");
}

function stateDot0(s: Scanner, c: number): number {
  if (isDigit(c)) return scanContinue;
  if (c === 0x65 || c === 0x45) {
    s.step = stateE;
    return scanContinue;
  }
  return stateEndValue(s, c);
}

function stateE(s: Scanner, c: number): number {
  if (c === 0x2b || c === 0x2d) {
    s.step = stateESign;
    return scanContinue;
  }
  return stateESign(s, c);
}

function stateESign(s: Scanner, c: number): number {
  if (isDigit(c)) {
    s.step = stateE0;
    return scanContinue;
  }
  return s.error(c, "in exponent of numeric literal");
}

function stateE0(s: Scanner, c: number): number {
  if (isDigit(c)) return scanContinue;
  return stateEndValue(s, c);
}

// true / false / null: after reading word[0..i), expect word[i].
const litStates = new Map<string, StepFn>();
function lit(word: string, i: number): StepFn {
  const id = word + i;
  let f = litStates.get(id);
  if (!f) {
    const want = word.charCodeAt(i);
    f = (s, c) => {
      if (c === want) {
        s.step = i + 1 === word.length ? stateEndValue : lit(word, i + 1);
        return scanContinue;
      }
      return s.error(c, `in literal ${word} (expecting '${word[i]}')`);
    };
    litStates.set(id, f);
  }
  return f;
}

function stateError(_s: Scanner, _c: number): number {
  return scanError;
}

/** Go's quoteChar: a byte shown as the rune of the same number, in single quotes. */
export function quoteChar(c: number): string {
  if (c === 0x27) return "'\\''";
  if (c === 0x22) return "'\"'";
  const q = goQuoteRunes([c]);
  return "'" + q.slice(1, -1) + "'";
}

/** checkValid: the whole input must be exactly one JSON value (plus spaces). */
export function checkValid(data: Uint8Array): void {
  const s = new Scanner();
  for (let i = 0; i < data.length; i++) {
    if (s.step(s, data[i]!) === scanError) throw s.err!;
  }
  if (s.eof() === scanError) throw s.err!;
}

/**
 * json.Decoder.Decode's readValue on a complete body: the first JSON value starting at
 * `from`, or null at a clean end of input (only spaces left: io.EOF). Bytes after the value
 * are not looked at (the gateway decodes a unary request once). Incomplete input is
 * io.ErrUnexpectedEOF ("unexpected EOF").
 * Returns the value's bounds without surrounding spaces and where the next value may start.
 */
export function decoderReadValue(buf: Uint8Array, from: number): { start: number; end: number; next: number } | null {
  const s = new Scanner();
  let start = -1;
  let i = from;
  for (; i < buf.length; i++) {
    const c = buf[i]!;
    const op = s.step(s, c);
    if (start < 0 && op !== scanSkipSpace) start = i;
    if (op === scanEnd) break;
    if (op === scanEndObject || op === scanEndArray) {
      if (stateEndValue(s, 0x20) === scanEnd) {
        i++;
        break;
      }
    }
    if (op === scanError) throw s.err!;
  }
  if (i >= buf.length && !s.endTop) {
    if (s.step(s, 0x20) !== scanEnd) {
      if (start >= 0) throw new GoError("unexpected EOF");
      return null;
    }
  }
  let end = i;
  while (end > start && isSpace(buf[end - 1]!)) end--;
  return { start, end, next: i };
}

// ---------------------------------------------------------------------------------------
// A parsed value that keeps its raw bytes (json.RawMessage), built only from input that the
// scanner accepted, so the parser below can trust the syntax.

export type Node =
  | { kind: "object"; start: number; end: number; entries: [string, Node][] }
  | { kind: "array"; start: number; end: number; items: Node[] }
  | { kind: "string"; start: number; end: number }
  | { kind: "number"; start: number; end: number }
  | { kind: "bool"; start: number; end: number; value: boolean }
  | { kind: "null"; start: number; end: number };

export class Doc {
  readonly buf: Uint8Array;
  private limit = 0;
  constructor(buf: Uint8Array) {
    this.buf = buf;
  }

  /** Parses the (valid) value at [start, end). */
  parse(start: number, end: number): Node {
    const p = { i: start };
    this.limit = end;
    const n = this.value(p);
    if (n.end > end) throw new Error("gojson: value overruns its bounds");
    return n;
  }

  raw(n: Node): string {
    return latin(this.buf.subarray(n.start, n.end));
  }

  text(n: Node): Uint8Array {
    return this.buf.subarray(n.start, n.end);
  }

  private ws(p: { i: number }): void {
    while (p.i < this.buf.length && isSpace(this.buf[p.i]!)) p.i++;
  }

  private value(p: { i: number }): Node {
    this.ws(p);
    const b = this.buf;
    const start = p.i;
    const c = b[p.i]!;
    if (c === 0x7b) {
      p.i++;
      const entries: [string, Node][] = [];
      this.ws(p);
      if (b[p.i] === 0x7d) {
        p.i++;
        return { kind: "object", start, end: p.i, entries };
      }
      for (;;) {
        this.ws(p);
        const keyStart = p.i;
        this.skipString(p);
        const key = utf8Decode(unquoteBytes(b, keyStart, p.i));
        this.ws(p);
        p.i++; // :
        const v = this.value(p);
        entries.push([key, v]);
        this.ws(p);
        if (b[p.i] === 0x2c) {
          p.i++;
          continue;
        }
        p.i++; // }
        return { kind: "object", start, end: p.i, entries };
      }
    }
    if (c === 0x5b) {
      p.i++;
      const items: Node[] = [];
      this.ws(p);
      if (b[p.i] === 0x5d) {
        p.i++;
        return { kind: "array", start, end: p.i, items };
      }
      for (;;) {
        items.push(this.value(p));
        this.ws(p);
        if (b[p.i] === 0x2c) {
          p.i++;
          continue;
        }
        p.i++; // ]
        return { kind: "array", start, end: p.i, items };
      }
    }
    if (c === 0x22) {
      this.skipString(p);
      return { kind: "string", start, end: p.i };
    }
    if (c === 0x74) {
      p.i += 4;
      return { kind: "bool", start, end: p.i, value: true };
    }
    if (c === 0x66) {
      p.i += 5;
      return { kind: "bool", start, end: p.i, value: false };
    }
    if (c === 0x6e) {
      p.i += 4;
      return { kind: "null", start, end: p.i };
    }
    // number
    p.i++;
    while (p.i < this.limit) {
      const d = b[p.i]!;
      if (isDigit(d) || d === 0x2e || d === 0x65 || d === 0x45 || d === 0x2b || d === 0x2d) p.i++;
      else break;
    }
    return { kind: "number", start, end: p.i };
  }

  private skipString(p: { i: number }): void {
    const b = this.buf;
    p.i++; // opening quote
    while (b[p.i] !== 0x22) {
      if (b[p.i] === 0x5c) p.i += 2;
      else p.i++;
    }
    p.i++;
  }
}

function latin(b: Uint8Array): string {
  let s = "";
  for (let i = 0; i < b.length; i++) s += String.fromCharCode(b[i]!);
  return s;
}

const textDecoder = new TextDecoder();
const textEncoder = new TextEncoder();
export function utf8Decode(b: Uint8Array): string {
  return textDecoder.decode(b);
}
export function utf8Encode(s: string): Uint8Array {
  return textEncoder.encode(s);
}

/**
 * Go's unquoteBytes on a valid JSON string token [start, end) (quotes included): escapes
 * resolved, invalid UTF-8 and unpaired surrogate escapes become U+FFFD. Returns UTF-8 bytes.
 */
export function unquoteBytes(b: Uint8Array, start: number, end: number): Uint8Array {
  const out: number[] = [];
  const pushRune = (r: number) => {
    const enc = utf8Encode(String.fromCodePoint(r));
    for (const x of enc) out.push(x);
  };
  let i = start + 1;
  const stop = end - 1;
  while (i < stop) {
    const c = b[i]!;
    if (c === 0x5c) {
      const e = b[i + 1]!;
      i += 2;
      switch (e) {
        case 0x62: out.push(0x08); break;
        case 0x66: out.push(0x0c); break;
        case 0x6e: out.push(0x0a); break;
        case 0x72: out.push(0x0d); break;
        case 0x74: out.push(0x09); break;
        case 0x75: {
          let r = parseInt(latin(b.subarray(i, i + 4)), 16);
          i += 4;
          if (r >= 0xd800 && r < 0xe000) {
            // utf16.IsSurrogate: needs a following \uDC00-\uDFFF escape.
            let paired = false;
            if (r < 0xdc00 && b[i] === 0x5c && b[i + 1] === 0x75) {
              const r2 = parseInt(latin(b.subarray(i + 2, i + 6)), 16);
              if (r2 >= 0xdc00 && r2 < 0xe000) {
                r = 0x10000 + ((r - 0xd800) << 10) + (r2 - 0xdc00);
                i += 6;
                paired = true;
              }
            }
            if (!paired) r = 0xfffd;
          }
          pushRune(r);
          break;
        }
        default:
          out.push(e); // \\ \/ \"
      }
      continue;
    }
    if (c < 0x80) {
      out.push(c);
      i++;
      continue;
    }
    const [r, size] = decodeRune(b, i, stop);
    if (r < 0) out.push(0xef, 0xbf, 0xbd);
    else for (let k = 0; k < size; k++) out.push(b[i + k]!);
    i += size;
  }
  return Uint8Array.from(out);
}

/** utf8.DecodeRune: [rune, size]; rune -1 (RuneError) with size 1 for invalid input. */
export function decodeRune(b: Uint8Array, i: number, end: number): [number, number] {
  const c0 = b[i]!;
  if (c0 < 0x80) return [c0, 1];
  let need: number;
  if (c0 >= 0xc2 && c0 <= 0xdf) need = 1;
  else if (c0 >= 0xe0 && c0 <= 0xef) need = 2;
  else if (c0 >= 0xf0 && c0 <= 0xf4) need = 3;
  else return [-1, 1];
  if (i + need >= end) return [-1, 1];
  let lo = 0x80;
  let hi = 0xbf;
  if (c0 === 0xe0) lo = 0xa0;
  else if (c0 === 0xed) hi = 0x9f;
  else if (c0 === 0xf0) lo = 0x90;
  else if (c0 === 0xf4) hi = 0x8f;
  const c1 = b[i + 1]!;
  if (c1 < lo || c1 > hi) return [-1, 1];
  if (need === 1) return [((c0 & 0x1f) << 6) | (c1 & 0x3f), 2];
  const c2 = b[i + 2]!;
  if (c2 < 0x80 || c2 > 0xbf) return [-1, 1];
  if (need === 2) return [((c0 & 0x0f) << 12) | ((c1 & 0x3f) << 6) | (c2 & 0x3f), 3];
  const c3 = b[i + 3]!;
  if (c3 < 0x80 || c3 > 0xbf) return [-1, 1];
  return [((c0 & 0x07) << 18) | ((c1 & 0x3f) << 12) | ((c2 & 0x3f) << 6) | (c3 & 0x3f), 4];
}

// ---------------------------------------------------------------------------------------
// Quoting (strconv.Quote, used by fmt's %q) and JSON string encoding (encoding/json).

const printable = /^[\p{L}\p{M}\p{N}\p{P}\p{S} ]$/u;

function isPrint(r: number): boolean {
  return printable.test(String.fromCodePoint(r));
}

const hex = "0123456789abcdef";

function appendEscapedRune(r: number): string {
  if (r === 0x22 || r === 0x5c) return "\\" + String.fromCharCode(r);
  if (isPrint(r)) return String.fromCodePoint(r);
  switch (r) {
    case 0x07: return "\\a";
    case 0x08: return "\\b";
    case 0x0c: return "\\f";
    case 0x0a: return "\\n";
    case 0x0d: return "\\r";
    case 0x09: return "\\t";
    case 0x0b: return "\\v";
  }
  if (r < 0x20 || r === 0x7f) return "\\x" + hex[r >> 4] + hex[r & 15];
  if (r < 0x10000) return "\\u" + r.toString(16).padStart(4, "0");
  return "\\U" + r.toString(16).padStart(8, "0");
}

/** strconv.Quote of a sequence of runes. */
function goQuoteRunes(runes: number[]): string {
  let s = '"';
  for (const r of runes) s += appendEscapedRune(r);
  return s + '"';
}

/** strconv.Quote (fmt %q) of a Go string given as bytes: invalid UTF-8 bytes become \xNN. */
export function goQuote(b: Uint8Array): string {
  let s = '"';
  let i = 0;
  while (i < b.length) {
    const [r, size] = decodeRune(b, i, b.length);
    if (r < 0) s += "\\x" + hex[b[i]! >> 4] + hex[b[i]! & 15];
    else s += appendEscapedRune(r);
    i += size;
  }
  return s + '"';
}

/**
 * encoding/json's string encoding with HTML escaping (Go 1.19): <, >, & as \u003c…,
 * control characters as \u00XX except \n \r \t, U+2028/2029 escaped, lone surrogates
 * (impossible in Go strings) as U+FFFD.
 */
export function goJsonString(s: string): string {
  let out = '"';
  for (let i = 0; i < s.length; i++) {
    const c = s.charCodeAt(i);
    if (c < 0x80) {
      if (c === 0x22) out += '\\"';
      else if (c === 0x5c) out += "\\\\";
      else if (c === 0x0a) out += "\\n";
      else if (c === 0x0d) out += "\\r";
      else if (c === 0x09) out += "\\t";
      else if (c < 0x20 || c === 0x3c || c === 0x3e || c === 0x26) out += "\\u00" + hex[c >> 4] + hex[c & 15];
      else out += s[i];
      continue;
    }
    if (c === 0x2028 || c === 0x2029) {
      out += "\\u" + c.toString(16);
      continue;
    }
    if (c >= 0xd800 && c < 0xdc00) {
      const d = s.charCodeAt(i + 1);
      if (d >= 0xdc00 && d < 0xe000) {
        out += s[i]! + s[i + 1]!;
        i++;
        continue;
      }
      out += "\ufffd";
      continue;
    }
    if (c >= 0xdc00 && c < 0xe000) {
      out += "\ufffd";
      continue;
    }
    out += s[i];
  }
  return out + '"';
}

// ---------------------------------------------------------------------------------------
// json.Unmarshal into the Go types jsonpb uses. The value has already passed the scanner.

function typeError(what: string, goType: string): GoError {
  return new GoError(`json: cannot unmarshal ${what} into Go value of type ${goType}`);
}

function kindName(n: Node): string {
  switch (n.kind) {
    case "object": return "object";
    case "array": return "array";
    case "string": return "string";
    case "number": return "number";
    case "bool": return "bool";
    case "null": return "null";
  }
}

/** json.Unmarshal(raw, &map[string]json.RawMessage): entries (last duplicate wins), or null. */
export function unmarshalRawMap(n: Node): Map<string, Node> | null {
  if (n.kind === "null") return null;
  if (n.kind !== "object") throw typeError(kindName(n), "map[string]json.RawMessage");
  const m = new Map<string, Node>();
  for (const [k, v] of n.entries) m.set(k, v);
  return m;
}

/** json.Unmarshal(raw, &[]json.RawMessage). */
export function unmarshalRawList(n: Node): Node[] | null {
  if (n.kind === "null") return null;
  if (n.kind !== "array") throw typeError(kindName(n), "[]json.RawMessage");
  return n.items;
}

/** json.Unmarshal into a Go interface type with methods (a oneof's wrapper field). */
export function unmarshalIntoInterface(n: Node, goType: string): void {
  if (n.kind !== "null") throw typeError(kindName(n), goType);
}

export interface IntType {
  goType: string;
  bits: 8 | 32 | 64;
  signed: boolean;
}
export const INT64: IntType = { goType: "int64", bits: 64, signed: true };
export const UINT64: IntType = { goType: "uint64", bits: 64, signed: false };
const UINT8: IntType = { goType: "uint8", bits: 8, signed: false };

function numberInto(doc: Doc, n: Node, t: IntType): bigint {
  const lit = doc.raw(n);
  let v: bigint | null = null;
  if (/^-?\d+$/.test(lit) && !(lit.startsWith("-") && !t.signed)) {
    v = BigInt(lit);
    const bits = BigInt(t.bits);
    const min = t.signed ? -(1n << (bits - 1n)) : 0n;
    const max = t.signed ? (1n << (bits - 1n)) - 1n : (1n << bits) - 1n;
    if (v < min || v > max) v = null;
  }
  if (v === null) throw typeError(`number ${lit}`, t.goType);
  return v;
}

/** json.Unmarshal(n, &intN) for an already-parsed value. null leaves the zero value. */
export function unmarshalIntNode(doc: Doc, n: Node, t: IntType): bigint {
  if (n.kind === "null") return 0n;
  if (n.kind === "number") return numberInto(doc, n, t);
  throw typeError(kindName(n), t.goType);
}

/**
 * jsonpb's numeric fields: a leading quote is stripped with the last byte (no unescaping),
 * then json.Unmarshal runs on what is left, so `"12"` is 12, `"1 "` is 1, `""` fails with
 * "unexpected end of JSON input" and `"null"` is 0.
 */
export function unmarshalQuotedInt(doc: Doc, n: Node, t: IntType): bigint {
  if (n.kind !== "string") return unmarshalIntNode(doc, n, t);
  const inner = doc.buf.subarray(n.start + 1, n.end - 1);
  checkValid(inner);
  const d = new Doc(inner);
  const first = firstNonSpace(inner);
  return unmarshalIntNode(d, d.parse(first, inner.length), t);
}

function firstNonSpace(b: Uint8Array): number {
  let i = 0;
  while (i < b.length && isSpace(b[i]!)) i++;
  return i;
}

/** json.Unmarshal(n, &bool). */
export function unmarshalBool(n: Node): boolean {
  if (n.kind === "null") return false;
  if (n.kind === "bool") return n.value;
  throw typeError(kindName(n), "bool");
}

/** json.Unmarshal(n, &[]byte): base64 (StdEncoding) string, or an array of uint8 numbers. */
export function unmarshalBytes(doc: Doc, n: Node): Uint8Array {
  switch (n.kind) {
    case "null":
      return new Uint8Array(0);
    case "string":
      return goBase64StdDecode(unquoteBytes(doc.buf, n.start, n.end));
    case "array": {
      const out = new Uint8Array(n.items.length);
      n.items.forEach((it, i) => {
        out[i] = Number(unmarshalIntNode(doc, it, UINT8));
      });
      return out;
    }
    default:
      throw typeError(kindName(n), "[]uint8");
  }
}

/** json.Unmarshal of a non-string into a Go named int32 enum type. */
export function unmarshalEnumNumber(doc: Doc, n: Node, goType: string): number {
  return Number(unmarshalIntNode(doc, n, { goType, bits: 32, signed: true }));
}

// ---------------------------------------------------------------------------------------
// encoding/base64 StdEncoding.Decode (non-strict; '\r' and '\n' skipped), exact error offsets.

const b64map = new Int16Array(256).fill(-1);
{
  const alphabet = "ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz0123456789+/";
  for (let i = 0; i < alphabet.length; i++) b64map[alphabet.charCodeAt(i)] = i;
}

function corrupt(offset: number): GoError {
  return new GoError(`illegal base64 data at input byte ${offset}`);
}

export function goBase64StdDecode(src: Uint8Array): Uint8Array {
  const out: number[] = [];
  let si = 0;
  const isNl = (c: number) => c === 0x0a || c === 0x0d;
  while (si < src.length) {
    // decodeQuantum
    const dbuf = [0, 0, 0, 0];
    let dlen = 4;
    let trailing: GoError | null = null;
    for (let j = 0; j < 4; j++) {
      if (src.length === si) {
        if (j === 0) return Uint8Array.from(out);
        throw corrupt(si - j); // j == 1, or padding is required
      }
      const ch = src[si]!;
      si++;
      const v = b64map[ch]!;
      if (v >= 0) {
        dbuf[j] = v;
        continue;
      }
      if (isNl(ch)) {
        j--;
        continue;
      }
      if (ch !== 0x3d) throw corrupt(si - 1);
      // padding
      if (j === 0 || j === 1) throw corrupt(si - 1);
      if (j === 2) {
        while (si < src.length && isNl(src[si]!)) si++;
        if (si === src.length) throw corrupt(src.length);
        if (src[si] !== 0x3d) throw corrupt(si - 1);
        si++;
      }
      while (si < src.length && isNl(src[si]!)) si++;
      if (si < src.length) trailing = corrupt(si);
      dlen = j;
      break;
    }
    const val = (dbuf[0]! << 18) | (dbuf[1]! << 12) | (dbuf[2]! << 6) | dbuf[3]!;
    const bytes = [(val >> 16) & 0xff, (val >> 8) & 0xff, val & 0xff];
    for (let k = 0; k < dlen - 1; k++) out.push(bytes[k]!);
    if (trailing) throw trailing;
  }
  return Uint8Array.from(out);
}
