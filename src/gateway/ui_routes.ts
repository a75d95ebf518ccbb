// GET /ui: the live configuration page (client/ui/), built into the Worker bundle as one
// HTML string with its script inlined (scripts/build-ui.mjs).
import type { Hono } from "hono";
import type { Env } from "../member/env.ts";
import { UI_HTML } from "./ui_page.gen.ts";

export function registerUiRoutes(app: Hono<{ Bindings: Env }>): void {
  app.get("/ui", () => new Response(UI_HTML, { headers: { "Content-Type": "text/html; charset=utf-8", "Cache-Control": "no-cache" } }));
  app.get("/ui/", (c) => c.redirect("/ui", 301));
}
