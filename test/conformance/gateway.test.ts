// The JSON gateway itself: malformed JSON, bad base64, wrong types, null, unknown fields,
// camelCase input, enums by name and number, unknown paths and methods, /version, /health,
// request size limits.
import { it } from "vitest";
import { b64, describeConformance, useSession } from "./harness.ts";

describeConformance("conformance: gateway", () => {
  const s = useSession(async (s) => {
    await s.post("/v3/kv/put", { key: b64("foo"), value: b64("bar") }, { expectStatus: 200 });
  });

  const raw = (path: string, body: string, expectStatus: number) => s.step("POST", path, body, { expectStatus });

  it("malformed JSON: Go's syntax errors, EOF handling, trailing data", async () => {
    const cases: [string, number][] = [
      ['{"key":"Zm9v"', 400],
      ["x", 400],
      ["", 400], // empty body = empty request: "key is not provided"
      ["   \n", 400],
      ["null", 400],
      ["[]", 400],
      ['"str"', 400],
      ["123abc", 400],
      ["true", 400],
      ['{"key":"Zm9v",}', 400],
      ['{"key" "Zm9v"}', 400],
      ['{key:"Zm9v"}', 400],
      ['{"key":"Zm9v"]', 400],
      ['{"key":tru}', 400],
      ['{"key":nul}', 400],
      ['{"key":fals}', 400],
      ['{"key":"\\x"}', 400],
      ['{"key":"\\u12x"}', 400],
      ['{"key":"a\nb"}', 400],
      ['{"key":-}', 400],
      ['{"key":01}', 400],
      ['{"key":1.e}', 400],
      ['{"key":1e+}', 400],
      ['{"key":[1,]}', 400],
      ['{"key":[1 2]}', 400],
      ['{"key"', 400],
      ['{"key":"abc', 400],
      ["-", 400],
      ["é", 400],
      ["\ufeff{}", 400],
      ['{"key":"Zm9v"} trailing garbage', 200],
      ['{"key":"Zm9v"}{"key":', 200],
      ['\t {"key":"Zm9v"}\n', 200],
    ];
    for (const [body, status] of cases) await raw("/v3/kv/range", body, status);
  });

  it("base64: standard alphabet with padding, newlines ignored, exact error offsets", async () => {
    const keys: [string, number][] = [
      ['"Zm9v"', 200],
      ['"Zm9"', 400],
      ['"Zg"', 400],
      ['"Zg=="', 200],
      ['"Zh=="', 200],
      ['"Zg="', 400],
      ['"Z==="', 400],
      ['"Zg=x"', 400],
      ['"Zg==Zg=="', 400],
      ['"Zm9v="', 400],
      ['"Zm9v\\n"', 200],
      ['"Zm\\r\\n9v"', 200],
      ['"Zm-v"', 400],
      ['"Zm_v"', 400],
      ['"Zm9vYmFyYmF6cXV4\\u002b"', 400],
      ['"Zm9v YmFy"', 400],
      ['"Zm9vYmFyYmF6cXV4éé"', 400],
      ["[102,111,111]", 200],
      ["[256]", 400],
      ["[-1]", 400],
      ['[1.5, "a"]', 400],
      ["[[1]]", 400],
      ["[null, 102]", 200],
      ["{}", 400],
      ["true", 400],
      ["5", 400],
    ];
    for (const [key, status] of keys) await raw("/v3/kv/range", `{"key":${key}}`, status);
  });

  it("integers as numbers or strings; wrong types", async () => {
    const revisions: [string, number][] = [
      ['"abc"', 400],
      ['"-"', 400],
      ['""', 400],
      ['"1.5"', 400],
      ["1e3", 400],
      ["1.0", 400],
      ['"null"', 200],
      ['" 2 "', 200],
      ['"1 2"', 400],
      ['"\\"1\\""', 400],
      ['"1."', 400],
      ['"tru"', 400],
      ["true", 400],
      ["99999999999999999999", 400],
      ['"-9223372036854775809"', 400],
      ['"-0"', 200],
      ["[1]", 400],
      ["{}", 400],
      ["null", 200],
    ];
    for (const [rev, status] of revisions) await raw("/v3/kv/range", `{"key":"Zm9v","revision":${rev}}`, status);
    for (const v of ['"true"', "1", "null", "[]"]) await raw("/v3/kv/range", `{"key":"Zm9v","keys_only":${v}}`, v === "null" ? 200 : 400);
    await raw("/v3/lease/grant", '{"TTL":"5","ID":"9223372036854775808"}', 400);
    await raw("/v3/kv/compaction", '{"revision":"x","physical":"y"}', 400);
    await raw("/v3/lease/timetolive", '{"ID":"1","keys":"y"}', 400);
  });

  it("enums by name or number; unknown names", async () => {
    const orders: [string, number][] = [
      ['"ASCEND"', 200],
      ["2", 200],
      ['"ASC\\u0045ND"', 400],
      ['"FOO"', 400],
      ['"1"', 400],
      ["true", 400],
      ["1.5", 400],
      ['"<&>\\u2028"', 400],
      ['"a\\"b"', 400],
      ['"é\\u00e9"', 400],
      ['"ascend"', 400],
    ];
    for (const [o, status] of orders) await raw("/v3/kv/range", `{"key":"Zm9v","sort_order":${o}}`, status);
    await raw("/v3/kv/txn", '{"compare":[{"target":"FOO","key":"Zm9v"}]}', 400);
    await raw("/v3/kv/txn", '{"compare":[{"result":"FOO","key":"Zm9v"}]}', 400);
  });

  it("field names: proto, camelCase, both, unknown, escaped, repeated", async () => {
    const bodies: [string, number][] = [
      ['{"key":"Zm9v","countOnly":true}', 200],
      ['{"key":"Zm9v","count_only":true,"countOnly":false}', 200],
      ['{"key":"Zm9v","countOnly":false,"count_only":true}', 200],
      ['{"key":"Zm9v","CountOnly":true,"bogus":{"x":[1]}}', 200],
      ['{"k\\u0065y":"Zm9v"}', 200],
      ['{"key":"YmFy","key":"Zm9v"}', 200],
      ['{"key":"Zm9v","rangeEnd":null,"range_end":5}', 200],
      ['{"key":"Zm9v","range_end":null,"rangeEnd":5}', 400],
      ['{"key":"Zm9v","keysOnly":true,"sortOrder":"DESCEND","sortTarget":"VALUE"}', 200],
    ];
    for (const [body, status] of bodies) await raw("/v3/kv/range", body, status);
    await raw("/v3/kv/put", '{"key":"Zm9v","value":"YmF6","prevKv":true}', 200);
    // Lower-case names are unknown fields: TTL 0 (raised to the minimum) and a random ID.
    await s.step("POST", "/v3/lease/grant", '{"ttl":5,"id":77}', { expectStatus: 200, registerLease: "lower" });
  });

  it("messages, lists and oneofs: wrong shapes and the order errors are found in", async () => {
    const bodies: [string, number][] = [
      ['{"compare":{}}', 400],
      ['{"compare":[1]}', 400],
      ['{"compare":[{"key":"YQ==","target_union":5}]}', 400],
      ['{"compare":[{"key":"YQ==","target_union":null}]}', 200],
      ['{"success":[{"request":{}}]}', 400],
      ['{"success":[{"request":"x"}]}', 400],
      ['{"compare":[{"key":"YQ==","range_end":5,"version":true}]}', 400],
      ['{"compare":[{"key":"YQ==","version":true}],"success":5}', 400],
      ['{"success":[{"request_put":{"key":"YQ==","value":5}}]}', 400],
      ['{"success":[{"request_txn":{"compare":[{"key":"YQ==","mod_revision":"x"}]}}]}', 400],
      ['{"success":[{"requestPut":[]}]}', 400],
      ['{"success":[{"requestRange":{"key":"Zm9v"}}]}', 200],
      ['{"success":null,"failure":[]}', 200],
    ];
    for (const [body, status] of bodies) await raw("/v3/kv/txn", body, status);
  });

  it("paths and methods", async () => {
    const reqs: [string, string, number][] = [
      ["GET", "/v3/kv/range", 405],
      ["PUT", "/v3/kv/put", 405],
      ["DELETE", "/v3/kv/range", 405],
      ["POST", "/v3/nope", 404],
      ["GET", "/v3/nope", 404],
      ["POST", "/v3/kv/range/", 404],
      ["POST", "/v3/kv/RANGE", 404],
      ["POST", "/v3/kv/range:foo", 404],
      ["POST", "/v3/", 404],
      ["POST", "/nope", 404],
      ["POST", "/v3alpha/kv/range", 404],
      ["POST", "/v3beta/kv/range", 200],
      ["POST", "/v3/kv/range?x=1", 200],
      ["POST", "/v3//kv/range", 301],
      ["GET", "/v3", 301],
      ["GET", "/version", 200],
      ["POST", "/version", 405],
      ["GET", "/health", 200],
      ["POST", "/health", 405],
      ["OPTIONS", "/v3/kv/range", 200],
    ];
    for (const [method, path, status] of reqs) await s.step(method, path, '{"key":"Zm9v"}', { expectStatus: status });
  });

  it("request size limits: 1.5 MiB raft request, 2 MiB gRPC message", async () => {
    const put = (n: number) => JSON.stringify({ key: b64("big"), value: Buffer.alloc(n, 97).toString("base64") });
    await raw("/v3/kv/put", put(1_572_834), 200);
    await raw("/v3/kv/put", put(1_572_864), 400);
    await raw("/v3/kv/put", put(2_097_252), 429);
    await raw("/v3/kv/range", JSON.stringify({ key: Buffer.alloc(2_100_000, 98).toString("base64") }), 429);
    const ops = Array.from({ length: 100 }, (_, i) => ({ request_put: { key: b64(`big/${i}`), value: Buffer.alloc(16_000, 99).toString("base64") } }));
    await raw("/v3/kv/txn", JSON.stringify({ success: ops }), 400);
    await raw("/v3/kv/range", JSON.stringify({ key: b64("big"), keys_only: true }), 200);
  });
});
