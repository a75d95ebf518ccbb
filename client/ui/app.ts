// The live configuration page served at /ui: browse keys under a prefix, edit and delete
// values, watch the prefix live (changes appear without reload, across reconnects), and
// show the cluster's members, leader, term and revision. Built with esbuild into the
// Worker bundle (scripts/build-ui.mjs); it is also the client's browser example.

import { Etcd, type KeyValue, type Watch, type WatchEvent, isWatchCompacted } from "../src/index.ts";

const $ = <T extends HTMLElement = HTMLElement>(sel: string) => document.querySelector(sel) as T;
const el = (tag: string, text = "", cls = "") => {
  const e = document.createElement(tag);
  e.textContent = text;
  if (cls) e.className = cls;
  return e;
};

const etcd = new Etcd({ endpoints: location.origin, timeout: 10_000 });
const params = new URLSearchParams(location.search);
let prefix = params.get("prefix") ?? "";
const rows = new Map<string, KeyValue>();
let watch: Watch | undefined;
const memberNames = new Map<string, string>();

/** What the page has seen, for people and for the end-to-end test. */
const seen = { events: [] as { type: string; key: string; value: string; rev: number }[], memberId: "", state: "idle" };
(globalThis as { __etcdo?: unknown }).__etcdo = seen;

function renderKeys(): void {
  const body = $("#keys tbody");
  body.replaceChildren();
  for (const kv of [...rows.values()].sort((a, b) => (a.keyString < b.keyString ? -1 : 1))) {
    const tr = el("tr");
    tr.dataset.key = kv.keyString;
    tr.append(el("td", kv.keyString, "key"), el("td", kv.valueString, "value"), el("td", String(kv.modRevision)), el("td", String(kv.version)));
    const actions = el("td");
    const edit = el("button", "edit");
    edit.onclick = () => {
      $<HTMLInputElement>("#edit-key").value = kv.keyString;
      $<HTMLTextAreaElement>("#edit-value").value = kv.valueString;
    };
    const del = el("button", "delete");
    del.onclick = () => void etcd.delete(kv.key).catch(showError);
    actions.append(edit, del);
    tr.append(actions);
    body.append(tr);
  }
  $("#count").textContent = `${rows.size} key${rows.size === 1 ? "" : "s"}`;
}

function logEvents(events: WatchEvent[]): void {
  const log = $("#events");
  for (const e of events) {
    seen.events.push({ type: e.type, key: e.kv.keyString, value: e.kv.valueString, rev: e.kv.modRevision });
    const li = el("li", `${e.kv.modRevision} ${e.type.toUpperCase()} ${e.kv.keyString}${e.type === "put" ? ` = ${e.kv.valueString}` : ""}`);
    li.dataset.rev = String(e.kv.modRevision);
    log.prepend(li);
    if (e.type === "put") rows.set(e.kv.keyString, e.kv);
    else rows.delete(e.kv.keyString);
  }
  while (log.children.length > 200) log.lastElementChild!.remove();
  renderKeys();
}

/** Lists the prefix, then watches it from the revision after the list. */
async function load(): Promise<void> {
  await watch?.cancel();
  rows.clear();
  const r = await etcd.getPrefix(prefix, { limit: 1000 });
  for (const kv of r.kvs) rows.set(kv.keyString, kv);
  renderKeys();
  const w = etcd.watch(prefix, {
    prefix: true,
    startRevision: r.header.revision + 1,
    onEvents: logEvents,
    onError: (e) => {
      // Compacted past our revision: list again and watch from there.
      if (isWatchCompacted(e) && watch === w) void load().catch(showError);
      else showError(e);
    },
  });
  watch = w;
  await w.ready;
  seen.memberId = w.memberId;
  showStream();
}

function showStream(): void {
  const s = etcd.stream;
  seen.state = s.state;
  if (watch?.memberId) seen.memberId = watch.memberId;
  const member = memberNames.get(seen.memberId) ?? seen.memberId;
  const st = $("#stream");
  st.dataset.state = s.state;
  st.dataset.member = seen.memberId;
  st.textContent = `stream: ${s.state}${s.kind ? ` (${s.kind})` : ""}${member ? ` via ${member}` : ""} · reconnects ${s.reconnects}`;
}

async function refreshCluster(): Promise<void> {
  try {
    const [ml, st] = await Promise.all([etcd.memberList(), etcd.status()]);
    const body = $("#members tbody");
    body.replaceChildren();
    for (const m of ml.members) {
      memberNames.set(m.id, m.name);
      const tr = el("tr", "", m.id === st.leader ? "leader" : "");
      tr.append(el("td", m.name), el("td", BigInt(m.id).toString(16)), el("td", m.id === st.leader ? "leader" : m.isLearner ? "learner" : "follower"), el("td", m.peerURLs.join(", ")));
      body.append(tr);
    }
    const leader = ml.members.find((m) => m.id === st.leader);
    $("#cluster").textContent = `leader ${leader?.name ?? "none"} · term ${st.raftTerm} · revision ${st.header.revision} · raft index ${st.raftIndex}`;
  } catch (e) {
    $("#cluster").textContent = `cluster unavailable: ${(e as Error).message}`;
  }
  showStream();
}

function showError(e: unknown): void {
  $("#error").textContent = e instanceof Error ? e.message : String(e);
}

$<HTMLFormElement>("#prefix-form").onsubmit = (ev) => {
  ev.preventDefault();
  prefix = $<HTMLInputElement>("#prefix").value;
  history.replaceState(null, "", `?prefix=${encodeURIComponent(prefix)}`);
  void load().catch(showError);
};
$<HTMLFormElement>("#edit-form").onsubmit = (ev) => {
  ev.preventDefault();
  const key = $<HTMLInputElement>("#edit-key").value;
  if (key === "") return;
  void etcd.put(key, $<HTMLTextAreaElement>("#edit-value").value).then(() => showError(""), showError);
};

$<HTMLInputElement>("#prefix").value = prefix;
etcd.stream.onState(showStream);
void load().catch(showError);
void refreshCluster();
setInterval(() => void refreshCluster(), 2000);
