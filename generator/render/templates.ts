/**
 * Loads and compiles the Handlebars templates in `<project>/templates`. The
 * templates only print what the view models prepared: `noEscape` because the
 * output is TypeScript, not HTML; `strict` so a missing view-model field is an
 * error instead of silently empty output.
 */
import { existsSync } from "node:fs";
import { readFile } from "node:fs/promises";
import { dirname, join } from "node:path";
import { fileURLToPath } from "node:url";
import Handlebars from "handlebars";

/**
 * The templates folder: found by walking up from this module, so it works both
 * from `generator/render` (sources) and `dist/generator/render` (build output).
 */
export function templatesDir(): string {
  let dir = dirname(fileURLToPath(import.meta.url));
  for (;;) {
    const candidate = join(dir, "templates");
    if (existsSync(join(candidate, "runtime.ts.hbs"))) return candidate;
    const parent = dirname(dir);
    if (parent === dir) throw new Error("fuse-uapi: cannot find the templates folder (templates/runtime.ts.hbs)");
    dir = parent;
  }
}

export type Template = (view: object) => string;

const hb = Handlebars.create();
// Quotes a string for TypeScript source (names, targets).
hb.registerHelper("json", (value: unknown) => JSON.stringify(value));

const cache = new Map<string, Promise<{ render: Template; text: string }>>();

/** `name` is the output file (`structs.ts`); the template is `<name>.hbs`. */
export function loadTemplate(name: string): Promise<{ render: Template; text: string }> {
  let entry = cache.get(name);
  if (!entry) {
    entry = readFile(join(templatesDir(), `${name}.hbs`), "utf8").then((text) => {
      const compiled = hb.compile(text, { noEscape: true, strict: true });
      return { render: (view: object) => compiled(view), text };
    });
    cache.set(name, entry);
  }
  return entry;
}
