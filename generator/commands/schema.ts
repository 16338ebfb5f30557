/**
 * `fuse-uapi schema`: header (+ patch mails) → schema JSON, and the revision
 * extraction that keeps schema/revisions/ in step with the corpus.
 */
import { basename, join } from "node:path";
import { jsonChunks, jsonText, readText, writeFileAtomic } from "../io.js";
import type { CompoundInfo, Schema } from "../model.js";
import { applyMail } from "../revisions/mail.js";
import {
  corpusDir,
  defaultRegistryPath,
  loadKnownRevisions,
  loadRevisionHeader,
  repoRoot,
} from "../revisions/registry.js";
import { loadProtocolTable } from "../protocol.js";
import { protocolTableWith } from "../protocol-overlay.js";
import { sha256 } from "../hash.js";
import { buildSchema } from "../schema-builder.js";
import { checkRevisionName } from "../revision-name.js";

export interface SchemaCommandOptions {
  patch: string[];
  name?: string;
  output?: string;
  /** Protocol-table overlay files merged over schema/protocol.json, in order. */
  overlay?: string[];
  /** Raw codecs (with a warning) for opcodes the table does not know, instead of an error. */
  rawUnknownOpcodes?: boolean;
  /** Only `check`: unknown opcodes are a note, not an error (it proves layouts, not messages). */
  lenientProtocol?: boolean;
}

/** Build the schema of a header with mails applied in order; nothing is written on error. */
export async function schemaFromFiles(
  headerPath: string,
  opts: SchemaCommandOptions,
): Promise<{ schema: Schema; text: string }> {
  // The name becomes `generate`'s output folder: refuse `..`, `a/b` and the like here, where it enters.
  if (opts.name !== undefined) checkRevisionName(opts.name, "--name");
  let text = readText(headerPath, "header");
  const patches: { file: string; sha256: string }[] = [];
  for (const mailPath of opts.patch) {
    const mail = readText(mailPath, "patch mail");
    text = applyMail(text, mail, basename(mailPath));
    patches.push({ file: basename(mailPath), sha256: sha256(mail) });
  }
  // Errors in a patched text point at the header's name: its lines are the patched ones.
  const overlays = opts.overlay ?? [];
  const protocol = {
    table: protocolTableWith(overlays),
    required: false,
    rawUnknownOpcodes: opts.rawUnknownOpcodes === true,
    lenient: opts.lenientProtocol === true,
    ...(overlays.length ? { overlayHint: overlays[overlays.length - 1] } : {}),
    onWarning: (warning: string) => process.stderr.write(`fuse-uapi: warning: ${warning}\n`),
    // A header the table does not fit for other reasons (an old one, before the structs the table names) has no message codecs.
    onProtocolProblems: (problems: string[]) =>
      process.stderr.write(
        `fuse-uapi: note: ${headerPath}: no protocol section, so no messages.ts (${problems.length} mismatch(es) with schema/protocol.json, first: ${problems[0]})\n`,
      ),
  };
  return {
    schema: await buildSchema(text, {
      file: basename(headerPath),
      errorPath: headerPath,
      revision: opts.name ?? null,
      patches,
      protocol,
    }),
    text,
  };
}

export async function schemaCommand(headerPath: string, opts: SchemaCommandOptions): Promise<void> {
  const { schema } = await schemaFromFiles(headerPath, opts);
  // In pieces: the schema of a big header is too much text for one string (stdout writes are synchronous on Linux).
  if (opts.output && opts.output !== "-") writeFileAtomic(opts.output, jsonChunks(schema));
  else for (const piece of jsonChunks(schema)) process.stdout.write(piece);
}

export function revisionsDir(): string {
  return join(repoRoot(), "schema", "revisions");
}

/** Where revisionSchema() reads from: defaults are the corpus (corpusDir()) and schema/known-revisions.json. */
export interface RevisionSource {
  corpus?: string;
  registryPath?: string;
}

/**
 * Schema of one known revision, rebuilt from the corpus. The registry entry's `compound`
 * semantics (if any) are carried into the schema verbatim, so renderers read only the schema.
 */
export async function revisionSchema(name: string, from: RevisionSource = {}): Promise<Schema> {
  const registryPath = from.registryPath ?? defaultRegistryPath();
  const header = await loadRevisionHeader(name, from.corpus ?? corpusDir(), registryPath);
  const entry = (await loadKnownRevisions(registryPath)).find((r) => r.name === name);
  const schema = await buildSchema(header.text, {
    file: header.file,
    revision: name,
    patches: header.patches,
    protocol: { table: loadProtocolTable(), required: true },
  });
  const compound: CompoundInfo | null = entry?.compound ?? null;
  return compound ? { ...schema, compound } : schema;
}

/** Re-extract every known revision into `dir` (default schema/revisions/). Returns the files written. */
export async function extractRevisions(dir = revisionsDir()): Promise<string[]> {
  const written: string[] = [];
  // Build all first: a failing revision must not leave the folder half-updated.
  const built: [string, string][] = [];
  for (const rev of await loadKnownRevisions())
    built.push([join(dir, `${rev.name}.json`), jsonText(await revisionSchema(rev.name))]);
  for (const [path, text] of built) {
    writeFileAtomic(path, text);
    written.push(path);
  }
  return written;
}
