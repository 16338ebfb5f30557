/**
 * The other libraries a Node user would reach for, given the same structs:
 * binary-parser (compiles a parser to straight-line JavaScript; decode only)
 * and restructure (declarative structs with decode and encode).
 *
 * restructure has no 64-bit integers; it is extended the way its README says,
 * with a type object of decode/encode/size, here reading and writing bigint
 * through the stream's own DataView (the fastest way it offers). The structs
 * produce the same members with the same types as the generated code, which
 * bench/codecs/workloads.ts checks before timing.
 */
import { Parser } from "binary-parser";
import * as r from "restructure";
import type { FuseEntryOut } from "../../generated/base-7.45/index.js";
import type { DirentplusEntry } from "./handwritten.js";

// ---------------------------------------------------------------------------
// binary-parser

const bpInHeader = new Parser()
  .endianness("little")
  .uint32("len")
  .uint32("opcode")
  .uint64("unique")
  .uint64("nodeid")
  .uint32("uid")
  .uint32("gid")
  .uint32("pid")
  .uint16("total_extlen")
  .uint16("padding");

const bpGetattrIn = new Parser()
  .endianness("little")
  .uint32("getattr_flags")
  .uint32("dummy")
  .uint64("fh");

const bpWriteIn = new Parser()
  .endianness("little")
  .uint64("fh")
  .uint64("offset")
  .uint32("size")
  .uint32("write_flags")
  .uint64("lock_owner")
  .uint32("flags")
  .uint32("padding");

const bpGetattrMessage = new Parser()
  .endianness("little")
  .nest("header", { type: bpInHeader })
  .nest("getattr_in", { type: bpGetattrIn });

const bpWriteMessage = new Parser()
  .endianness("little")
  .nest("header", { type: bpInHeader })
  .nest("write_in", { type: bpWriteIn })
  // clone: false (the default) gives a view of the input, like the generated code.
  .buffer("data", { readUntil: "eof" });

export const binaryParser = {
  decodeGetattr: (bytes: Uint8Array): unknown => bpGetattrMessage.parse(bytes),
  decodeWrite: (bytes: Uint8Array): unknown => bpWriteMessage.parse(bytes),
};

// ---------------------------------------------------------------------------
// restructure

/** uint64 little-endian as bigint: restructure's extension point (decode/encode/size). */
const uint64le: r.RType = {
  decode(stream: r.DecodeStream): bigint {
    const v = stream.view.getBigUint64(stream.pos, true);
    stream.pos += 8;
    return v;
  },
  encode(stream: r.EncodeStream, value: unknown): void {
    stream.view.setBigUint64(stream.pos, value as bigint, true);
    stream.pos += 8;
  },
  size: () => 8,
};

const rsInHeader = new r.Struct({
  len: r.uint32le,
  opcode: r.uint32le,
  unique: uint64le,
  nodeid: uint64le,
  uid: r.uint32le,
  gid: r.uint32le,
  pid: r.uint32le,
  total_extlen: r.uint16le,
  padding: r.uint16le,
});
const rsGetattrIn = new r.Struct({ getattr_flags: r.uint32le, dummy: r.uint32le, fh: uint64le });
const rsWriteIn = new r.Struct({
  fh: uint64le,
  offset: uint64le,
  size: r.uint32le,
  write_flags: r.uint32le,
  lock_owner: uint64le,
  flags: r.uint32le,
  padding: r.uint32le,
});
const rsGetattrMessage = new r.Struct({ header: rsInHeader, getattr_in: rsGetattrIn });
const rsWriteHead = new r.Struct({ header: rsInHeader, write_in: rsWriteIn });

const rsOutHeader = new r.Struct({ len: r.uint32le, error: r.int32le, unique: uint64le });
const rsAttr = new r.Struct({
  ino: uint64le,
  size: uint64le,
  blocks: uint64le,
  atime: uint64le,
  mtime: uint64le,
  ctime: uint64le,
  atimensec: r.uint32le,
  mtimensec: r.uint32le,
  ctimensec: r.uint32le,
  mode: r.uint32le,
  nlink: r.uint32le,
  uid: r.uint32le,
  gid: r.uint32le,
  rdev: r.uint32le,
  blksize: r.uint32le,
  flags: r.uint32le,
});
const rsEntryOut = new r.Struct({
  nodeid: uint64le,
  generation: uint64le,
  entry_valid: uint64le,
  attr_valid: uint64le,
  entry_valid_nsec: r.uint32le,
  attr_valid_nsec: r.uint32le,
  attr: rsAttr,
});
const rsLookupReply = new r.Struct({ header: rsOutHeader, entry_out: rsEntryOut });

interface EncodeCtx {
  val: { namelen: number };
}

/** fuse_direntplus plus its name and the padding to 8 bytes; `namelen` is the name's UTF-8 length. */
const rsDirentplus = new r.Struct({
  entry_out: rsEntryOut,
  ino: uint64le,
  off: uint64le,
  namelen: r.uint32le,
  type: r.uint32le,
  name: new r.String("namelen", "utf8"),
  pad: new r.Reserved(r.uint8, function (this: unknown, ctx: unknown): number {
    return (8 - ((152 + (ctx as EncodeCtx).val.namelen) & 7)) & 7;
  }),
});
const rsReaddirplusReply = new r.Struct({
  header: rsOutHeader,
  entries: new r.Array(rsDirentplus),
});

const utf8 = new TextEncoder();

export const restructure = {
  decodeGetattr: (bytes: Uint8Array): unknown => rsGetattrMessage.fromBuffer(bytes),
  /** The structs through restructure; the payload as a view (its Buffer type would copy it). */
  decodeWrite(bytes: Uint8Array): unknown {
    const head = rsWriteHead.decode(new r.DecodeStream(bytes)) as {
      header: unknown;
      write_in: unknown;
    };
    return { header: head.header, write_in: head.write_in, data: bytes.subarray(80) };
  },
  encodeLookupReply: (unique: bigint, entry: FuseEntryOut): Uint8Array =>
    rsLookupReply.toBuffer({ header: { len: 144, error: 0, unique }, entry_out: entry }),
  /**
   * A READDIRPLUS reply: restructure needs each record's name length and the message
   * length up front, so they are computed here (as many records as fit in `size`).
   */
  encodeReaddirplusReply(
    unique: bigint,
    entries: readonly DirentplusEntry[],
    size: number,
  ): Uint8Array {
    const records = [];
    let used = 0;
    for (const e of entries) {
      // The checks the generated encoder and the hand-written code make, so all do the same work.
      if (e.name.length === 0 || e.name.includes("/") || e.name.includes("\0"))
        throw new Error("bad name");
      const namelen = utf8.encode(e.name).length;
      const rec = (152 + namelen + 7) & ~7;
      if (used + rec > size) break;
      used += rec;
      records.push({
        entry_out: e.entry_out,
        ino: e.ino,
        off: e.off,
        namelen,
        type: e.type,
        name: e.name,
      });
    }
    return rsReaddirplusReply.toBuffer({
      header: { len: 16 + used, error: 0, unique },
      entries: records,
    });
  },
};
