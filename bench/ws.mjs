// A minimal WebSocket client (RFC 6455) for the watch benchmark: text frames only, and no
// extension offered, so no server compresses (Node's and browsers' WebSocket offer
// permessage-deflate; workerd accepts it, etcd's gateway does not). The same bytes on the
// wire from both systems, and a receiver that costs little CPU per frame. The API is the
// part of the standard WebSocket the benchmark uses: onopen, onmessage({ data }), onerror,
// onclose, send(text), close(), extensions.
import { createHash, randomBytes } from "node:crypto";
import http from "node:http";

const GUID = "258EAFA5-E914-47DA-95CA-C5AB0DC85B11";

export class RawWebSocket {
  extensions = "";
  onopen = () => undefined;
  onmessage = () => undefined;
  onerror = () => undefined;
  onclose = () => undefined;
  #socket = null;
  #closed = false;

  constructor(url) {
    const key = randomBytes(16).toString("base64");
    const req = http.request(url.replace(/^ws/, "http"), {
      headers: { Connection: "Upgrade", Upgrade: "websocket", "Sec-WebSocket-Key": key, "Sec-WebSocket-Version": "13" },
      timeout: 10_000,
    });
    req.on("upgrade", (res, socket, head) => {
      const accept = createHash("sha1").update(key + GUID).digest("base64");
      if (res.headers["sec-websocket-accept"] !== accept) {
        socket.destroy();
        return this.#fail(new Error("bad Sec-WebSocket-Accept"));
      }
      this.extensions = res.headers["sec-websocket-extensions"] ?? "";
      this.#socket = socket;
      socket.setNoDelay(true);
      socket.on("error", () => undefined);
      socket.on("close", () => this.#ended());
      this.#read(socket, head);
      this.onopen();
    });
    req.on("response", (res) => {
      res.resume();
      this.#fail(new Error(`WebSocket upgrade refused: HTTP ${res.statusCode}`));
    });
    req.on("timeout", () => req.destroy(new Error("WebSocket upgrade: no answer in 10 s")));
    req.on("error", (err) => this.#fail(err));
    req.end();
  }

  #fail(err) {
    if (this.#closed) return;
    this.onerror(err);
    this.#ended();
  }

  #ended() {
    if (this.#closed) return;
    this.#closed = true;
    this.onclose();
  }

  #read(socket, head) {
    let buf = head;
    let parts = [];
    const onData = (chunk) => {
      buf = buf.length ? Buffer.concat([buf, chunk]) : chunk;
      let at = 0;
      for (;;) {
        if (buf.length - at < 2) break;
        const b0 = buf[at];
        let len = buf[at + 1] & 0x7f;
        let start = at + 2;
        if (len === 126) {
          if (buf.length - at < 4) break;
          len = buf.readUInt16BE(at + 2);
          start = at + 4;
        } else if (len === 127) {
          if (buf.length - at < 10) break;
          len = Number(buf.readBigUInt64BE(at + 2));
          start = at + 10;
        }
        if (buf.length < start + len) break; // servers do not mask
        const opcode = b0 & 0x0f;
        const payload = buf.subarray(start, start + len);
        at = start + len;
        if (opcode === 0x8) {
          this.close();
          continue;
        }
        if (opcode === 0x9) {
          this.#frame(0xa, payload);
          continue;
        }
        if (opcode === 0xa) continue;
        if (b0 & 0x80) {
          const data = parts.length === 0 ? payload.toString("utf8") : Buffer.concat([...parts, payload]).toString("utf8");
          parts = [];
          this.onmessage({ data });
        } else parts.push(Buffer.from(payload));
      }
      buf = buf.subarray(at);
    };
    if (head.length) {
      buf = Buffer.alloc(0);
      onData(head);
    }
    socket.on("data", onData);
  }

  /** Writes one masked frame (clients must mask). */
  #frame(opcode, payload) {
    if (!this.#socket || this.#socket.destroyed || this.#socket.writableEnded) return;
    const len = payload.length;
    const header = Buffer.alloc(len < 126 ? 6 : len < 65536 ? 8 : 14);
    header[0] = 0x80 | opcode;
    let at = 2;
    if (len < 126) header[1] = 0x80 | len;
    else if (len < 65536) {
      header[1] = 0x80 | 126;
      header.writeUInt16BE(len, 2);
      at = 4;
    } else {
      header[1] = 0x80 | 127;
      header.writeBigUInt64BE(BigInt(len), 2);
      at = 10;
    }
    const mask = randomBytes(4);
    mask.copy(header, at);
    const masked = Buffer.from(payload);
    for (let i = 0; i < masked.length; i++) masked[i] ^= mask[i & 3];
    this.#socket.write(Buffer.concat([header, masked]));
  }

  send(text) {
    this.#frame(0x1, Buffer.from(text, "utf8"));
  }

  close() {
    if (!this.#socket) return this.#ended();
    if (!this.#socket.destroyed && !this.#socket.writableEnded) {
      this.#frame(0x8, Buffer.from([0x03, 0xe8])); // 1000: normal closure
      this.#socket.end();
      // The server answers and closes; destroy the socket if it does not within a second.
      const socket = this.#socket;
      setTimeout(() => socket.destroy(), 1000).unref();
    }
  }
}
