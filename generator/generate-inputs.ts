/**
 * Turns `generate`'s inputs (config entries or arguments) into schemas:
 * headers are parsed with the protocol table and overlays; schema files are
 * read and, when overlays are given (or they lack a protocol section their
 * opcodes call for), fitted to the merged table again, so an overlay reaches
 * every input the same way.
 */
import { readdir } from "node:fs/promises";
import { existsSync } from "node:fs";
import { join } from "node:path";
import type { GenerateInput } from "./config.js";
import { InputError } from "./errors.js";
import type { Schema } from "./model.js";
import { resolveProtocol } from "./protocol.js";
import { protocolTableWith, unknownOpcodesError } from "./protocol-overlay.js";
import { checkRevisionName } from "./revision-name.js";
import { repoRoot } from "./revisions/registry.js";
import { loadSchemaFile } from "./schema-file.js";
import { schemaFromFiles } from "./commands/schema.js";

export interface InputOptions {
  overlays: string[];
  rawUnknownOpcodes: boolean;
  warn: (line: string) => void;
}

export interface LoadedInput {
  /** What to name in messages: a file path, or `revision <name>`. */
  origin: string;
  schema: Schema;
}

/** The shipped revisions' schemas (schema/revisions/ of this package). */
export function shippedRevisionsDir(): string {
  return join(repoRoot(), "schema", "revisions");
}

/** The schema files an input stands for (none for a header): what `generate` reads, and `--watch` watches. */
export async function inputFiles(input: GenerateInput): Promise<string[]> {
  switch (input.kind) {
    case "header":
      return [input.path, ...input.patches];
    case "schema":
      return [input.path];
    case "schemas": {
      let names: string[];
      try {
        names = await readdir(input.path);
      } catch (e) {
        throw new InputError(
          `${input.path}: cannot list the schema folder: ${(e as NodeJS.ErrnoException).code ?? (e as Error).message}`,
        );
      }
      return names
        .filter((f) => f.endsWith(".json"))
        .sort()
        .map((f) => join(input.path, f));
    }
    case "revision": {
      const name = checkRevisionName(input.name, "revision input");
      const path = join(shippedRevisionsDir(), `${name}.json`);
      if (!existsSync(path)) {
        const known = (await readdir(shippedRevisionsDir()))
          .filter((f) => f.endsWith(".json"))
          .map((f) => f.slice(0, -5))
          .sort();
        throw new InputError(`unknown revision '${input.name}' (known: ${known.join(", ")})`);
      }
      return [path];
    }
  }
}

export async function loadInputs(
  inputs: GenerateInput[],
  opts: InputOptions,
): Promise<LoadedInput[]> {
  const out: LoadedInput[] = [];
  const table = opts.overlays.length ? protocolTableWith(opts.overlays) : null;
  for (const input of inputs) {
    if (input.kind === "header") {
      const { schema } = await schemaFromFiles(input.path, {
        patch: input.patches,
        ...(input.name !== undefined ? { name: input.name } : {}),
        overlay: opts.overlays,
        rawUnknownOpcodes: opts.rawUnknownOpcodes,
      });
      out.push({ origin: input.path, schema });
      continue;
    }
    for (const path of await inputFiles(input))
      out.push({ origin: path, schema: refit(loadSchemaFile(path), path, table, opts) });
  }
  return out;
}

/**
 * A schema's protocol section fitted again to the table with overlays, so a
 * schema extracted before its overlay existed gets the overlay's opcodes. A
 * schema without overlays keeps its section as written, except one whose
 * header has opcodes but no section: that would silently render no messages.ts.
 */
function refit(
  schema: Schema,
  origin: string,
  overlaid: ReturnType<typeof protocolTableWith> | null,
  opts: InputOptions,
): Schema {
  const hasOpcodes = schema.enums.some((e) => e.name === "fuse_opcode");
  if (!hasOpcodes || (overlaid === null && schema.protocol)) return schema;
  const r = resolveProtocol(overlaid ?? protocolTableWith([]), schema, {
    rawUnknown: opts.rawUnknownOpcodes,
  });
  if (r.unknown.length && !opts.rawUnknownOpcodes)
    throw unknownOpcodesError(origin, r.unknown, opts.overlays.at(-1));
  if (r.unknown.length)
    opts.warn(
      `${origin}: raw codecs (untyped bytes) for ${r.unknown.map((u) => `${u.name} (${u.value})`).join(", ")}: not in the protocol table`,
    );
  if (!r.protocol) {
    if (overlaid !== null)
      throw new InputError(
        `${origin}: the protocol table with the overlays does not fit this schema: ${r.problems.join("; ")}`,
      );
    opts.warn(
      `${origin}: no protocol section, so no messages.ts (${r.problems.length} mismatch(es) with schema/protocol.json, first: ${r.problems[0]})`,
    );
    return schema;
  }
  return { ...schema, protocol: r.protocol };
}
