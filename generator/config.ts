/**
 * fuse-uapi.config.json: the checked-in description of a project's
 * generation, like buf.gen.yaml — inputs (headers, schema files, schema
 * folders, shipped revisions), protocol-table overlays, the output folder and
 * options. `fuse-uapi generate` with no schema arguments reads it from the
 * current folder (or --config). Every path in it is relative to the config
 * file's folder, so the result does not depend on where the command runs.
 * Validated against schema/fuse-uapi.config.schema.json.
 */
import { existsSync } from "node:fs";
import { dirname, resolve } from "node:path";
import { InputError } from "./errors.js";
import { readJsonFile } from "./io.js";
import { jsonSchemaValidator } from "./schema-file.js";

export const CONFIG_FILE = "fuse-uapi.config.json";

/** One input, its paths absolute. */
export type GenerateInput =
  | { kind: "header"; path: string; name?: string; patches: string[] }
  | { kind: "schema"; path: string }
  | { kind: "schemas"; path: string }
  | { kind: "revision"; name: string };

export interface GenerateConfig {
  /** The config file (absolute). */
  path: string;
  output: string;
  inputs: GenerateInput[];
  overlays: string[];
  prune: boolean;
  rawUnknownOpcodes: boolean;
}

interface RawConfig {
  output: string;
  inputs: (
    | { header: string; name?: string; patches?: string[] }
    | { schema: string }
    | { schemas: string }
    | { revision: string }
  )[];
  overlays?: string[];
  options?: { prune?: boolean; rawUnknownOpcodes?: boolean };
}

const configProblem = jsonSchemaValidator("fuse-uapi.config.schema.json");

/** The config file `generate` reads: --config, else fuse-uapi.config.json in `cwd`; a clear error when there is none. */
export function findConfig(explicit: string | undefined, cwd = process.cwd()): string {
  if (explicit !== undefined) return resolve(cwd, explicit);
  const path = resolve(cwd, CONFIG_FILE);
  if (!existsSync(path)) {
    throw new InputError(
      `no ${CONFIG_FILE} in ${cwd}: write one (see the README), give --config <file>, or name schema files and -o <dir>`,
    );
  }
  return path;
}

export function loadConfig(path: string): GenerateConfig {
  const data = readJsonFile(path, "config file");
  const problem = configProblem(data);
  if (problem) throw new InputError(`${path}: not a fuse-uapi config: ${problem}`);
  const raw = data as RawConfig;
  const dir = dirname(path);
  const at = (p: string) => resolve(dir, p);
  return {
    path,
    output: at(raw.output),
    inputs: raw.inputs.map((i): GenerateInput => {
      if ("header" in i)
        return {
          kind: "header",
          path: at(i.header),
          ...(i.name !== undefined ? { name: i.name } : {}),
          patches: (i.patches ?? []).map(at),
        };
      if ("schema" in i) return { kind: "schema", path: at(i.schema) };
      if ("schemas" in i) return { kind: "schemas", path: at(i.schemas) };
      return { kind: "revision", name: i.revision };
    }),
    overlays: (raw.overlays ?? []).map(at),
    prune: raw.options?.prune ?? true,
    rawUnknownOpcodes: raw.options?.rawUnknownOpcodes ?? false,
  };
}
