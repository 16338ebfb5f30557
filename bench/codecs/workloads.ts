/**
 * The codec work of issue E's first table, each with its contenders: the
 * generated code, the hand-written DataView code (the baseline, always first),
 * and binary-parser / restructure where the library can do the job.
 *
 * Every contender is checked once, before any timing, to produce exactly what
 * the generated code produces (the same bytes, or the same members with the
 * same types): a contender that computes something else is no contender.
 */
import { deepStrictEqual } from "node:assert/strict";
import * as g from "../../generated/base-7.45/index.js";
import * as v6 from "../../generated/v6/index.js";
import * as v7 from "../../generated/v7/index.js";
import type { Contender } from "../lib/timing.js";
import * as hand from "./handwritten.js";
import { binaryParser, restructure } from "./libraries.js";

export interface Workload {
  /** The work, as the table names it. */
  readonly title: string;
  /** What exactly is timed, for the detail table. */
  readonly note: string;
  /** contenders[0] is the hand-written baseline. */
  readonly contenders: readonly Contender[];
  /** Throws unless every contender computes what the generated code does. */
  verify(): void;
}

const MSG = { minor: 45 } as const;
const viewOf = (b: Uint8Array) => new DataView(b.buffer, b.byteOffset, b.byteLength);

// ---------------------------------------------------------------------------
// Fixtures: realistic values, 64-bit members above 2^32 so no path can cheat on them.

const inHeader = (len: number, opcode: number): g.FuseInHeader => ({
  len,
  opcode,
  unique: 0x1_0000_0042n,
  nodeid: 0x2_0000_0005n,
  uid: 1000,
  gid: 1000,
  pid: 4242,
  total_extlen: 0,
  padding: 0,
});

const GETATTR = g.encodeRequest(
  {
    op: "FUSE_GETATTR",
    opcode: g.FuseOpcode.FUSE_GETATTR,
    header: inHeader(0, 0),
    getattr_in: { getattr_flags: 1, dummy: 0, fh: 0x7_0000_0003n },
  },
  MSG,
);
const GETATTR_VIEW = viewOf(GETATTR);

const PAYLOAD = new Uint8Array(4096).map((_, i) => (i * 31 + 7) & 0xff);
const WRITE = g.encodeRequest(
  {
    op: "FUSE_WRITE",
    opcode: g.FuseOpcode.FUSE_WRITE,
    header: inHeader(0, 0),
    write_in: {
      fh: 0x7_0000_0003n,
      offset: 0x4000_1000n,
      size: PAYLOAD.length,
      write_flags: 0,
      lock_owner: 0xdead_beef_0000_0001n,
      flags: 0x8002,
      padding: 0,
    },
    data: PAYLOAD,
  },
  MSG,
);
const WRITE_VIEW = viewOf(WRITE);

const attr = (ino: bigint, size: bigint): g.FuseAttr => ({
  ino,
  size,
  blocks: (size + 511n) / 512n,
  atime: 1_700_000_000n,
  mtime: 1_700_000_123n,
  ctime: 1_700_000_456n,
  atimensec: 111_111_111,
  mtimensec: 222_222_222,
  ctimensec: 333_333_333,
  mode: 0o100644,
  nlink: 1,
  uid: 1000,
  gid: 1000,
  rdev: 0,
  blksize: 4096,
  flags: 0,
});
const entryOut = (ino: bigint): g.FuseEntryOut => ({
  nodeid: ino,
  generation: 1n,
  entry_valid: 1n,
  attr_valid: 1n,
  entry_valid_nsec: 500_000_000,
  attr_valid_nsec: 500_000_000,
  attr: attr(ino, 12_345n + ino),
});

const UNIQUE = 0x1_0000_0042n;
const ENTRY = entryOut(0x1_0000_0007n);

/** 100 directory entries; every tenth name is not ASCII (UTF-8 paths). */
const NAMES = Array.from({ length: 100 }, (_, i) =>
  i % 10 === 9 ? `résumé-${i}.txt` : `file-${String(i).padStart(3, "0")}.c`,
);
const DIRENTPLUS: hand.DirentplusEntry[] = NAMES.map((name, i) => ({
  entry_out: entryOut(0x1000n + BigInt(i)),
  ino: 0x1000n + BigInt(i),
  off: BigInt(i + 1),
  type: 8,
  name,
}));
const DIRENTS: hand.DirentEntry[] = DIRENTPLUS.map(({ ino, off, type, name }) => ({
  ino,
  off,
  type,
  name,
}));
/** read_in.size of the READDIR(PLUS) request: room for all 100 records. */
const DIR_SIZE = 32768;

// FUSE_COMPOUND v6: 16 ops, four rounds of LOOKUP, OPEN, GETATTR, RELEASE.
const COMPOUND_OPS: hand.CompoundOp[] = [];
for (let k = 0; k < 4; k++) {
  const ino = 0x1_0000_0100n + BigInt(k);
  const fh = 0x7_0000_0000n + BigInt(k);
  COMPOUND_OPS.push(
    { op: "lookup", nodeid: 1n, name: `file-${k}.txt` },
    { op: "open", nodeid: ino, open_in: { flags: 0x8002, open_flags: 0 } },
    { op: "getattr", nodeid: ino, getattr_in: { getattr_flags: 1, dummy: 0, fh } },
    {
      op: "release",
      nodeid: ino,
      release_in: { fh, flags: 0x8002, release_flags: 0, lock_owner: 0n },
    },
  );
}
const COMPOUND_HEADER = { unique: 0x10_0000n, uid: 1000, gid: 1000, pid: 4242 };
const SEPARABLE = v6.COMPOUND_FLAGS.FUSE_COMPOUND_SEPARABLE;

type AnyBuilder = v6.CompoundBuilder<readonly v6.CompoundOpRef[]>;

function generatedBuild(): { bytes: Uint8Array; builder: AnyBuilder } {
  const b = generatedBuilder();
  return { bytes: b.encode(COMPOUND_HEADER), builder: b };
}

/** The v6 builder with the 16 ops added as a user adds them: the typed methods, then the flag. */
function generatedBuilder(): AnyBuilder {
  let b = new v6.CompoundBuilder({ minor: 45 }) as AnyBuilder;
  for (const o of COMPOUND_OPS) {
    switch (o.op) {
      case "lookup":
        b = b.lookup(o.nodeid, o.name) as unknown as AnyBuilder;
        break;
      case "open":
        b = b.open(o.nodeid, o.open_in) as unknown as AnyBuilder;
        break;
      case "getattr":
        b = b.getattr(o.nodeid, o.getattr_in) as unknown as AnyBuilder;
        break;
      case "release":
        b = b.release(o.nodeid, o.release_in) as unknown as AnyBuilder;
        break;
    }
  }
  b.flags("FUSE_COMPOUND_SEPARABLE");
  return b;
}

/** One buffer the `encodeInto` variants write into, call after call (room for either compound). */
const COMPOUND_TARGET = new Uint8Array(4096);

const built = generatedBuild();
/** The ops as the caller of the generated parser has them (builder.ops after encode). */
const COMPOUND_REFS = built.builder.ops;
const COMPOUND_INFO = hand.compoundOpInfo(COMPOUND_OPS);
const COMPOUND_REPLY = v6.encodeCompoundReply(
  COMPOUND_HEADER.unique,
  COMPOUND_OPS.map((o, i): v6.CompoundReplyEntry => {
    const unique = BigInt(i);
    switch (o.op) {
      case "lookup":
        return {
          opcode: 1,
          reply: { entry_out: entryOut(0x1_0000_0100n + BigInt(i >> 2)) },
          unique,
        };
      case "open":
        return {
          opcode: 14,
          reply: {
            open_out: { fh: 0x7_0000_0000n + BigInt(i >> 2), open_flags: 0, backing_id: 0 },
          },
          unique,
        };
      case "getattr":
        return {
          opcode: 3,
          reply: {
            attr_out: { attr_valid: 1n, attr_valid_nsec: 0, dummy: 0, attr: attr(o.nodeid, 4096n) },
          },
          unique,
        };
      case "release":
        return { opcode: 18, reply: {}, unique };
    }
  }),
  MSG,
);

// FUSE_COMPOUND v7: the same 16 ops, each round's OPEN, GETATTR and RELEASE depending on its
// LOOKUP (nodeid 0: the server threads the looked-up nodeid in).
const COMPOUND_V7_OPS: hand.CompoundOpV7[] = COMPOUND_OPS.map((o, i) =>
  i % 4 === 0 ? o : { ...o, nodeid: 0n, dependsOn: i - (i % 4) },
);

type AnyBuilderV7 = v7.CompoundBuilder<readonly v7.CompoundOpRef[]>;

/** The v7 request as a user builds it: the typed methods, dependents with `{ dependsOn }`. */
function generatedBuildV7(): { bytes: Uint8Array; builder: AnyBuilderV7 } {
  const b = generatedBuilderV7();
  return { bytes: b.encode(COMPOUND_HEADER), builder: b };
}

/** The v7 builder with the 16 ops added: the typed methods, dependents with `{ dependsOn }`. */
function generatedBuilderV7(): AnyBuilderV7 {
  let b = new v7.CompoundBuilder({ minor: 45 }) as AnyBuilderV7;
  for (const o of COMPOUND_V7_OPS) {
    // The builder's type allows only earlier indexes; the loop's index is a plain number.
    const dep = (o.dependsOn === undefined ? undefined : { dependsOn: o.dependsOn }) as never;
    switch (o.op) {
      case "lookup":
        b = b.lookup(o.nodeid, o.name, dep) as unknown as AnyBuilderV7;
        break;
      case "open":
        b = b.open(o.nodeid, o.open_in, dep) as unknown as AnyBuilderV7;
        break;
      case "getattr":
        b = b.getattr(o.nodeid, o.getattr_in, dep) as unknown as AnyBuilderV7;
        break;
      case "release":
        b = b.release(o.nodeid, o.release_in, dep) as unknown as AnyBuilderV7;
        break;
    }
  }
  return b;
}

/** `encodeInto` one reused buffer; the bytes written, as a view (the check compares them). */
function intoTarget(b: { encodeInto(h: typeof COMPOUND_HEADER, buf: Uint8Array): number }) {
  return COMPOUND_TARGET.subarray(0, b.encodeInto(COMPOUND_HEADER, COMPOUND_TARGET));
}

const builtV7 = generatedBuildV7();
const COMPOUND_V7_REFS = builtV7.builder.ops;
const COMPOUND_V7_REPLY = v7.encodeCompoundReply(
  COMPOUND_HEADER.unique,
  COMPOUND_V7_OPS.map((o, i): v7.CompoundReplyEntry => {
    const unique = BigInt(i);
    const ino = 0x1_0000_0100n + BigInt(i >> 2);
    switch (o.op) {
      case "lookup":
        return { opcode: 1, reply: { entry_out: entryOut(ino) }, unique };
      case "open":
        return {
          opcode: 14,
          reply: {
            open_out: { fh: 0x7_0000_0000n + BigInt(i >> 2), open_flags: 0, backing_id: 0 },
          },
          unique,
        };
      case "getattr":
        return {
          opcode: 3,
          reply: {
            attr_out: { attr_valid: 1n, attr_valid_nsec: 0, dummy: 0, attr: attr(ino, 4096n) },
          },
          unique,
        };
      case "release":
        return { opcode: 18, reply: {}, unique };
    }
  }),
  MSG,
);

// ---------------------------------------------------------------------------
// Checking contenders

function bytesOf(x: unknown): Buffer {
  if (x instanceof DataView) return Buffer.from(x.buffer, x.byteOffset, x.byteLength);
  if (x instanceof Uint8Array) return Buffer.from(x.buffer, x.byteOffset, x.byteLength);
  throw new Error(`expected bytes, got ${Object.prototype.toString.call(x)}`);
}

/** Data views compared by their bytes; everything else member by member (types included). */
function normalise(x: unknown): unknown {
  if (x instanceof Uint8Array) return { bytes: Buffer.from(x).toString("hex") };
  if (Array.isArray(x)) return x.map(normalise);
  if (typeof x === "object" && x !== null) {
    return Object.fromEntries(Object.entries(x).map(([k, v]) => [k, normalise(v)]));
  }
  return x;
}

function sameValues(
  title: string,
  contenders: readonly Contender[],
  reference: () => unknown,
): void {
  const want = normalise(reference());
  for (const c of contenders) {
    try {
      deepStrictEqual(normalise(c.fn()), want);
    } catch (err) {
      throw new Error(
        `${title}: ${c.name} does not compute what the generated code does:\n${(err as Error).message}`,
      );
    }
  }
}

/** For encoders into a caller's buffer: fill it with garbage first, so every byte must be written. */
function sameBytes(
  title: string,
  contenders: readonly Contender[],
  reference: () => unknown,
  scratch: readonly Uint8Array[] = [],
): void {
  const garble = () => scratch.forEach((s) => s.fill(0xa5));
  garble();
  const want = Buffer.from(bytesOf(reference()));
  for (const c of contenders) {
    garble();
    const got = bytesOf(c.fn());
    if (!got.equals(want)) {
      throw new Error(
        `${title}: ${c.name} writes other bytes than the generated code:\n  got  ${got.toString("hex")}\n  want ${want.toString("hex")}`,
      );
    }
  }
}

// ---------------------------------------------------------------------------
// The workloads

export function codecWorkloads(): Workload[] {
  const list: Workload[] = [];

  {
    const title = "decode `fuse_in_header` + `fuse_getattr_in` (56 B), per-struct codecs";
    const generated = () => ({
      header: g.decodeFuseInHeader(GETATTR_VIEW, 0),
      getattr_in: g.decodeFuseGetattrIn(GETATTR_VIEW, 40),
    });
    const contenders: Contender[] = [
      { name: "hand-written", fn: () => hand.decodeGetattrMessage(GETATTR_VIEW) },
      { name: "generated", fn: generated },
      { name: "binary-parser", fn: () => binaryParser.decodeGetattr(GETATTR) },
      { name: "restructure", fn: () => restructure.decodeGetattr(GETATTR) },
    ];
    list.push({
      title,
      note: "the message's DataView is kept by the caller (the codecs take it instead of the Uint8Array); the libraries take the Uint8Array",
      contenders,
      verify: () => sameValues(title, contenders, generated),
    });
  }
  {
    const title = "same through `decodeRequest`";
    const generated = () => g.decodeRequest(GETATTR, MSG);
    const contenders: Contender[] = [
      { name: "hand-written", fn: () => hand.decodeRequest(GETATTR) },
      { name: "generated", fn: generated },
    ];
    list.push({
      title,
      note: "from the Uint8Array: header, length checks, dispatch on the opcode, the opcode's struct",
      contenders,
      verify: () => sameValues(title, contenders, generated),
    });
  }
  {
    const title =
      "encode LOOKUP reply (`fuse_out_header` + `fuse_entry_out`, 144 B), per-struct codecs, view cached";
    const bufs = [0, 1, 2, 3].map(() => new Uint8Array(144));
    const views = bufs.map(viewOf);
    const generated = () => {
      g.encodeFuseOutHeader({ len: 144, error: 0, unique: UNIQUE }, views[1]!, 0);
      g.encodeFuseEntryOut(ENTRY, views[1]!, 16);
      return bufs[1]!;
    };
    const contenders: Contender[] = [
      {
        name: "hand-written",
        fn: () => (hand.encodeLookupReplyInto(views[0]!, UNIQUE, ENTRY), bufs[0]!),
      },
      { name: "generated", fn: generated },
      {
        name: "generated, Uint8Array (a DataView per call)",
        fn: () => {
          g.encodeFuseOutHeader({ len: 144, error: 0, unique: UNIQUE }, bufs[2]!, 0);
          g.encodeFuseEntryOut(ENTRY, bufs[2]!, 16);
          return bufs[2]!;
        },
      },
      {
        name: "generated, encodeReplyInto",
        fn: () => (
          g.encodeReplyInto(
            bufs[3]!,
            0,
            UNIQUE,
            { entry_out: ENTRY },
            { opcode: g.FuseOpcode.FUSE_LOOKUP, minor: 45 },
          ),
          bufs[3]!
        ),
      },
      { name: "restructure", fn: () => restructure.encodeLookupReply(UNIQUE, ENTRY) },
    ];
    list.push({
      title,
      note: "into a 144-byte buffer the caller keeps (restructure can only allocate one: `toBuffer`); the `encodeReplyInto` variant is the message-level entry point into the caller's buffer",
      contenders,
      verify: () => sameBytes(title, contenders, generated, bufs),
    });
  }
  {
    const title = "same through `encodeReply` (allocates its buffer)";
    const generated = () =>
      g.encodeReply(UNIQUE, { entry_out: ENTRY }, { opcode: g.FuseOpcode.FUSE_LOOKUP, minor: 45 });
    const contenders: Contender[] = [
      { name: "hand-written", fn: () => hand.encodeLookupReply(UNIQUE, ENTRY) },
      { name: "generated", fn: generated },
      { name: "restructure", fn: () => restructure.encodeLookupReply(UNIQUE, ENTRY) },
    ];
    list.push({
      title,
      note: "a new 144-byte message per call",
      contenders,
      verify: () => sameBytes(title, contenders, generated),
    });
  }
  {
    const title = "decode WRITE with 4 KiB payload, per-struct codecs";
    const generated = () => ({
      header: g.decodeFuseInHeader(WRITE_VIEW, 0),
      write_in: g.decodeFuseWriteIn(WRITE_VIEW, 40),
      data: WRITE.subarray(80),
    });
    const contenders: Contender[] = [
      { name: "hand-written", fn: () => hand.decodeWriteMessage(WRITE_VIEW, WRITE) },
      { name: "generated", fn: generated },
      { name: "binary-parser", fn: () => binaryParser.decodeWrite(WRITE) },
      { name: "restructure", fn: () => restructure.decodeWrite(WRITE) },
    ];
    list.push({
      title,
      note: "header and write_in decoded, the payload a view (no copy); view cached as above",
      contenders,
      verify: () => sameValues(title, contenders, generated),
    });
  }
  {
    const title = "decode WRITE with 4 KiB payload through `decodeRequest`";
    const generated = () => g.decodeRequest(WRITE, MSG);
    const contenders: Contender[] = [
      { name: "hand-written", fn: () => hand.decodeRequest(WRITE) },
      { name: "generated", fn: generated },
    ];
    list.push({
      title,
      note: "from the Uint8Array",
      contenders,
      verify: () => sameValues(title, contenders, generated),
    });
  }
  {
    const title = "encode a READDIRPLUS reply of 100 entries";
    // A server keeps one list encoder and reuses its buffer for every listing.
    const encoder = new g.DirentplusListEncoder(DIR_SIZE);
    const generated = () => {
      encoder.reset();
      for (const e of DIRENTPLUS) if (!encoder.add(e)) break;
      return encoder.buffer.subarray(0, encoder.finishReply(UNIQUE));
    };
    const fresh = () => {
      const l = new g.DirentplusListEncoder(DIR_SIZE);
      for (const e of DIRENTPLUS) if (!l.add(e)) break;
      return g.encodeReply(
        UNIQUE,
        { data: l.finish() },
        { opcode: g.FuseOpcode.FUSE_READDIRPLUS, minor: 45 },
      );
    };
    const contenders: Contender[] = [
      { name: "hand-written", fn: () => hand.encodeReaddirplusReply(UNIQUE, DIRENTPLUS, DIR_SIZE) },
      { name: "generated", fn: generated },
      { name: "generated, new encoder + encodeReply", fn: fresh },
      {
        name: "restructure",
        fn: () => restructure.encodeReaddirplusReply(UNIQUE, DIRENTPLUS, DIR_SIZE),
      },
    ];
    list.push({
      title,
      note: "the whole message (out header + records, names checked and padded); generated: one DirentplusListEncoder reused (reset, add, finishReply: the message in its buffer, no copy); the variant makes a new encoder per reply and copies the records with encodeReply; hand-written allocates an exact-size message",
      contenders,
      verify: () => sameBytes(title, contenders, generated),
    });
  }
  {
    const title = "encode a READDIR reply of 100 entries";
    const encoder = new g.DirentListEncoder(DIR_SIZE);
    const generated = () => {
      encoder.reset();
      for (const e of DIRENTS) if (!encoder.add(e)) break;
      return encoder.buffer.subarray(0, encoder.finishReply(UNIQUE));
    };
    const fresh = () => {
      const l = new g.DirentListEncoder(DIR_SIZE);
      for (const e of DIRENTS) if (!l.add(e)) break;
      return g.encodeReply(
        UNIQUE,
        { data: l.finish() },
        { opcode: g.FuseOpcode.FUSE_READDIR, minor: 45 },
      );
    };
    const contenders: Contender[] = [
      { name: "hand-written", fn: () => hand.encodeReaddirReply(UNIQUE, DIRENTS, DIR_SIZE) },
      { name: "generated", fn: generated },
      { name: "generated, new encoder + encodeReply", fn: fresh },
    ];
    list.push({
      title,
      note: "as READDIRPLUS, with fuse_dirent records (not in the issue's table; its 'done when' names it)",
      contenders,
      verify: () => sameBytes(title, contenders, generated),
    });
  }
  {
    const title = "FUSE_COMPOUND v6, 16 ops: build the request";
    const generated = () => generatedBuild().bytes;
    const contenders: Contender[] = [
      {
        name: "hand-written",
        fn: () => hand.buildCompound(COMPOUND_OPS, SEPARABLE, COMPOUND_HEADER),
      },
      { name: "generated", fn: generated },
      { name: "generated, encodeInto", fn: () => intoTarget(generatedBuilder()) },
    ];
    list.push({
      title,
      note: "4 × (LOOKUP, OPEN, GETATTR, RELEASE), flag SEPARABLE; generated: CompoundBuilder methods + encode (encodeInto: into one reused buffer)",
      contenders,
      verify: () => sameBytes(title, contenders, generated),
    });
  }
  {
    const title = "FUSE_COMPOUND v6, 16 ops: parse the reply";
    const generated = () =>
      v6.parseCompoundReply(COMPOUND_REPLY, { ops: COMPOUND_REFS, minor: 45 });
    const contenders: Contender[] = [
      { name: "hand-written", fn: () => hand.parseCompoundReply(COMPOUND_REPLY, COMPOUND_INFO) },
      { name: "generated", fn: generated },
    ];
    list.push({
      title,
      note: `the ${COMPOUND_REPLY.length}-byte reply to the request above, walked as v6's kernel does, every op's out args decoded`,
      contenders,
      verify: () => sameValues(title, contenders, generated),
    });
  }
  {
    const title = "FUSE_COMPOUND v7, 16 ops with dependencies: build the request";
    const generated = () => generatedBuildV7().bytes;
    const contenders: Contender[] = [
      { name: "hand-written", fn: () => hand.buildCompoundV7(COMPOUND_V7_OPS, COMPOUND_HEADER) },
      { name: "generated", fn: generated },
      { name: "generated, encodeInto", fn: () => intoTarget(generatedBuilderV7()) },
    ];
    list.push({
      title,
      note: "4 × (LOOKUP, then OPEN, GETATTR, RELEASE each depending on that LOOKUP: nodeid 0, dep_index set); generated: CompoundBuilder methods with `{ dependsOn }` + encode (encodeInto: into one reused buffer)",
      contenders,
      verify: () => sameBytes(title, contenders, generated),
    });
  }
  {
    const title = "FUSE_COMPOUND v7, 16 ops with dependencies: parse the reply";
    const generated = () =>
      v7.parseCompoundReply(COMPOUND_V7_REPLY, { ops: COMPOUND_V7_REFS, minor: 45 });
    const contenders: Contender[] = [
      {
        name: "hand-written",
        fn: () => hand.parseCompoundReplyV7(COMPOUND_V7_REPLY, COMPOUND_INFO),
      },
      { name: "generated", fn: generated },
    ];
    list.push({
      title,
      note: `the ${COMPOUND_V7_REPLY.length}-byte reply to the request above, walked as v7's kernel does (each sub-reply's unique checked), every op's out args decoded`,
      contenders,
      verify: () => sameValues(title, contenders, generated),
    });
  }
  return list;
}
