// etcd's server errors (etcdserver/api/v3rpc/rpctypes): one value per error, with the exact
// message and gRPC status code etcd returns. Pure modules throw or return these; the gateway
// translates them once into HTTP (status, {"error","message","code"}).

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

export class EtcdError extends Error {
  readonly code: GrpcCode;
  constructor(code: GrpcCode, message: string) {
    super(message);
    this.code = code;
    this.name = "EtcdError";
  }
}

const e = (code: GrpcCode, message: string) => new EtcdError(code, message);
const C = GrpcCode;

// Errors are values; compare with `===` or by message (RPC boundaries drop identity).
export const Errors = {
  EmptyKey: e(C.InvalidArgument, "etcdserver: key is not provided"),
  KeyNotFound: e(C.InvalidArgument, "etcdserver: key not found"),
  ValueProvided: e(C.InvalidArgument, "etcdserver: value is provided"),
  LeaseProvided: e(C.InvalidArgument, "etcdserver: lease is provided"),
  TooManyOps: e(C.InvalidArgument, "etcdserver: too many operations in txn request"),
  DuplicateKey: e(C.InvalidArgument, "etcdserver: duplicate key given in txn request"),
  Compacted: e(C.OutOfRange, "etcdserver: mvcc: required revision has been compacted"),
  FutureRev: e(C.OutOfRange, "etcdserver: mvcc: required revision is a future revision"),
  NoSpace: e(C.ResourceExhausted, "etcdserver: mvcc: database space exceeded"),
  LeaseNotFound: e(C.NotFound, "etcdserver: requested lease not found"),
  LeaseExist: e(C.FailedPrecondition, "etcdserver: lease already exists"),
  LeaseTTLTooLarge: e(C.OutOfRange, "etcdserver: too large lease TTL"),
  RequestTooLarge: e(C.InvalidArgument, "etcdserver: request is too large"),
  TooManyRequests: e(C.ResourceExhausted, "etcdserver: too many requests"),
  NoLeader: e(C.Unavailable, "etcdserver: no leader"),
  NotLeader: e(C.FailedPrecondition, "etcdserver: not leader"),
  LeaderChanged: e(C.Unavailable, "etcdserver: leader changed"),
  NotCapable: e(C.Unavailable, "etcdserver: not capable"),
  Stopped: e(C.Unavailable, "etcdserver: server stopped"),
  Timeout: e(C.Unavailable, "etcdserver: request timed out"),
  TimeoutDueToLeaderFail: e(C.Unavailable, "etcdserver: request timed out, possibly due to previous leader failure"),
  TimeoutDueToConnectionLost: e(C.Unavailable, "etcdserver: request timed out, possibly due to connection lost"),
  Unhealthy: e(C.Unavailable, "etcdserver: unhealthy cluster"),
  Corrupt: e(C.DataLoss, "etcdserver: corrupt cluster"),
  InvalidSortOption: e(C.InvalidArgument, "etcdserver: invalid sort option"),
  MemberExist: e(C.FailedPrecondition, "etcdserver: member ID already exist"),
  PeerURLExist: e(C.FailedPrecondition, "etcdserver: Peer URLs already exists"),
  MemberNotEnoughStarted: e(C.FailedPrecondition, "etcdserver: re-configuration failed due to not enough started members"),
  MemberBadURLs: e(C.InvalidArgument, "etcdserver: given member URLs are invalid"),
  MemberNotFound: e(C.NotFound, "etcdserver: member not found"),
  MemberNotLearner: e(C.FailedPrecondition, "etcdserver: can only promote a learner member"),
  LearnerNotReady: e(C.FailedPrecondition, "etcdserver: can only promote a learner member which is in sync with leader"),
  TooManyLearners: e(C.FailedPrecondition, "etcdserver: too many learner members in cluster"),
  NotSupportedForLearner: e(C.Unavailable, "etcdserver: rpc not supported for learner"),
  BadLeaderTransferee: e(C.FailedPrecondition, "etcdserver: bad leader transferee"),
  PermissionDenied: e(C.PermissionDenied, "etcdserver: permission denied"),
  InvalidAuthToken: e(C.Unauthenticated, "etcdserver: invalid auth token"),
} as const;

/** Rebuilds an EtcdError from the plain {code, message} that crossed an RPC boundary. */
export function etcdErrorFrom(code: number, message: string): EtcdError {
  return new EtcdError(code as GrpcCode, message);
}
