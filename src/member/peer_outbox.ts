// Raft messages to one peer over Durable Object RPC. At most one call is in flight per
// peer; messages produced meanwhile wait and leave together in the next call, so a busy
// cluster sends few large batches and a slow or dead peer never holds up the others.
import type { Message } from "../raft/index.ts";

export type DeliverFn = (messages: Message[]) => Promise<void>;

export class PeerOutbox {
  private queue: Message[] = [];
  private inFlight = false;
  private readonly deliver: DeliverFn;
  private readonly onFailure: (err: unknown) => void;

  constructor(deliver: DeliverFn, onFailure: (err: unknown) => void) {
    this.deliver = deliver;
    this.onFailure = onFailure;
  }

  send(messages: Message[]): void {
    for (const m of messages) this.queue.push(m);
    if (!this.inFlight) void this.flush();
  }

  private async flush(): Promise<void> {
    this.inFlight = true;
    try {
      while (this.queue.length > 0) {
        const batch = this.queue;
        this.queue = [];
        try {
          await this.deliver(batch);
        } catch (err) {
          this.onFailure(err);
        }
      }
    } finally {
      this.inFlight = false;
    }
  }
}
