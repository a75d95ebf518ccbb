// HTTP transport to etcd's JSON gateway (or etcdo): several endpoints in round-robin order,
// failover on network errors and 503s, Authorization header, per-call timeouts and
// AbortSignal cancellation. Web-standard APIs only (fetch, AbortSignal, setTimeout).

import { EtcdError, ErrorMessage, GrpcCode, errorFromResponse } from "./errors.ts";

/** A fetch-like function: global fetch, a Worker service binding's fetch, or a test double. */
export type FetchFn = (input: string, init: RequestInit) => Promise<Response>;

/** Where a token comes from: a fixed string or a function asked before every request. */
export type TokenSource = string | (() => string | undefined | Promise<string | undefined>);

export interface TransportOptions {
  /** "http://host:port", "https://host", or "host:port" (http assumed). Default 127.0.0.1:2379. */
  endpoints?: string | readonly string[];
  fetch?: FetchFn;
  /** Sent as the Authorization header, as etcd's gateway expects (the raw token, no scheme). */
  token?: TokenSource;
  /** Extra headers on every request. */
  headers?: Record<string, string>;
  /** Default deadline for each call in milliseconds (0 or unset: none). */
  timeout?: number;
  /**
   * Called when a server rejects the token (`etcdserver: invalid auth token`); if it resolves
   * true, the request is sent once more (with whatever `token` now yields).
   */
  onInvalidToken?: () => Promise<boolean>;
  /**
   * Opens the WebSockets that carry watches and lease keepalives (default: the global
   * WebSocket). null: no WebSocket, watches use the gateway's HTTP stream.
   */
  webSocket?: ((url: string, protocols?: string | string[]) => WebSocket) | null;
  /** Which stream transport watches use: "auto" (default) tries etcdo's multiplexed socket,
   * then the gateway's /v3/watch WebSocket, then its HTTP stream. */
  streamMode?: "auto" | "mux" | "ws" | "http";
}

export interface CallOptions {
  signal?: AbortSignal;
  /** Deadline for this call in milliseconds, across failover attempts. */
  timeout?: number;
}

export interface RequestOptions extends CallOptions {
  /** Send to this endpoint only (no failover): status, health and such per-member calls. */
  endpoint?: string;
  /**
   * Safe to resend after an error where the server may have received it. Reads are; writes
   * are only retried on errors that prove they were not applied (refused connection, "no leader").
   */
  idempotent?: boolean;
  method?: "GET" | "POST";
  /** Read only the first message of a newline-delimited stream answer ({"result": ...}). */
  firstStreamMessage?: boolean;
}

export function normalizeEndpoint(ep: string): string {
  let e = ep.trim();
  if (!/^[a-z][a-z0-9+.-]*:\/\//i.test(e)) e = `http://${e}`;
  return e.replace(/\/+$/, "");
}

const NOT_APPLIED_503 = new Set<string>([ErrorMessage.NoLeader, "etcdserver: not capable", "etcdserver: server stopped"]);

export class Transport {
  readonly endpoints: readonly string[];
  private readonly fetchFn: FetchFn;
  private readonly headers: Record<string, string>;
  private readonly defaultTimeout: number;
  private token: TokenSource | undefined;
  private readonly onInvalidToken: (() => Promise<boolean>) | undefined;
  private next = 0;
  /** The options this transport was made with (streams read theirs from here). */
  readonly options: TransportOptions;

  constructor(opts: TransportOptions = {}) {
    this.options = opts;
    const eps = opts.endpoints === undefined ? ["127.0.0.1:2379"] : typeof opts.endpoints === "string" ? opts.endpoints.split(",") : opts.endpoints;
    this.endpoints = eps.filter((e) => e.trim() !== "").map(normalizeEndpoint);
    if (this.endpoints.length === 0) throw new TypeError("etcd client: no endpoints");
    const f = opts.fetch ?? (globalThis.fetch as FetchFn | undefined);
    if (!f) throw new TypeError("etcd client: no fetch available; pass the fetch option");
    // Bind so a detached global fetch keeps working in browsers and Workers.
    this.fetchFn = opts.fetch ?? ((input, init) => globalThis.fetch(input, init));
    this.headers = { ...(opts.headers ?? {}) };
    this.defaultTimeout = opts.timeout ?? 0;
    this.token = opts.token;
    this.onInvalidToken = opts.onInvalidToken;
  }

  /** Raw fetch with this transport's headers and token (for streams). */
  async rawFetch(url: string, init: RequestInit): Promise<Response> {
    const headers: Record<string, string> = { ...this.headers, ...((init.headers as Record<string, string> | undefined) ?? {}) };
    const token = typeof this.token === "function" ? await this.token() : this.token;
    if (token) headers["authorization"] = token;
    return this.fetchFn(url, { ...init, headers });
  }

  /** The token to offer a WebSocket (as etcd's gateway reads it: "Bearer, <token>"). */
  async currentToken(): Promise<string | undefined> {
    return typeof this.token === "function" ? await this.token() : this.token;
  }

  setToken(token: TokenSource | undefined): void {
    this.token = token;
  }

  /** POSTs a JSON body to a gateway path and returns the parsed JSON answer. */
  async request<T = Record<string, unknown>>(path: string, body: unknown, opts: RequestOptions = {}): Promise<T> {
    const order = this.order(opts.endpoint);
    const timeout = opts.timeout ?? this.defaultTimeout;
    const { signal, dispose, timedOut } = combineSignals(opts.signal, timeout);
    try {
      let lastErr: EtcdError | undefined;
      for (let i = 0; i < order.length; i++) {
        const ep = order[i]!;
        const last = i === order.length - 1;
        try {
          try {
            return (await this.once(ep, path, body, opts, signal)) as T;
          } catch (e) {
            if (!(e instanceof EtcdError) || e.message !== ErrorMessage.InvalidAuthToken || !this.onInvalidToken) throw e;
            if (!(await this.onInvalidToken())) throw e;
            return (await this.once(ep, path, body, opts, signal)) as T;
          }
        } catch (e) {
          if (signal?.aborted) throw abortError(signal, timedOut(), ep);
          if (!(e instanceof EtcdError)) throw e;
          lastErr = e;
          if (last || !this.retryable(e, opts.idempotent ?? false)) throw e;
        }
      }
      throw lastErr!;
    } finally {
      dispose();
    }
  }

  private order(only?: string): string[] {
    if (only !== undefined) return [normalizeEndpoint(only)];
    const n = this.endpoints.length;
    const start = this.next % n;
    this.next = (start + 1) % n;
    const out: string[] = [];
    for (let i = 0; i < n; i++) out.push(this.endpoints[(start + i) % n]!);
    return out;
  }

  private retryable(e: EtcdError, idempotent: boolean): boolean {
    if (e.isNetworkError) return idempotent || isRefused(e.cause);
    if (e.httpStatus === 503) return idempotent || NOT_APPLIED_503.has(e.message) || !e.message.startsWith("etcdserver:");
    return false;
  }

  private async once(ep: string, path: string, body: unknown, opts: RequestOptions, signal: AbortSignal | undefined): Promise<unknown> {
    const headers: Record<string, string> = { ...this.headers };
    const method = opts.method ?? "POST";
    if (method === "POST") headers["content-type"] = "application/json";
    const token = typeof this.token === "function" ? await this.token() : this.token;
    if (token) headers["authorization"] = token;
    let res: Response;
    try {
      res = await this.fetchFn(ep + path, {
        method,
        headers,
        body: method === "POST" ? JSON.stringify(body ?? {}) : undefined,
        signal,
      });
    } catch (cause) {
      if (signal?.aborted) throw cause;
      throw new EtcdError(networkMessage(cause), { code: GrpcCode.Unavailable, endpoint: hostOf(ep), cause });
    }
    const text = opts.firstStreamMessage && res.ok ? await readFirstLine(res) : await res.text();
    if (!res.ok) throw errorFromResponse(res.status, text, hostOf(ep));
    let parsed: unknown;
    try {
      parsed = text.trim() === "" ? {} : JSON.parse(text);
    } catch (cause) {
      throw new EtcdError(`invalid JSON from ${hostOf(ep)}${path}: ${text.slice(0, 200)}`, { code: GrpcCode.Internal, httpStatus: res.status, endpoint: hostOf(ep), cause });
    }
    if (opts.firstStreamMessage) {
      const m = parsed as { result?: unknown; error?: { message?: string; code?: number; grpc_code?: number; http_code?: number } };
      if (m.error) {
        const code = m.error.grpc_code ?? m.error.code ?? GrpcCode.Unknown;
        throw new EtcdError(m.error.message ?? "stream error", { code, httpStatus: m.error.http_code ?? res.status, endpoint: hostOf(ep) });
      }
      return m.result ?? {};
    }
    return parsed;
  }
}

async function readFirstLine(res: Response): Promise<string> {
  if (!res.body) return await res.text();
  const reader = res.body.getReader();
  const dec = new TextDecoder();
  let buf = "";
  try {
    for (;;) {
      const { value, done } = await reader.read();
      if (value) buf += dec.decode(value, { stream: true });
      const nl = buf.indexOf("\n");
      if (nl >= 0) return buf.slice(0, nl);
      if (done) return buf;
    }
  } finally {
    reader.cancel().catch(() => {});
  }
}

function hostOf(ep: string): string {
  return ep.replace(/^[a-z][a-z0-9+.-]*:\/\//i, "");
}

function causeCode(cause: unknown): string | undefined {
  const c = (cause as { cause?: { code?: unknown } } | undefined)?.cause;
  return typeof c?.code === "string" ? c.code : undefined;
}

function isRefused(cause: unknown): boolean {
  const code = causeCode(cause);
  return code === "ECONNREFUSED" || code === "ENOTFOUND" || code === "EAI_AGAIN" || code === "EHOSTUNREACH";
}

function networkMessage(cause: unknown): string {
  const inner = (cause as { cause?: { message?: unknown } } | undefined)?.cause;
  if (inner && typeof inner.message === "string" && inner.message) return `connection error: ${inner.message}`;
  return `connection error: ${cause instanceof Error ? cause.message : String(cause)}`;
}

function abortError(signal: AbortSignal, timedOut: boolean, ep: string): EtcdError {
  const reason: unknown = signal.reason;
  const isTimeout = timedOut || (reason as { name?: unknown } | undefined)?.name === "TimeoutError";
  return isTimeout
    ? new EtcdError(ErrorMessage.DeadlineExceeded, { code: GrpcCode.DeadlineExceeded, endpoint: hostOf(ep), cause: reason })
    : new EtcdError(ErrorMessage.Canceled, { code: GrpcCode.Canceled, endpoint: hostOf(ep), cause: reason });
}

/** One signal that fires on the caller's abort or after `timeout` ms, whichever comes first. */
export function combineSignals(user: AbortSignal | undefined, timeout: number): { signal: AbortSignal | undefined; dispose: () => void; timedOut: () => boolean } {
  if (!timeout || timeout <= 0) return { signal: user, dispose: () => {}, timedOut: () => false };
  const ctl = new AbortController();
  let fired = false;
  const timer = setTimeout(() => {
    fired = true;
    ctl.abort(new DOMException("context deadline exceeded", "TimeoutError"));
  }, timeout);
  const onAbort = () => ctl.abort(user!.reason);
  if (user) {
    if (user.aborted) ctl.abort(user.reason);
    else user.addEventListener("abort", onAbort, { once: true });
  }
  return {
    signal: ctl.signal,
    dispose: () => {
      clearTimeout(timer);
      user?.removeEventListener("abort", onAbort);
    },
    timedOut: () => fired,
  };
}
