// Whether a watch stream is still alive, as a client's keepalive decides it (gRPC keepalive
// for etcd's clients). A socket can stay open with nobody behind it: a half-open network
// path, or a member reset on a runtime that fails to close its sockets (workerd before
// 1.20260805.1, issue #6862). Such a stream must be probed: after `deadMs / 2` of silence a
// progress request is sent (any stream answers it once its watchers are synced), and a
// stream that says nothing for `deadMs` after the probe is dead: the client closes it and
// resumes elsewhere.
export type LivenessVerdict = "ok" | "probe" | "dead";

export class Liveness {
  private readonly deadMs: number;
  private heardMs: number;
  private probedMs = 0;
  constructor(deadMs: number, nowMs: number) {
    this.deadMs = deadMs;
    this.heardMs = nowMs;
  }

  /** Anything arrived on the stream. */
  heard(nowMs: number): void {
    this.heardMs = nowMs;
    this.probedMs = 0;
  }

  /** What to do now: nothing, send a probe (then call probed()), or give the stream up. */
  check(nowMs: number): LivenessVerdict {
    if (this.probedMs > 0) return nowMs - this.probedMs >= this.deadMs ? "dead" : "ok";
    return nowMs - this.heardMs >= this.deadMs / 2 ? "probe" : "ok";
  }

  probed(nowMs: number): void {
    this.probedMs = nowMs;
  }
}
