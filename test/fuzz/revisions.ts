/**
 * What the fuzzers know about each revision: its generated module (imported from dist/generated,
 * so the code under test is exactly what ships) and its schema (struct layouts with their
 * implicit padding, the protocol table, the compound rules), both found by listing the folders:
 * a new revision is fuzzed without touching this file.
 */
import { createHash } from "node:crypto";
import { readdirSync, readFileSync } from "node:fs";
import { join } from "node:path";
import { pathToFileURL } from "node:url";
import type {
  MessagePart,
  NotificationInfo,
  OpcodeInfo,
  StructDef,
} from "../../generator/model.js";
import { repoRoot } from "../../generator/revisions/registry.js";
import { loadSchemaFile } from "../../generator/schema-file.js";
import type { StructCodec } from "../../runtime/runtime.js";

/* eslint-disable @typescript-eslint/no-explicit-any -- a generated module is imported per revision */
export type Gen = Record<string, any>;

/** A generated struct codec; values are per struct, so the fuzz harness handles them untyped. */
export type StructCodecLike = StructCodec<any>;

// The schema's own model types: the fuzz targets read what `generate` rendered from.
export type SchemaStruct = StructDef;
export type ProtocolPart = MessagePart;
export type ProtocolOpcode = OpcodeInfo;

export interface Revision {
  readonly name: string;
  readonly gen: Gen;
  readonly structs: readonly SchemaStruct[];
  readonly opcodes: readonly ProtocolOpcode[];
  readonly notifications: readonly NotificationInfo[];
  readonly codecs: ReadonlyMap<string, StructCodecLike>;
  /** Fingerprints of the generated implementation, per decoder family (see {@link implKey}). */
  readonly sources: {
    readonly messages: string;
    readonly compound: string | null;
  };
  readonly hasCompound: boolean;
}

export const ROOT = repoRoot();

/** Revision folders of generated/ (every folder but the shared runtime). */
export function revisionNames(): string[] {
  return readdirSync(join(ROOT, "generated"), { withFileTypes: true })
    .filter((d) => d.isDirectory() && !d.name.startsWith("_"))
    .map((d) => d.name)
    .sort();
}

function fingerprint(text: string): string {
  // The first line names the header and revision: everything after it is the implementation.
  return createHash("sha256")
    .update(text.slice(text.indexOf("\n") + 1))
    .digest("hex")
    .slice(0, 16);
}

const cache = new Map<string, Revision>();

export async function loadRevision(name: string): Promise<Revision> {
  const known = cache.get(name);
  if (known) return known;
  const gen = (await import(
    pathToFileURL(join(ROOT, "dist", "generated", name, "index.js")).href
  )) as Gen;
  const schema = loadSchemaFile(join(ROOT, "schema", "revisions", `${name}.json`));
  const protocol = schema.protocol;
  if (!protocol) throw new Error(`${name}: the schema has no protocol table to fuzz messages with`);
  const codecs = new Map<string, StructCodecLike>();
  for (const [k, v] of Object.entries(gen)) {
    if (k.endsWith("Codec") && v && typeof v === "object" && typeof v.struct === "string")
      codecs.set(v.struct, v as StructCodecLike);
  }
  const read = (file: string): string | null => {
    try {
      return readFileSync(join(ROOT, "generated", name, file), "utf8");
    } catch {
      return null;
    }
  };
  const compoundSrc = read("compound.ts");
  const rev: Revision = {
    name,
    gen,
    structs: schema.structs,
    opcodes: protocol.opcodes,
    notifications: protocol.notifications ?? [],
    codecs,
    sources: {
      // The message engine and tables, and the layouts of the structs its codecs implement.
      messages:
        fingerprint(read("messages.ts") ?? "") +
        fingerprint(
          `\n${JSON.stringify(schema.structs.map((x) => [x.name, x.size, x.layout.x86_64]))}`,
        ),
      compound:
        compoundSrc === null ? null : fingerprint(compoundSrc) + fingerprint(read("messages.ts")!),
    },
    hasCompound: typeof gen["decodeCompoundRequest"] === "function",
  };
  cache.set(name, rev);
  return rev;
}

export async function loadRevisions(only?: readonly string[]): Promise<Revision[]> {
  const names = revisionNames().filter((n) => !only || only.includes(n));
  return Promise.all(names.map(loadRevision));
}

/** The project's typed errors: what every refusal must be, never a TypeError or RangeError. */
export const TYPED_ERRORS: ReadonlySet<string> = new Set([
  "FuseDecodeError",
  "FuseMessageError",
  "CompoundError",
]);

export function isTypedError(e: unknown): boolean {
  return e instanceof Error && TYPED_ERRORS.has(e.name) && e.constructor.name === e.name;
}
