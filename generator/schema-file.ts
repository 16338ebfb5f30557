/**
 * Reading schema JSON back (for `generate`, `check`, `diff`): validated against
 * schema/fuse-uapi.schema.json with ajv, so a hand-edited or stale file fails
 * with the JSON path of the problem instead of breaking a template later.
 */
import { readFileSync } from "node:fs";
import { createRequire } from "node:module";
import { join } from "node:path";
import type { Ajv2020, ValidateFunction } from "ajv/dist/2020.js";
import { InputError } from "./errors.js";
import { sha256 } from "./hash.js";
import { readText } from "./io.js";
import { SCHEMA_VERSION, type Schema } from "./model.js";
import { loadPrecompiled, validatorModuleName } from "./precompiled.js";
import { repoRoot } from "./revisions/registry.js";

/** A validator as ajv's standalone code exports it, with the hash of the schema it was compiled from. */
type PrecompiledValidator = ValidateFunction & { sourceSha256?: string };

/**
 * The validator of `schema/<fileName>`: the one compiled at build time when it
 * was compiled from exactly this schema text (precompiled.ts), else compiled
 * here with ajv, which is loaded only then (importing and compiling it costs
 * about a second).
 */
function compileValidator(fileName: string): ValidateFunction {
  const text = readFileSync(join(repoRoot(), "schema", fileName), "utf8");
  const pre = loadPrecompiled<PrecompiledValidator>(validatorModuleName(fileName));
  if (pre && pre.sourceSha256 === sha256(text)) return pre;
  return newAjv().compile(JSON.parse(text));
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
  const text = readText(path, "schema file");
  let data: unknown;
  try {
    data = JSON.parse(text);
  } catch (e) {
    throw new InputError(`${path}: not JSON: ${(e as Error).message.replace(/\s+/g, " ")}`); // one line: V8 quotes the text around the error
  }
  return assertSchema(data, path);
}
