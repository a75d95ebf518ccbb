// The Worker's environment as `cloudflare:workers` and `cloudflare:test` expose it.
declare namespace Cloudflare {
  interface Env {
    MEMBER: DurableObjectNamespace<import("./src/member/member.ts").Member>;
    ETCDO_CLUSTER: string;
    ETCDO_MEMBERS: string;
    ETCDO_FAULTS: string;
  }
}
