/**
 * Reading schema JSON back (for `generate`, `check`, `diff`): validated against
 * schema/fuse-uapi.schema.json with ajv, so a hand-edited or stale file fails
 * with the JSON path of the problem instead of breaking a template later.
 */
import { readdirSync, readFileSync } from "node:fs";
import { createRequire } from "node:module";
import { join } from "node:path";
import type { Ajv2020, ValidateFunction } from "ajv/dist/2020.js";
import { InputError } from "./errors.js";
import { sha256 } from "./hash.js";
import { readJsonFile } from "./io.js";
import { SCHEMA_VERSION, type Schema } from "./model.js";
import { loadPrecompiled, validatorModuleName } from "./precompiled.js";
import { repoRoot } from "./revisions/registry.js";

/**
 * A validator as ajv's standalone code exports it, with the hashes of the schema it was
 * compiled from and of its siblings (a schema may $ref one: protocol-overlay → protocol).
 */
type PrecompiledValidator = ValidateFunction & { sourceSha256?: string; siblingsSha256?: string };

/** The text of every JSON Schema in schema/, by file name, in name order. */
export function schemaSources(): Map<string, string> {
  const dir = join(repoRoot(), "schema");
  const names = readdirSync(dir)
    .filter((f) => f.endsWith(".schema.json"))
    .sort();
  return new Map(names.map((f) => [f, readFileSync(join(dir, f), "utf8")]));
}

/** The hash of every schema but `fileName`: what a validator's $refs may resolve to. */
export function siblingsSha256(fileName: string, sources: Map<string, string>): string {
  return sha256(JSON.stringify([...sources].filter(([name]) => name !== fileName)));
}

/** `fileName` compiled by `ajv`, with every sibling schema known by its $id so that $refs resolve. */
export function compileSchema(
  ajv: Ajv2020,
  fileName: string,
  sources: Map<string, string>,
): ValidateFunction {
  for (const [name, text] of sources) if (name !== fileName) ajv.addSchema(JSON.parse(text));
  return ajv.compile(JSON.parse(sources.get(fileName)!));
}

/**
 * The validator of `schema/<fileName>`: the one compiled at build time when it
 * was compiled from exactly these schema texts (precompiled.ts), else compiled
 * here with ajv, which is loaded only then (importing and compiling it costs
 * about a second).
 */
function compileValidator(fileName: string): ValidateFunction {
  const sources = schemaSources();
  const pre = loadPrecompiled<PrecompiledValidator>(validatorModuleName(fileName));
  if (
    pre &&
    pre.sourceSha256 === sha256(sources.get(fileName)!) &&
    pre.siblingsSha256 === siblingsSha256(fileName, sources)
  )
    return pre;
  return compileSchema(newAjv(), fileName, sources);
}

/** The ajv instance both paths use: the build step compiles with the same options (plus `code.source`). */
export function newAjv(opts: { source?: boolean } = {}): Ajv2020 {
  const { Ajv2020: AjvClass } = createRequire(import.meta.url)(
    "ajv/dist/2020.js",
  ) as typeof import("ajv/dist/2020.js");
  return new AjvClass({ strict: false, ...(opts.source ? { code: { source: true } } : {}) });
}

/** A validator for one of the JSON Schemas in schema/, compiled once; it returns the first problem, or null. */
export function jsonSchemaValidator(fileName: string): (data: unknown) => string | null {
  let validate: ValidateFunction | undefined;
  return (data) => {
    validate ??= compileValidator(fileName);
    if (validate(data)) return null;
    const e = validate.errors?.[0];
    return `${e?.instancePath || "/"} ${e?.message ?? "is invalid"}`;
  };
}

const schemaProblem = jsonSchemaValidator("fuse-uapi.schema.json");

/** Throws InputError naming the first problem; returns the data typed. */
export function assertSchema(data: unknown, origin: string): Schema {
  if (
    typeof data === "object" &&
    data &&
    (data as { schemaVersion?: unknown }).schemaVersion !== SCHEMA_VERSION
  )
    throw new InputError(
      `${origin}: schemaVersion ${JSON.stringify((data as { schemaVersion?: unknown }).schemaVersion)} is not ${SCHEMA_VERSION}; re-extract it with \`fuse-uapi schema\``,
    );
  const problem = schemaProblem(data);
  if (problem) throw new InputError(`${origin}: not a fuse-uapi schema: ${problem}`);
  return data as Schema;
}

export function loadSchemaFile(path: string): Schema {
  return assertSchema(readJsonFile(path, "schema file"), path);
}
