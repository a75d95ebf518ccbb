// The one HTTP load generator used for both systems: `connections` keep-alive connections,
// each sending its next request as soon as the previous answer arrives, for `durationMs`.
import http from "node:http";

export async function runLoad({ urls, path, body, connections, durationMs }) {
  const agents = urls.map(() => new http.Agent({ keepAlive: true, maxSockets: connections }));
  const latencies = [];
  let errors = 0;
  const deadline = performance.now() + durationMs;
  const one = (i, n) =>
    new Promise((resolve) => {
      const target = new URL(path, urls[i % urls.length]);
      const payload = typeof body === "function" ? body(i, n) : body;
      const t0 = performance.now();
      const req = http.request(
        target,
        { method: "POST", agent: agents[i % urls.length], headers: { "content-type": "application/json", "content-length": Buffer.byteLength(payload) } },
        (res) => {
          res.resume();
          res.on("end", () => {
            if (res.statusCode === 200) latencies.push(performance.now() - t0);
            else errors++;
            resolve();
          });
        },
      );
      req.on("error", () => {
        errors++;
        resolve();
      });
      req.end(payload);
    });
  const started = performance.now();
  await Promise.all(
    Array.from({ length: connections }, async (_, i) => {
      let n = 0;
      while (performance.now() < deadline) await one(i, n++);
    }),
  );
  const elapsedS = (performance.now() - started) / 1000;
  for (const a of agents) a.destroy();
  latencies.sort((a, b) => a - b);
  const q = (p) => (latencies.length ? latencies[Math.min(latencies.length - 1, Math.floor(p * latencies.length))] : NaN);
  return { qps: latencies.length / elapsedS, p50: q(0.5), p99: q(0.99), errors, requests: latencies.length };
}
