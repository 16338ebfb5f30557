/**
 * A diff argument is a schema file or a revision name. A name (no slash, no
 * `.json`) means schema/revisions/<name>.json: the committed schemas, so a
 * diff needs neither the corpus nor a parse.
 */
import { existsSync, readdirSync } from "node:fs";
import { basename, join } from "node:path";
import { InputError } from "../errors.js";
import type { Schema } from "../model.js";
import { repoRoot } from "../revisions/registry.js";
import { loadSchemaFile } from "../schema-file.js";

export interface ResolvedSchema {
  schema: Schema;
  /** How reports name it: the revision name, else the schema's recorded revision, else the file name. */
  label: string;
  path: string;
}

export function committedRevisionsDir(): string {
  return join(repoRoot(), "schema", "revisions");
}

/** Names with a committed schema, sorted. */
export function committedRevisions(): string[] {
  try {
    return readdirSync(committedRevisionsDir())
      .filter((f) => f.endsWith(".json"))
      .map((f) => f.slice(0, -".json".length))
      .sort();
  } catch {
    return [];
  }
}

const REVISION_NAME = /^[A-Za-z0-9][A-Za-z0-9._-]*$/;

function looksLikeRevision(arg: string): boolean {
  return REVISION_NAME.test(arg) && !arg.endsWith(".json");
}

export function resolveSchemaArg(arg: string): ResolvedSchema {
  if (looksLikeRevision(arg)) {
    const path = join(committedRevisionsDir(), `${arg}.json`);
    if (!existsSync(path))
      throw new InputError(
        `unknown revision '${arg}' (known: ${committedRevisions().join(", ") || "none"}; or give a schema .json file)`,
      );
    return { schema: loadSchemaFile(path), label: arg, path };
  }
  const schema = loadSchemaFile(arg);
  return { schema, label: schema.source.revision ?? basename(arg), path: arg };
}
