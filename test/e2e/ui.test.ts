// The /ui page in a real headless Chromium against a local etcdo: it watches a prefix, a
// write made with etcdoctl shows up within a second, and after the member holding the
// page's socket crashes the page keeps updating with no change missed or repeated.
// A screenshot goes to test-results/ (its path is printed).

import { execFile } from "node:child_process";
import { existsSync, mkdirSync, mkdtempSync, rmSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { fileURLToPath } from "node:url";
import { type BrowserContext, type Page, chromium } from "playwright-core";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { type TestServer, startEtcdo } from "../support/etcd-client-server.ts";

const CHROMIUM = process.env.CHROMIUM_BIN ?? "/usr/bin/chromium";
const ROOT = fileURLToPath(new URL("../..", import.meta.url));
const ETCDOCTL = join(ROOT, "client/bin/etcdoctl.ts");
const NODE = Number(process.versions.node.split(".")[0]) >= 22 ? process.execPath : join(ROOT, "node_modules/.bin/node");

let server: TestServer;
let browser: BrowserContext;
let profile: string;

function etcdoctl(...args: string[]): Promise<{ stdout: string; code: number }> {
  return new Promise((resolve) => {
    execFile(NODE, [ETCDOCTL, `--endpoints=${server.url}`, ...args], { timeout: 20_000 }, (err, stdout) => {
      resolve({ stdout, code: err ? Number((err as { code?: number }).code ?? 1) : 0 });
    });
  });
}

type Seen = { events: { type: string; key: string; value: string; rev: number }[]; memberId: string; state: string };
const seen = (page: Page) => page.evaluate(() => (globalThis as unknown as { __etcdo: Seen }).__etcdo);

async function waitFor(page: Page, cond: (s: Seen) => boolean, ms: number): Promise<Seen> {
  const deadline = Date.now() + ms;
  for (;;) {
    const s = await seen(page);
    if (cond(s)) return s;
    if (Date.now() > deadline) throw new Error(`page did not get there in ${ms} ms: ${JSON.stringify(s)}`);
    await new Promise((r) => setTimeout(r, 10));
  }
}

beforeAll(async () => {
  server = await startEtcdo();
  profile = mkdtempSync(join(tmpdir(), "etcdo-chromium-"));
  // A fresh profile (--user-data-dir): playwright takes it as the persistent context's directory.
  browser = await chromium.launchPersistentContext(profile, {
    executablePath: CHROMIUM,
    headless: true,
    args: [
      "--headless",
      "--no-sandbox",
      "--disable-gpu",
      "--disable-quic",
      "--no-first-run",
      "--disable-background-networking",
      "--disable-component-update",
      "--disable-sync",
    ],
  });
});

afterAll(async () => {
  await browser?.close();
  await server?.stop();
  if (profile) rmSync(profile, { recursive: true, force: true });
});

describe.skipIf(!existsSync(CHROMIUM))("/ui in Chromium", () => {
  it("shows writes live, and keeps doing so after the member holding its socket crashes", async () => {
    const page = await browser.newPage();
    const errors: string[] = [];
    page.on("pageerror", (e) => errors.push(String(e)));
    await etcdoctl("put", "app/before", "listed");
    await page.goto(`${server.url}/ui?prefix=app/`);
    await page.waitForSelector('tr[data-key="app/before"]', { timeout: 10_000 });
    const first = await waitFor(page, (s) => s.state === "open" && s.memberId !== "", 10_000);

    // A write through the CLI appears within a second.
    const put = await etcdoctl("put", "app/color", "blue", "-w", "json");
    expect(put.code).toBe(0);
    const rev1 = Number(JSON.parse(put.stdout).header.revision);
    const t0 = Date.now();
    await waitFor(page, (s) => s.events.some((e) => e.rev === rev1), 1000);
    const latency = Date.now() - t0;
    expect(await page.textContent('tr[data-key="app/color"] td.value')).toBe("blue");

    // Crash the member that holds the page's socket; write while it is down and after.
    const members = (await (await fetch(`${server.url}/v3/cluster/member/list`, { method: "POST", body: "{}" })).json()) as {
      members: { ID: string; name: string }[];
    };
    const holder = members.members.find((m) => m.ID === first.memberId);
    expect(holder, `member ${first.memberId} among ${JSON.stringify(members)}`).toBeTruthy();
    const crash = await fetch(`${server.url}/_fault`, { method: "POST", body: JSON.stringify({ action: "crash", member: holder!.name }) });
    expect(crash.ok).toBe(true);
    const revs = [rev1];
    for (let i = 0; i < 6; i++) {
      const r = await etcdoctl("put", `app/k${i % 3}`, `v${i}`, "-w", "json");
      expect(r.code).toBe(0);
      revs.push(Number(JSON.parse(r.stdout).header.revision));
    }
    const del = await etcdoctl("del", "app/before", "-w", "json");
    revs.push(Number(JSON.parse(del.stdout).header.revision));
    const after = await waitFor(page, (s) => s.events.length >= revs.length, 15_000);
    expect(after.events.map((e) => e.rev)).toEqual(revs);
    expect(after.events.at(-1)).toMatchObject({ type: "delete", key: "app/before" });
    expect(await page.locator('tr[data-key="app/before"]').count()).toBe(0);
    expect(await page.textContent('tr[data-key="app/k2"] td.value')).toBe("v5");
    const reconnects = await page.evaluate(() => document.querySelector("#stream")!.textContent);
    expect(reconnects).toMatch(/reconnects [1-9]/);
    // The page also lists the members, the leader and the term.
    await page.waitForSelector("#members tr.leader", { timeout: 5000 });
    expect(await page.textContent("#cluster")).toMatch(/leader m\d · term \d+ · revision \d+/);
    expect(errors).toEqual([]);

    mkdirSync(join(ROOT, "test-results"), { recursive: true });
    const shot = join(ROOT, "test-results", "ui-live.png");
    await page.screenshot({ path: shot, fullPage: true });
    console.log(`screenshot: ${shot} (first change shown after ${latency} ms; socket was on ${holder!.name})`);
    await page.close();
  });
});
