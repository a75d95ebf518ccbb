// Typed errors. Server errors keep etcd's exact message ("etcdserver: ..."), its gRPC code
// and the HTTP status the gateway answered with; client-side failures (network, timeout,
// cancellation) use the gRPC codes and messages a Go clientv3 user would see.

export const GrpcCode = {
  OK: 0,
  Canceled: 1,
  Unknown: 2,
  InvalidArgument: 3,
  DeadlineExceeded: 4,
  NotFound: 5,
  AlreadyExists: 6,
  PermissionDenied: 7,
  ResourceExhausted: 8,
  FailedPrecondition: 9,
  Aborted: 10,
  OutOfRange: 11,
  Unimplemented: 12,
  Internal: 13,
  Unavailable: 14,
  DataLoss: 15,
  Unauthenticated: 16,
} as const;
export type GrpcCode = (typeof GrpcCode)[keyof typeof GrpcCode];

const CODE_NAMES = Object.fromEntries(Object.entries(GrpcCode).map(([k, v]) => [v, k])) as Record<number, string>;

/** gRPC's name for a code ("OutOfRange"), as in `rpc error: code = OutOfRange desc = ...`. */
export function grpcCodeName(code: number): string {
  return CODE_NAMES[code] ?? `Code(${code})`;
}

/** etcd's error messages (rpctypes), for matching and for tests. */
export const ErrorMessage = {
  EmptyKey: "etcdserver: key is not provided",
  KeyNotFound: "etcdserver: key not found",
  ValueProvided: "etcdserver: value is provided",
  LeaseProvided: "etcdserver: lease is provided",
  TooManyOps: "etcdserver: too many operations in txn request",
  DuplicateKey: "etcdserver: duplicate key given in txn request",
  Compacted: "etcdserver: mvcc: required revision has been compacted",
  FutureRev: "etcdserver: mvcc: required revision is a future revision",
  NoSpace: "etcdserver: mvcc: database space exceeded",
  LeaseNotFound: "etcdserver: requested lease not found",
  LeaseExist: "etcdserver: lease already exists",
  LeaseTTLTooLarge: "etcdserver: too large lease TTL",
  RequestTooLarge: "etcdserver: request is too large",
  TooManyRequests: "etcdserver: too many requests",
  NoLeader: "etcdserver: no leader",
  NotLeader: "etcdserver: not leader",
  LeaderChanged: "etcdserver: leader changed",
  Timeout: "etcdserver: request timed out",
  InvalidSortOption: "etcdserver: invalid sort option",
  PermissionDenied: "etcdserver: permission denied",
  InvalidAuthToken: "etcdserver: invalid auth token",
  AuthFailed: "etcdserver: authentication failed, invalid user ID or password",
  AuthNotEnabled: "etcdserver: authentication is not enabled",
  MemberNotFound: "etcdserver: member not found",
  DeadlineExceeded: "context deadline exceeded",
  Canceled: "context canceled",
} as const;

export interface EtcdErrorInit {
  code: number;
  /** HTTP status of the gateway's answer; 0 when no answer arrived (network, timeout, abort). */
  httpStatus?: number;
  endpoint?: string;
  cause?: unknown;
}

export class EtcdError extends Error {
  /** gRPC status code (GrpcCode). */
  readonly code: number;
  readonly httpStatus: number;
  /** The endpoint that answered (or failed), when known. */
  readonly endpoint: string | undefined;

  constructor(message: string, init: EtcdErrorInit) {
    super(message, init.cause === undefined ? undefined : { cause: init.cause });
    this.name = "EtcdError";
    this.code = init.code;
    this.httpStatus = init.httpStatus ?? 0;
    this.endpoint = init.endpoint;
  }

  get codeName(): string {
    return grpcCodeName(this.code);
  }

  /** True when the request never got an answer from a server (refused, reset, DNS ...). */
  get isNetworkError(): boolean {
    return this.httpStatus === 0 && this.code === GrpcCode.Unavailable;
  }

  /** Go's status string: `rpc error: code = OutOfRange desc = etcdserver: ...`. */
  toGrpcString(): string {
    return `rpc error: code = ${this.codeName} desc = ${this.message}`;
  }
}

export function isEtcdError(e: unknown): e is EtcdError {
  return e instanceof EtcdError;
}

const hasMessage = (m: string) => (e: unknown): boolean => e instanceof EtcdError && e.message === m;
const hasCode = (c: number) => (e: unknown): boolean => e instanceof EtcdError && e.code === c;

export const isCompacted = hasMessage(ErrorMessage.Compacted);
export const isFutureRevision = hasMessage(ErrorMessage.FutureRev);
export const isLeaseNotFound = hasMessage(ErrorMessage.LeaseNotFound);
export const isLeaseExists = hasMessage(ErrorMessage.LeaseExist);
export const isKeyNotFound = hasMessage(ErrorMessage.KeyNotFound);
export const isEmptyKey = hasMessage(ErrorMessage.EmptyKey);
export const isTooManyOps = hasMessage(ErrorMessage.TooManyOps);
export const isDuplicateKey = hasMessage(ErrorMessage.DuplicateKey);
export const isNoSpace = hasMessage(ErrorMessage.NoSpace);
export const isNoLeader = hasMessage(ErrorMessage.NoLeader);
export const isRequestTooLarge = hasMessage(ErrorMessage.RequestTooLarge);
export const isInvalidAuthToken = hasMessage(ErrorMessage.InvalidAuthToken);
export const isAuthFailed = hasMessage(ErrorMessage.AuthFailed);
export const isPermissionDenied = hasCode(GrpcCode.PermissionDenied);
export const isDeadlineExceeded = hasCode(GrpcCode.DeadlineExceeded);
export const isCanceled = hasCode(GrpcCode.Canceled);
export const isUnavailable = hasCode(GrpcCode.Unavailable);
export const isNetworkError = (e: unknown): boolean => e instanceof EtcdError && e.isNetworkError;

// grpc-gateway's HTTP status for each gRPC code, for answers that carry no code of their own.
const STATUS_TO_CODE: Record<number, number> = {
  400: GrpcCode.InvalidArgument,
  401: GrpcCode.Unauthenticated,
  403: GrpcCode.PermissionDenied,
  404: GrpcCode.NotFound,
  408: GrpcCode.Canceled,
  409: GrpcCode.Aborted,
  412: GrpcCode.FailedPrecondition,
  429: GrpcCode.ResourceExhausted,
  501: GrpcCode.Unimplemented,
  503: GrpcCode.Unavailable,
  504: GrpcCode.DeadlineExceeded,
};

/** Builds the error for a non-2xx gateway answer (`{"error","message","code"}` or plain text). */
export function errorFromResponse(status: number, bodyText: string, endpoint?: string): EtcdError {
  let message = bodyText.trim();
  let code = STATUS_TO_CODE[status] ?? GrpcCode.Unknown;
  try {
    const j = JSON.parse(bodyText) as { error?: unknown; message?: unknown; code?: unknown };
    if (j && typeof j === "object") {
      if (typeof j.message === "string") message = j.message;
      else if (typeof j.error === "string") message = j.error;
      if (typeof j.code === "number") code = j.code;
    }
  } catch {
    // Not JSON (e.g. "Not Found" for an unknown path): keep the text.
  }
  if (!message) message = `unexpected HTTP status ${status}`;
  return new EtcdError(message, { code, httpStatus: status, endpoint });
}
