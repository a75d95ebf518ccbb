// Go formatting that etcdctl's output depends on, reproduced byte for byte: encoding/json
// strings, time.Duration's String and parsing, go-humanize's Bytes, strconv.Quote, and the
// olekukonko/tablewriter layout etcdctl uses for -w table.

/** Go encoding/json string encoding (HTML-safe: <, >, & escaped; U+2028/2029 escaped). */
export function goJsonString(s: string): string {
  let out = '"';
  for (const ch of s) {
    const c = ch.codePointAt(0)!;
    if (ch === '"') out += '\\"';
    else if (ch === "\\") out += "\\\\";
    else if (ch === "\n") out += "\\n";
    else if (ch === "\r") out += "\\r";
    else if (ch === "\t") out += "\\t";
    else if (c < 0x20 || ch === "<" || ch === ">" || ch === "&" || c === 0x2028 || c === 0x2029) out += `\\u${c.toString(16).padStart(4, "0")}`;
    else if (c >= 0xd800 && c <= 0xdfff) out += "\\ufffd"; // lone surrogate: Go writes U+FFFD
    else out += ch;
  }
  return `${out}"`;
}

/** A JSON fragment written verbatim (for 64-bit numbers kept as decimal strings). */
export class Raw {
  readonly text: string;
  constructor(text: string) {
    this.text = text;
  }
}

/** Serialises plain objects in insertion order like Go's json.Marshal; `undefined` fields are skipped. */
export function goJson(v: unknown): string {
  if (v instanceof Raw) return v.text;
  if (v === null) return "null";
  if (typeof v === "string") return goJsonString(v);
  if (typeof v === "number") return String(v);
  if (typeof v === "bigint") return v.toString();
  if (typeof v === "boolean") return v ? "true" : "false";
  if (Array.isArray(v)) return `[${v.map(goJson).join(",")}]`;
  if (typeof v === "object") {
    const parts: string[] = [];
    for (const [k, x] of Object.entries(v as Record<string, unknown>)) {
      if (x === undefined) continue;
      parts.push(`${goJsonString(k)}:${goJson(x)}`);
    }
    return `{${parts.join(",")}}`;
  }
  throw new TypeError(`cannot encode ${typeof v}`);
}

/** Go's strconv.Quote (and fmt's %q) of text. */
export function goQuote(s: string): string {
  return goQuoteBytes(new TextEncoder().encode(s));
}

/** Go's %q of a byte string: printable runes as they are, the rest escaped, bad UTF-8 as \xNN. */
export function goQuoteBytes(b: Uint8Array): string {
  const dec = new TextDecoder("utf-8", { fatal: true });
  const esc: Record<number, string> = { 7: "\\a", 8: "\\b", 12: "\\f", 10: "\\n", 13: "\\r", 9: "\\t", 11: "\\v", 34: '\\"', 92: "\\\\" };
  const hex = (n: number, w: number) => n.toString(16).padStart(w, "0");
  let out = '"';
  for (let i = 0; i < b.length; ) {
    const c = b[i]!;
    if (c < 0x80) {
      if (esc[c]) out += esc[c];
      else if (c < 0x20 || c === 0x7f) out += `\\x${hex(c, 2)}`;
      else out += String.fromCharCode(c);
      i++;
      continue;
    }
    const len = c >= 0xf0 ? 4 : c >= 0xe0 ? 3 : c >= 0xc0 ? 2 : 1;
    let ch: string | undefined;
    try {
      ch = len > 1 && i + len <= b.length ? dec.decode(b.subarray(i, i + len)) : undefined;
    } catch {
      ch = undefined;
    }
    if (ch === undefined) {
      out += `\\x${hex(c, 2)}`;
      i++;
      continue;
    }
    const cp = ch.codePointAt(0)!;
    if (cp < 0xa0 || cp === 0xad || cp === 0x2028 || cp === 0x2029 || cp === 0xfeff) out += cp > 0xffff ? `\\U${hex(cp, 8)}` : `\\u${hex(cp, 4)}`;
    else out += ch;
    i += len;
  }
  return `${out}"`;
}

function fmtFrac(v: bigint, prec: number): { int: bigint; frac: string } {
  let digits = "";
  let print = false;
  for (let i = 0; i < prec; i++) {
    const d = v % 10n;
    print ||= d !== 0n;
    if (print) digits = d.toString() + digits;
    v /= 10n;
  }
  return { int: v, frac: print ? `.${digits}` : "" };
}

/** time.Duration.String(): "906.741µs", "2.072268ms", "1.5s", "1m30s". */
export function goDuration(nanos: bigint | number): string {
  let u = BigInt(nanos);
  if (u === 0n) return "0s";
  const neg = u < 0n;
  if (neg) u = -u;
  let out: string;
  if (u < 1_000_000_000n) {
    if (u < 1000n) out = `${u}ns`;
    else if (u < 1_000_000n) {
      const f = fmtFrac(u, 3);
      out = `${f.int}${f.frac}µs`;
    } else {
      const f = fmtFrac(u, 6);
      out = `${f.int}${f.frac}ms`;
    }
  } else {
    const f = fmtFrac(u, 9);
    u = f.int;
    out = `${u % 60n}${f.frac}s`;
    u /= 60n;
    if (u > 0n) {
      out = `${u % 60n}m${out}`;
      u /= 60n;
      if (u > 0n) out = `${u}h${out}`;
    }
  }
  return neg ? `-${out}` : out;
}

const UNIT_NS: Record<string, number> = { ns: 1, us: 1e3, "µs": 1e3, "μs": 1e3, ms: 1e6, s: 1e9, m: 60e9, h: 3600e9 };

/** time.ParseDuration, in milliseconds. */
export function parseGoDuration(s: string): number {
  const m = /^([-+]?)((?:\d*\.?\d+(?:ns|us|µs|μs|ms|s|m|h))+|0)$/.exec(s);
  if (!m) throw new Error(`time: invalid duration ${goQuote(s)}`);
  let ns = 0;
  for (const part of m[2]!.matchAll(/(\d*\.?\d+)(ns|us|µs|μs|ms|s|m|h)/g)) ns += Number(part[1]) * UNIT_NS[part[2]!]!;
  return (m[1] === "-" ? -ns : ns) / 1e6;
}

/** github.com/dustin/go-humanize Bytes (SI units): "20 kB", "1.2 MB", "9 B". */
export function humanizeBytes(n: number): string {
  if (n < 10) return `${n} B`;
  const sizes = ["B", "kB", "MB", "GB", "TB", "PB", "EB"];
  const e = Math.floor(Math.log(n) / Math.log(1000));
  const val = Math.floor((n / 1000 ** e) * 10 + 0.5) / 10;
  if (val < 10) return `${val.toFixed(1)} ${sizes[e]}`;
  // Go's %.0f rounds an exact tie to even (20.5 -> "20"); toFixed would round it up.
  const tenths = Math.round(val * 10);
  const whole = tenths % 10 === 5 ? ((tenths - 5) / 10) % 2 === 0 ? (tenths - 5) / 10 : (tenths + 5) / 10 : Math.round(val);
  return `${whole} ${sizes[e]}`;
}

/** tablewriter with etcdctl's settings: upper-cased centred header, right-aligned cells. */
export function renderTable(header: string[], rows: string[][]): string {
  const width = (s: string) => [...s].length;
  const hdr = header.map((h) => h.replace(/_/g, " ").trim().toUpperCase());
  const w = hdr.map((h, i) => Math.max(width(h), ...rows.map((r) => width(r[i] ?? ""))));
  const line = `+${w.map((n) => "-".repeat(n + 2)).join("+")}+\n`;
  const center = (s: string, n: number) => {
    const gap = n - width(s);
    const left = Math.floor(gap / 2);
    return " ".repeat(left) + s + " ".repeat(gap - left);
  };
  const right = (s: string, n: number) => " ".repeat(n - width(s)) + s;
  let out = line;
  out += `|${hdr.map((h, i) => ` ${center(h, w[i]!)} `).join("|")}|\n`;
  out += line;
  for (const r of rows) out += `|${w.map((n, i) => ` ${right(r[i] ?? "", n)} `).join("|")}|\n`;
  out += line;
  return out;
}

/** Go's %v of a []string: [a b c]. */
export function goStringSlice(xs: string[]): string {
  return `[${xs.join(" ")}]`;
}

/**
 * Reads one Go-quoted string ("..." with Go escapes, or `raw`) at the start of `s`, as
 * fmt.Sscanf's %q does. Returns the value and the rest, or null.
 */
export function scanGoQuoted(s: string): { value: string; rest: string } | null {
  if (s.startsWith("`")) {
    const end = s.indexOf("`", 1);
    return end < 0 ? null : { value: s.slice(1, end), rest: s.slice(end + 1) };
  }
  if (!s.startsWith('"')) return null;
  const bytes: number[] = [];
  const enc = new TextEncoder();
  let i = 1;
  while (i < s.length) {
    const ch = s[i]!;
    if (ch === '"') return { value: new TextDecoder().decode(new Uint8Array(bytes)), rest: s.slice(i + 1) };
    if (ch !== "\\") {
      const cp = s.codePointAt(i)!;
      const str = String.fromCodePoint(cp);
      bytes.push(...enc.encode(str));
      i += str.length;
      continue;
    }
    const e = s[i + 1];
    const simple: Record<string, number> = { a: 7, b: 8, f: 12, n: 10, r: 13, t: 9, v: 11, "\\": 92, '"': 34, "'": 39 };
    if (e === undefined) return null;
    if (e in simple) {
      bytes.push(simple[e]!);
      i += 2;
    } else if (e === "x" && /^[0-9a-fA-F]{2}$/.test(s.slice(i + 2, i + 4))) {
      bytes.push(parseInt(s.slice(i + 2, i + 4), 16));
      i += 4;
    } else if (/^[0-7]{3}$/.test(s.slice(i + 1, i + 4))) {
      bytes.push(parseInt(s.slice(i + 1, i + 4), 8));
      i += 4;
    } else if (e === "u" && /^[0-9a-fA-F]{4}$/.test(s.slice(i + 2, i + 6))) {
      bytes.push(...enc.encode(String.fromCodePoint(parseInt(s.slice(i + 2, i + 6), 16))));
      i += 6;
    } else if (e === "U" && /^[0-9a-fA-F]{8}$/.test(s.slice(i + 2, i + 10))) {
      bytes.push(...enc.encode(String.fromCodePoint(parseInt(s.slice(i + 2, i + 10), 16))));
      i += 10;
    } else return null;
  }
  return null;
}
