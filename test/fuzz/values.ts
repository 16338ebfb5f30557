/**
 * Valid messages of one revision, built through its own encoders from random values: the seeds
 * the mutator damages, and the inputs the "what encode produces, decode accepts" half of the
 * properties runs on. Everything is chosen by an {@link Rng}, so a seed reproduces.
 */
import type { ProtocolOpcode, ProtocolPart, Revision } from "./revisions.js";
import type { Rng } from "./rng.js";

/* eslint-disable @typescript-eslint/no-explicit-any -- values of any revision's structs */
type Value = Record<string, any>;

export interface MessageOpts {
  readonly minor: number;
  readonly littleEndian: boolean;
  readonly setxattrExt: boolean;
}

/** A struct with random members in their C ranges (decoded from random bytes), or all zero. */
export function randomStruct(rev: Revision, struct: string, rng: Rng, opts?: MessageOpts): Value {
  const codec = rev.codecs.get(struct);
  if (!codec) throw new Error(`${rev.name}: no codec for ${struct}`);
  if (rng.chance(0.15)) return codec.zero();
  const bytes = rng.bytes(codec.size);
  // Small numbers are what real messages carry; keep some members small so counts and sizes
  // land near the values the decoders look at.
  if (rng.chance(0.5)) for (let i = 0; i < bytes.length; i++) if (rng.chance(0.7)) bytes[i] = 0;
  return codec.decode(bytes, 0, opts);
}

const ASCII = "abcdefghijklmnopqrstuvwxyz0123456789._-";

/** A name part: any bytes but NUL (sometimes text, sometimes not UTF-8 at all). */
export function randomName(rng: Rng, allowSlash = true): Uint8Array {
  const n = rng.chance(0.05) ? 200 + rng.below(900) : rng.below(16);
  const out = new Uint8Array(n);
  const text = rng.chance(0.6);
  for (let i = 0; i < n; i++) {
    let b = text ? ASCII.charCodeAt(rng.below(ASCII.length)) : 1 + rng.below(255);
    if (!allowSlash && b === 0x2f) b = 0x2e;
    out[i] = b;
  }
  return out;
}

/** A directory entry name: 1 to DIRENT_NAME_MAX bytes, no '/' and no NUL. */
export function randomDirentName(rng: Rng, max: number): Uint8Array {
  let name = randomName(rng, false);
  if (name.length === 0) name = new Uint8Array([0x61]);
  return name.length > max ? name.subarray(0, max) : name;
}

function setCount(holder: Value, field: string, n: number): void {
  holder[field] = typeof holder[field] === "bigint" ? BigInt(n) : n;
}

/** Values for the parts of a request or reply (protocol table order; arrays set their count). */
export function randomParts(
  rev: Revision,
  parts: readonly ProtocolPart[],
  rng: Rng,
  opts: MessageOpts,
): Value {
  const out: Value = {};
  let lastStruct: Value | null = null;
  for (const p of parts) {
    switch (p.kind) {
      case "struct":
        out[p.field] = lastStruct = randomStruct(rev, p.struct!, rng, opts);
        break;
      case "name":
        out[p.field] = randomName(rng);
        break;
      case "data":
        out[p.field] = rng.chance(0.3) ? new Uint8Array(0) : rng.bytes(rng.below(48));
        break;
      case "array": {
        const n = rng.below(4);
        if (lastStruct) setCount(lastStruct, p.count ?? "count", n);
        out[p.field] = Array.from({ length: n }, () => randomStruct(rev, p.struct!, rng, opts));
        break;
      }
    }
  }
  return out;
}

export function opcodeValue(op: ProtocolOpcode): number {
  return Number(op.value);
}

/** A request of `op` as `encodeRequest` takes it. */
export function randomRequest(
  rev: Revision,
  op: ProtocolOpcode,
  rng: Rng,
  opts: MessageOpts,
): Value {
  const header = randomStruct(rev, "fuse_in_header", rng, opts);
  const req: Value = {
    op: op.name,
    opcode: opcodeValue(op),
    header,
    ...randomParts(rev, op.request, rng, opts),
  };
  if (op.extensions && rng.chance(0.3)) req["extensions"] = rng.bytes(8 * (1 + rng.below(3)));
  return req;
}

/** An opcode this revision does not know (the decoder gives `op: "unknown"`). */
export function unknownRequest(rev: Revision, rng: Rng, opts: MessageOpts): Value {
  const known = new Set(rev.opcodes.map(opcodeValue));
  let opcode = rng.chance(0.5) ? rng.below(100) : rng.u32();
  while (known.has(opcode)) opcode = (opcode + 1) >>> 0;
  return {
    op: "unknown",
    opcode,
    header: randomStruct(rev, "fuse_in_header", rng, opts),
    body: rng.bytes(rng.below(32)),
  };
}

/** A directory listing of random entries, through the revision's list encoder. */
export function randomDirents(rev: Revision, rng: Rng, plus: boolean, le: boolean): Uint8Array {
  const g = rev.gen;
  const max: number = g["DIRENT_NAME_MAX"] ?? 1024;
  const enc = new (plus ? g["DirentplusListEncoder"] : g["DirentListEncoder"])(
    rng.below(4) === 0 ? 64 : 4096,
    { littleEndian: le },
  );
  const n = rng.below(5);
  for (let i = 0; i < n; i++) {
    const { namelen: _n, ...d } = randomStruct(rev, "fuse_dirent", rng);
    void _n;
    const entry: Value = { ...d, name: randomDirentName(rng, max) };
    if (plus) entry["entry_out"] = randomStruct(rev, "fuse_entry_out", rng);
    if (!enc.add(entry)) break;
  }
  return enc.finish() as Uint8Array;
}

/** A reply to `op` as `encodeReply` takes it (an error, or the opcode's parts). */
export function randomReply(
  rev: Revision,
  op: ProtocolOpcode,
  rng: Rng,
  opts: MessageOpts,
): Value | null {
  const r = op.reply;
  if (r.kind === "none") {
    const answers = r.answers ?? [];
    return answers.length ? { error: rng.pick(answers).error } : null;
  }
  if (rng.chance(0.15)) return { error: -1 - rng.below(511) };
  switch (r.kind) {
    case "parts":
      return randomParts(rev, r.parts ?? [], rng, opts);
    case "empty":
      return {};
    case "data":
      return { data: rng.bytes(rng.below(64)) };
    case "dirents":
    case "direntplus":
      return {
        data: randomDirents(rev, rng, r.kind === "direntplus", opts.littleEndian),
      };
    case "xattr":
      return rng.chance(0.5)
        ? { getxattr_out: randomStruct(rev, "fuse_getxattr_out", rng, opts) }
        : { data: rng.bytes(rng.below(40)) };
    default:
      throw new Error(
        `${rev.name}: reply kind ${(r as { kind: string }).kind} unknown to the fuzzer`,
      );
  }
}
