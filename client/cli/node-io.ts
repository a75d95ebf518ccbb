// The CLI's I/O on a Node process: stdout/stderr writes and a line reader over stdin.

import { spawn } from "node:child_process";
import type { Input, Io } from "./main.ts";

export function stdinReader(stream: NodeJS.ReadableStream = process.stdin): Input {
  const it = (stream as AsyncIterable<Buffer | string>)[Symbol.asyncIterator]();
  let buf = Buffer.alloc(0);
  let done = false;
  const more = async () => {
    const r = await it.next();
    if (r.done) done = true;
    else buf = Buffer.concat([buf, typeof r.value === "string" ? Buffer.from(r.value) : r.value]);
  };
  return {
    async readLine() {
      for (;;) {
        const nl = buf.indexOf(10);
        if (nl >= 0) {
          const line = buf.subarray(0, nl + 1).toString("utf8");
          buf = buf.subarray(nl + 1);
          return { line, eof: false };
        }
        if (done) {
          const line = buf.toString("utf8");
          buf = Buffer.alloc(0);
          return { line, eof: true };
        }
        await more();
      }
    },
    async readAll() {
      while (!done) await more();
      const s = buf.toString("utf8");
      buf = Buffer.alloc(0);
      return s;
    },
  };
}

export function nodeIo(): Io {
  const interrupt = new AbortController();
  const onSignal = () => interrupt.abort();
  for (const sig of ["SIGINT", "SIGTERM"] as const) process.once(sig, onSignal);
  return {
    interrupt: interrupt.signal,
    defaultSignals: () => {
      for (const sig of ["SIGINT", "SIGTERM"] as const) process.off(sig, onSignal);
    },
    exec: (argv, env) =>
      new Promise((resolve) => {
        const child = spawn(argv[0]!, argv.slice(1), { stdio: "inherit", env: { ...process.env, ...env } });
        child.on("error", () => resolve(127));
        child.on("exit", (code) => resolve(code ?? 1));
      }),
    out: (s) => void process.stdout.write(s),
    err: (s) => void process.stderr.write(s),
    stdin: stdinReader(),
    env: process.env,
    now: () => process.hrtime.bigint(),
  };
}
