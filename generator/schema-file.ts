/**
 * Reading schema JSON back (for `generate`, `check`, `diff`): validated against
 * schema/fuse-uapi.schema.json with ajv, so a hand-edited or stale file fails
 * with the JSON path of the problem instead of breaking a template later.
 */
import { readFileSync } from "node:fs";
import { join } from "node:path";
import { Ajv2020, type ValidateFunction } from "ajv/dist/2020.js";
import { InputError } from "./errors.js";
import { readText } from "./io.js";
import { SCHEMA_VERSION, type Schema } from "./model.js";
import { repoRoot } from "./revisions/registry.js";

/** A validator for one of the JSON Schemas in schema/, compiled once; it returns the first problem, or null. */
export function jsonSchemaValidator(fileName: string): (data: unknown) => string | null {
  let validate: ValidateFunction | undefined;
  return (data) => {
    validate ??= new Ajv2020({ strict: false }).compile(JSON.parse(readFileSync(join(repoRoot(), "schema", fileName), "utf8")));
    if (validate(data)) return null;
    const e = validate.errors?.[0];
    return `${e?.instancePath || "/"} ${e?.message ?? "is invalid"}`;
  };
}

const schemaProblem = jsonSchemaValidator("fuse-uapi.schema.json");

/** Throws InputError naming the first problem; returns the data typed. */
export function assertSchema(data: unknown, origin: string): Schema {
  if (typeof data === "object" && data && (data as { schemaVersion?: unknown }).schemaVersion !== SCHEMA_VERSION)
    throw new InputError(`${origin}: schemaVersion ${JSON.stringify((data as { schemaVersion?: unknown }).schemaVersion)} is not ${SCHEMA_VERSION}; re-extract it with \`fuse-uapi schema\``);
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
