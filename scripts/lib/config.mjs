// Reads wrangler.jsonc, the one place the Worker's settings live, for the local runners.
import { readFileSync } from "node:fs";
import { fileURLToPath } from "node:url";

export const projectRoot = fileURLToPath(new URL("../..", import.meta.url));

/** Strips // and /* *\/ comments outside strings, then parses. */
export function parseJsonc(text) {
  let out = "";
  for (let i = 0; i < text.length; i++) {
    const ch = text[i];
    if (ch === '"') {
      let j = i + 1;
      while (j < text.length && text[j] !== '"') j += text[j] === "\\" ? 2 : 1;
      out += text.slice(i, j + 1);
      i = j;
    } else if (ch === "/" && text[i + 1] === "/") {
      while (i < text.length && text[i] !== "\n") i++;
      out += "\n";
    } else if (ch === "/" && text[i + 1] === "*") {
      i = text.indexOf("*/", i + 2) + 1;
    } else {
      out += ch;
    }
  }
  return JSON.parse(out.replace(/,(\s*[}\]])/g, "$1"));
}

export function wranglerConfig(environment) {
  const base = parseJsonc(readFileSync(new URL("../../wrangler.jsonc", import.meta.url), "utf8"));
  const env = environment ? base.env?.[environment] ?? {} : {};
  return {
    main: base.main,
    compatibilityDate: base.compatibility_date,
    compatibilityFlags: base.compatibility_flags ?? [],
    vars: { ...(base.vars ?? {}), ...(env.vars ?? {}) },
    durableObjects: (env.durable_objects ?? base.durable_objects).bindings,
  };
}
