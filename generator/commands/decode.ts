/**
 * `fuse-uapi decode`: one captured FUSE message (binary) → JSON on stdout.
 *
 * Decoding is done by the committed generated code of the chosen revision
 * (`dist/generated/<revision>/messages.js`, imported at run time), never
 * re-implemented here, so the CLI shows exactly what a program using that
 * revision would get.
 *
 * JSON form: bigints are decimal strings (`"unique": "42"`); byte strings
 * (`Uint8Array`: data parts, extensions, char arrays) are lowercase hex strings
 * (`"data": "68656c6c6f"`); other typed arrays are arrays of numbers (of decimal
 * strings for 64-bit elements). Every other value is printed as is.
 */
import { existsSync, readdirSync, readFileSync } from "node:fs";
import { dirname, join } from "node:path";
import { fileURLToPath, pathToFileURL } from "node:url";
import { InputError } from "../errors.js";
import { readBinaryInput } from "../io.js";

export interface DecodeCommandOptions {
  revision?: string;
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

export const DEFAULT_REVISION = "base-7.45";

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

async function loadRevision(revision: string): Promise<{ messages: MessagesModule; minor: number; opcodes: Record<string, number> }> {
  const dir = join(generatedDir(), revision);
  if (!SAFE_NAME.test(revision) || !existsSync(join(dir, "index.js"))) {
    const known = existsSync(generatedDir()) ? readdirSync(generatedDir()).filter((n) => existsSync(join(generatedDir(), n, "index.js"))).sort() : [];
    throw new InputError(`unknown revision '${revision}' (known: ${known.join(", ") || "none; run npm run build"})`);
  }
  if (!existsSync(join(dir, "messages.js"))) {
    throw new InputError(`revision '${revision}' has no message codecs (its schema has no protocol section)`);
  }
  const messages = (await import(pathToFileURL(join(dir, "messages.js")).href)) as MessagesModule;
  const constants = (await import(pathToFileURL(join(dir, "constants.js")).href)) as { FUSE_KERNEL_MINOR_VERSION?: number };
  const enums = (await import(pathToFileURL(join(dir, "enums.js")).href)) as { FuseOpcode?: Record<string, number> };
  if (typeof constants.FUSE_KERNEL_MINOR_VERSION !== "number") {
    throw new InputError(`revision '${revision}' has no FUSE_KERNEL_MINOR_VERSION; give --minor`);
  }
  return { messages, minor: constants.FUSE_KERNEL_MINOR_VERSION, opcodes: enums.FuseOpcode ?? {} };
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

/** JSON-ready copy: bigint → decimal string, Uint8Array → hex, other typed arrays → arrays. */
export function toJson(value: unknown): unknown {
  if (typeof value === "bigint") return value.toString();
  if (value instanceof Uint8Array) return hex(value);
  if (ArrayBuffer.isView(value) && !(value instanceof DataView)) {
    return Array.from(value as unknown as ArrayLike<number | bigint>, (x) => (typeof x === "bigint" ? x.toString() : x));
  }
  if (Array.isArray(value)) return value.map(toJson);
  if (typeof value === "object" && value !== null) {
    return Object.fromEntries(Object.entries(value).map(([k, v]) => [k, toJson(v)]));
  }
  return value;
}

export async function decodeCommand(file: string | undefined, opts: DecodeCommandOptions): Promise<void> {
  const modes = [opts.request, opts.reply, opts.notify].filter(Boolean).length;
  if (modes !== 1) throw new InputError("say what the message is: exactly one of --request, --reply --opcode <op>, --notify");
  if (opts.reply && opts.opcode === undefined) throw new InputError("--reply needs --opcode <op> (the request's opcode)");
  if (!opts.reply && opts.opcode !== undefined) throw new InputError("--opcode only goes with --reply");
  if (opts.xattr !== undefined && opts.xattr !== "size" && opts.xattr !== "data") {
    throw new InputError(`--xattr must be size or data, got '${opts.xattr}'`);
  }
  const revision = opts.revision ?? DEFAULT_REVISION;
  const { messages, minor: defaultMinor, opcodes } = await loadRevision(revision);
  const minor = opts.minor !== undefined ? parseMinor(opts.minor) : defaultMinor;
  const decodeOpts: Record<string, unknown> = { minor, littleEndian: opts.bigEndian !== true };
  for (const f of opts.flag) {
    if (!/^[a-z][A-Za-z0-9]*$/.test(f)) throw new InputError(`--flag takes an option name such as setxattrExt, got '${f}'`);
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
    }
    else decoded = messages.decodeNotify(bytes, decodeOpts);
  } catch (e) {
    // The generated code's typed errors (and its struct codecs' errors) are bad input.
    if (e instanceof Error && /^Fuse(Message|Decode|Encode)Error$/.test(e.name)) {
      throw new InputError(`${file === undefined || file === "-" ? "stdin" : file}: ${e.message.replace(/\s+/g, " ")}`);
    }
    throw e;
  }
  process.stdout.write(JSON.stringify(toJson(decoded), null, 2) + "\n");
}
