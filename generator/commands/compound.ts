/**
 * `fuse-uapi compound encode|decode`: FUSE_COMPOUND messages of one revision, built and
 * read by that revision's committed generated code (`dist/generated/<revision>/compound.js`,
 * imported at run time), never re-implemented here.
 *
 * `encode --revision <r> <ops.json>` writes the compound request's bytes to stdout.
 * ops.json (also printed by `fuse-uapi compound encode --help`):
 *
 *   {
 *     "header":   { "unique": "100", "uid": 1000, "gid": 1000, "pid": 42 },   // required
 *     "flags":    ["FUSE_COMPOUND_SEPARABLE"],   // optional: compound flag names of the revision
 *     "minor":    45,                            // optional: negotiated minor (default: the revision's)
 *     "maxPages": 32, "pageSize": 4096,          // optional: the reply budget limit
 *     "capacity": 2,                             // optional: the caller's capacity (most ops)
 *     "ops": [                                   // in wire order
 *       { "op": "FUSE_OPEN", "nodeid": "5", "open_in": { "flags": "0x8002" } },
 *       { "op": "getattr", "nodeid": 5 },
 *       { "op": "FUSE_LOOKUP", "nodeid": 1, "name": "hello.txt" },
 *       { "op": "FUSE_READ", "nodeid": 5, "read_in": { "size": 4096 }, "outSize": 4096 },
 *       { "opcode": 0, "nodeid": 5, "body": "", "outSize": 0 }
 *     ]
 *   }
 *
 * An op names its opcode (`"FUSE_OPEN"`, `"OPEN"` or the builder method `"open"`) and gives
 * `nodeid` plus its request parts by the protocol table's names: struct parts as objects whose
 * missing members are zero, names as strings, raw data as hex, array parts as lists of objects;
 * `outSize` for ops whose reply has a variable-size part, and `dependsOn` (an earlier op's index) where
 * the revision's ops may take an earlier op's result. A raw op gives `opcode` (a number),
 * `nodeid`, `body` (hex, the bytes after its fuse_in_header) and optionally `outSize`. Integers
 * are JSON numbers or strings (decimal or 0x hex; 64-bit members should be strings); byte arrays
 * are hex strings.
 *
 * `decode --revision <r> --request [file|-]` prints the decoded compound request as JSON;
 * `decode --revision <r> --reply --ops <ops.json | OP,OP,...> [file|-]` walks a compound reply
 * the way the revision's kernel does for those ops and prints the per-op results. JSON output
 * follows `fuse-uapi decode` (bigints as decimal strings, bytes as hex).
 */
import { existsSync, readdirSync } from "node:fs";
import { dirname, join } from "node:path";
import { fileURLToPath, pathToFileURL } from "node:url";
import { InputError } from "../errors.js";
import { readBinaryInput, readText } from "../io.js";
import { toJson } from "./decode.js";

const SAFE_NAME = /^[A-Za-z0-9_][A-Za-z0-9._-]*$/;

/** The parts of a generated compound.js this command uses. */
interface PartSpec {
  kind: "struct" | "array" | "name" | "data";
  field: string;
  codec?: { struct: string; zero(): unknown };
}
interface OpSpec {
  op: string;
  opcode: number;
  method: string;
  parts: PartSpec[];
  variable: "data" | "xattr" | null;
}
interface Builder {
  add(sub: object): Builder;
  addRaw(
    opcode: number,
    nodeid: bigint,
    body: Uint8Array,
    outSize?: number,
    dependsOn?: number,
  ): Builder;
  flags(...names: string[]): Builder;
  encode(header: { unique: bigint; uid: number; gid: number; pid: number }): Uint8Array;
  readonly ops: unknown[];
}
interface CompoundModule {
  CompoundBuilder: new (opts: object) => Builder;
  COMPOUND_REVISION: string;
  COMPOUND_SEMANTICS: { dependencies: { model: string } };
  COMPOUND_OPS: ReadonlyMap<number, OpSpec>;
  decodeCompoundRequest(bytes: Uint8Array, opts: object): unknown;
  parseCompoundReply(bytes: Uint8Array, opts: object): unknown;
}

export interface CompoundDecodeOptions {
  revision: string;
  request?: boolean;
  reply?: boolean;
  ops?: string;
  minor?: string;
  capacity?: string;
}

function generatedDir(): string {
  return join(dirname(fileURLToPath(import.meta.url)), "..", "..", "generated");
}

async function loadCompound(revision: string): Promise<CompoundModule> {
  const dir = join(generatedDir(), revision);
  if (!SAFE_NAME.test(revision) || !existsSync(join(dir, "index.js"))) {
    const known = existsSync(generatedDir())
      ? readdirSync(generatedDir())
          .filter((n) => existsSync(join(generatedDir(), n, "compound.js")))
          .sort()
      : [];
    throw new InputError(
      `unknown revision '${revision}' (revisions with FUSE_COMPOUND: ${known.join(", ") || "none; run npm run build"})`,
    );
  }
  if (!existsSync(join(dir, "compound.js")))
    throw new InputError(
      `revision '${revision}' has no FUSE_COMPOUND (its schema has no compound section)`,
    );
  return (await import(pathToFileURL(join(dir, "compound.js")).href)) as CompoundModule;
}

function isObject(v: unknown): v is Record<string, unknown> {
  return typeof v === "object" && v !== null && !Array.isArray(v);
}

const INT_RE = /^(?:0x[0-9a-fA-F]+|-?\d+)$/;

function toBigInt(v: unknown, at: string): bigint {
  if (typeof v === "number" && Number.isSafeInteger(v)) return BigInt(v);
  if (typeof v === "string" && INT_RE.test(v)) return BigInt(v);
  throw new InputError(
    `${at}: expected an integer (a number, or a decimal or 0x string), got ${JSON.stringify(v)}`,
  );
}

function toNumber(v: unknown, at: string): number {
  const b = toBigInt(v, at);
  if (b > BigInt(Number.MAX_SAFE_INTEGER) || b < BigInt(Number.MIN_SAFE_INTEGER))
    throw new InputError(`${at}: ${b} is out of range`);
  return Number(b);
}

function fromHex(v: unknown, at: string): Uint8Array {
  if (typeof v !== "string" || !/^(?:[0-9a-fA-F]{2})*$/.test(v))
    throw new InputError(`${at}: expected a hex string of whole bytes, got ${JSON.stringify(v)}`);
  return new Uint8Array(Buffer.from(v, "hex"));
}

/** A JSON value shaped like `template` (a codec's zero value): missing members stay as in the template. */
export function fromJson(template: unknown, value: unknown, at: string): unknown {
  if (typeof template === "bigint") return toBigInt(value, at);
  if (typeof template === "number") return toNumber(value, at);
  if (template instanceof Uint8Array) {
    const bytes = fromHex(value, at);
    if (bytes.length > template.length)
      throw new InputError(`${at}: ${bytes.length} bytes, the member holds ${template.length}`);
    const out = new Uint8Array(template.length);
    out.set(bytes);
    return out;
  }
  if (ArrayBuffer.isView(template) && !(template instanceof DataView)) {
    const t = template as unknown as {
      length: number;
      constructor: new (n: number) => { [i: number]: number | bigint };
    };
    if (!Array.isArray(value) || value.length > t.length)
      throw new InputError(`${at}: expected a list of at most ${t.length} integers`);
    const out = new t.constructor(t.length);
    const big =
      typeof (template as unknown as ArrayLike<unknown>)[0] === "bigint" ||
      template instanceof BigInt64Array ||
      template instanceof BigUint64Array;
    value.forEach(
      (x, i) => (out[i] = big ? toBigInt(x, `${at}[${i}]`) : toNumber(x, `${at}[${i}]`)),
    );
    return out;
  }
  if (isObject(template)) {
    if (!isObject(value))
      throw new InputError(`${at}: expected an object, got ${JSON.stringify(value)}`);
    const out: Record<string, unknown> = { ...template };
    for (const [k, v] of Object.entries(value)) {
      if (!(k in template))
        throw new InputError(
          `${at}.${k}: no such member (members: ${Object.keys(template).join(", ")})`,
        );
      out[k] = fromJson(template[k], v, `${at}.${k}`);
    }
    return out;
  }
  throw new InputError(`${at}: cannot convert ${JSON.stringify(value)}`);
}

function findOp(m: CompoundModule, name: string, at: string): OpSpec {
  const upper = name.toUpperCase();
  for (const spec of m.COMPOUND_OPS.values()) {
    if (
      spec.op === name ||
      spec.op === upper ||
      spec.op === `FUSE_${upper}` ||
      spec.method === name
    )
      return spec;
  }
  const known = [...m.COMPOUND_OPS.values()].map((s) => s.op).join(", ");
  throw new InputError(
    `${at}: ${JSON.stringify(name)} may not appear in a compound of this revision (ops: ${known})`,
  );
}

/** Builds the compound described by ops.json (already parsed) on the module's builder. */
function buildFromJson(
  m: CompoundModule,
  data: unknown,
  source: string,
  minorOverride: number | null,
): { builder: Builder; header: { unique: bigint; uid: number; gid: number; pid: number } } {
  if (!isObject(data))
    throw new InputError(`${source}: expected an object with "header" and "ops"`);
  for (const k of Object.keys(data)) {
    if (
      !["header", "flags", "minor", "maxPages", "pageSize", "capacity", "ops", "$comment"].includes(
        k,
      )
    )
      throw new InputError(`${source}: unknown key ${JSON.stringify(k)}`);
  }
  const h = data.header;
  if (!isObject(h))
    throw new InputError(`${source}: "header" must be an object { unique, uid, gid, pid }`);
  const header = {
    unique: toBigInt(h.unique ?? 0, `${source}: header.unique`),
    uid: toNumber(h.uid ?? 0, `${source}: header.uid`),
    gid: toNumber(h.gid ?? 0, `${source}: header.gid`),
    pid: toNumber(h.pid ?? 0, `${source}: header.pid`),
  };
  const opts: Record<string, unknown> = {};
  for (const k of ["minor", "maxPages", "pageSize", "capacity"] as const)
    if (data[k] !== undefined) opts[k] = toNumber(data[k], `${source}: ${k}`);
  if (minorOverride !== null) opts.minor = minorOverride;
  let builder = new m.CompoundBuilder(opts);
  if (!Array.isArray(data.ops)) throw new InputError(`${source}: "ops" must be a list`);
  data.ops.forEach((op: unknown, i: number) => {
    const at = `${source}: ops[${i}]`;
    if (!isObject(op)) throw new InputError(`${at}: must be an object`);
    const nodeid = toBigInt(op.nodeid ?? 0, `${at}.nodeid`);
    // An earlier op whose result this one takes, where the revision's ops may depend on each other.
    const dependsOn =
      op.dependsOn === undefined ? undefined : toNumber(op.dependsOn, `${at}.dependsOn`);
    if (dependsOn !== undefined && m.COMPOUND_SEMANTICS.dependencies.model === "none") {
      throw new InputError(
        `${at}.dependsOn: ops of revision ${m.COMPOUND_REVISION} cannot depend on each other`,
      );
    }
    if (op.op === undefined) {
      for (const k of Object.keys(op))
        if (!["opcode", "nodeid", "body", "outSize", "dependsOn"].includes(k))
          throw new InputError(`${at}.${k}: unknown key of a raw op`);
      builder = builder.addRaw(
        toNumber(op.opcode, `${at}.opcode`),
        nodeid,
        fromHex(op.body ?? "", `${at}.body`),
        toNumber(op.outSize ?? 0, `${at}.outSize`),
        dependsOn,
      );
      return;
    }
    if (typeof op.op !== "string") throw new InputError(`${at}.op: must be an opcode name`);
    const spec = findOp(m, op.op, `${at}.op`);
    const sub: Record<string, unknown> = {
      op: spec.op,
      nodeid,
      ...(dependsOn !== undefined ? { dependsOn } : {}),
    };
    for (const k of Object.keys(op)) {
      if (
        k !== "op" &&
        k !== "nodeid" &&
        k !== "outSize" &&
        k !== "dependsOn" &&
        !spec.parts.some((p) => p.field === k)
      ) {
        throw new InputError(
          `${at}.${k}: ${spec.op} has no part ${k} (parts: ${spec.parts.map((p) => p.field).join(", ") || "none"})`,
        );
      }
    }
    for (const p of spec.parts) {
      const v = op[p.field];
      const where = `${at}.${p.field}`;
      switch (p.kind) {
        case "struct":
          sub[p.field] = fromJson(p.codec!.zero(), v ?? {}, where);
          break;
        case "array":
          if (!Array.isArray(v ?? [])) throw new InputError(`${where}: must be a list of objects`);
          sub[p.field] = ((v ?? []) as unknown[]).map((x, j) =>
            fromJson(p.codec!.zero(), x, `${where}[${j}]`),
          );
          break;
        case "name":
          if (typeof v !== "string") throw new InputError(`${where}: must be a string`);
          sub[p.field] = v;
          break;
        case "data":
          sub[p.field] = fromHex(v ?? "", where);
          break;
      }
    }
    if (spec.variable !== null) {
      if (op.outSize === undefined)
        throw new InputError(`${at}: ${spec.op} has a variable-size reply; give outSize`);
      sub.outSize = toNumber(op.outSize, `${at}.outSize`);
    } else if (op.outSize !== undefined) {
      throw new InputError(`${at}.outSize: ${spec.op} has a fixed-size reply`);
    }
    builder = builder.add(sub);
  });
  if (data.flags !== undefined) {
    if (!Array.isArray(data.flags) || !data.flags.every((f) => typeof f === "string"))
      throw new InputError(`${source}: "flags" must be a list of flag names`);
    builder.flags(...(data.flags as string[]));
  }
  return { builder, header };
}

function readJsonFile(path: string): unknown {
  const text = readText(path, "ops file");
  try {
    return JSON.parse(text);
  } catch (e) {
    throw new InputError(`${path}: not JSON: ${(e as Error).message}`);
  }
}

function parseCount(option: string, text: string | undefined): number | null {
  if (text === undefined) return null;
  if (!/^\d+$/.test(text)) throw new InputError(`${option} must be a number, got '${text}'`);
  return Number(text);
}

/** The generated code's typed errors are bad input. */
async function asInput<T>(where: string, run: () => T | Promise<T>): Promise<T> {
  try {
    return await run();
  } catch (e) {
    if (e instanceof Error && /^(Compound|FuseMessage|FuseDecode|FuseEncode)Error$/.test(e.name)) {
      const kind = (e as { kind?: unknown }).kind;
      throw new InputError(
        `${where}: ${typeof kind === "string" ? `[${kind}] ` : ""}${e.message.replace(/\s+/g, " ")}`,
      );
    }
    throw e;
  }
}

/** The ops.json format, for `--help`. */
export const OPS_JSON_HELP = `
ops.json:
  {
    "header": { "unique": "100", "uid": 1000, "gid": 1000, "pid": 42 },
    "flags": ["FUSE_COMPOUND_SEPARABLE"],          (optional; the revision's flag names)
    "minor": 45, "maxPages": 32, "pageSize": 4096,  (optional)
    "capacity": 2,                                  (optional; the caller's op limit)
    "ops": [
      { "op": "FUSE_OPEN", "nodeid": "5", "open_in": { "flags": "0x8002" } },
      { "op": "getattr", "nodeid": 5 },
      { "op": "FUSE_LOOKUP", "nodeid": 1, "name": "hello.txt" },
      { "op": "FUSE_READ", "nodeid": 5, "read_in": { "size": 4096 }, "outSize": 4096 },
      { "opcode": 0, "nodeid": 5, "body": "", "outSize": 0 }
    ]
  }
An op is its opcode (C name, name without FUSE_, or builder method), nodeid and request parts
by the protocol table's names: structs as objects (missing members are 0), names as strings,
raw data as hex, array parts as lists; outSize for ops with a variable-size reply;
"dependsOn": <index of an earlier op> where the revision's ops may take an earlier op's
result (e.g. { "op": "getattr", "nodeid": 0, "dependsOn": 0 } after a LOOKUP). A raw op
gives opcode (number), nodeid, body (hex after its fuse_in_header), outSize. Integers are
numbers or strings (decimal or 0x); 64-bit values should be strings.
`;

export async function compoundEncodeCommand(
  opsPath: string,
  opts: { revision: string; minor?: string },
): Promise<void> {
  const m = await loadCompound(opts.revision);
  const data = readJsonFile(opsPath);
  const bytes = await asInput(opsPath, () => {
    const { builder, header } = buildFromJson(m, data, opsPath, parseCount("--minor", opts.minor));
    return builder.encode(header);
  });
  process.stdout.write(bytes);
}

export async function compoundDecodeCommand(
  file: string | undefined,
  opts: CompoundDecodeOptions,
): Promise<void> {
  if (!opts.request === !opts.reply)
    throw new InputError("say what the message is: exactly one of --request, --reply --ops <...>");
  if (opts.reply && opts.ops === undefined)
    throw new InputError(
      "--reply needs --ops: an ops.json file or a comma-separated list of opcode names",
    );
  if (opts.request && opts.ops !== undefined) throw new InputError("--ops only goes with --reply");
  const m = await loadCompound(opts.revision);
  const minor = parseCount("--minor", opts.minor);
  const where = file === undefined || file === "-" ? "stdin" : file;
  let decoded: unknown;
  if (opts.request) {
    const bytes = await readBinaryInput(file);
    decoded = await asInput(where, () =>
      m.decodeCompoundRequest(bytes, minor !== null ? { minor } : {}),
    );
  } else {
    const spec = opts.ops!;
    let ops: unknown[];
    if (spec.endsWith(".json") || existsSync(spec)) {
      ops = await asInput(
        spec,
        () => buildFromJson(m, readJsonFile(spec), spec, minor).builder.ops,
      );
    } else {
      ops = spec.split(",").map((name) => findOp(m, name.trim(), "--ops").opcode);
    }
    const capacity = opts.capacity !== undefined ? parseCount("--capacity", opts.capacity) : null;
    const bytes = await readBinaryInput(file);
    decoded = await asInput(where, () =>
      m.parseCompoundReply(bytes, {
        ops,
        ...(minor !== null ? { minor } : {}),
        ...(capacity !== null ? { capacity } : {}),
      }),
    );
  }
  process.stdout.write(JSON.stringify(toJson(decoded), null, 2) + "\n");
}
