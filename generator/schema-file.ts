/**
 * Reading schema JSON back (for `generate`, `check`, `diff`): validated against
 * schema/fuse-uapi.schema.json with ajv, so a hand-edited or stale file fails
 * with the JSON path of the problem instead of breaking a template later.
 */
import { readFileSync } from "node:fs";
import { join } from "node:path";
import { Ajv2020 } from "ajv/dist/2020.js";
import { InputError } from "./errors.js";
import { readText } from "./io.js";
import { SCHEMA_VERSION, type Schema } from "./model.js";
import { repoRoot } from "./revisions/registry.js";

let validator: ((data: unknown) => boolean) & { errors?: { instancePath: string; message?: string }[] | null } | undefined;

function validate() {
  if (!validator) {
    const jsonSchema = JSON.parse(readFileSync(join(repoRoot(), "schema", "fuse-uapi.schema.json"), "utf8"));
    validator = new Ajv2020({ allErrors: false, strict: false }).compile(jsonSchema);
  }
  return validator;
}

/** Throws InputError naming the first problem; returns the data typed. */
export function assertSchema(data: unknown, origin: string): Schema {
  const v = validate();
  if (typeof data === "object" && data && (data as { schemaVersion?: unknown }).schemaVersion !== SCHEMA_VERSION)
    throw new InputError(`${origin}: schemaVersion ${JSON.stringify((data as { schemaVersion?: unknown }).schemaVersion)} is not ${SCHEMA_VERSION}; re-extract it with \`fuse-uapi schema\``);
  if (!v(data)) {
    const e = v.errors?.[0];
    throw new InputError(`${origin}: not a fuse-uapi schema: ${e?.instancePath || "/"} ${e?.message ?? "is invalid"}`);
  }
  return data as Schema;
}

export function loadSchemaFile(path: string): Schema {
  const text = readText(path, "schema file");
  let data: unknown;
  try {
    data = JSON.parse(text);
  } catch (e) {
    throw new InputError(`${path}: not JSON: ${(e as Error).message}`);
  }
  return assertSchema(data, path);
}
