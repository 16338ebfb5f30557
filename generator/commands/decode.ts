/**
 * `fuse-uapi decode`: one captured FUSE message (binary) → JSON on stdout.
 *
 * Decoding is done by the committed generated code of the chosen revision
 * (`dist/generated/<revision>/messages.js`, imported at run time), or, with
 * `--schema <file>`, by the code rendered from any schema file (transpiled into
 * a temporary folder, imported, removed) — never re-implemented here, so the CLI
 * shows exactly what a program using that revision would get.
 *
 * Names: a FUSE_INIT request or reply gets `flagNames` beside its flags (the
 * INIT flags set in `flags | flags2 << 32`, named by the schema's constants), and
 * a reply's negative `error` gets `errorName` (ENOENT, ...).
 *
 * JSON form: bigints are decimal strings (`"unique": "42"`); byte strings
 * (`Uint8Array`: data parts, extensions, char arrays) are lowercase hex strings
 * (`"data": "68656c6c6f"`); other typed arrays are arrays of numbers (of decimal
 * strings for 64-bit elements); names (`FuseName`) are their text, or
 * `{"hex": "..."}` when their bytes are not UTF-8. Every other value is printed as is.
 */
import { existsSync, readdirSync } from "node:fs";
import { mkdtemp, mkdir, rm, writeFile } from "node:fs/promises";
import { tmpdir } from "node:os";
import { dirname, join } from "node:path";
import { fileURLToPath, pathToFileURL } from "node:url";
import { errnoName, flagNames, initFlagBits } from "../decode-names.js";
import { InputError } from "../errors.js";
import { readBinaryInput, readJsonFile } from "../io.js";
import type { Schema } from "../model.js";
import { renderRevision } from "../render/index.js";
import { renderSharedRuntime, SHARED_RUNTIME_DIR } from "../render/shared-runtime.js";
import { defaultRegistryPath, repoRoot } from "../revisions/registry.js";
import { loadSchemaFile } from "../schema-file.js";
import { TOOL_VERSION } from "../version.js";

export interface DecodeCommandOptions {
  revision?: string;
  /** Any schema file: its codecs are rendered and loaded for this run. */
  schema?: string;
  minor?: string;
  request?: boolean;
  reply?: boolean;
  notify?: boolean;
  opcode?: string;
  xattr?: string;
  bigEndian?: boolean;
  /** Extra INIT flags negotiated (option names of the revision's FuseMessageOptions, e.g. setxattrExt). */
  flag: string[];
}

/**
 * The revision `decode` reads without --revision: the newest (last listed) entry of the
 * registry that is a plain header, not a compound revision, so the default follows the
 * registry's data rather than a name written here.
 */
export function defaultRevision(): string {
  const registry = defaultRegistryPath();
  const data = readJsonFile(registry) as { revisions?: { name?: unknown; compound?: unknown }[] };
  const plain = (data.revisions ?? []).filter(
    (r) => typeof r.name === "string" && r.compound === undefined,
  );
  const name = plain.at(-1)?.name;
  if (typeof name !== "string")
    throw new InputError(`${registry}: no revision without a compound entry to decode with`);
  return name;
}

/** dist/generated: beside dist/generator, where this file is compiled to. */
function generatedDir(): string {
  return join(dirname(fileURLToPath(import.meta.url)), "..", "..", "generated");
}

const SAFE_NAME = /^[A-Za-z0-9_][A-Za-z0-9._-]*$/;

/** The parts of a generated messages.js (and constants.js) this command uses. */
interface MessagesModule {
  decodeRequest(bytes: Uint8Array, opts: object): unknown;
  decodeReply(opcode: number, bytes: Uint8Array, opts: object): unknown;
  decodeNotify(bytes: Uint8Array, opts: object): unknown;
  FuseMessageError: new (...args: never[]) => Error;
}

interface LoadedCodecs {
  messages: MessagesModule;
  minor: number;
  opcodes: Record<string, number>;
  /** The schema behind them (for names), when known. */
  schema: Schema | null;
}

async function loadRevision(revision: string): Promise<LoadedCodecs> {
  const dir = join(generatedDir(), revision);
  if (!SAFE_NAME.test(revision) || !existsSync(join(dir, "index.js"))) {
    const known = existsSync(generatedDir())
      ? readdirSync(generatedDir())
          .filter((n) => existsSync(join(generatedDir(), n, "index.js")))
          .sort()
      : [];
    throw new InputError(
      `unknown revision '${revision}' (known: ${known.join(", ") || "none; run npm run build"})`,
    );
  }
  if (!existsSync(join(dir, "messages.js"))) {
    throw new InputError(
      `revision '${revision}' has no message codecs (its schema has no protocol section)`,
    );
  }
  const schemaPath = join(repoRoot(), "schema", "revisions", `${revision}.json`);
  return importCodecs(
    dir,
    `revision '${revision}'`,
    existsSync(schemaPath) ? loadSchemaFile(schemaPath) : null,
  );
}

async function importCodecs(
  dir: string,
  what: string,
  schema: Schema | null,
): Promise<LoadedCodecs> {
  const messages = (await import(pathToFileURL(join(dir, "messages.js")).href)) as MessagesModule;
  const constants = (await import(pathToFileURL(join(dir, "constants.js")).href)) as {
    FUSE_KERNEL_MINOR_VERSION?: number;
  };
  const enums = (await import(pathToFileURL(join(dir, "enums.js")).href)) as {
    FuseOpcode?: Record<string, number>;
  };
  if (typeof constants.FUSE_KERNEL_MINOR_VERSION !== "number") {
    throw new InputError(`${what} has no FUSE_KERNEL_MINOR_VERSION; give --minor`);
  }
  return {
    messages,
    minor: constants.FUSE_KERNEL_MINOR_VERSION,
    opcodes: enums.FuseOpcode ?? {},
    schema,
  };
}

/**
 * The codecs of any schema file: rendered as `generate` would, transpiled to
 * JavaScript (TypeScript from ts-morph, a dependency already) into a temporary
 * folder laid out like an output (`<rev>/` beside `_runtime/`), imported, and
 * the folder removed.
 */
async function loadSchemaCodecs(path: string): Promise<LoadedCodecs> {
  const schema = loadSchemaFile(path);
  if (!schema.protocol)
    throw new InputError(`${path}: has no protocol section, so no message codecs`);
  const { ts } = await import("ts-morph");
  const root = await mkdtemp(join(tmpdir(), "fuse-uapi-decode-"));
  try {
    await writeFile(join(root, "package.json"), '{ "type": "module" }\n');
    const folders: [string, Map<string, string>][] = [
      ["rev", await renderRevision(schema, { toolVersion: TOOL_VERSION })],
      [SHARED_RUNTIME_DIR, await renderSharedRuntime(TOOL_VERSION)],
    ];
    for (const [folder, files] of folders) {
      await mkdir(join(root, folder));
      for (const [name, text] of files) {
        const js = ts.transpileModule(text, {
          fileName: name,
          compilerOptions: {
            module: ts.ModuleKind.ESNext,
            target: ts.ScriptTarget.ES2022,
            verbatimModuleSyntax: true,
          },
        });
        await writeFile(join(root, folder, name.replace(/\.ts$/, ".js")), js.outputText);
      }
    }
    return await importCodecs(join(root, "rev"), path, schema);
  } finally {
    await rm(root, { recursive: true, force: true });
  }
}

/** `flagNames` after the flags of a FUSE_INIT struct, `errorName` beside a reply's negative error. */
function withNames(
  decoded: Record<string, unknown>,
  schema: Schema | null,
  isInit: boolean,
  isReply: boolean,
): Record<string, unknown> {
  const bits = schema && isInit ? initFlagBits(schema) : [];
  const visit = (value: unknown, depth: number): unknown => {
    // Only plain records: a FuseName or a typed array prints itself (toJson).
    if (
      typeof value !== "object" ||
      value === null ||
      Object.getPrototypeOf(value) !== Object.prototype ||
      depth > 2
    )
      return value;
    const out: Record<string, unknown> = {};
    const entries = Object.entries(value);
    const hasFlags2 = entries.some(([k]) => k === "flags2");
    for (const [k, v] of entries) {
      out[k] = visit(v, depth + 1);
      if (isReply && k === "error" && typeof v === "number" && errnoName(v) !== undefined)
        out.errorName = errnoName(v);
      if (bits.length && ((k === "flags" && !hasFlags2) || k === "flags2") && "flags" in value) {
        const rec = value as { flags: unknown; flags2?: unknown };
        const big = (x: unknown) =>
          typeof x === "bigint" ? x : typeof x === "number" ? BigInt(x >>> 0) : 0n;
        out.flagNames = flagNames(bits, big(rec.flags) | (big(rec.flags2) << 32n));
      }
    }
    return out;
  };
  return visit(decoded, 0) as Record<string, unknown>;
}

/** `FUSE_LOOKUP`, `lookup`, `LOOKUP` or a number. */
function parseOpcode(text: string, opcodes: Record<string, number>): number {
  if (/^\d+$/.test(text)) return Number(text);
  const upper = text.toUpperCase();
  for (const name of [upper, `FUSE_${upper}`]) {
    const v = opcodes[name];
    if (typeof v === "number") return v;
  }
  throw new InputError(`unknown opcode '${text}' (a C name such as FUSE_LOOKUP, or a number)`);
}

function parseMinor(text: string): number {
  if (!/^\d+$/.test(text)) throw new InputError(`--minor must be a number, got '${text}'`);
  return Number(text);
}

function hex(bytes: Uint8Array): string {
  return Buffer.from(bytes.buffer, bytes.byteOffset, bytes.byteLength).toString("hex");
}

/** JSON-ready copy: bigint → decimal string, Uint8Array → hex, other typed arrays → arrays, objects with toJSON → what it gives. */
export function toJson(value: unknown): unknown {
  if (typeof value === "bigint") return value.toString();
  if (value instanceof Uint8Array) return hex(value);
  if (ArrayBuffer.isView(value) && !(value instanceof DataView)) {
    return Array.from(value as unknown as ArrayLike<number | bigint>, (x) =>
      typeof x === "bigint" ? x.toString() : x,
    );
  }
  if (Array.isArray(value)) return value.map(toJson);
  // A value that says how it prints (a FuseName: its text, or { hex } for bytes that are not UTF-8).
  if (
    typeof value === "object" &&
    value !== null &&
    typeof (value as { toJSON?: unknown }).toJSON === "function"
  ) {
    return toJson((value as { toJSON(): unknown }).toJSON());
  }
  if (typeof value === "object" && value !== null) {
    return Object.fromEntries(Object.entries(value).map(([k, v]) => [k, toJson(v)]));
  }
  return value;
}

export async function decodeCommand(
  file: string | undefined,
  opts: DecodeCommandOptions,
): Promise<void> {
  const modes = [opts.request, opts.reply, opts.notify].filter(Boolean).length;
  if (modes !== 1)
    throw new InputError(
      "say what the message is: exactly one of --request, --reply --opcode <op>, --notify",
    );
  if (opts.reply && opts.opcode === undefined)
    throw new InputError("--reply needs --opcode <op> (the request's opcode)");
  if (!opts.reply && opts.opcode !== undefined)
    throw new InputError("--opcode only goes with --reply");
  if (opts.xattr !== undefined && opts.xattr !== "size" && opts.xattr !== "data") {
    throw new InputError(`--xattr must be size or data, got '${opts.xattr}'`);
  }
  if (opts.schema !== undefined && opts.revision !== undefined) {
    throw new InputError("give --revision or --schema, not both");
  }
  const {
    messages,
    minor: defaultMinor,
    opcodes,
    schema,
  } = opts.schema !== undefined
    ? await loadSchemaCodecs(opts.schema)
    : await loadRevision(opts.revision ?? defaultRevision());
  const minor = opts.minor !== undefined ? parseMinor(opts.minor) : defaultMinor;
  const decodeOpts: Record<string, unknown> = { minor, littleEndian: opts.bigEndian !== true };
  for (const f of opts.flag) {
    if (!/^[a-z][A-Za-z0-9]*$/.test(f))
      throw new InputError(`--flag takes an option name such as setxattrExt, got '${f}'`);
    decodeOpts[f] = true;
  }
  if (opts.xattr !== undefined) decodeOpts.xattr = opts.xattr;
  const opcode = opts.reply ? parseOpcode(opts.opcode!, opcodes) : undefined;
  const bytes = await readBinaryInput(file);
  let decoded: unknown;
  try {
    if (opts.request) decoded = messages.decodeRequest(bytes, decodeOpts);
    else if (opts.reply) {
      const op = Object.keys(opcodes).find((k) => opcodes[k] === opcode) ?? "unknown";
      decoded = { op, opcode, ...(messages.decodeReply(opcode!, bytes, decodeOpts) as object) };
    } else decoded = messages.decodeNotify(bytes, decodeOpts);
  } catch (e) {
    // The generated code's typed errors (and its struct codecs' errors) are bad input.
    if (e instanceof Error && /^Fuse(Message|Decode|Encode)Error$/.test(e.name)) {
      throw new InputError(
        `${file === undefined || file === "-" ? "stdin" : file}: ${e.message.replace(/\s+/g, " ")}`,
      );
    }
    throw e;
  }
  const initOpcode = opcodes["FUSE_INIT"];
  const isInit = opts.request
    ? (decoded as { opcode?: unknown }).opcode === initOpcode
    : opts.reply === true && opcode === initOpcode;
  const named = withNames(decoded as Record<string, unknown>, schema, isInit, opts.reply === true);
  process.stdout.write(JSON.stringify(toJson(named), null, 2) + "\n");
}
