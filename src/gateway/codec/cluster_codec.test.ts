// The Cluster and Maintenance codec against answers captured from etcd 3.4.23's gateway
// (bytes as etcd wrote them) and its decoding errors.
import { describe, expect, it } from "vitest";
import { EtcdError } from "../../server/errors.ts";
import {
  decodeEmptyRequest,
  decodeMemberAddRequest,
  decodeMemberIdRequest,
  decodeMemberUpdateRequest,
  encodeMemberAddResponse,
  encodeMembersResponse,
} from "./cluster.ts";
import { decodeAlarmRequest, decodeMoveLeaderRequest, encodeAlarmResponse, encodeHashResponse, encodeStatusResponse } from "./maintenance.ts";

const header = { clusterId: 2755613793311995676n, memberId: 9829954754940738069n, revision: 0, raftTerm: 2 };
const t1 = {
  id: 9829954754940738069n, node: "t1", name: "t1", peerURLs: ["http://127.0.0.1:24800"], clientURLs: ["http://127.0.0.1:24790"], isLearner: false,
};
const learner = { id: 15811087974366286733n, node: "x", name: "", peerURLs: ["http://127.0.0.1:24801"], clientURLs: [], isLearner: true };

function decodeError(f: () => unknown): { code: number; message: string } {
  try {
    f();
  } catch (e) {
    if (e instanceof EtcdError) return { code: e.code, message: e.message };
    throw e;
  }
  throw new Error("decoded without error");
}

describe("cluster codec", () => {
  it("writes member list and add answers as etcd does", () => {
    expect(encodeMembersResponse({ header, members: [t1] })).toBe(
      '{"header":{"cluster_id":"2755613793311995676","member_id":"9829954754940738069","raft_term":"2"},"members":[{"ID":"9829954754940738069","name":"t1","peerURLs":["http://127.0.0.1:24800"],"clientURLs":["http://127.0.0.1:24790"]}]}',
    );
    expect(encodeMemberAddResponse({ header, member: { ...learner, name: "x" }, members: [t1, learner] })).toBe(
      '{"header":{"cluster_id":"2755613793311995676","member_id":"9829954754940738069","raft_term":"2"},"member":{"ID":"15811087974366286733","peerURLs":["http://127.0.0.1:24801"],"isLearner":true},"members":[{"ID":"9829954754940738069","name":"t1","peerURLs":["http://127.0.0.1:24800"],"clientURLs":["http://127.0.0.1:24790"]},{"ID":"15811087974366286733","peerURLs":["http://127.0.0.1:24801"],"isLearner":true}]}',
    );
  });

  it("writes status, hash and alarm answers as etcd does", () => {
    expect(
      encodeStatusResponse({
        header: { ...header, revision: 1 }, version: "3.4.23", dbSize: 20480, leader: 9829954754940738069n, raftIndex: 7, raftTerm: 2,
        raftAppliedIndex: 7, errors: ["memberID:9829954754940738069 alarm:NOSPACE "], dbSizeInUse: 16384, isLearner: false,
      }),
    ).toBe(
      '{"header":{"cluster_id":"2755613793311995676","member_id":"9829954754940738069","revision":"1","raft_term":"2"},"version":"3.4.23","dbSize":"20480","leader":"9829954754940738069","raftIndex":"7","raftTerm":"2","raftAppliedIndex":"7","errors":["memberID:9829954754940738069 alarm:NOSPACE "],"dbSizeInUse":"16384"}',
    );
    expect(encodeHashResponse({ header: { ...header, revision: 3 }, hash: 2296108810 })).toBe(
      '{"header":{"cluster_id":"2755613793311995676","member_id":"9829954754940738069","revision":"3","raft_term":"2"},"hash":2296108810}',
    );
    expect(encodeAlarmResponse({ alarms: [] })).toBe("{}");
    expect(encodeAlarmResponse({ alarms: [{ memberID: 7n, alarm: 2 }] })).toBe('{"alarms":[{"memberID":"7","alarm":"CORRUPT"}]}');
  });

  it("decodes requests under proto and JSON names, with etcd's errors", () => {
    expect(decodeMemberAddRequest('{"peerURLs":["http://a:1","http://a:1"],"isLearner":true}')).toEqual({
      peerURLs: ["http://a:1", "http://a:1"], isLearner: true,
    });
    expect(decodeMemberAddRequest('{"peerURLs":[null]}')).toEqual({ peerURLs: [""], isLearner: false });
    expect(decodeMemberAddRequest("")).toEqual({ peerURLs: [], isLearner: false });
    expect(decodeMemberIdRequest('{"ID":"15811087974366286733"}')).toEqual({ ID: 15811087974366286733n });
    expect(decodeMemberIdRequest('{"ID":18446744073709551615}')).toEqual({ ID: 18446744073709551615n });
    expect(decodeMemberUpdateRequest('{"ID":"5","peerURLs":["x"]}')).toEqual({ ID: 5n, peerURLs: ["x"] });
    expect(decodeEmptyRequest('{"linearizable":true}')).toEqual({});
    expect(decodeAlarmRequest('{"action":"DEACTIVATE","memberID":"7","alarm":2}')).toEqual({ action: 2, memberID: 7n, alarm: 2 });
    expect(decodeMoveLeaderRequest('{"targetID":"9"}')).toEqual({ targetID: 9n });

    const invalid = (message: string) => ({ code: 3, message });
    expect(decodeError(() => decodeMemberIdRequest('{"ID":-1}'))).toEqual(invalid("json: cannot unmarshal number -1 into Go value of type uint64"));
    expect(decodeError(() => decodeMemberIdRequest('{"ID":"x"}'))).toEqual(invalid("invalid character 'x' looking for beginning of value"));
    expect(decodeError(() => decodeMemberAddRequest('{"peerURLs":"a"}'))).toEqual(
      invalid("json: cannot unmarshal string into Go value of type []json.RawMessage"),
    );
    expect(decodeError(() => decodeMemberAddRequest('{"peerURLs":[1]}'))).toEqual(invalid("json: cannot unmarshal number into Go value of type string"));
    expect(decodeError(() => decodeAlarmRequest('{"action":"BAD"}'))).toEqual(
      invalid('unknown value "BAD" for enum etcdserverpb.AlarmRequest_AlarmAction'),
    );
    expect(decodeError(() => decodeEmptyRequest("x"))).toEqual(invalid("invalid character 'x' looking for beginning of value"));
  });
});
