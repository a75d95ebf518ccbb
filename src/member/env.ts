import type { Member } from "./member.ts";

export interface Env {
  MEMBER: DurableObjectNamespace<Member>;
  ETCDO_CLUSTER: string;
  ETCDO_MEMBERS: string;
  ETCDO_FAULTS: string;
}
