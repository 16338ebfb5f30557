/**
 * Artifacts compiled once at build time (`npm run build` runs
 * generator/precompile.ts after tsc) so that `generate` does not compile them
 * on every run: the JSON Schema validators (ajv standalone code) and the
 * Handlebars templates. Compiling them took about half of a one-revision
 * `generate` before.
 *
 * They live in `dist/precompiled/` beside the build output, never in the
 * repository. Each records the sha256 of the source it was compiled from; a
 * caller uses it only when that hash matches the source it just read, and
 * otherwise compiles the source itself. So a stale or missing artifact (an
 * edited template, a build without the step, running from sources) is only
 * slower, never wrong.
 */
import { existsSync } from "node:fs";
import { createRequire } from "node:module";
import { dirname, join } from "node:path";
import { fileURLToPath } from "node:url";

/** `<dist>/precompiled`: this module is `<dist>/generator/precompiled.js`. */
export function precompiledDir(): string {
  return join(dirname(fileURLToPath(import.meta.url)), "..", "precompiled");
}

/** File name of the validator compiled from `schema/<schemaFile>`. */
export function validatorModuleName(schemaFile: string): string {
  return `${schemaFile.replace(/\.json$/, "")}.validate.cjs`;
}

export const TEMPLATES_MODULE = "templates.cjs";

// CommonJS so that loading stays synchronous (validators are created in synchronous code).
const require = createRequire(import.meta.url);

/** The module `name` of `dist/precompiled/`, or null when it is not there. */
export function loadPrecompiled<T>(name: string): T | null {
  const path = join(precompiledDir(), name);
  if (!existsSync(path)) return null;
  return require(path) as T;
}
