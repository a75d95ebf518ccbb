// Client-side helpers for watch tests in workerd: a socket that queues messages, and the
// small decoders the tests compare with.
import { expect } from "vitest";
import type { Member } from "../../src/member/member.ts";

export const b64 = (s: string) => btoa(s);
export const unb64 = (s: string) => atob(s);

/** A client socket that queues messages and lets a test wait for the next ones. */
export class Client {
  readonly messages: string[] = [];
  private waiters: Array<() => void> = [];
  closed = false;
  readonly ws: WebSocket;
  constructor(ws: WebSocket) {
    this.ws = ws;
    ws.accept();
    ws.addEventListener("message", (e) => {
      this.messages.push(String(e.data));
      for (const w of this.waiters.splice(0)) w();
    });
    ws.addEventListener("close", () => {
      this.closed = true;
      for (const w of this.waiters.splice(0)) w();
    });
  }
  send(v: string | object): void {
    this.ws.send(typeof v === "string" ? v : JSON.stringify(v));
  }
  /** Resolves with the first n messages once they have arrived (removing them). */
  async take(n: number): Promise<any[]> {
    while (this.messages.length < n) {
      if (this.closed) throw new Error(`socket closed after ${this.messages.length} of ${n} messages: ${this.messages.join("\n")}`);
      await new Promise<void>((r) => this.waiters.push(r));
    }
    return this.messages.splice(0, n).map((m) => (m === "pong" ? m : JSON.parse(m)));
  }
}

export async function openSocket(stub: DurableObjectStub<Member>, path = "/v3/watch", protocol?: string): Promise<Client> {
  const headers: Record<string, string> = { Upgrade: "websocket" };
  if (protocol) headers["Sec-WebSocket-Protocol"] = protocol;
  const res = await stub.fetch(`http://etcdo${path}`, { headers });
  expect(res.status).toBe(101);
  return new Client(res.webSocket!);
}

export const events = (m: any) => (m.result ?? m.watch).events.map((e: any) => `${e.type ?? "PUT"} ${unb64(e.kv.key)}@${e.kv.mod_revision}`);

