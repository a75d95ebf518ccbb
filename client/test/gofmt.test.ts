import { describe, expect, it } from "vitest";
import { goDuration, goJson, goQuote, humanizeBytes, parseGoDuration, renderTable, Raw } from "../cli/gofmt.ts";

describe("Go formatting used by etcdctl output", () => {
  it("renders tablewriter tables exactly as etcdctl 3.4", () => {
    // Captured from `etcdctl member list -w table` and `etcdctl endpoint status -w table`.
    const members =
      "+------------------+---------+------+------------------------+------------------------+------------+\n" +
      "|        ID        | STATUS  | NAME |       PEER ADDRS       |      CLIENT ADDRS      | IS LEARNER |\n" +
      "+------------------+---------+------+------------------------+------------------------+------------+\n" +
      "| bdae9bbc11dd390d | started |   t1 | http://127.0.0.1:23801 | http://127.0.0.1:23791 |      false |\n" +
      "+------------------+---------+------+------------------------+------------------------+------------+\n";
    expect(
      renderTable(
        ["ID", "Status", "Name", "Peer Addrs", "Client Addrs", "Is Learner"],
        [["bdae9bbc11dd390d", "started", "t1", "http://127.0.0.1:23801", "http://127.0.0.1:23791", "false"]],
      ),
    ).toBe(members);
    const health =
      "+-----------------+--------+---------+-------+\n" +
      "|    ENDPOINT     | HEALTH |  TOOK   | ERROR |\n" +
      "+-----------------+--------+---------+-------+\n" +
      "| 127.0.0.1:23791 |   true | 747.3µs |       |\n" +
      "+-----------------+--------+---------+-------+\n";
    expect(renderTable(["endpoint", "health", "took", "error"], [["127.0.0.1:23791", "true", "747.3µs", ""]])).toBe(health);
  });

  it("formats durations like time.Duration.String and parses flags like time.ParseDuration", () => {
    expect(goDuration(906_741n)).toBe("906.741µs");
    expect(goDuration(2_072_268n)).toBe("2.072268ms");
    expect(goDuration(1_500_000_000n)).toBe("1.5s");
    expect(goDuration(90_000_000_000n)).toBe("1m30s");
    expect(goDuration(3_600_000_000_000n)).toBe("1h0m0s");
    expect(goDuration(999n)).toBe("999ns");
    expect(parseGoDuration("5s")).toBe(5000);
    expect(parseGoDuration("1m30s")).toBe(90_000);
    expect(parseGoDuration("250ms")).toBe(250);
    expect(() => parseGoDuration("5")).toThrow('time: invalid duration "5"');
  });

  it("humanizes sizes like go-humanize (ties round to even)", () => {
    expect([5, 20480, 21500, 98304, 1234567].map(humanizeBytes)).toEqual(["5 B", "20 kB", "22 kB", "98 kB", "1.2 MB"]);
  });

  it("encodes JSON and quotes strings like Go", () => {
    expect(goJson({ a: new Raw("15118495548433857066"), b: "x<&>\u2028", c: undefined, d: [true, null] })).toBe(
      '{"a":15118495548433857066,"b":"x\\u003c\\u0026\\u003e\\u2028","d":[true,null]}',
    );
    expect(goQuote('a"b\\\n\x01é')).toBe('"a\\"b\\\\\\n\\x01é"');
  });
});
