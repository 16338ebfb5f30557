/**
 * Hand-written DataView code: the yardstick every ratio in bench/results.md is
 * measured against ("the hand-written limit" of issue E).
 *
 * Written the way a careful person would write a FUSE codec by hand for these
 * messages: straight-line reads and writes at constant offsets, one DataView
 * per buffer, exact-size output buffers, the same bounds and value checks the
 * generated code makes (so the baseline does not win by skipping work), and
 * the same output shapes and types as the generated code (bigint for the
 * 64-bit members it gives as bigint). bench/codecs/workloads.ts checks once,
 * before timing, that every function here returns what the generated code
 * returns, byte for byte or member for member.
 *
 * Little-endian only (x86_64, aarch64), as the generated codecs by default.
 */
import type {
  DirentEntry as DecodedDirent,
  DirentplusEntry as DecodedDirentplus,
  FuseAttr,
  FuseAttrOut,
  FuseEntryOut,
  FuseGetattrIn,
  FuseInHeader,
  FuseOpenIn,
  FuseOpenOut,
  FuseOutHeader,
  FuseReleaseIn,
  FuseWriteIn,
} from "../../generated/base-7.45/index.js";

/** The directory entries the bench encodes: names as strings (UTF-8), as a server hands them over. */
export type DirentEntry = Omit<DecodedDirent, "name"> & { readonly name: string };
export type DirentplusEntry = Omit<DecodedDirentplus, "name"> & { readonly name: string };

const LE = true;

/** String.prototype.isWellFormed (Node 20; newer than the ES2022 lib this project compiles against). */
const isWellFormed = (String.prototype as unknown as { isWellFormed(this: string): boolean })
  .isWellFormed;

export class HandError extends Error {}

function fail(what: string, offset: number, needed: number, available: number): never {
  throw new HandError(`${what}: needs ${needed} bytes at offset ${offset}, ${available} available`);
}

function viewOf(bytes: Uint8Array): DataView {
  return new DataView(bytes.buffer, bytes.byteOffset, bytes.byteLength);
}

// ---------------------------------------------------------------------------
// Structs: straight-line readers and writers at constant offsets

export function readInHeader(v: DataView, o: number): FuseInHeader {
  return {
    len: v.getUint32(o, LE),
    opcode: v.getUint32(o + 4, LE),
    unique: v.getBigUint64(o + 8, LE),
    nodeid: v.getBigUint64(o + 16, LE),
    uid: v.getUint32(o + 24, LE),
    gid: v.getUint32(o + 28, LE),
    pid: v.getUint32(o + 32, LE),
    total_extlen: v.getUint16(o + 36, LE),
    padding: v.getUint16(o + 38, LE),
  };
}

function readGetattrIn(v: DataView, o: number): FuseGetattrIn {
  return {
    getattr_flags: v.getUint32(o, LE),
    dummy: v.getUint32(o + 4, LE),
    fh: v.getBigUint64(o + 8, LE),
  };
}

function readWriteIn(v: DataView, o: number): FuseWriteIn {
  return {
    fh: v.getBigUint64(o, LE),
    offset: v.getBigUint64(o + 8, LE),
    size: v.getUint32(o + 16, LE),
    write_flags: v.getUint32(o + 20, LE),
    lock_owner: v.getBigUint64(o + 24, LE),
    flags: v.getUint32(o + 32, LE),
    padding: v.getUint32(o + 36, LE),
  };
}

function readOutHeader(v: DataView, o: number): FuseOutHeader {
  return {
    len: v.getUint32(o, LE),
    error: v.getInt32(o + 4, LE),
    unique: v.getBigUint64(o + 8, LE),
  };
}

function readAttr(v: DataView, o: number): FuseAttr {
  return {
    ino: v.getBigUint64(o, LE),
    size: v.getBigUint64(o + 8, LE),
    blocks: v.getBigUint64(o + 16, LE),
    atime: v.getBigUint64(o + 24, LE),
    mtime: v.getBigUint64(o + 32, LE),
    ctime: v.getBigUint64(o + 40, LE),
    atimensec: v.getUint32(o + 48, LE),
    mtimensec: v.getUint32(o + 52, LE),
    ctimensec: v.getUint32(o + 56, LE),
    mode: v.getUint32(o + 60, LE),
    nlink: v.getUint32(o + 64, LE),
    uid: v.getUint32(o + 68, LE),
    gid: v.getUint32(o + 72, LE),
    rdev: v.getUint32(o + 76, LE),
    blksize: v.getUint32(o + 80, LE),
    flags: v.getUint32(o + 84, LE),
  };
}

function readEntryOut(v: DataView, o: number): FuseEntryOut {
  return {
    nodeid: v.getBigUint64(o, LE),
    generation: v.getBigUint64(o + 8, LE),
    entry_valid: v.getBigUint64(o + 16, LE),
    attr_valid: v.getBigUint64(o + 24, LE),
    entry_valid_nsec: v.getUint32(o + 32, LE),
    attr_valid_nsec: v.getUint32(o + 36, LE),
    attr: readAttr(v, o + 40),
  };
}

function readAttrOut(v: DataView, o: number): FuseAttrOut {
  return {
    attr_valid: v.getBigUint64(o, LE),
    attr_valid_nsec: v.getUint32(o + 8, LE),
    dummy: v.getUint32(o + 12, LE),
    attr: readAttr(v, o + 16),
  };
}

function readOpenOut(v: DataView, o: number): FuseOpenOut {
  return {
    fh: v.getBigUint64(o, LE),
    open_flags: v.getUint32(o + 8, LE),
    backing_id: v.getInt32(o + 12, LE),
  };
}

function writeOutHeader(v: DataView, o: number, len: number, error: number, unique: bigint): void {
  v.setUint32(o, len, LE);
  v.setInt32(o + 4, error, LE);
  v.setBigUint64(o + 8, unique, LE);
}

function writeInHeader(
  v: DataView,
  o: number,
  len: number,
  opcode: number,
  unique: bigint,
  nodeid: bigint,
  uid: number,
  gid: number,
  pid: number,
): void {
  v.setUint32(o, len, LE);
  v.setUint32(o + 4, opcode, LE);
  v.setBigUint64(o + 8, unique, LE);
  v.setBigUint64(o + 16, nodeid, LE);
  v.setUint32(o + 24, uid, LE);
  v.setUint32(o + 28, gid, LE);
  v.setUint32(o + 32, pid, LE);
  v.setUint32(o + 36, 0, LE); // total_extlen, padding
}

function writeAttr(v: DataView, o: number, a: FuseAttr): void {
  v.setBigUint64(o, a.ino, LE);
  v.setBigUint64(o + 8, a.size, LE);
  v.setBigUint64(o + 16, a.blocks, LE);
  v.setBigUint64(o + 24, a.atime, LE);
  v.setBigUint64(o + 32, a.mtime, LE);
  v.setBigUint64(o + 40, a.ctime, LE);
  v.setUint32(o + 48, a.atimensec, LE);
  v.setUint32(o + 52, a.mtimensec, LE);
  v.setUint32(o + 56, a.ctimensec, LE);
  v.setUint32(o + 60, a.mode, LE);
  v.setUint32(o + 64, a.nlink, LE);
  v.setUint32(o + 68, a.uid, LE);
  v.setUint32(o + 72, a.gid, LE);
  v.setUint32(o + 76, a.rdev, LE);
  v.setUint32(o + 80, a.blksize, LE);
  v.setUint32(o + 84, a.flags, LE);
}

function writeEntryOut(v: DataView, o: number, e: FuseEntryOut): void {
  v.setBigUint64(o, e.nodeid, LE);
  v.setBigUint64(o + 8, e.generation, LE);
  v.setBigUint64(o + 16, e.entry_valid, LE);
  v.setBigUint64(o + 24, e.attr_valid, LE);
  v.setUint32(o + 32, e.entry_valid_nsec, LE);
  v.setUint32(o + 36, e.attr_valid_nsec, LE);
  writeAttr(v, o + 40, e.attr);
}

// ---------------------------------------------------------------------------
// Requests

export interface GetattrMessage {
  header: FuseInHeader;
  getattr_in: FuseGetattrIn;
}

/** fuse_in_header + fuse_getattr_in from a view the caller keeps (per-struct style). */
export function decodeGetattrMessage(v: DataView): GetattrMessage {
  if (v.byteLength < 56) fail("fuse_in_header + fuse_getattr_in", 0, 56, v.byteLength);
  return { header: readInHeader(v, 0), getattr_in: readGetattrIn(v, 40) };
}

export interface WriteMessage {
  header: FuseInHeader;
  write_in: FuseWriteIn;
  data: Uint8Array;
}

/** fuse_in_header + fuse_write_in + a view of the payload (per-struct style). */
export function decodeWriteMessage(v: DataView, bytes: Uint8Array): WriteMessage {
  if (v.byteLength < 80) fail("fuse_in_header + fuse_write_in", 0, 80, v.byteLength);
  return { header: readInHeader(v, 0), write_in: readWriteIn(v, 40), data: bytes.subarray(80) };
}

export type HandRequest =
  | { op: "FUSE_GETATTR"; opcode: 3; header: FuseInHeader; getattr_in: FuseGetattrIn }
  | { op: "FUSE_WRITE"; opcode: 16; header: FuseInHeader; write_in: FuseWriteIn; data: Uint8Array };

/**
 * The same job as the generated `decodeRequest` for the opcodes benchmarked: the
 * message length must equal `len`, each part must be there in full, and no byte
 * may be left over (GETATTR); the WRITE payload is a view, not a copy.
 */
export function decodeRequest(bytes: Uint8Array): HandRequest {
  const n = bytes.length;
  if (n < 40) fail("fuse_in_header", 0, 40, n);
  const v = viewOf(bytes);
  const header = readInHeader(v, 0);
  if (header.len !== n) fail("request (len)", 0, header.len, n);
  switch (header.opcode) {
    case 3:
      if (n !== 56) fail("FUSE_GETATTR request", 40, 16, n - 40);
      return { op: "FUSE_GETATTR", opcode: 3, header, getattr_in: readGetattrIn(v, 40) };
    case 16:
      if (n < 80) fail("FUSE_WRITE request", 40, 40, n - 40);
      return {
        op: "FUSE_WRITE",
        opcode: 16,
        header,
        write_in: readWriteIn(v, 40),
        data: bytes.subarray(80),
      };
    default:
      throw new HandError(`opcode ${header.opcode} is not part of this benchmark`);
  }
}

// ---------------------------------------------------------------------------
// Replies

/** LOOKUP reply (fuse_out_header + fuse_entry_out, 144 bytes) into a view the caller keeps. */
export function encodeLookupReplyInto(v: DataView, unique: bigint, entry: FuseEntryOut): number {
  if (v.byteLength < 144) fail("LOOKUP reply", 0, 144, v.byteLength);
  writeOutHeader(v, 0, 144, 0, unique);
  writeEntryOut(v, 16, entry);
  return 144;
}

/** LOOKUP reply in a new buffer (what the generated `encodeReply` returns). */
export function encodeLookupReply(unique: bigint, entry: FuseEntryOut): Uint8Array {
  const out = new Uint8Array(144);
  encodeLookupReplyInto(viewOf(out), unique, entry);
  return out;
}

/** UTF-8 length of a well-formed string, without encoding it. */
function utf8Length(s: string): number {
  const n = s.length;
  let bytes = n;
  for (let i = 0; i < n; i++) {
    const c = s.charCodeAt(i);
    if (c >= 0x80) {
      if (c < 0x800) bytes += 1;
      else if (c >= 0xd800 && c <= 0xdbff) {
        bytes += 2; // a surrogate pair: 2 UTF-16 units (counted), 4 bytes
        i++;
      } else bytes += 2;
    }
  }
  return bytes;
}

/** Checks a directory entry name as the generated list encoders do; returns its UTF-8 length. */
function direntNameLength(name: string): number {
  if (
    name.length === 0 ||
    name.indexOf("/") >= 0 ||
    name.indexOf("\0") >= 0 ||
    !isWellFormed.call(name)
  ) {
    throw new HandError(`bad directory entry name ${JSON.stringify(name)}`);
  }
  return utf8Length(name);
}

const ENCODER = new TextEncoder();

/**
 * Writes `name` (of UTF-8 length `nl`) at `at`: short ASCII names byte by byte (cheaper than a
 * call into TextEncoder and a subarray), anything else through TextEncoder.encodeInto.
 */
function putName(out: Uint8Array, at: number, name: string, nl: number): void {
  if (nl === name.length) {
    for (let k = 0; k < nl; k++) out[at + k] = name.charCodeAt(k);
  } else {
    ENCODER.encodeInto(name, out.subarray(at, at + nl));
  }
}

/**
 * A READDIRPLUS reply: as many `fuse_direntplus` records as fit in `size` bytes
 * (the request's read_in.size), each name padded to 8 bytes, in one exact-size buffer.
 */
export function encodeReaddirplusReply(
  unique: bigint,
  entries: readonly DirentplusEntry[],
  size: number,
): Uint8Array {
  const lengths = new Array<number>(entries.length);
  let used = 0;
  let count = 0;
  for (; count < entries.length; count++) {
    const nl = direntNameLength(entries[count]!.name);
    const rec = (152 + nl + 7) & ~7;
    if (used + rec > size) break;
    lengths[count] = nl;
    used += rec;
  }
  const out = new Uint8Array(16 + used);
  const v = viewOf(out);
  writeOutHeader(v, 0, 16 + used, 0, unique);
  let o = 16;
  for (let i = 0; i < count; i++) {
    const e = entries[i]!;
    const nl = lengths[i]!;
    writeEntryOut(v, o, e.entry_out);
    v.setBigUint64(o + 128, e.ino, LE);
    v.setBigUint64(o + 136, e.off, LE);
    v.setUint32(o + 144, nl, LE);
    v.setUint32(o + 148, e.type, LE);
    putName(out, o + 152, e.name, nl);
    o += (152 + nl + 7) & ~7;
  }
  return out;
}

/** A READDIR reply: `fuse_dirent` records, as {@link encodeReaddirplusReply}. */
export function encodeReaddirReply(
  unique: bigint,
  entries: readonly DirentEntry[],
  size: number,
): Uint8Array {
  const lengths = new Array<number>(entries.length);
  let used = 0;
  let count = 0;
  for (; count < entries.length; count++) {
    const nl = direntNameLength(entries[count]!.name);
    const rec = (24 + nl + 7) & ~7;
    if (used + rec > size) break;
    lengths[count] = nl;
    used += rec;
  }
  const out = new Uint8Array(16 + used);
  const v = viewOf(out);
  writeOutHeader(v, 0, 16 + used, 0, unique);
  let o = 16;
  for (let i = 0; i < count; i++) {
    const e = entries[i]!;
    const nl = lengths[i]!;
    v.setBigUint64(o, e.ino, LE);
    v.setBigUint64(o + 8, e.off, LE);
    v.setUint32(o + 16, nl, LE);
    v.setUint32(o + 20, e.type, LE);
    putName(out, o + 24, e.name, nl);
    o += (24 + nl + 7) & ~7;
  }
  return out;
}

// ---------------------------------------------------------------------------
// FUSE_COMPOUND as revision v6 of the series defines it (generated/v6/compound.ts,
// COMPOUND_SEMANTICS): outer header nodeid 0; compound_in { flags, result_size =
// sum of the expected out-arg sizes, reserved }; sub-requests back to back (no
// alignment), each a fuse_in_header with unique = op index, uid/gid/pid zero.

export type CompoundOp =
  | { readonly op: "lookup"; readonly nodeid: bigint; readonly name: string }
  | { readonly op: "open"; readonly nodeid: bigint; readonly open_in: FuseOpenIn }
  | { readonly op: "getattr"; readonly nodeid: bigint; readonly getattr_in: FuseGetattrIn }
  | { readonly op: "release"; readonly nodeid: bigint; readonly release_in: FuseReleaseIn };

export interface CompoundRequestHeader {
  readonly unique: bigint;
  readonly uid: number;
  readonly gid: number;
  readonly pid: number;
}

/** Expected out-arg sizes at minor 45: fuse_entry_out, fuse_open_out, fuse_attr_out, none. */
const OUT_SIZE = { lookup: 128, open: 16, getattr: 104, release: 0 } as const;
const OPCODE = { lookup: 1, open: 14, getattr: 3, release: 18 } as const;

function checkNodeid(nodeid: bigint): void {
  if (typeof nodeid !== "bigint" || nodeid < 0n || nodeid > 0xffffffffffffffffn) {
    throw new HandError("nodeid must be a 64-bit unsigned bigint");
  }
}

/** A v6 FUSE_COMPOUND request for `ops`, in one exact-size buffer. */
export function buildCompound(
  ops: readonly CompoundOp[],
  flags: number,
  h: CompoundRequestHeader,
): Uint8Array {
  const n = ops.length;
  const nameLengths = new Array<number>(n);
  let total = 56;
  let resultSize = 0;
  for (let i = 0; i < n; i++) {
    const op = ops[i]!;
    checkNodeid(op.nodeid);
    resultSize += OUT_SIZE[op.op];
    switch (op.op) {
      case "lookup": {
        const name = op.name;
        if (name.indexOf("\0") >= 0 || !isWellFormed.call(name)) throw new HandError("bad name");
        const nl = utf8Length(name);
        nameLengths[i] = nl;
        total += 40 + nl + 1;
        break;
      }
      case "open":
        total += 48;
        break;
      case "getattr":
        total += 56;
        break;
      case "release":
        total += 64;
        break;
    }
  }
  const out = new Uint8Array(total);
  const v = viewOf(out);
  writeInHeader(v, 0, total, 54, h.unique, 0n, h.uid, h.gid, h.pid);
  v.setUint32(40, flags, LE);
  v.setUint32(44, resultSize, LE);
  v.setBigUint64(48, 0n, LE);
  let o = 56;
  for (let i = 0; i < n; i++) {
    const op = ops[i]!;
    switch (op.op) {
      case "lookup": {
        const len = 40 + nameLengths[i]! + 1;
        writeInHeader(v, o, len, 1, BigInt(i), op.nodeid, 0, 0, 0);
        putName(out, o + 40, op.name, len - 41);
        o += len; // the NUL is already zero
        break;
      }
      case "open":
        writeInHeader(v, o, 48, 14, BigInt(i), op.nodeid, 0, 0, 0);
        v.setUint32(o + 40, op.open_in.flags, LE);
        v.setUint32(o + 44, op.open_in.open_flags, LE);
        o += 48;
        break;
      case "getattr":
        writeInHeader(v, o, 56, 3, BigInt(i), op.nodeid, 0, 0, 0);
        v.setUint32(o + 40, op.getattr_in.getattr_flags, LE);
        v.setUint32(o + 44, op.getattr_in.dummy, LE);
        v.setBigUint64(o + 48, op.getattr_in.fh, LE);
        o += 56;
        break;
      case "release":
        writeInHeader(v, o, 64, 18, BigInt(i), op.nodeid, 0, 0, 0);
        v.setBigUint64(o + 40, op.release_in.fh, LE);
        v.setUint32(o + 48, op.release_in.flags, LE);
        v.setUint32(o + 52, op.release_in.release_flags, LE);
        v.setBigUint64(o + 56, op.release_in.lock_owner, LE);
        o += 64;
        break;
    }
  }
  return out;
}

/** What the generated `parseCompoundReply` gives per op (same members, same order). */
export interface HandOpResult {
  readonly index: number;
  readonly opcode: number;
  readonly error: number;
  readonly reply: object | null;
  readonly len: number | null;
  readonly unique: bigint | null;
  readonly missing: boolean;
}

export interface HandCompoundReply {
  readonly header: FuseOutHeader;
  readonly error: number;
  readonly compound: { flags: number; padding: number; reserved: bigint } | null;
  readonly results: HandOpResult[] | null;
  readonly trailing: number;
}

/** The ops of a compound as the parser needs them: opcode and expected out-arg size. */
export interface CompoundOpInfo {
  readonly opcode: number;
  readonly outSize: number;
}

export function compoundOpInfo(ops: readonly CompoundOp[]): CompoundOpInfo[] {
  return ops.map((o) => ({ opcode: OPCODE[o.op], outSize: OUT_SIZE[o.op] }));
}

/**
 * Walks a v6 compound reply as the kernel does: sub-replies until the data ends, each at
 * least a fuse_out_header and inside the data, no more than the ops sent, the whole no
 * larger than the result size plus one header per op; a successful op's expected out args
 * are decoded, every op the walk does not reach is "missing".
 */
export function parseCompoundReply(
  bytes: Uint8Array,
  ops: readonly CompoundOpInfo[],
): HandCompoundReply {
  const n = bytes.length;
  if (n < 16) fail("fuse_out_header", 0, 16, n);
  const v = viewOf(bytes);
  const header = readOutHeader(v, 0);
  if (header.len !== n) fail("compound reply (len)", 0, header.len, n);
  if (header.error !== 0) {
    if (header.error > 0 || header.error < -511 || n !== 16)
      throw new HandError(`bad error reply ${header.error}`);
    return { header, error: header.error, compound: null, results: null, trailing: 0 };
  }
  if (n < 32) fail("fuse_compound_out", 16, 16, n - 16);
  const compound = {
    flags: v.getUint32(16, LE),
    padding: v.getUint32(20, LE),
    reserved: v.getBigUint64(24, LE),
  };
  const count = ops.length;
  let budget = 0;
  for (let i = 0; i < count; i++) budget += ops[i]!.outSize + 16;
  if (n - 32 > budget) throw new HandError("more sub-reply bytes than the kernel allows");
  const results: HandOpResult[] = [];
  let at = 32;
  let i = 0;
  for (; at < n; i++) {
    if (i >= count) throw new HandError(`sub-reply ${i + 1} has no op`);
    if (n - at < 16) fail(`sub-reply ${i}`, at - 32, 16, n - at);
    const len = v.getUint32(at, LE);
    const error = v.getInt32(at + 4, LE);
    const unique = v.getBigUint64(at + 8, LE);
    if (len < 16 || at + len > n) throw new HandError(`sub-reply ${i} has len ${len}`);
    const op = ops[i]!;
    let reply: object | null = null;
    if (error === 0) {
      const start = at + 16;
      if (start + op.outSize > n)
        fail(`sub-reply ${i} out args`, start - 32, op.outSize, n - start);
      switch (op.opcode) {
        case 1:
          reply = { entry_out: readEntryOut(v, start) };
          break;
        case 14:
          reply = { open_out: readOpenOut(v, start) };
          break;
        case 3:
          reply = { attr_out: readAttrOut(v, start) };
          break;
        case 18:
          reply = {};
          break;
        default:
          throw new HandError(`opcode ${op.opcode} is not part of this benchmark`);
      }
    }
    results.push({ index: i, opcode: op.opcode, error, reply, len, unique, missing: false });
    at += len;
  }
  for (; i < count; i++) {
    results.push({
      index: i,
      opcode: ops[i]!.opcode,
      error: 0,
      reply: null,
      len: null,
      unique: null,
      missing: true,
    });
  }
  return { header, error: 0, compound, results, trailing: 0 };
}

// ---------------------------------------------------------------------------
// FUSE_COMPOUND as revision v7 defines it (generated/v7/compound.ts): outer header nodeid 0;
// fuse_compound_in { reserved[2] } (16 bytes, zero); each sub-request is preceded by
// fuse_compound_req_in { dep_index (255: none), reserved[3] }, then its fuse_in_header
// (unique = op index, uid/gid/pid zero) and args, back to back. The reply: fuse_compound_out
// { reserved[2] }, then sub-replies whose unique must echo their sub-request's.

/** An op of the v7 compound: a v6 op and the earlier op whose nodeid it takes, if any. */
export type CompoundOpV7 = CompoundOp & { readonly dependsOn?: number };

/** A v7 FUSE_COMPOUND request for `ops`, in one exact-size buffer. */
export function buildCompoundV7(
  ops: readonly CompoundOpV7[],
  h: CompoundRequestHeader,
): Uint8Array {
  const n = ops.length;
  const nameLengths = new Array<number>(n);
  let total = 56;
  for (let i = 0; i < n; i++) {
    const op = ops[i]!;
    checkNodeid(op.nodeid);
    const dep = op.dependsOn;
    if (dep !== undefined && (!Number.isInteger(dep) || dep < 0 || dep >= i))
      throw new HandError("dependsOn must name an earlier op");
    switch (op.op) {
      case "lookup": {
        const name = op.name;
        if (name.indexOf("\0") >= 0 || !isWellFormed.call(name)) throw new HandError("bad name");
        const nl = utf8Length(name);
        nameLengths[i] = nl;
        total += 4 + 40 + nl + 1;
        break;
      }
      case "open":
        total += 4 + 48;
        break;
      case "getattr":
        total += 4 + 56;
        break;
      case "release":
        total += 4 + 64;
        break;
    }
  }
  const out = new Uint8Array(total);
  const v = viewOf(out);
  writeInHeader(v, 0, total, 54, h.unique, 0n, h.uid, h.gid, h.pid);
  // fuse_compound_in: reserved, zero in the fresh buffer.
  let o = 56;
  for (let i = 0; i < n; i++) {
    const op = ops[i]!;
    out[o] = op.dependsOn ?? 255;
    o += 4;
    switch (op.op) {
      case "lookup": {
        const len = 40 + nameLengths[i]! + 1;
        writeInHeader(v, o, len, 1, BigInt(i), op.nodeid, 0, 0, 0);
        putName(out, o + 40, op.name, len - 41);
        o += len;
        break;
      }
      case "open":
        writeInHeader(v, o, 48, 14, BigInt(i), op.nodeid, 0, 0, 0);
        v.setUint32(o + 40, op.open_in.flags, LE);
        v.setUint32(o + 44, op.open_in.open_flags, LE);
        o += 48;
        break;
      case "getattr":
        writeInHeader(v, o, 56, 3, BigInt(i), op.nodeid, 0, 0, 0);
        v.setUint32(o + 40, op.getattr_in.getattr_flags, LE);
        v.setUint32(o + 44, op.getattr_in.dummy, LE);
        v.setBigUint64(o + 48, op.getattr_in.fh, LE);
        o += 56;
        break;
      case "release":
        writeInHeader(v, o, 64, 18, BigInt(i), op.nodeid, 0, 0, 0);
        v.setBigUint64(o + 40, op.release_in.fh, LE);
        v.setUint32(o + 48, op.release_in.flags, LE);
        v.setUint32(o + 52, op.release_in.release_flags, LE);
        v.setBigUint64(o + 56, op.release_in.lock_owner, LE);
        o += 64;
        break;
    }
  }
  return out;
}

export interface HandCompoundReplyV7 {
  readonly header: FuseOutHeader;
  readonly error: number;
  readonly compound: { reserved: BigUint64Array } | null;
  readonly results: HandOpResult[] | null;
  readonly trailing: number;
}

/**
 * Walks a v7 compound reply as its kernel does: as v6 (sub-replies until the data ends, each
 * inside it, no more than the ops sent, the whole within the expected out args plus one header
 * per op), and each sub-reply's unique must be its sub-request's (the op index).
 */
export function parseCompoundReplyV7(
  bytes: Uint8Array,
  ops: readonly CompoundOpInfo[],
): HandCompoundReplyV7 {
  const n = bytes.length;
  if (n < 16) fail("fuse_out_header", 0, 16, n);
  const v = viewOf(bytes);
  const header = readOutHeader(v, 0);
  if (header.len !== n) fail("compound reply (len)", 0, header.len, n);
  if (header.error !== 0) {
    if (header.error > 0 || header.error < -511 || n !== 16)
      throw new HandError(`bad error reply ${header.error}`);
    return { header, error: header.error, compound: null, results: null, trailing: 0 };
  }
  if (n < 32) fail("fuse_compound_out", 16, 16, n - 16);
  const reserved = new BigUint64Array(2);
  reserved[0] = v.getBigUint64(16, LE);
  reserved[1] = v.getBigUint64(24, LE);
  const count = ops.length;
  let budget = 0;
  for (let i = 0; i < count; i++) budget += ops[i]!.outSize + 16;
  if (n - 32 > budget) throw new HandError("more sub-reply bytes than the kernel allows");
  const results: HandOpResult[] = [];
  let at = 32;
  let i = 0;
  for (; at < n; i++) {
    if (i >= count) throw new HandError(`sub-reply ${i + 1} has no op`);
    if (n - at < 16) fail(`sub-reply ${i}`, at - 32, 16, n - at);
    const len = v.getUint32(at, LE);
    const error = v.getInt32(at + 4, LE);
    const unique = v.getBigUint64(at + 8, LE);
    if (len < 16 || at + len > n) throw new HandError(`sub-reply ${i} has len ${len}`);
    if (unique !== BigInt(i)) throw new HandError(`sub-reply ${i} has unique ${unique}`);
    const op = ops[i]!;
    let reply: object | null = null;
    if (error === 0) {
      const start = at + 16;
      if (start + op.outSize > n)
        fail(`sub-reply ${i} out args`, start - 32, op.outSize, n - start);
      switch (op.opcode) {
        case 1:
          reply = { entry_out: readEntryOut(v, start) };
          break;
        case 14:
          reply = { open_out: readOpenOut(v, start) };
          break;
        case 3:
          reply = { attr_out: readAttrOut(v, start) };
          break;
        case 18:
          reply = {};
          break;
        default:
          throw new HandError(`opcode ${op.opcode} is not part of this benchmark`);
      }
    }
    results.push({ index: i, opcode: op.opcode, error, reply, len, unique, missing: false });
    at += len;
  }
  for (; i < count; i++) {
    results.push({
      index: i,
      opcode: ops[i]!.opcode,
      error: 0,
      reply: null,
      len: null,
      unique: null,
      missing: true,
    });
  }
  return { header, error: 0, compound: { reserved }, results, trailing: 0 };
}
