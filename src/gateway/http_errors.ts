// The one table from etcd errors to the HTTP responses of etcd's JSON gateway, and the other
// fixed responses that gateway writes. All observed against Debian's etcd 3.4.23, whose
// grpc-gateway predates v1.9.5: FailedPrecondition is 412 there (later versions say 400).
//
// Error body: {"error":<msg>,"message":<msg>,"code":<gRPC code>} in that key order, the
// message JSON-escaped the Go way (<, >, & as \u003c \u003e \u0026), Content-Type
// application/json, no trailing newline. (etcd also sends the gRPC trailer
// Grpc-Trailer-Content-Type in a chunked body; nothing a JSON client can see.)

import { EtcdError, GrpcCode } from "../server/errors.ts";
import { goJsonString } from "./codec/gojson.ts";

/** gRPC code → HTTP status, as etcd 3.4.23's gateway (runtime.HTTPStatusFromCode) maps it. */
export const httpStatusFromGrpcCode: Readonly<Record<GrpcCode, number>> = {
  [GrpcCode.OK]: 200,
  [GrpcCode.Canceled]: 408,
  [GrpcCode.Unknown]: 500,
  [GrpcCode.InvalidArgument]: 400,
  [GrpcCode.DeadlineExceeded]: 504,
  [GrpcCode.NotFound]: 404,
  [GrpcCode.AlreadyExists]: 409,
  [GrpcCode.PermissionDenied]: 403,
  [GrpcCode.ResourceExhausted]: 429,
  [GrpcCode.FailedPrecondition]: 412,
  [GrpcCode.Aborted]: 409,
  [GrpcCode.OutOfRange]: 400,
  [GrpcCode.Unimplemented]: 501,
  [GrpcCode.Internal]: 500,
  [GrpcCode.Unavailable]: 503,
  [GrpcCode.DataLoss]: 500,
  [GrpcCode.Unauthenticated]: 401,
};

export function httpStatusOf(code: number): number {
  return httpStatusFromGrpcCode[code as GrpcCode] ?? 500;
}

/** The CORS headers etcd adds to every client response (its default --cors is "*"). */
export const ETCD_CORS_HEADERS: Readonly<Record<string, string>> = {
  "Access-Control-Allow-Methods": "POST, GET, OPTIONS, PUT, DELETE",
  "Access-Control-Allow-Origin": "*",
  "Access-Control-Allow-Headers": "accept, content-type, authorization",
};

/** The exact error body etcd's gateway writes for gRPC status (code, message). */
export function errorBody(code: number, message: string): string {
  const m = goJsonString(message);
  return `{"error":${m},"message":${m},"code":${code}}`;
}

/**
 * An EtcdError (or anything else) as etcd's gateway answers it. Anything that is not an
 * EtcdError is what Go calls a non-status error: gRPC code Unknown, HTTP 500, its message.
 */
export function errorResponse(err: unknown): Response {
  let code: number;
  let message: string;
  if (err instanceof EtcdError) {
    code = err.code;
    message = err.message;
  } else if (isCodeAndMessage(err)) {
    // An EtcdError that crossed an RPC boundary arrives as a plain object.
    code = err.code;
    message = err.message;
  } else {
    code = GrpcCode.Unknown;
    message = err instanceof Error ? err.message : String(err);
  }
  return new Response(errorBody(code, message), {
    status: httpStatusOf(code),
    headers: { "Content-Type": "application/json" },
  });
}

function isCodeAndMessage(e: unknown): e is { code: number; message: string } {
  return (
    typeof e === "object" &&
    e !== null &&
    typeof (e as { code?: unknown }).code === "number" &&
    typeof (e as { message?: unknown }).message === "string" &&
    (e as { name?: unknown }).name === "EtcdError"
  );
}

/** A successful unary answer: 200, application/json, the gRPC metadata header etcd relays. */
export function jsonResponse(bodyText: string): Response {
  return new Response(bodyText, {
    status: 200,
    headers: { "Content-Type": "application/json", "Grpc-Metadata-Content-Type": "application/grpc" },
  });
}

/**
 * A streamed gateway answer (LeaseKeepAlive/Watch over plain HTTP): 200, application/json,
 * each message `{"result":…}\n`. With no message at all (empty request body) etcd sends an
 * empty 200 body and no Grpc-Metadata header.
 */
export function streamResponse(body: string | ReadableStream<Uint8Array>, hasMessages = true): Response {
  const headers: Record<string, string> = { "Content-Type": "application/json" };
  if (hasMessages) headers["Grpc-Metadata-Content-Type"] = "application/grpc";
  return new Response(body, { status: 200, headers });
}

const textHeaders = { "Content-Type": "text/plain; charset=utf-8", "X-Content-Type-Options": "nosniff" };

/** Under /v3/: no such gateway path (also a path with a trailing slash or a :verb). */
export function gatewayNotFound(): Response {
  return new Response("Not Found\n", { status: 404, headers: textHeaders });
}

/** Under /v3/: a gateway path asked with a method other than POST (GET, PUT, DELETE…). */
export function gatewayMethodNotAllowed(): Response {
  return new Response("Method Not Allowed\n", { status: 405, headers: textHeaders });
}

/** Outside /v3/ (Go's http.ServeMux): no handler for the path. */
export function pageNotFound(): Response {
  return new Response("404 page not found\n", { status: 404, headers: textHeaders });
}

/** /version and /health asked with anything but GET. */
export function getOnlyMethodNotAllowed(): Response {
  return new Response("Method Not Allowed\n", { status: 405, headers: { Allow: "GET", ...textHeaders } });
}

/**
 * GET /health as etcd 3.4 answers it: 200 {"health":"true"} (no newline; Go sniffs the type
 * as text/plain) or, with no leader or an active alarm, 503 {"health":"false"}\n via
 * http.Error. Other methods: getOnlyMethodNotAllowed().
 */
export function healthResponse(healthy: boolean): Response {
  if (healthy) {
    return new Response('{"health":"true"}', { status: 200, headers: { "Content-Type": "text/plain; charset=utf-8" } });
  }
  return new Response('{"health":"false"}\n', { status: 503, headers: textHeaders });
}

/**
 * Go's http.ServeMux cleans request paths before routing: "//", "/./" and "/../" are
 * redirected (301) to the cleaned path, and "/v3" to "/v3/" (a registered subtree). Returns
 * that redirect, or null when the path is already clean. GET and HEAD get Go's small HTML
 * body; other methods an empty one without Content-Type.
 */
export function serveMuxRedirect(method: string, path: string, rawQuery = ""): Response | null {
  let target = cleanPath(path);
  if (target === "/v3" || target === "/v3beta") target += "/";
  if (target === path) return null;
  const location = rawQuery ? `${target}?${rawQuery}` : target;
  if (method === "GET" || method === "HEAD") {
    const body = `<a href="${htmlEscape(location)}">Moved Permanently</a>.\n\n`;
    return new Response(method === "HEAD" ? null : body, {
      status: 301,
      headers: { Location: location, "Content-Type": "text/html; charset=utf-8" },
    });
  }
  return new Response(null, { status: 301, headers: { Location: location } });
}

/** net/http cleanPath: path.Clean, keeping a trailing slash. */
export function cleanPath(p: string): string {
  if (p === "") return "/";
  if (p[0] !== "/") p = "/" + p;
  const out: string[] = [];
  for (const seg of p.split("/")) {
    if (seg === "" || seg === ".") continue;
    if (seg === "..") out.pop();
    else out.push(seg);
  }
  let np = "/" + out.join("/");
  if (p.endsWith("/") && np !== "/") np += "/";
  return np;
}

function htmlEscape(s: string): string {
  return s.replace(/&/g, "&amp;").replace(/</g, "&lt;").replace(/>/g, "&gt;").replace(/"/g, "&#34;").replace(/'/g, "&#39;");
}
