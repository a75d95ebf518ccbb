import { rangeReq } from "../../../test/unit/kv_helpers.ts";
import { describe, expect, it } from "vitest";
import fixtures from "../../../test/conformance/fixtures/decode-cases.json" with { type: "json" };
import { EtcdError, Errors, GrpcCode } from "../../server/errors.ts";
import type { KeyValue, ResponseHeader } from "../../server/types.ts";
import { cleanPath, errorBody, errorResponse, healthResponse, httpStatusFromGrpcCode, jsonResponse, serveMuxRedirect } from "../http_errors.ts";
import { goBase64StdDecode, goJsonString, goQuote, quoteChar } from "./gojson.ts";
import { rpcByPath, rpcs } from "./index.ts";

const te = new TextEncoder();
const bytes = (s: string) => te.encode(s);

describe("decoding: etcd 3.4.23's answers to every captured request", () => {
  for (const c of fixtures.cases) {
    it(`${c.path} ${JSON.stringify(c.body).slice(0, 80)}`, async () => {
      const rpc = rpcByPath.get(c.path);
      expect(rpc, c.path).toBeDefined();
      const decode = () =>
        rpc === rpcs.LeaseKeepAlive ? rpcs.LeaseKeepAlive.decodeStream(c.body) : rpc!.decode(c.body);
      if (!c.gatewayError) {
        expect(decode).not.toThrow();
        return;
      }
      let err: unknown;
      try {
        decode();
      } catch (e) {
        err = e;
      }
      expect(err, "decode should fail").toBeInstanceOf(EtcdError);
      const res = errorResponse(err);
      expect(res.status).toBe(c.status);
      expect(res.headers.get("content-type")).toBe("application/json");
      expect(await res.text()).toBe(c.response);
    });
  }
});

describe("decoding into etcdo's request values", () => {
  it("fills every field with proto3 defaults", () => {
    // Every field at its proto3 default: the same request the apply tests build.
    expect(rpcs.Range.decode("")).toEqual(rangeReq(new Uint8Array(0)));
    expect(rpcs.Put.decode("null")).toEqual({
      key: new Uint8Array(0),
      value: new Uint8Array(0),
      lease: 0n,
      prevKv: false,
      ignoreValue: false,
      ignoreLease: false,
    });
    expect(rpcs.LeaseLeases.decode("{}")).toEqual({});
  });

  it("accepts proto and camelCase names, strings and numbers, enum names and numbers", () => {
    const r = rpcs.Range.decode(
      '{"key":"Zm9v","rangeEnd":"Zm9w","limit":"3","revision":7,"sortOrder":2,"sort_target":"MOD",' +
        '"keysOnly":true,"min_mod_revision":" 4 ","maxCreateRevision":"null","bogus":[1,2]}',
    );
    expect(r).toMatchObject({
      key: bytes("foo"),
      rangeEnd: bytes("fop"),
      limit: 3,
      revision: 7,
      sortOrder: "DESCEND",
      sortTarget: "MOD",
      keysOnly: true,
      minModRevision: 4,
      maxCreateRevision: 0,
    });
    // Both spellings present: the camelCase one wins, even when it is null.
    expect(rpcs.Range.decode('{"key":"YQ==","countOnly":false,"count_only":true}').countOnly).toBe(false);
    expect(rpcs.Range.decode('{"key":"YQ==","rangeEnd":null,"range_end":"Yg=="}').rangeEnd).toEqual(new Uint8Array(0));
    expect(rpcs.Range.decode('{"key":[1,2,255]}').key).toEqual(Uint8Array.of(1, 2, 255));
  });

  it("lease and ID fields are bigints over the whole int64 range", () => {
    expect(rpcs.LeaseGrant.decode('{"TTL":"10","ID":"9223372036854775807"}')).toEqual({ TTL: 10, ID: 9223372036854775807n });
    expect(rpcs.LeaseRevoke.decode('{"ID":-9223372036854775808}')).toEqual({ ID: -9223372036854775808n });
    expect(rpcs.Put.decode('{"key":"YQ==","lease":"42"}').lease).toBe(42n);
    expect(rpcs.LeaseTimeToLive.decode('{"ID":"5","keys":true}')).toEqual({ ID: 5n, keys: true });
  });

  it("txn: compares with their union member, nested ops, empty ops", () => {
    const t = rpcs.Txn.decode(
      JSON.stringify({
        compare: [
          { key: "YQ==", target: "MOD", result: "LESS", mod_revision: "9", range_end: "Yg==" },
          { key: "YQ==", target: 3, value: "" },
          { key: "YQ==", version: null },
          { key: "YQ==" },
        ],
        success: [{ requestPut: { key: "YQ==" } }, {}, { request_range: null }, { request_txn: { failure: [{ request_delete_range: { key: "Yw==" } }] } }],
      }),
    );
    expect(t.compare[0]).toEqual({ result: "LESS", target: "MOD", key: bytes("a"), rangeEnd: bytes("b"), targetUnion: { modRevision: 9 } });
    expect(t.compare[1]!.targetUnion).toEqual({ value: new Uint8Array(0) });
    expect(t.compare[1]!.target).toBe("VALUE");
    expect(t.compare[2]!.targetUnion).toEqual({ version: 0 });
    expect(t.compare[3]!.targetUnion).toEqual({});
    expect(Object.keys(t.success[0]!)).toEqual(["requestPut"]);
    expect(t.success[1]).toEqual({});
    expect(t.success[2]).toEqual({});
    const nested = (t.success[3] as { requestTxn: { failure: unknown[] } }).requestTxn;
    expect(nested.failure[0]).toEqual({ requestDeleteRange: { key: bytes("c"), rangeEnd: new Uint8Array(0), prevKv: false } });
    expect(t.failure).toEqual([]);
  });

  it("sort options etcd 3.4 does not know", () => {
    // An unknown order leaves results in key order, which NONE/KEY reproduces.
    expect(rpcs.Range.decode('{"key":"YQ==","sort_order":7,"sort_target":"VALUE"}')).toMatchObject({ sortOrder: "NONE", sortTarget: "KEY" });
    // An unknown target would crash etcd 3.4; etcdo refuses it like later etcd versions.
    expect(() => rpcs.Range.decode('{"key":"YQ==","sort_target":9}')).toThrow(Errors.InvalidSortOption.message);
  });

  it("the gRPC receive limit: --max-request-bytes + 512 KiB", () => {
    const body = (n: number) => JSON.stringify({ key: "YmlnCg==", value: btoa("a".repeat(n)) });
    expect(() => rpcs.Put.decode(body(2_097_140))).not.toThrow();
    try {
      rpcs.Put.decode(JSON.stringify({ key: "Ymln", value: btoa("a".repeat(2_097_252)) }));
      expect.unreachable();
    } catch (e) {
      // Captured from etcd: "grpc: received message larger than max (2097262 vs. 2097152)", 429.
      expect((e as EtcdError).message).toBe("grpc: received message larger than max (2097262 vs. 2097152)");
      expect(errorResponse(e).status).toBe(429);
    }
    expect(() => rpcs.Put.decode(body(600_000), { maxRequestBytes: 10 })).toThrow("vs. 524298)");
  });

  it("keepalive streams: each JSON value is a request; later errors end the stream", () => {
    expect(rpcs.LeaseKeepAlive.decodeStream("")).toEqual([]);
    expect(rpcs.LeaseKeepAlive.decodeStream('{"ID":"1"}{"ID":2} {"ID":"x"} {"ID":3}')).toEqual([{ ID: 1n }, { ID: 2n }]);
    expect(rpcs.LeaseKeepAlive.decodeStream("null")).toEqual([{ ID: 0n }]);
    expect(rpcs.LeaseKeepAlive.decodeStream('{"ID":"7"} junk')).toEqual([{ ID: 7n }]);
    expect(() => rpcs.LeaseKeepAlive.decodeStream("{")).toThrow("unexpected EOF");
  });
});

const header: ResponseHeader = { clusterId: 14443903163313418560n, memberId: 11417610130673999598n, revision: 794, raftTerm: 2 };
const H = '{"cluster_id":"14443903163313418560","member_id":"11417610130673999598","revision":"794","raft_term":"2"}';
const kv = (key: string, value: string, create: number, mod: number, version: number, lease = 0n): KeyValue => ({
  key: bytes(key),
  value: bytes(value),
  createRevision: create,
  modRevision: mod,
  version,
  lease,
});

describe("encoding: byte-identical to etcd's gateway output", () => {
  it("range, with defaults omitted", () => {
    expect(rpcs.Range.encode({ header, kvs: [kv("foo", "bar", 794, 794, 1)], more: false, count: 1 })).toBe(
      `{"header":${H},"kvs":[{"key":"Zm9v","create_revision":"794","mod_revision":"794","version":"1","value":"YmFy"}],"count":"1"}`,
    );
    expect(rpcs.Range.encode({ header, kvs: [], more: false, count: 0 })).toBe(`{"header":${H}}`);
    expect(rpcs.Range.encode({ header, kvs: [kv("a", "", 3, 4, 2, 7n)], more: true, count: 5 })).toBe(
      `{"header":${H},"kvs":[{"key":"YQ==","create_revision":"3","mod_revision":"4","version":"2","lease":"7"}],"more":true,"count":"5"}`,
    );
  });

  it("put and delete", () => {
    expect(rpcs.Put.encode({ header })).toBe(`{"header":${H}}`);
    expect(rpcs.Put.encode({ header, prevKv: kv("foo", "bar", 2, 2, 1) })).toBe(
      `{"header":${H},"prev_kv":{"key":"Zm9v","create_revision":"2","mod_revision":"2","version":"1","value":"YmFy"}}`,
    );
    expect(rpcs.DeleteRange.encode({ header, deleted: 0, prevKvs: [] })).toBe(`{"header":${H}}`);
    expect(rpcs.DeleteRange.encode({ header, deleted: 1, prevKvs: [kv("a", "", 4, 4, 1)] })).toBe(
      `{"header":${H},"deleted":"1","prev_kvs":[{"key":"YQ==","create_revision":"4","mod_revision":"4","version":"1"}]}`,
    );
  });

  it("txn: nested headers carry only what is set; a nested txn's header is {}", () => {
    // Captured: {"header":{…"revision":"4"…},"succeeded":true,"responses":[{"response_put":{"header":{"revision":"4"}}},
    // {"response_range":{…}},{"response_delete_range":{"header":{"revision":"4"}}},{"response_txn":{"header":{},"succeeded":true}}]}
    const nested = { clusterId: 0n, memberId: 0n, revision: 4, raftTerm: 0 };
    const zero = { clusterId: 0n, memberId: 0n, revision: 0, raftTerm: 0 };
    const out = rpcs.Txn.encode({
      header: { ...header, revision: 4 },
      succeeded: true,
      responses: [
        { responsePut: { header: nested } },
        { responseRange: { header: nested, kvs: [kv("a", "", 4, 4, 1)], more: false, count: 1 } },
        { responseDeleteRange: { header: nested, deleted: 0, prevKvs: [] } },
        { responseTxn: { header: zero, succeeded: true, responses: [] } },
      ],
    });
    expect(out).toBe(
      `{"header":${H.replace('"794"', '"4"')},"succeeded":true,"responses":[{"response_put":{"header":{"revision":"4"}}},` +
        `{"response_range":{"header":{"revision":"4"},"kvs":[{"key":"YQ==","create_revision":"4","mod_revision":"4","version":"1"}],"count":"1"}},` +
        `{"response_delete_range":{"header":{"revision":"4"}}},{"response_txn":{"header":{},"succeeded":true}}]}`,
    );
    expect(rpcs.Txn.encode({ header, succeeded: false, responses: [] })).toBe(`{"header":${H}}`);
  });

  it("compaction and leases", () => {
    expect(rpcs.Compact.encode({ header })).toBe(`{"header":${H}}`);
    expect(rpcs.LeaseGrant.encode({ header, ID: 2324035535203301350n, TTL: 30, error: "" })).toBe(
      `{"header":${H},"ID":"2324035535203301350","TTL":"30"}`,
    );
    expect(rpcs.LeaseGrant.encode({ header, ID: -5n, TTL: 5, error: "<x>" })).toBe(`{"header":${H},"ID":"-5","TTL":"5","error":"\\u003cx\\u003e"}`);
    expect(rpcs.LeaseRevoke.encode({ header })).toBe(`{"header":${H}}`);
    expect(rpcs.LeaseTimeToLive.encode({ header, ID: 100n, TTL: 9, grantedTTL: 10, keys: [bytes("lk")] })).toBe(
      `{"header":${H},"ID":"100","TTL":"9","grantedTTL":"10","keys":["bGs="]}`,
    );
    expect(rpcs.LeaseTimeToLive.encode({ header, ID: 0n, TTL: -1, grantedTTL: 0, keys: [] })).toBe(`{"header":${H},"TTL":"-1"}`);
    expect(rpcs.LeaseLeases.encode({ header, leases: [{ ID: 102n }, { ID: -5n }, { ID: 0n }] })).toBe(
      `{"header":${H},"leases":[{"ID":"102"},{"ID":"-5"},{}]}`,
    );
    expect(rpcs.LeaseKeepAlive.encode({ header, ID: 100n, TTL: 10 })).toBe(`{"result":{"header":${H},"ID":"100","TTL":"10"}}\n`);
    expect(rpcs.LeaseKeepAlive.encode({ header, ID: 999n, TTL: 0 })).toBe(`{"result":{"header":${H},"ID":"999"}}\n`);
  });
});

describe("HTTP errors", () => {
  it("maps gRPC codes the way etcd 3.4.23's gateway does", async () => {
    const cases: [EtcdError, number, string][] = [
      [Errors.EmptyKey, 400, '{"error":"etcdserver: key is not provided","message":"etcdserver: key is not provided","code":3}'],
      [Errors.Compacted, 400, '{"error":"etcdserver: mvcc: required revision has been compacted","message":"etcdserver: mvcc: required revision has been compacted","code":11}'],
      [Errors.FutureRev, 400, '{"error":"etcdserver: mvcc: required revision is a future revision","message":"etcdserver: mvcc: required revision is a future revision","code":11}'],
      [Errors.LeaseNotFound, 404, '{"error":"etcdserver: requested lease not found","message":"etcdserver: requested lease not found","code":5}'],
      [Errors.LeaseExist, 412, '{"error":"etcdserver: lease already exists","message":"etcdserver: lease already exists","code":9}'],
      [Errors.LeaseTTLTooLarge, 400, '{"error":"etcdserver: too large lease TTL","message":"etcdserver: too large lease TTL","code":11}'],
      [Errors.NoSpace, 429, '{"error":"etcdserver: mvcc: database space exceeded","message":"etcdserver: mvcc: database space exceeded","code":8}'],
      [Errors.PermissionDenied, 403, '{"error":"etcdserver: permission denied","message":"etcdserver: permission denied","code":7}'],
      [Errors.InvalidAuthToken, 401, '{"error":"etcdserver: invalid auth token","message":"etcdserver: invalid auth token","code":16}'],
      [Errors.NoLeader, 503, '{"error":"etcdserver: no leader","message":"etcdserver: no leader","code":14}'],
      [Errors.Corrupt, 500, '{"error":"etcdserver: corrupt cluster","message":"etcdserver: corrupt cluster","code":15}'],
    ];
    for (const [err, status, body] of cases) {
      const res = errorResponse(err);
      expect(res.status).toBe(status);
      expect(res.headers.get("content-type")).toBe("application/json");
      expect(await res.text()).toBe(body);
    }
    expect(httpStatusFromGrpcCode[GrpcCode.DeadlineExceeded]).toBe(504);
  });

  it("plain {code,message} objects from RPC boundaries and non-etcd errors", async () => {
    const crossed = { name: "EtcdError", code: 5, message: "etcdserver: requested lease not found" };
    expect(errorResponse(crossed).status).toBe(404);
    const res = errorResponse(new Error("boom"));
    expect(res.status).toBe(500);
    expect(await res.text()).toBe('{"error":"boom","message":"boom","code":2}');
    expect(errorBody(3, 'a"<b>')).toBe('{"error":"a\\"\\u003cb\\u003e","message":"a\\"\\u003cb\\u003e","code":3}');
  });

  it("successful answers", async () => {
    const res = jsonResponse("{}");
    expect(res.status).toBe(200);
    expect(res.headers.get("content-type")).toBe("application/json");
    expect(res.headers.get("grpc-metadata-content-type")).toBe("application/grpc");
  });
});

describe("Go helpers", () => {
  it("quote characters and strings like Go", () => {
    expect(quoteChar(0x78)).toBe("'x'");
    expect(quoteChar(0x27)).toBe("'\\''");
    expect(quoteChar(0x22)).toBe("'\"'");
    expect(quoteChar(0x0a)).toBe("'\\n'");
    expect(quoteChar(0x01)).toBe("'\\x01'");
    expect(quoteChar(0xc3)).toBe("'Ã'");
    expect(quoteChar(0x85)).toBe("'\\u0085'");
    expect(goQuote(Uint8Array.of(0x61, 0xff, 0x22))).toBe('"a\\xff\\""');
    expect(goJsonString("a\u2028\u0008\t")).toBe('"a\\u2028\\u0008\\t"');
  });

  it("base64 like encoding/base64.StdEncoding", () => {
    expect(goBase64StdDecode(bytes("Zm9vYmFy"))).toEqual(bytes("foobar"));
    expect(goBase64StdDecode(bytes("Zg=\n="))).toEqual(bytes("f"));
    expect(() => goBase64StdDecode(bytes("Zm9vYmE"))).toThrow("illegal base64 data at input byte 4");
  });
});

describe("raw body bytes", () => {
  it("keeps what Request.text() would hide: a BOM, invalid UTF-8", async () => {
    const bom = Uint8Array.of(0xef, 0xbb, 0xbf, 0x7b, 0x7d);
    expect(() => rpcs.Range.decode(bom)).toThrow("invalid character 'ï' looking for beginning of value");
    const bad = Uint8Array.of(0x7b, 0x22, 0x6b, 0x65, 0x79, 0x22, 0x3a, 0x22, 0x5a, 0x6d, 0x39, 0xff, 0x22, 0x7d); // {"key":"Zm9\xff"}
    // Go turns the invalid byte into U+FFFD (3 bytes) before base64 sees it.
    expect(() => rpcs.Range.decode(bad)).toThrow("illegal base64 data at input byte 3");
  });
});

describe("fixed gateway responses", () => {
  it("health and ServeMux redirects as etcd writes them", async () => {
    const ok = healthResponse(true);
    expect([ok.status, ok.headers.get("content-type"), await ok.text()]).toEqual([200, "text/plain; charset=utf-8", '{"health":"true"}']);
    const bad = healthResponse(false);
    expect([bad.status, await bad.text()]).toEqual([503, '{"health":"false"}\n']);
    expect(serveMuxRedirect("POST", "/v3/kv/range")).toBeNull();
    const r1 = serveMuxRedirect("POST", "/v3//kv/range")!;
    expect([r1.status, r1.headers.get("location"), r1.headers.get("content-type"), await r1.text()]).toEqual([301, "/v3/kv/range", null, ""]);
    const r2 = serveMuxRedirect("GET", "/v3")!;
    expect([r2.status, r2.headers.get("location"), r2.headers.get("content-type"), await r2.text()]).toEqual([
      301, "/v3/", "text/html; charset=utf-8", '<a href="/v3/">Moved Permanently</a>.\n\n',
    ]);
    expect(serveMuxRedirect("POST", "/v3/kv/../kv/./range", "a=1")!.headers.get("location")).toBe("/v3/kv/range?a=1");
    expect(cleanPath("/v3/kv/range/")).toBe("/v3/kv/range/");
  });
});
