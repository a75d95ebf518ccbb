// The CLI's I/O on a Node process: stdout/stderr writes, a line reader over stdin, and
// commands run for the exec forms of lock and watch.

import { spawn } from "node:child_process";
import { goQuote } from "./gofmt.ts";
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

// Go's names of the signals (syscall.Signal's String), as os/exec reports a killed command.
const GO_SIGNALS: Record<string, string> = {
  SIGHUP: "hangup",
  SIGINT: "interrupt",
  SIGQUIT: "quit",
  SIGILL: "illegal instruction",
  SIGTRAP: "trace/breakpoint trap",
  SIGABRT: "aborted",
  SIGBUS: "bus error",
  SIGFPE: "floating point exception",
  SIGKILL: "killed",
  SIGUSR1: "user defined signal 1",
  SIGSEGV: "segmentation fault",
  SIGUSR2: "user defined signal 2",
  SIGPIPE: "broken pipe",
  SIGALRM: "alarm clock",
  SIGTERM: "terminated",
};

const ERRNO_TEXT: Record<string, string> = {
  ENOENT: "no such file or directory",
  EACCES: "permission denied",
  ENOTDIR: "not a directory",
  ENOEXEC: "exec format error",
};

/** os/exec's error for a command that did not start: a bare name is looked up in PATH first. */
function startError(name: string, code: string | undefined): string {
  if (name !== "" && !name.includes("/")) return `exec: ${goQuote(name)}: executable file not found in $PATH`;
  return `fork/exec ${name}: ${ERRNO_TEXT[code ?? ""] ?? code}`;
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
        const name = argv[0]!;
        try {
          const child = spawn(name, argv.slice(1), { stdio: "inherit", env: { ...process.env, ...env } });
          child.on("error", (e: NodeJS.ErrnoException) => resolve(startError(name, e.code)));
          child.on("exit", (code, signal) => resolve(code === 0 ? undefined : code !== null ? `exit status ${code}` : `signal: ${GO_SIGNALS[signal!] ?? signal}`));
        } catch {
          resolve(startError(name, "ENOENT"));
        }
      }),
    out: (s) => void process.stdout.write(s),
    err: (s) => void process.stderr.write(s),
    stdin: stdinReader(),
    env: process.env,
    now: () => process.hrtime.bigint(),
  };
}
