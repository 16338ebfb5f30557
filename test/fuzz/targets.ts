/**
 * The decoders under test, one {@link Target} each, with their property:
 * - a struct codec: the bytes a struct may hold (implicit padding zero) decode and re-encode
 *   to the same bytes, from every kind of buffer, in both byte orders; a buffer too short is
 *   a FuseDecodeError;
 * - a message decoder (request, reply, notification, directory listings, names, compound
 *   request, compound reply walk): whatever it accepts re-encodes, through the revision's own
 *   encoder, to exactly the bytes it was given; anything else is one of the project's typed
 *   errors. What the encoder produces, the decoder accepts.
 *
 * A target's `run` returns "accepted" or "rejected" (a typed error); it throws a
 * {@link PropertyFailure} when the property is broken, and lets any other exception through
 * (the caller counts those as untyped).
 */
import { createHash } from "node:crypto";
import { isTypedError, type Revision, type SchemaStruct } from "./revisions.js";
import { Rng } from "./rng.js";
import {
  opcodeValue,
  randomDirentName,
  randomDirents,
  randomParts,
  randomReply,
  randomRequest,
  unknownRequest,
  type MessageOpts,
} from "./values.js";

/* eslint-disable @typescript-eslint/no-explicit-any -- decoded values of any revision */
type Value = Record<string, any>;

export type Verdict = "accepted" | "rejected";
export type FailureKind = "not-re-encodable" | "valid-refused" | "wrong-verdict";

/** The property broke (as opposed to the decoder crashing). */
export class PropertyFailure extends Error {
  readonly kind: FailureKind;
  constructor(kind: FailureKind, message: string) {
    super(message);
    this.name = "PropertyFailure";
    this.kind = kind;
  }
}

export interface Target {
  /** `<revision>/<decoder>`, e.g. `v7/request` or `v7/struct/fuse_attr`. */
  readonly id: string;
  /** Same key, same generated implementation: the long pass fuzzes one target per key. */
  readonly impl: string;
  /** How many values the selector (config bits 9 and up) takes: 1 where it picks nothing. */
  readonly selectors: number;
  /** Seeds are costly (built through encoders): reuse a pool of them per config class. */
  readonly pooled: boolean;
  /** A valid encoding under `config` (null where none exists, e.g. a reply to FORGET). */
  seed(rng: Rng, config: number): Uint8Array | null;
  run(bytes: Uint8Array, config: number): Verdict;
}

/** The last typed error a target took as a rejection (for reports of refused seeds). */
export let lastRejection: Error | null = null;

function rejected(e: unknown): Verdict {
  lastRejection = e as Error;
  return "rejected";
}

// ---------------------------------------------------------------------------
// Inputs: buffer kinds and options, chosen by the config word

/**
 * The same bytes in another kind of buffer: bits 0-1 of config pick a plain copy, a view at an
 * odd offset of a larger buffer (with non-zero bytes around it), a SharedArrayBuffer, or a
 * Node Buffer (small ones come from the shared pool, at an offset).
 */
export function asView(bytes: Uint8Array, config: number): Uint8Array {
  switch (config & 3) {
    case 0:
      return bytes.slice();
    case 1: {
      const b = new Uint8Array(bytes.length + 10).fill(0xa5);
      b.set(bytes, 3);
      return b.subarray(3, 3 + bytes.length);
    }
    case 2: {
      const v = new Uint8Array(new SharedArrayBuffer(bytes.length + 5), 1, bytes.length);
      v.set(bytes);
      return v;
    }
    default:
      return Buffer.from(bytes);
  }
}

const MINORS = [45, 45, 45, 44, 36, 35, 23, 22, 12, 11, 9, 8, 5, 4, 0];

/** Bit 3: big-endian; bits 4-7: the negotiated minor; bit 8: FUSE_SETXATTR_EXT. */
export function messageOpts(config: number): MessageOpts {
  return {
    minor: MINORS[((config >>> 4) & 15) % MINORS.length]!,
    littleEndian: (config & 8) === 0,
    setxattrExt: (config & 0x100) !== 0,
  };
}

/** Bits 9 and up pick an opcode, a notification, an op list. */
function selector(config: number): number {
  return config >>> 9;
}

function equalBytes(a: Uint8Array, b: Uint8Array): boolean {
  if (a.length !== b.length) return false;
  for (let i = 0; i < a.length; i++) if (a[i] !== b[i]) return false;
  return true;
}

function hex(b: Uint8Array, max = 64): string {
  let s = "";
  for (let i = 0; i < Math.min(b.length, max); i++) s += b[i]!.toString(16).padStart(2, "0");
  return b.length > max ? `${s}...` : s;
}

function firstDiff(a: Uint8Array, b: Uint8Array): number {
  const n = Math.min(a.length, b.length);
  for (let i = 0; i < n; i++) if (a[i] !== b[i]) return i;
  return n;
}

/**
 * Decode, then re-encode: a typed error while decoding is a rejection; anything the encoder
 * then refuses, or bytes that differ, break the property.
 */
function roundTrip(
  bytes: Uint8Array,
  decode: () => unknown,
  encode: (decoded: any) => Uint8Array,
  alternatives: (decoded: any) => Uint8Array[] = () => [],
): Verdict {
  let decoded: unknown;
  try {
    decoded = decode();
  } catch (e) {
    if (isTypedError(e)) return rejected(e);
    throw e;
  }
  let again: Uint8Array;
  try {
    again = encode(decoded);
  } catch (e) {
    throw new PropertyFailure(
      "not-re-encodable",
      `accepted, but the encoder refuses the decoded value: ${(e as Error).message}`,
    );
  }
  if (equalBytes(again, bytes)) return "accepted";
  for (const alt of alternatives(decoded)) if (equalBytes(alt, bytes)) return "accepted";
  const at = firstDiff(again, bytes);
  throw new PropertyFailure(
    "not-re-encodable",
    `accepted ${bytes.length} bytes, re-encoded ${again.length}; first difference at ${at}: ` +
      `given ${hex(bytes.subarray(at, at + 16))}, re-encoded ${hex(again.subarray(at, at + 16))}`,
  );
}

// ---------------------------------------------------------------------------
// Struct codecs

function structImpl(s: SchemaStruct): string {
  // Same members, same layout: the template makes the same codec.
  const strip = (v: unknown): unknown =>
    Array.isArray(v)
      ? v.map(strip)
      : v && typeof v === "object"
        ? Object.fromEntries(
            Object.entries(v)
              .filter(([k]) => k !== "pos" && k !== "doc")
              .map(([k, x]) => [k, strip(x)]),
          )
        : v;
  return createHash("sha256")
    .update(JSON.stringify(strip(s)))
    .digest("hex")
    .slice(0, 16);
}

function structTarget(rev: Revision, s: SchemaStruct): Target | null {
  const codec = rev.codecs.get(s.name);
  if (!codec) return null;
  const size = codec.size;
  const padding = s.layout.x86_64.padding;
  const clearPadding = (b: Uint8Array): void => {
    for (const p of padding) b.fill(0, p.offset, Math.min(b.length, p.offset + p.size));
  };
  return {
    id: `${rev.name}/struct/${s.name}`,
    impl: `struct/${s.name}/${structImpl(s)}`,
    selectors: 1,
    pooled: false,
    seed(rng) {
      const b = rng.bytes(size);
      clearPadding(b);
      return b;
    },
    run(bytes, config) {
      const le = (config & 8) === 0;
      const at = (config >>> 4) & 7;
      // The struct `at` bytes into a larger buffer, read through a Uint8Array of any kind or
      // a DataView (bit 2).
      const whole = new Uint8Array(at + bytes.length);
      whole.set(bytes, at);
      const view = asView(whole, config);
      const input: Uint8Array | DataView =
        config & 4 ? new DataView(view.buffer, view.byteOffset, view.byteLength) : view;
      return roundTrip(
        bytes.subarray(0, size),
        () => {
          const v = codec.decode(input, at, { littleEndian: le });
          if (bytes.length < size)
            throw new PropertyFailure(
              "wrong-verdict",
              `decoded ${size} bytes from a buffer with ${bytes.length} at offset ${at}`,
            );
          return v;
        },
        (v) => {
          const out = new Uint8Array(size).fill(0xee);
          codec.encode(v, out, 0, { littleEndian: le });
          // bytes -> value -> bytes, and value -> bytes -> value.
          const back = codec.decode(out, 0, { littleEndian: le });
          const again = new Uint8Array(size);
          codec.encode(back, again, 0, { littleEndian: le });
          if (!equalBytes(out, again))
            throw new PropertyFailure("not-re-encodable", "decode(encode(v)) differs from v");
          // The codec writes implicit padding as zero; the decoder ignores it, by design.
          const given = bytes.slice(0, size);
          clearPadding(given);
          return equalBytes(out, given) ? bytes.subarray(0, size) : out;
        },
      );
    },
  };
}

// ---------------------------------------------------------------------------
// Messages

function messageTargets(rev: Revision): Target[] {
  const g = rev.gen;
  const impl = rev.sources.messages;
  const opcodes = rev.opcodes;
  const targets: Target[] = [];

  targets.push({
    id: `${rev.name}/request`,
    impl: `request/${impl}`,
    selectors: 1,
    pooled: true,
    seed(rng, config) {
      const o = messageOpts(config);
      const req = rng.chance(0.05)
        ? unknownRequest(rev, rng, o)
        : randomRequest(rev, rng.pick(opcodes), rng, o);
      return g["encodeRequest"](req, o);
    },
    run(bytes, config) {
      const o = messageOpts(config);
      const view = asView(bytes, config);
      return roundTrip(
        bytes,
        () => g["decodeRequest"](view, o),
        (req) => g["encodeRequest"](req, o),
        // INIT's struct takes the size the message has (the minor is what INIT negotiates):
        // it is re-encodable when some minor gives those bytes. A longer one is a newer
        // kernel's (decoders ignore its extra bytes, by design): the same bytes, len aside.
        (req) => {
          if (req.op !== "FUSE_INIT") return [];
          const forms = MINORS.map(
            (minor) => g["encodeRequest"](req, { ...o, minor }) as Uint8Array,
          );
          const full = forms[0]!;
          if (bytes.length > full.length) {
            const longer = bytes.slice();
            longer.set(full.subarray(4, full.length), 4);
            forms.push(longer);
          }
          return forms;
        },
      );
    },
  });

  targets.push({
    id: `${rev.name}/reply`,
    impl: `reply/${impl}`,
    selectors: opcodes.length,
    pooled: true,
    seed(rng, config) {
      const o = messageOpts(config);
      const op = opcodes[selector(config) % opcodes.length]!;
      const reply = randomReply(rev, op, rng, o);
      if (reply === null) return null;
      return g["encodeReply"](rng.u64(), reply, {
        ...o,
        opcode: opcodeValue(op),
      });
    },
    run(bytes, config) {
      const o = messageOpts(config);
      const opcode = opcodeValue(opcodes[selector(config) % opcodes.length]!);
      const view = asView(bytes, config);
      return roundTrip(
        bytes,
        () => g["decodeReply"](opcode, view, o),
        (d) => g["encodeReply"](d.header.unique, d.reply, { ...o, opcode }),
        (d) =>
          opcode === 26
            ? MINORS.map((minor) =>
                g["encodeReply"](d.header.unique, d.reply, {
                  ...o,
                  opcode,
                  minor,
                }),
              )
            : [],
      );
    },
  });

  if (typeof g["decodeNotify"] === "function" && rev.notifications.length) {
    const notes = rev.notifications;
    targets.push({
      id: `${rev.name}/notify`,
      impl: `notify/${impl}`,
      selectors: notes.length,
      pooled: true,
      seed(rng, config) {
        const o = messageOpts(config);
        const n = notes[selector(config) % notes.length]!;
        return g["encodeNotify"](Number(n.value), randomParts(rev, n.parts, rng, o), o);
      },
      run(bytes, config) {
        const o = messageOpts(config);
        const view = asView(bytes, config);
        return roundTrip(
          bytes,
          () => g["decodeNotify"](view, o),
          (n) => g["encodeNotify"](n.code, n.args, o),
        );
      },
    });
  }

  for (const plus of [false, true]) {
    const decode = plus ? "decodeDirentplus" : "decodeDirents";
    const Encoder = plus ? g["DirentplusListEncoder"] : g["DirentListEncoder"];
    targets.push({
      id: `${rev.name}/${plus ? "direntplus" : "dirents"}`,
      impl: `${decode}/${impl}`,
      selectors: 1,
      pooled: true,
      seed: (rng, config) => randomDirents(rev, rng, plus, (config & 8) === 0),
      run(bytes, config) {
        const le = (config & 8) === 0;
        const view = asView(bytes, config);
        return roundTrip(
          bytes,
          () => g[decode](view, { littleEndian: le }),
          (entries: Value[]) => {
            const enc = new Encoder(bytes.length, { littleEndian: le });
            for (const e of entries) if (!enc.add(e)) throw new Error("the list does not fit");
            return enc.finish();
          },
        );
      },
    });
  }

  targets.push(nameTarget(rev));
  return targets;
}

/**
 * Names are bytes: the input is a name. As a request name part (FUSE_LOOKUP) it is accepted
 * up to its first NUL and comes back byte for byte, with `text` exactly when it is UTF-8; as a
 * directory entry name it is accepted exactly when the kernel takes it (1 to DIRENT_NAME_MAX
 * bytes, no '/', no NUL).
 */
function nameTarget(rev: Revision): Target {
  const g = rev.gen;
  const max: number = g["DIRENT_NAME_MAX"] ?? 1024;
  const strict = new TextDecoder("utf-8", { fatal: true, ignoreBOM: true });
  const lookup = rev.opcodes.find((o) => o.name === "FUSE_LOOKUP")!;
  return {
    id: `${rev.name}/name`,
    impl: `name/${rev.sources.messages}`,
    selectors: 1,
    pooled: false,
    // Valid directory entry names; the mutator adds the '/', NUL, empty and overlong ones.
    seed: (rng) => randomDirentName(rng, max),
    run(bytes, config) {
      const o = messageOpts(config);
      const name = bytes.subarray(0, bytes.indexOf(0) < 0 ? bytes.length : bytes.indexOf(0));
      // As a request part.
      const req = g["encodeRequest"](
        {
          op: lookup.name,
          opcode: opcodeValue(lookup),
          header: g["FuseInHeaderCodec"].zero(),
          name,
        },
        o,
      ) as Uint8Array;
      const decoded = g["decodeRequest"](asView(req, config), o);
      if (!equalBytes(decoded.name.bytes, name))
        throw new PropertyFailure("not-re-encodable", "the name part changed its bytes");
      let text: string | undefined;
      try {
        text = strict.decode(name);
      } catch {
        text = undefined;
      }
      if (decoded.name.text !== text)
        throw new PropertyFailure(
          "wrong-verdict",
          `text is ${decoded.name.text}, UTF-8 says ${text}`,
        );
      if (!decoded.name.equals(g["FuseName"].from(decoded.name)))
        throw new PropertyFailure("not-re-encodable", "FuseName.from changed the name");
      // As a directory entry name: one record of the whole input, padded with zeros.
      const rec = new Uint8Array(Math.ceil((24 + bytes.length) / 8) * 8);
      g["FuseDirentCodec"].encode({ ino: 1n, off: 1n, namelen: bytes.length, type: 0 }, rec, 0, {
        littleEndian: o.littleEndian,
      });
      rec.set(bytes, 24);
      const kernelTakes =
        bytes.length >= 1 && bytes.length <= max && !bytes.includes(0) && !bytes.includes(0x2f);
      const verdict = roundTrip(
        rec,
        () =>
          g["decodeDirents"](asView(rec, config), {
            littleEndian: o.littleEndian,
          }),
        (entries: Value[]) => {
          const enc = new g["DirentListEncoder"](rec.length, {
            littleEndian: o.littleEndian,
          });
          for (const e of entries) enc.add(e);
          return enc.finish();
        },
      );
      if ((verdict === "accepted") !== kernelTakes)
        throw new PropertyFailure(
          "wrong-verdict",
          `a directory entry name of ${bytes.length} bytes was ${verdict}; the kernel ${kernelTakes ? "takes" : "refuses"} it`,
        );
      return verdict;
    },
  };
}

// ---------------------------------------------------------------------------
// Compounds

const BIG_PAGES = 1 << 20;

function compoundBuilder(rev: Revision, o: MessageOpts, extra: Value = {}): Value {
  return new rev.gen["CompoundBuilder"]({
    ...o,
    maxPages: BIG_PAGES,
    ...extra,
  });
}

/** The builder's way to add a decoded sub-request: its parts by the protocol table. */
function subRequestFields(rev: Revision, req: Value): Value | null {
  const op = rev.opcodes.find((x) => opcodeValue(x) === req.opcode && x.name === req.op);
  if (!op || !rev.gen["COMPOUND_OPS"].has(req.opcode)) return null;
  const out: Value = {};
  for (const p of op.request) out[p.field] = req[p.field];
  return out;
}

function randomCompound(rev: Revision, rng: Rng, o: MessageOpts, depth: number): Uint8Array | null {
  const g = rev.gen;
  const rules = g["COMPOUND_SEMANTICS"];
  const specs = [...(g["COMPOUND_OPS"] as Map<number, Value>).values()];
  const b = compoundBuilder(rev, o);
  const n = rng.chance(0.05) ? 0 : 1 + rng.below(4);
  for (let i = 0; i < n; i++) {
    const dependsOn =
      rules.dependencies.model !== "none" && i > 0 && rng.chance(0.4) ? rng.below(i) : undefined;
    try {
      if (depth < 2 && !rules.subRequestChecks.rejectNestedCompound && rng.chance(0.08)) {
        const inner = randomCompound(rev, rng, o, depth + 1);
        if (inner)
          b.addRaw(g["COMPOUND_OPCODE"], rng.u64() & 0xffn, inner.subarray(40), 0, dependsOn);
        continue;
      }
      const spec = rng.pick(specs);
      const op = rev.opcodes.find((x) => x.name === spec.op)!;
      const sub: Value = {
        op: spec.op,
        nodeid: rng.chance(0.5) ? BigInt(1 + rng.below(100)) : rng.u64(),
        ...randomParts(rev, op.request, rng, o),
        dependsOn,
      };
      if (spec.variable !== null) sub["outSize"] = rng.below(300);
      b.add(sub);
    } catch (e) {
      if (!isTypedError(e)) throw e;
    }
  }
  const flags = Object.keys(g["COMPOUND_FLAGS"]).filter(() => rng.chance(0.3));
  try {
    if (flags.length) b.flags(...flags);
    return b.encode({
      unique: rng.u64(),
      uid: rng.u32(),
      gid: rng.u32(),
      pid: rng.u32(),
    });
  } catch (e) {
    if (isTypedError(e)) return null;
    throw e;
  }
}

/**
 * A decoded compound rebuilt by the revision's CompoundBuilder. result_size is the sum of the
 * ops' expected out args, where an op with a variable-size reply (or a raw op) adds the outSize
 * its builder call was given: a data reply n bytes for outSize n, an xattr reply n for n ≥ 1
 * (the size struct for 0). So every open op is rebuilt at its least (data 0, xattr 1) and the
 * first one takes the rest: the decoded result_size comes back exactly whenever the decoder's
 * "at least" held.
 */
function rebuildCompound(rev: Revision, d: Value, o: MessageOpts, given: Uint8Array): Uint8Array {
  const g = rev.gen;
  const specs = g["COMPOUND_OPS"] as Map<number, Value>;
  // An op the compound table has no entry for goes in raw, with the outSize it is given (the
  // decoder can only bound such an op's out args from below, as for a variable reply).
  // INIT's struct takes the size its message has (as in the request target): such a
  // sub-request goes in raw, in the form of the minor that gives its length.
  const fieldsOf = (req: Value): Value | null =>
    specs.has(req.opcode) && req.op !== "FUSE_INIT" ? subRequestFields(rev, req) : null;
  // A longer one is a newer kernel's (its extra bytes are ignored by design): the full form,
  // then the bytes it was given past it.
  const framing = g["COMPOUND_SEMANTICS"].framing;
  const sizeOf = (struct: string): number => g["STRUCT_LAYOUT"][struct].x86_64.size;
  const rawSubRequest = (req: Value, i: number): Uint8Array => {
    const plain = g["encodeRequest"](req, o) as Uint8Array;
    if (req.op !== "FUSE_INIT" || plain.length === req.header.len) return plain;
    for (const minor of MINORS) {
      const form = g["encodeRequest"](req, { ...o, minor }) as Uint8Array;
      if (form.length === req.header.len) return form;
    }
    if (req.header.len > plain.length) {
      const at =
        40 +
        sizeOf(framing.request.struct) +
        d.offsets[i] +
        (framing.subRequestPrefix ? sizeOf(framing.subRequestPrefix.struct) : 0);
      const longer = given.slice(at, at + req.header.len);
      longer.set(plain.subarray(4), 4);
      return longer;
    }
    return plain;
  };
  const open = (req: Value): "data" | "xattr" | null => {
    if (fieldsOf(req) === null) return "data";
    return specs.get(req.opcode)?.variable ?? null;
  };
  const least = (kind: "data" | "xattr" | null): number => (kind === "xattr" ? 1 : 0);
  const build = (rest: number): Value => {
    const b = compoundBuilder(rev, o, {
      allowInvalidDependencies: true,
      nextUnique: (i: number) => d.requests[i].header.unique,
    });
    let first = true;
    d.requests.forEach((req: Value, i: number) => {
      const dependsOn = d.dependsOn[i] ?? undefined;
      const fields = fieldsOf(req);
      const kind = open(req);
      let outSize = least(kind);
      if (kind !== null && first) {
        outSize += rest;
        first = false;
      }
      if (fields === null) {
        const bytes = rawSubRequest(req, i);
        b.addRaw(req.opcode, req.header.nodeid, bytes.subarray(40), outSize, dependsOn);
      } else {
        b.add({
          op: req.op,
          nodeid: req.header.nodeid,
          ...fields,
          outSize,
          dependsOn,
        });
      }
    });
    if (d.flags.length) b.flags(...d.flags);
    return b;
  };
  let b = build(0);
  const rs = d.compound_in?.result_size;
  let patch: number | null = null;
  if (typeof rs === "number" && rs > b.resultSize && d.requests.some((r: Value) => open(r))) {
    const rest = rs - b.resultSize;
    // The builder would take that outSize, but sizing it encodes a zero reply of that many
    // bytes: past 64 KiB, build with the least and write the decoded value where the builder would.
    if (rest > 1 << 16) patch = rs;
    else b = build(rest);
  }
  const h = d.header;
  const out: Uint8Array = b.encode({ unique: h.unique, uid: h.uid, gid: h.gid, pid: h.pid });
  if (patch !== null) {
    const at = 40 + g["STRUCT_LAYOUT"].fuse_compound_in.x86_64.offsets["result_size"];
    new DataView(out.buffer, out.byteOffset).setUint32(at, patch, o.littleEndian);
  }
  return out;
}

/** A fixed table of op lists per revision (from a fixed seed): what a reply walk is checked against. */
function replyOpLists(rev: Revision, o: MessageOpts): Value[] {
  const rng = new Rng(0x5eed);
  const g = rev.gen;
  const specs = [...(g["COMPOUND_OPS"] as Map<number, Value>).values()];
  const lists: Value[] = [];
  while (lists.length < 16) {
    const b = compoundBuilder(rev, o);
    const n = 1 + rng.below(4);
    for (let i = 0; i < n; i++) {
      const spec = rng.pick(specs);
      const op = rev.opcodes.find((x) => x.name === spec.op)!;
      const sub: Value = {
        op: spec.op,
        nodeid: BigInt(1 + i),
        ...randomParts(rev, op.request, rng, o),
      };
      if (spec.variable !== null) sub["outSize"] = rng.below(64);
      try {
        b.add(sub);
      } catch (e) {
        if (!isTypedError(e)) throw e;
      }
    }
    if (b.length === 0) continue;
    b.encode({ unique: 1n, uid: 0, gid: 0, pid: 0 });
    lists.push({
      ops: b.ops,
      capacity: rng.chance(0.5) ? undefined : b.length + rng.below(3),
    });
  }
  return lists;
}

function compoundTargets(rev: Revision): Target[] {
  const g = rev.gen;
  const impl = rev.sources.compound!;
  // The expected out-arg sizes depend on the minor: one table per minor and byte order.
  const tables = new Map<string, Value[]>();
  const listFor = (config: number): Value => {
    const o = messageOpts(config);
    const key = `${o.minor}/${o.littleEndian}`;
    let t = tables.get(key);
    if (!t) tables.set(key, (t = replyOpLists(rev, o)));
    return t[selector(config) % t.length]!;
  };
  const specs = g["COMPOUND_OPS"] as Map<number, Value>;
  return [
    {
      id: `${rev.name}/compound-request`,
      impl: `compound-request/${impl}`,
      selectors: 1,
      pooled: true,
      seed: (rng, config) => randomCompound(rev, rng, messageOpts(config), 0),
      run(bytes, config) {
        const o = messageOpts(config);
        const view = asView(bytes, config);
        return roundTrip(
          bytes,
          () => g["decodeCompoundRequest"](view, o),
          (d) => rebuildCompound(rev, d, o, bytes),
        );
      },
    },
    {
      id: `${rev.name}/compound-reply`,
      impl: `compound-reply/${impl}`,
      selectors: 16,
      pooled: true,
      seed(rng, config) {
        const o = messageOpts(config);
        const { ops } = listFor(config);
        // rfc-v1..v4 (outPages "not-copied"): a page-bound payload cannot be followed by another
        // sub-reply (the encoder refuses it); such an op gets an error, as the server gives it.
        const entries = (ops as Value[]).map((ref, i) => {
          const op = rev.opcodes.find((x) => opcodeValue(x) === ref.opcode)!;
          const spec = specs.get(ref.opcode)!;
          const paged = g["pagePayloadDropped"](ref.opcode) && i < ops.length - 1;
          let reply: Value | null =
            paged || rng.chance(0.2) ? { error: -1 - rng.below(511) } : null;
          if (!reply) {
            reply =
              spec.variable !== null
                ? spec.zeroReply(ref.requested ?? 0)
                : randomReply(rev, op, rng, o);
            if (reply && "error" in reply) reply = spec.zeroReply(0);
          }
          return { opcode: ref.opcode, reply, unique: ref.unique };
        });
        return g["encodeCompoundReply"](rng.u64(), entries, o);
      },
      run(bytes, config) {
        const o = messageOpts(config);
        const { ops, capacity } = listFor(config);
        const view = asView(bytes, config);
        // The reply walk is the kernel's, which tolerates what it does not read (trailing
        // bytes, ignored uniques): the property is that what it returns is stable - encoded
        // again by the server side and walked again, the same results.
        let first: Value;
        try {
          first = g["parseCompoundReply"](view, { ...o, ops, capacity });
        } catch (e) {
          if (isTypedError(e)) return rejected(e);
          throw e;
        }
        if (first.results === null) return "accepted";
        const entries: Value[] = [];
        const compare: number[] = [];
        for (const r of first.results as Value[]) {
          if (r.missing) break;
          const spec = specs.get(r.opcode);
          const reply = r.error !== 0 ? { error: r.error } : (r.reply ?? spec?.zeroReply(0));
          if (r.error === 0 && r.reply === null) continue;
          if (r.error > 0 || r.error < -511) return "accepted";
          compare.push(r.index);
          entries.push({
            opcode: r.opcode,
            reply,
            unique: r.unique,
            outSize: ops[r.index].outSize,
          });
        }
        if (entries.length !== first.results.filter((r: Value) => !r.missing).length)
          return "accepted";
        // A walk that read no sub-reply (the server's count is 0: rfc-v1..v4 loop `count` times
        // and ask only for 16 bytes of payload) has no result to encode again.
        if (entries.length === 0) return "accepted";
        let again: Value;
        try {
          again = g["parseCompoundReply"](
            g["encodeCompoundReply"](first.header.unique, entries, o),
            { ...o, ops, capacity },
          );
        } catch (e) {
          throw new PropertyFailure(
            "not-re-encodable",
            `accepted, but its results encoded again are refused: ${(e as Error).message}`,
          );
        }
        for (const i of compare) {
          const a = first.results[i];
          const b = again.results[i];
          // A failed op's result is its error: rfc-v1..v4 copy out args whenever len has room
          // (copyWhen "len"), also for an error, but nobody reads an op's args once it failed,
          // and a server's error reply carries none (it is encoded again without them).
          // An op without out args: "copied nothing" (null, rfc-v1..v4 when len is the header's)
          // and "copied 0 bytes" ({}) are the same result.
          const none = (r: Value) => r.reply === null || isEmptyObject(r.reply);
          const same = sameValue(a.reply, b.reply) || (none(a) && none(b));
          if (a.error !== b.error || (a.error === 0 && !same))
            throw new PropertyFailure(
              "not-re-encodable",
              `sub-reply ${i} differs once encoded again`,
            );
        }
        return "accepted";
      },
    },
  ];
}

function isEmptyObject(v: unknown): boolean {
  return (
    typeof v === "object" && v !== null && !(v instanceof Uint8Array) && Object.keys(v).length === 0
  );
}

function sameValue(a: unknown, b: unknown): boolean {
  if (a instanceof Uint8Array && b instanceof Uint8Array) return equalBytes(a, b);
  if (a && b && typeof a === "object" && typeof b === "object") {
    const ka = Object.keys(a);
    if (ka.length !== Object.keys(b).length) return false;
    return ka.every((k) => sameValue((a as Value)[k], (b as Value)[k]));
  }
  return a === b;
}

/** Every decoder of a revision. */
export function targetsOf(rev: Revision): Target[] {
  const out: Target[] = [];
  for (const s of rev.structs) {
    const t = structTarget(rev, s);
    if (t) out.push(t);
  }
  out.push(...messageTargets(rev));
  if (rev.hasCompound) out.push(...compoundTargets(rev));
  return out;
}
