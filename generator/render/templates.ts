/**
 * Loads and compiles the Handlebars templates in `<project>/templates`. The
 * templates only print what the view models prepared: `noEscape` because the
 * output is TypeScript, not HTML; `strict` so a missing view-model field is an
 * error instead of silently empty output.
 *
 * A template precompiled at build time from exactly this text (precompiled.ts)
 * runs on the small Handlebars runtime; any other is compiled here with the
 * full compiler, loaded only then.
 */
import { existsSync } from "node:fs";
import { readFile } from "node:fs/promises";
import { dirname, join } from "node:path";
import { fileURLToPath } from "node:url";
import type Handlebars from "handlebars";
import handlebarsRuntime from "handlebars/runtime.js";
import { sha256 } from "../hash.js";
import { loadPrecompiled, TEMPLATES_MODULE } from "../precompiled.js";

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
    if (parent === dir)
      throw new Error("fuse-uapi: cannot find the templates folder (templates/runtime.ts.hbs)");
    dir = parent;
  }
}

export type Template = (view: object) => string;

/** Compile options: the build step precompiles with the same ones. */
export const COMPILE_OPTIONS = { noEscape: true, strict: true } as const;

/** What the build step writes for each template (`<name>.hbs` → name): the source hash and Handlebars.precompile's spec. */
export type PrecompiledTemplates = Record<string, { sha256: string; spec: TemplateSpecification }>;
type TemplateSpecification = Parameters<Env["template"]>[0];
/** A Handlebars environment; the runtime's typings (handlebars/runtime.d.ts) declare nothing, it has this type minus the compiler. */
type Env = typeof Handlebars;

/** Helpers both environments get. */
function withHelpers(env: Env): Env {
  // Quotes a string for TypeScript source (names, targets).
  env.registerHelper("json", (value: unknown) => JSON.stringify(value));
  return env;
}

const runtime = withHelpers((handlebarsRuntime as unknown as Env).create());
let compiler: Promise<Env> | undefined;
let precompiled: PrecompiledTemplates | null | undefined;

/** `text` of template `name`: precompiled when the build step compiled exactly this text, else compiled now. */
export async function compileTemplate(name: string, text: string): Promise<Template> {
  precompiled ??= loadPrecompiled<PrecompiledTemplates>(TEMPLATES_MODULE);
  const pre = precompiled?.[name];
  if (pre && pre.sha256 === sha256(text)) {
    const run = runtime.template(pre.spec);
    return (view) => run(view);
  }
  compiler ??= import("handlebars").then((m) => withHelpers(m.default.create()));
  const compiled = (await compiler).compile(text, COMPILE_OPTIONS);
  return (view) => compiled(view);
}

const cache = new Map<string, Promise<{ render: Template; text: string }>>();

/** `name` is the output file (`structs.ts`); the template is `<name>.hbs`. */
export function loadTemplate(name: string): Promise<{ render: Template; text: string }> {
  let entry = cache.get(name);
  if (!entry) {
    entry = readFile(join(templatesDir(), `${name}.hbs`), "utf8").then(async (text) => ({
      render: await compileTemplate(name, text),
      text,
    }));
    cache.set(name, entry);
  }
  return entry;
}
