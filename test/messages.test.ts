/**
 * Generated message codecs (generated/<revision>/messages.ts), for every
 * revision with a protocol section: every opcode's request and reply and every
 * notification round-trips (encode → decode → deep-equal, decode → encode
 * byte-identical) with distinctive non-zero values; compat sizes of old minors
 * and INIT flags; malformed messages give typed errors; directory listings
 * fill up exactly to the requested size; and fast-check properties over
 * random and garbage requests.
 *
 * Sample struct values are decoded from a byte pattern, so every field is
 * non-zero and differs from its neighbours without knowing the field types.
 */
import assert from "node:assert/strict";
import { readdirSync, readFileSync } from "node:fs";
import { join } from "node:path";
import { describe, test } from "node:test";
import { pathToFileURL } from "node:url";
import fc from "fast-check";
import ts from "typescript";
import * as base from "../generated/base-7.45/index.js";
import type { MessagePart, OpcodeInfo, Schema, StructDef } from "../generator/model.js";
import { camelCase, pascalCase } from "../generator/render/naming.js";
import { repoRoot } from "../generator/revisions/registry.js";
import { STRICT } from "./helpers/strict-tsc.js";

/* eslint-disable @typescript-eslint/no-explicit-any -- generated modules are used generically, per schema */
type Gen = Record<string, any>;
type Codec = {
  struct: string;
  size: number;
  decode(b: Uint8Array, o?: number, opts?: object): any;
  encode(v: any, b: Uint8Array, o?: number, opts?: object): number;
  zero(): any;
};

const REVISIONS = join(repoRoot(), "schema", "revisions");
const revisions: { name: string; schema: Schema; g: Gen }[] = [];
for (const f of readdirSync(REVISIONS)
  .filter((f) => f.endsWith(".json"))
  .sort()) {
  const schema = JSON.parse(readFileSync(join(REVISIONS, f), "utf8")) as Schema;
  if (!schema.protocol) continue;
  const name = f.replace(/\.json$/, "");
  const g = (await import(
    pathToFileURL(join(repoRoot(), "dist", "generated", name, "index.js")).href
  )) as Gen;
  revisions.push({ name, schema, g });
}

/** Distinctive bytes: never 0, different for neighbours and for each seed. */
function pattern(n: number, seed: number): Uint8Array {
  const out = new Uint8Array(n);
  for (let i = 0; i < n; i++) out[i] = ((seed * 37 + i * 11) % 251) + 1;
  return out;
}

/** Pseudo-random bytes from a seed (mulberry32), for property tests. */
function randomBytes(n: number, seed: number): Uint8Array {
  let a = seed >>> 0;
  const out = new Uint8Array(n);
  for (let i = 0; i < n; i++) {
    a = (a + 0x6d2b79f5) >>> 0;
    let t = a;
    t = Math.imul(t ^ (t >>> 15), t | 1);
    t ^= t + Math.imul(t ^ (t >>> 7), t | 61);
    out[i] = ((t ^ (t >>> 14)) >>> 0) & 0xff;
  }
  return out;
}

function codecOf(g: Gen, cName: string): Codec {
  const c = g[`${pascalCase(cName)}Codec`] as Codec | undefined;
  assert.ok(c, `codec of ${cName}`);
  return c;
}

function structOf(g: Gen, cName: string, bytes: (n: number) => Uint8Array): any {
  const c = codecOf(g, cName);
  return c.decode(bytes(c.size));
}

/** The value a struct has after travelling as its first `size` bytes. */
function prefixOf(g: Gen, cName: string, value: any, size: number): any {
  const c = codecOf(g, cName);
  const buf = new Uint8Array(c.size);
  c.encode(value, buf);
  buf.fill(0, size);
  return c.decode(buf);
}

const isKind = (kind: string, part?: string) => (e: unknown) => {
  assert.equal((e as Error).name, "FuseMessageError", String(e));
  assert.equal((e as { kind: string }).kind, kind, (e as Error).message);
  if (part !== undefined) assert.equal((e as { part: string }).part, part, (e as Error).message);
  return true;
};

/**
 * `encodeReplyInto` at offset 3 of a view that starts 2 bytes into a larger buffer (so both
 * offsets count), checking it returns `length` and leaves the bytes around the message alone;
 * the message's bytes.
 */
function replyInto(
  g: Gen,
  unique: bigint,
  reply: object,
  opts: object,
  length: number,
): Uint8Array {
  const whole = new Uint8Array(length + 9).fill(0xee);
  const written: number = g.encodeReplyInto(whole.subarray(2), 3, unique, reply, opts);
  assert.equal(written, length);
  assert.ok(
    whole.subarray(0, 5).every((b) => b === 0xee),
    "nothing before the message",
  );
  assert.ok(
    whole.subarray(5 + length).every((b) => b === 0xee),
    "nothing after the message",
  );
  return whole.slice(5, 5 + length);
}

/** Options under which every struct has its full size. */
function fullOpts(schema: Schema): Record<string, unknown> {
  const o: Record<string, unknown> = { minor: schema.source.minorVersion };
  for (const c of schema.protocol!.compatSizes)
    if (c.flagAbsent) o[camelCase(c.flagAbsent.replace(/^FUSE_/, ""))] = true;
  return o;
}

interface Fill {
  struct: (cName: string, k: number) => any;
  /** A name as decoders give it (a FuseName); encoders take it as is. */
  name: (field: string, k: number) => any;
  data: (k: number) => Uint8Array;
  count: number;
}

function patternFill(g: Gen, seed: number): Fill {
  return {
    struct: (cName, k) => structOf(g, cName, (n) => pattern(n, seed + k)),
    // Even parts: UTF-8 text; odd parts: bytes that are not UTF-8 (Latin-1 "café" and a lone 0xff).
    name: (field, k) =>
      k % 2 === 0
        ? g.FuseName.from(`${field}-ñ-${seed + k}-☃`)
        : g.FuseName.from(
            new Uint8Array([
              ...new TextEncoder().encode(field),
              0x63,
              0x61,
              0x66,
              0xe9,
              0xff,
              0x30 + ((seed + k) % 10),
            ]),
          ),
    data: (k) => pattern(13 + k, seed + 50 + k),
    count: 3,
  };
}

function fillParts(target: Record<string, any>, parts: MessagePart[], fill: Fill): void {
  parts.forEach((p, i) => {
    switch (p.kind) {
      case "struct":
        target[p.field] = fill.struct(p.struct, i);
        break;
      case "name":
        target[p.field] = fill.name(p.field, i);
        break;
      case "data":
        target[p.field] = fill.data(i);
        break;
      case "array": {
        target[p.field] = Array.from({ length: fill.count }, (_, k) =>
          fill.struct(p.struct, 10 + k),
        );
        const first = parts.find((q) => q.kind === "struct")!;
        const holder = target[first.field];
        holder[p.count] = typeof holder[p.count] === "bigint" ? BigInt(fill.count) : fill.count;
        break;
      }
    }
  });
}

function sampleRequest(
  g: Gen,
  op: OpcodeInfo,
  fill: Fill,
  header: any,
  extensions: Uint8Array,
): Record<string, any> {
  const req: Record<string, any> = {
    op: op.name,
    opcode: Number(op.value),
    header: { ...header, opcode: Number(op.value) },
  };
  fillParts(req, op.request, fill);
  if (op.extensions) {
    req.extensions = extensions;
    req.header.total_extlen = extensions.length / 8;
  }
  return req;
}

function direntBytes(g: Gen, plus: boolean, seed: number): Uint8Array {
  const list = new g[plus ? "DirentplusListEncoder" : "DirentListEncoder"](4096);
  for (let k = 0; k < 3; k++) {
    const d = structOf(g, "fuse_dirent", (n) => pattern(n, seed + k));
    delete d.namelen;
    const name = k === 1 ? new Uint8Array([0x65, 0xfc, 0xfe]) : `e${k}-ü`; // a Latin-1 name among UTF-8 ones
    const entry = plus
      ? { ...structOf(g, "fuse_direntplus", (n) => pattern(n, seed + 7 + k)), ...d, name }
      : { ...d, name };
    if (plus) delete entry.dirent;
    assert.equal(list.add(entry), true);
  }
  return list.finish();
}

/** Sample success replies of an opcode, with the xattr form when it matters. */
function sampleReplies(
  g: Gen,
  op: OpcodeInfo,
  seed: number,
): { args: Record<string, any>; form?: "size" | "data" }[] {
  const r = op.reply;
  switch (r.kind) {
    case "none":
      return [];
    case "empty":
      return [{ args: {} }];
    case "data":
      return [{ args: { data: pattern(21, seed) } }];
    case "xattr":
      return [
        {
          args: { getxattr_out: structOf(g, "fuse_getxattr_out", (n) => pattern(n, seed)) },
          form: "size",
        },
        { args: { data: pattern(21, seed) }, form: "data" },
      ];
    case "dirents":
    case "direntplus":
      return [{ args: { data: direntBytes(g, r.kind === "direntplus", seed) } }];
    case "parts": {
      const args: Record<string, any> = {};
      fillParts(args, r.parts, patternFill(g, seed));
      return [{ args }];
    }
  }
}

function opNamed(schema: Schema, name: string): OpcodeInfo {
  const op = schema.protocol!.opcodes.find((o) => o.name === name);
  assert.ok(op, name);
  return op;
}

test("every revision with a protocol section has generated messages", () => {
  assert.ok(revisions.length >= 7, revisions.map((r) => r.name).join(", "));
  for (const { name, g } of revisions) assert.equal(typeof g.decodeRequest, "function", name);
});

for (const { name: rev, schema, g } of revisions) {
  const protocol = schema.protocol!;
  const full = fullOpts(schema);
  const inHeader = (seed: number) => ({
    ...structOf(g, "fuse_in_header", (n) => pattern(n, seed)),
    len: 0,
  });

  describe(`${rev}: every request round-trips`, () => {
    for (const [i, op] of protocol.opcodes.entries()) {
      test(op.name, () => {
        const req = sampleRequest(g, op, patternFill(g, 100 + i), inHeader(i), pattern(16, 7));
        const bytes: Uint8Array = g.encodeRequest(req, full);
        req.header.len = bytes.length;
        const decoded = g.decodeRequest(bytes, full);
        assert.deepEqual(decoded, req);
        assert.deepEqual(
          g.encodeRequest(decoded, full),
          bytes,
          "decode → encode gives the same bytes",
        );
        // Data parts and extensions are views of the message, not copies.
        for (const p of op.request)
          if (p.kind === "data") assert.equal(decoded[p.field].buffer, bytes.buffer);
        if (op.extensions) assert.equal(decoded.extensions.buffer, bytes.buffer);
      });
    }
    test("an opcode not in the table is an UnknownRequest that re-encodes as is", () => {
      const unknown = 0x7ffffff0;
      const req = {
        op: "unknown",
        opcode: unknown,
        header: { ...inHeader(3), opcode: unknown },
        body: pattern(11, 3),
      };
      const bytes: Uint8Array = g.encodeRequest(req);
      req.header.len = bytes.length;
      assert.deepEqual(g.decodeRequest(bytes, full), req);
      assert.deepEqual(g.encodeRequest(g.decodeRequest(bytes, full)), bytes);
      for (const r of protocol.reserved.filter((n) => n.endsWith("_RESERVED"))) {
        const code = g.FuseOpcode[r];
        if (code === undefined) continue;
        const b = g.encodeRequest({
          ...req,
          opcode: code,
          header: { ...req.header, opcode: code },
        });
        assert.equal(g.decodeRequest(b, full).op, "unknown", r);
      }
    });
  });

  describe(`${rev}: every reply round-trips`, () => {
    for (const [i, op] of protocol.opcodes.entries()) {
      const opcode = Number(op.value);
      test(op.name, () => {
        if (op.reply.kind === "none") {
          // Only the error answers the table lists (e.g. -EAGAIN/-ENOSYS to an INTERRUPT) are a reply.
          const answers = op.reply.answers?.map((a) => a.error) ?? [];
          for (const error of [-11, -38, -2]) {
            if (answers.includes(error)) {
              const bytes = g.encodeReply(1n, { error }, { ...full, opcode });
              assert.equal(bytes.length, 16);
              assert.deepEqual(g.decodeReply(opcode, bytes, full).reply, { error });
            } else {
              assert.throws(
                () => g.encodeReply(1n, { error }, { ...full, opcode }),
                isKind("no-reply"),
              );
              assert.throws(
                () => g.decodeReply(opcode, g.encodeErrorReply(1n, error), full),
                isKind("no-reply"),
              );
            }
          }
          // A success header (len 16, error 0) is no reply either.
          const ok = new Uint8Array(16);
          new DataView(ok.buffer).setUint32(0, 16, true);
          assert.throws(() => g.decodeReply(opcode, ok, full), isKind("no-reply"));
          return;
        }
        const unique = 0x1000n + BigInt(i);
        for (const { args, form } of sampleReplies(g, op, 200 + i)) {
          const bytes: Uint8Array = g.encodeReply(unique, args, { ...full, opcode });
          assert.deepEqual(replyInto(g, unique, args, { ...full, opcode }, bytes.length), bytes);
          const decoded = g.decodeReply(opcode, bytes, {
            ...full,
            ...(form ? { xattr: form } : {}),
          });
          assert.deepEqual(decoded, {
            header: { len: bytes.length, error: 0, unique },
            reply: args,
          });
          assert.deepEqual(g.encodeReply(unique, decoded.reply, { ...full, opcode }), bytes);
          // Without the form, an xattr reply is told apart by its length (21 bytes is not the size struct).
          if (form) assert.deepEqual(g.decodeReply(opcode, bytes, full).reply, args);
        }
        const err: Uint8Array = g.encodeReply(unique, { error: -2 }, { ...full, opcode });
        assert.equal(err.length, 16);
        assert.deepEqual(replyInto(g, unique, { error: -2 }, { ...full, opcode }, 16), err);
        assert.deepEqual(g.decodeReply(opcode, err, full), {
          header: { len: 16, error: -2, unique },
          reply: { error: -2 },
        });
      });
    }
  });

  describe(`${rev}: every notification round-trips`, () => {
    for (const [i, n] of protocol.notifications.entries()) {
      test(n.name, () => {
        const args: Record<string, any> = {};
        fillParts(args, n.parts, patternFill(g, 300 + i));
        const code = Number(n.value);
        const bytes: Uint8Array = g.encodeNotify(code, args);
        const view = new DataView(bytes.buffer, bytes.byteOffset, bytes.byteLength);
        assert.equal(view.getUint32(0, true), bytes.length);
        assert.equal(view.getInt32(4, true), code, "error carries the code");
        assert.equal(view.getBigUint64(8, true), 0n, "unique is 0");
        const decoded = g.decodeNotify(bytes);
        assert.deepEqual(decoded, { code, name: n.name, args });
        assert.deepEqual(g.encodeNotify(decoded.code, decoded.args), bytes);
      });
    }
  });

  describe(`${rev}: compat sizes`, () => {
    const unique = 77n;
    const replyOf = (name: string, args: object, opts: object) => {
      const opcode = Number(opNamed(schema, name).value);
      const bytes: Uint8Array = g.encodeReply(unique, args, { ...opts, opcode });
      return { bytes, decoded: g.decodeReply(opcode, bytes, opts).reply };
    };
    const requestOf = (name: string, opts: object, seed = 1) => {
      const req = sampleRequest(
        g,
        opNamed(schema, name),
        patternFill(g, seed),
        inHeader(seed),
        new Uint8Array(0),
      );
      const bytes: Uint8Array = g.encodeRequest(req, opts);
      return { req, bytes, decoded: g.decodeRequest(bytes, opts) };
    };
    const entryOut = () => structOf(g, "fuse_entry_out", (n) => pattern(n, 5));

    test("minor 8: fuse_entry_out 120 bytes, fuse_attr_out 96, fuse_write_in 24; getattr_in stays full", () => {
      const e = replyOf("FUSE_LOOKUP", { entry_out: entryOut() }, { minor: 8 });
      assert.equal(e.bytes.length, 16 + 120);
      assert.deepEqual(e.decoded.entry_out, prefixOf(g, "fuse_entry_out", entryOut(), 120));
      assert.notDeepEqual(e.decoded.entry_out, entryOut(), "the tail was cut");
      const a = replyOf(
        "FUSE_GETATTR",
        { attr_out: structOf(g, "fuse_attr_out", (n) => pattern(n, 6)) },
        { minor: 8 },
      );
      assert.equal(a.bytes.length, 16 + 96);
      // A current kernel sends fuse_getattr_in whole whatever the minor (no compat size in the table).
      const ga = requestOf("FUSE_GETATTR", { minor: 8 });
      assert.equal(ga.bytes.length, 40 + codecOf(g, "fuse_getattr_in").size);
      assert.deepEqual(ga.decoded.getattr_in, ga.req.getattr_in);
      const w = requestOf("FUSE_WRITE", { minor: 8 });
      assert.equal(w.bytes.length, 40 + 24 + w.req.data.length);
      assert.deepEqual(w.decoded.write_in, prefixOf(g, "fuse_write_in", w.req.write_in, 24));
      assert.deepEqual(w.decoded.data, w.req.data);
      assert.deepEqual(g.encodeRequest(w.decoded, { minor: 8 }), w.bytes);
    });

    test("minor 9: the same structs at full size", () => {
      assert.equal(
        replyOf("FUSE_LOOKUP", { entry_out: entryOut() }, { minor: 9 }).bytes.length,
        16 + codecOf(g, "fuse_entry_out").size,
      );
      assert.equal(
        requestOf("FUSE_GETATTR", { minor: 9 }).bytes.length,
        40 + codecOf(g, "fuse_getattr_in").size,
      );
      const w = requestOf("FUSE_WRITE", { minor: 9 });
      assert.deepEqual(w.decoded.write_in, w.req.write_in);
    });

    test("minor 11/12: fuse_mknod_in and CREATE's fuse_create_in grow in 7.12; TMPFILE's never shrinks", () => {
      const m11 = requestOf("FUSE_MKNOD", { minor: 11 });
      assert.equal(m11.bytes.length, 40 + 8 + m11.req.name.bytes.length + 1);
      assert.deepEqual(m11.decoded.mknod_in, prefixOf(g, "fuse_mknod_in", m11.req.mknod_in, 8));
      assert.deepEqual(requestOf("FUSE_MKNOD", { minor: 12 }).decoded.mknod_in, m11.req.mknod_in);
      const c11 = requestOf("FUSE_CREATE", { minor: 11 });
      assert.deepEqual(c11.decoded.create_in, prefixOf(g, "fuse_create_in", c11.req.create_in, 8));
      assert.deepEqual(c11.decoded.name, c11.req.name, "the name follows the 8-byte struct");
      assert.deepEqual(
        requestOf("FUSE_CREATE", { minor: 12 }).decoded.create_in,
        c11.req.create_in,
      );
      const t11 = requestOf("FUSE_TMPFILE", { minor: 11 });
      assert.deepEqual(t11.decoded.create_in, t11.req.create_in);
    });

    test("minor 22/23 (and 4/5): the INIT reply is 24, 64 (and 8) bytes of fuse_init_out; STATFS below 4 is 48", () => {
      const initOut = structOf(g, "fuse_init_out", (n) => pattern(n, 9));
      const full = codecOf(g, "fuse_init_out").size;
      for (const [minor, size] of [
        [4, 8],
        [5, 24],
        [22, 24],
        [23, full],
        [45, full],
      ] as const) {
        const r = replyOf("FUSE_INIT", { init_out: initOut }, { minor });
        assert.equal(r.bytes.length, 16 + size, `minor ${minor}`);
        assert.deepEqual(r.decoded.init_out, prefixOf(g, "fuse_init_out", initOut, size));
        // A client decodes what the server sent whatever minor it thinks was agreed.
        assert.deepEqual(
          g.decodeReply(Number(opNamed(schema, "FUSE_INIT").value), r.bytes, { minor: 45 }).reply,
          r.decoded,
        );
      }
      const statfs = structOf(g, "fuse_statfs_out", (n) => pattern(n, 4));
      assert.equal(
        replyOf("FUSE_STATFS", { statfs_out: statfs }, { minor: 3 }).bytes.length,
        16 + 48,
      );
      assert.equal(
        replyOf("FUSE_STATFS", { statfs_out: statfs }, { minor: 4 }).bytes.length,
        16 + codecOf(g, "fuse_statfs_out").size,
      );
    });

    test("minor 35/36: fuse_init_in is 16 bytes before 7.36 (8 before 7.6), and decoders take what the kernel sent", () => {
      const opcode = Number(opNamed(schema, "FUSE_INIT").value);
      const fullSize = codecOf(g, "fuse_init_in").size;
      for (const [minor, size] of [
        [5, 8],
        [6, 16],
        [35, 16],
        [36, fullSize],
      ] as const) {
        const r = requestOf("FUSE_INIT", { minor });
        assert.equal(r.bytes.length, 40 + size, `minor ${minor}`);
        assert.deepEqual(r.decoded.init_in, prefixOf(g, "fuse_init_in", r.req.init_in, size));
        // INIT is sent before a minor is agreed: any listed size decodes at any minor.
        for (const m of [0, 22, 45])
          assert.deepEqual(
            g.decodeRequest(r.bytes, { minor: m }).init_in,
            r.decoded.init_in,
            `sent ${size}, read at ${m}`,
          );
      }
      const header = (len: number) => {
        const h = new Uint8Array(40);
        g.encodeFuseInHeader({ ...inHeader(1), len, opcode, total_extlen: 0 }, h);
        return h;
      };
      const msg = (body: Uint8Array) => {
        const out = new Uint8Array(40 + body.length);
        out.set(header(out.length));
        out.set(body, 40);
        return out;
      };
      assert.throws(
        () => g.decodeRequest(msg(pattern(12, 1)), { minor: 45 }),
        (e: any) => isKind("truncated", "init_in")(e) && e.needed === 16 && e.available === 12,
      );
      // A newer kernel's longer fuse_init_in: the known prefix, the rest ignored.
      const longer = g.decodeRequest(msg(pattern(fullSize + 16, 1)), { minor: 45 });
      assert.deepEqual(longer.init_in, codecOf(g, "fuse_init_in").decode(pattern(fullSize, 1)));
    });

    test("setxattrExt: fuse_setxattr_in is 16 bytes with FUSE_SETXATTR_EXT, 8 without", () => {
      const on = requestOf("FUSE_SETXATTR", { minor: 45, setxattrExt: true });
      const off = requestOf("FUSE_SETXATTR", { minor: 45, setxattrExt: false });
      const dflt = requestOf("FUSE_SETXATTR", { minor: 45 });
      assert.equal(on.bytes.length - off.bytes.length, codecOf(g, "fuse_setxattr_in").size - 8);
      assert.deepEqual(dflt.bytes, off.bytes, "default: not negotiated");
      assert.deepEqual(on.decoded.setxattr_in, on.req.setxattr_in);
      assert.deepEqual(
        off.decoded.setxattr_in,
        prefixOf(g, "fuse_setxattr_in", off.req.setxattr_in, 8),
      );
      assert.equal(off.decoded.setxattr_in.setxattr_flags, 0);
      assert.deepEqual(off.decoded.name, off.req.name);
      assert.deepEqual(off.decoded.value, off.req.value);
    });
  });

  describe(`${rev}: malformed messages give typed errors`, () => {
    const lookup = Number(opNamed(schema, "FUSE_LOOKUP").value);
    const build = (opcode: number, body: Uint8Array, patch: Record<string, number> = {}) => {
      const out = new Uint8Array(40 + body.length);
      g.encodeFuseInHeader(
        { ...inHeader(2), len: out.length, opcode, total_extlen: 0, ...patch },
        out,
      );
      out.set(body, 40);
      return out;
    };
    const enc = new TextEncoder();

    test("len differs from the message size (over-long and truncated), or shorter than the header", () => {
      const good = build(lookup, enc.encode("abc\0"));
      const longer = new Uint8Array(good.length + 3);
      longer.set(good);
      assert.throws(
        () => g.decodeRequest(longer, full),
        (e: any) =>
          isKind("length", "header")(e) &&
          e.needed === good.length &&
          e.available === longer.length &&
          e.opcode === lookup,
      );
      assert.throws(
        () => g.decodeRequest(good.subarray(0, good.length - 1), full),
        isKind("length"),
      );
      assert.throws(
        () => g.decodeRequest(good.subarray(0, 20), full),
        (e: any) => isKind("length", "header")(e) && e.needed === 40 && e.opcode === null,
      );
      const reply: Uint8Array = g.encodeReply(
        1n,
        { entry_out: codecOf(g, "fuse_entry_out").zero() },
        { ...full, opcode: lookup },
      );
      assert.throws(
        () => g.decodeReply(lookup, reply.subarray(0, reply.length - 8), full),
        isKind("length"),
      );
    });

    test("a struct part shorter than the minor requires", () => {
      const open = Number(opNamed(schema, "FUSE_OPEN").value);
      assert.throws(
        () => g.decodeRequest(build(open, pattern(4, 1)), full),
        (e: any) =>
          isKind("truncated", "open_in")(e) &&
          e.offset === 40 &&
          e.needed === codecOf(g, "fuse_open_in").size &&
          e.available === 4 &&
          e.opcode === open,
      );
      const write = Number(opNamed(schema, "FUSE_WRITE").value);
      // 24 bytes is a whole fuse_write_in only below minor 9.
      assert.throws(
        () => g.decodeRequest(build(write, pattern(24, 1)), full),
        isKind("truncated", "write_in"),
      );
      assert.equal(g.decodeRequest(build(write, pattern(24, 1)), { minor: 8 }).data.length, 0);
      const reply = new Uint8Array(16 + 50);
      g.encodeFuseOutHeader({ len: reply.length, error: 0, unique: 1n }, reply);
      assert.throws(() => g.decodeReply(lookup, reply, full), isKind("truncated", "entry_out"));
    });

    test("a name without its NUL; a name with a NUL or a lone surrogate cannot be encoded", () => {
      assert.throws(
        () => g.decodeRequest(build(lookup, enc.encode("abc")), full),
        (e: any) => isKind("name", "name")(e) && e.offset === 40 && e.available === 3,
      );
      const symlink = Number(opNamed(schema, "FUSE_SYMLINK").value);
      assert.throws(
        () => g.decodeRequest(build(symlink, enc.encode("a\0b")), full),
        isKind("name", "target"),
      );
      const req = { op: "FUSE_LOOKUP", opcode: lookup, header: inHeader(1), name: "a\0b" };
      assert.throws(() => g.encodeRequest(req), isKind("name", "name"));
      assert.throws(
        () => g.encodeRequest({ ...req, name: new Uint8Array([0x61, 0, 0x62]) }),
        isKind("name", "name"),
      );
      assert.throws(() => g.encodeRequest({ ...req, name: "\ud800" }), isKind("name", "name"));
      assert.throws(() => g.encodeRequest({ ...req, name: 5 }), isKind("value", "name"));
      assert.throws(() => g.FuseName.from("\udfff"), isKind("name"));
      assert.throws(() => g.FuseName.from(5), isKind("value"));
    });

    test("names are bytes: names that are not UTF-8 decode, keep their bytes and re-encode the same", () => {
      // Latin-1 "café", bytes that are no encoding at all, and a truncated UTF-8 sequence.
      for (const raw of [
        [0x63, 0x61, 0x66, 0xe9],
        [0xff, 0xfe],
        [0x61, 0xe2, 0x82],
      ]) {
        const bytes = build(lookup, new Uint8Array([...raw, 0]));
        const d = g.decodeRequest(bytes, full);
        assert.ok(d.name instanceof g.FuseName);
        assert.deepEqual([...d.name.bytes], raw);
        assert.equal(d.name.text, undefined, "no text view for bytes that are not UTF-8");
        assert.ok(d.name.equals(new Uint8Array(raw)));
        assert.ok(!d.name.equals("caf\u00e9"), "Latin-1 bytes are not the UTF-8 string");
        assert.equal(
          d.name.toString().includes("\ufffd"),
          true,
          "toString is lossy, for messages only",
        );
        assert.deepEqual(JSON.parse(JSON.stringify(d.name)), {
          hex: Buffer.from(raw).toString("hex"),
        });
        assert.deepEqual(g.encodeRequest(d, full), bytes);
        // The bytes are a copy: the message buffer may be reused.
        bytes.fill(0x41, 40);
        assert.deepEqual([...d.name.bytes], raw);
      }
      // A leading EF BB BF is U+FEFF in the name, not a byte-order mark to drop.
      const bom = g.decodeRequest(build(lookup, new Uint8Array([0xef, 0xbb, 0xbf, 0x61, 0])), full);
      assert.equal(bom.name.text, "\ufeffa");
      assert.ok(g.FuseName.from("\ufeffa").equals(bom.name));
      assert.deepEqual(
        g.encodeRequest({ ...bom, name: bom.name.text }, full),
        g.encodeRequest(bom, full),
      );
      // A name that is valid UTF-8 has its text; encoders take it as a string, bytes or FuseName alike.
      const utf = g.decodeRequest(build(lookup, enc.encode("naïve\0")), full);
      assert.equal(utf.name.text, "naïve");
      assert.equal(JSON.stringify(utf.name), '"naïve"');
      for (const name of ["naïve", enc.encode("naïve"), utf.name, base.FuseName.from("naïve")]) {
        const again: Uint8Array = g.encodeRequest(
          { op: "FUSE_LOOKUP", opcode: lookup, header: { ...utf.header }, name },
          full,
        );
        assert.deepEqual(g.decodeRequest(again, full), utf);
      }
      // SYMLINK's target and SETXATTR's name are names too: any bytes but NUL.
      const symlink = opNamed(schema, "FUSE_SYMLINK");
      const link = g.decodeRequest(
        build(Number(symlink.value), new Uint8Array([0x6c, 0xe9, 0, 0x2e, 0x2e, 0x2f, 0xff, 0])),
        full,
      );
      assert.deepEqual([...link.name.bytes], [0x6c, 0xe9]);
      assert.deepEqual([...link.target.bytes], [0x2e, 0x2e, 0x2f, 0xff]);
      const setx = opNamed(schema, "FUSE_SETXATTR");
      const x = g.decodeRequest(
        build(
          Number(setx.value),
          new Uint8Array([
            ...new Uint8Array(codecOf(g, "fuse_setxattr_in").size),
            0x75,
            0x2e,
            0xe9,
            0,
            0x76,
          ]),
        ),
        full,
      );
      assert.deepEqual([...x.name.bytes], [0x75, 0x2e, 0xe9]);
      assert.deepEqual([...x.value], [0x76]);
    });

    test("an array whose count does not match its records", () => {
      const op = opNamed(schema, "FUSE_BATCH_FORGET");
      const req = sampleRequest(g, op, patternFill(g, 1), inHeader(1), new Uint8Array(0));
      const bytes: Uint8Array = g.encodeRequest(req, full);
      const one = codecOf(g, "fuse_forget_one").size;
      const cut = build(Number(op.value), bytes.subarray(40, bytes.length - one));
      assert.throws(
        () => g.decodeRequest(cut, full),
        (e: any) =>
          isKind("count", "entries")(e) && e.needed === 3 * one && e.available === 2 * one,
      );
      assert.throws(
        () =>
          g.decodeRequest(
            build(Number(op.value), new Uint8Array([...bytes.subarray(40), 1])),
            full,
          ),
        isKind("count"),
      );
      assert.throws(
        () => g.encodeRequest({ ...req, entries: req.entries.slice(1) }),
        isKind("count", "entries"),
      );
    });

    test("extensions longer than the message, and extensions that are not whole 8-byte units", () => {
      const op = opNamed(schema, "FUSE_MKDIR");
      const body = new Uint8Array([
        ...new Uint8Array(codecOf(g, "fuse_mkdir_in").size),
        ...enc.encode("d\0"),
      ]);
      assert.throws(
        () => g.decodeRequest(build(Number(op.value), body, { total_extlen: 100 }), full),
        (e: any) =>
          isKind("extensions", "extensions")(e) && e.needed === 800 && e.available === body.length,
      );
      const ok = g.decodeRequest(
        build(Number(op.value), new Uint8Array([...body, ...pattern(8, 1)]), { total_extlen: 1 }),
        full,
      );
      assert.deepEqual(ok.extensions, pattern(8, 1));
      assert.equal(ok.name.text, "d");
      assert.throws(
        () => g.encodeRequest({ ...ok, extensions: new Uint8Array(5) }),
        isKind("value", "extensions"),
      );
      // A name must end before the extensions: their zero bytes are no terminator.
      const noNul = new Uint8Array([
        ...new Uint8Array(codecOf(g, "fuse_mkdir_in").size),
        ...enc.encode("d"),
        ...new Uint8Array(8),
      ]);
      assert.throws(
        () => g.decodeRequest(build(Number(op.value), noNul, { total_extlen: 1 }), full),
        isKind("name", "name"),
      );
    });

    test("bytes left after the last part", () => {
      const getattr = Number(opNamed(schema, "FUSE_GETATTR").value);
      assert.throws(
        () =>
          g.decodeRequest(build(getattr, pattern(codecOf(g, "fuse_getattr_in").size + 3, 1)), full),
        (e: any) => isKind("trailing")(e) && e.available === 3,
      );
      assert.throws(
        () => g.decodeRequest(build(lookup, enc.encode("a\0b")), full),
        isKind("trailing"),
      );
      const err = new Uint8Array(24);
      g.encodeFuseOutHeader({ len: 24, error: -2, unique: 1n }, err);
      assert.throws(() => g.decodeReply(lookup, err, full), isKind("trailing"));
    });

    test("replies: errors must be negative; unknown opcodes; notifications need unique 0", () => {
      assert.throws(
        () => g.encodeReply(1n, { error: 2 }, { ...full, opcode: lookup }),
        isKind("value", "error"),
      );
      // Decoding: an error the encoder refuses (and the kernel does) is refused too.
      const errorReply = (error: number) => {
        const b = new Uint8Array(16);
        g.encodeFuseOutHeader({ len: 16, error, unique: 1n }, b);
        return b;
      };
      for (const bad of [g.REPLY_ERROR_MIN - 1, -100000, -0x80000000, 2]) {
        assert.throws(() => g.encodeErrorReply(1n, bad), isKind("value", "error"), String(bad));
        assert.throws(
          () => g.decodeReply(lookup, errorReply(bad), full),
          (e: any) => isKind("value", "error")(e) && e.offset === 4,
          String(bad),
        );
      }
      for (const good of [-1, g.REPLY_ERROR_MIN])
        assert.deepEqual(g.decodeReply(lookup, errorReply(good), full).reply, { error: good });
      assert.throws(
        () => g.encodeReply(1n, { error: 0 }, { ...full, opcode: lookup }),
        isKind("value", "error"),
      );
      assert.throws(
        () => g.encodeReply(1n, {}, { ...full, opcode: lookup }),
        isKind("value", "entry_out"),
      );
      assert.throws(
        () => g.encodeReply(1n, { error: -2 }, { ...full, opcode: 0x7ffffff0 }),
        isKind("unknown"),
      );
      assert.deepEqual(
        [...g.encodeErrorReply(9n, -38).subarray(0, 8)],
        [16, 0, 0, 0, 0xda, 0xff, 0xff, 0xff],
      );
      assert.throws(() => g.encodeErrorReply(9n, 38), isKind("value"));
      const first = protocol.notifications[0]!;
      const args: Record<string, any> = {};
      fillParts(args, first.parts, patternFill(g, 1));
      const n: Uint8Array = g.encodeNotify(Number(first.value), args);
      new DataView(n.buffer).setBigUint64(8, 5n, true);
      assert.throws(() => g.decodeNotify(n), isKind("value", "header"));
      assert.throws(() => g.encodeNotify(9999, {}), isKind("unknown"));
      assert.throws(
        () => g.decodeRequest(build(lookup, enc.encode("a\0")), { minor: -1 }),
        isKind("value"),
      );
    });
  });

  describe(`${rev}: directory listings`, () => {
    const align = schema.macros.find((m) => m.name === "FUSE_DIRENT_ALIGN")!.helper!.alignment;
    const nameOffset = Number(schema.constants.find((c) => c.name === "FUSE_NAME_OFFSET")!.value);
    const plusOffset = Number(
      schema.constants.find((c) => c.name === "FUSE_NAME_OFFSET_DIRENTPLUS")!.value,
    );
    const entry = (k: number, name: string | Uint8Array) => ({
      ino: BigInt(1000 + k),
      off: BigInt(k + 1),
      type: 4 + k,
      name,
    });
    /** The entry as decoders give it back: the name as a FuseName. */
    const decoded = (k: number, name: string | Uint8Array) => ({
      ...entry(k, name),
      name: g.FuseName.from(name),
    });
    const recLen = (offset: number, name: string) =>
      Math.ceil((offset + new TextEncoder().encode(name).length) / align) * align;
    // Names whose records need no padding, a little, and the most.
    const names = ["a".repeat(align), "bb", "c".repeat(align + 1), "ü"];

    test(`records are padded to ${align} bytes and fill exactly up to the requested size`, () => {
      const total = names.reduce((n, s) => n + recLen(nameOffset, s), 0);
      const exact = new g.DirentListEncoder(total);
      for (const [k, s] of names.entries()) assert.equal(exact.add(entry(k, s)), true, s);
      assert.equal(exact.length, total);
      assert.equal(exact.count, names.length);
      assert.equal(exact.add(entry(9, "x")), false, "full");
      const bytes: Uint8Array = exact.finish();
      assert.equal(bytes.length, total);
      assert.deepEqual(
        g.decodeDirents(bytes),
        names.map((s, k) => decoded(k, s)),
      );
      // Padding is zero: the byte after "bb" up to the record's end.
      const second = recLen(nameOffset, names[0]!);
      assert.deepEqual(
        [...bytes.subarray(second + nameOffset + 2, second + recLen(nameOffset, "bb"))],
        new Array(recLen(nameOffset, "bb") - nameOffset - 2).fill(0),
      );

      const short = new g.DirentListEncoder(total - 1);
      for (const [k, s] of names.slice(0, -1).entries()) assert.equal(short.add(entry(k, s)), true);
      const before = short.length;
      assert.equal(short.add(entry(3, names[3]!)), false, "one byte short");
      assert.equal(short.length, before, "a refused record writes nothing");
      assert.equal(short.finish().length, total - recLen(nameOffset, names[3]!));
      assert.equal(
        new g.DirentListEncoder(nameOffset).add(entry(0, "a")),
        false,
        "the padded record does not fit",
      );
    });

    test("the READDIR reply carries the records; bad names and cut records are typed errors", () => {
      const list = new g.DirentListEncoder(4096);
      list.add(entry(0, "."));
      list.add(entry(1, ".."));
      const opcode = Number(opNamed(schema, "FUSE_READDIR").value);
      const reply: Uint8Array = g.encodeReply(3n, { data: list.finish() }, { ...full, opcode });
      assert.deepEqual(g.decodeDirents(g.decodeReply(opcode, reply, full).reply.data), [
        decoded(0, "."),
        decoded(1, ".."),
      ]);
      for (const bad of [
        "",
        "a/b",
        "a\0b",
        "n".repeat(g.DIRENT_NAME_MAX + 1),
        new Uint8Array([0xe9, 0x2f]),
      ]) {
        assert.throws(() => list.add(entry(2, bad)), isKind("name", "name"), String(bad));
      }
      const bytes: Uint8Array = list.finish();
      assert.throws(
        () => g.decodeDirents(bytes.subarray(0, bytes.length - 1)),
        isKind("truncated", "record"),
      );
      assert.throws(
        () => g.decodeDirents(bytes.subarray(0, nameOffset - 1)),
        isKind("truncated", "record"),
      );
      assert.deepEqual(g.decodeDirents(new Uint8Array(0)), []);
    });

    test("READDIRPLUS records carry an entry_out and fill up the same way", () => {
      const eo = (k: number) => structOf(g, "fuse_entry_out", (n) => pattern(n, 40 + k));
      const plus = (k: number, s: string) => ({ entry_out: eo(k), ...entry(k, s) });
      const total = names.reduce((n, s) => n + recLen(plusOffset, s), 0);
      const list = new g.DirentplusListEncoder(total);
      for (const [k, s] of names.entries()) assert.equal(list.add(plus(k, s)), true);
      assert.equal(list.add(plus(9, "z")), false);
      assert.equal(list.length, total);
      assert.deepEqual(
        g.decodeDirentplus(list.finish()),
        names.map((s, k) => ({ ...plus(k, s), name: g.FuseName.from(s) })),
      );
      const one = new g.DirentplusListEncoder(total - 1);
      for (const [k, s] of names.entries()) one.add(plus(k, s));
      assert.equal(one.count, names.length - 1);
    });

    test("a listing that outgrows the encoder's first buffer keeps its records, and its reply", () => {
      // The first buffer holds about a hundred short records (runtime/dirents.ts); 600 need more.
      const eo = (k: number) => structOf(g, "fuse_entry_out", (n) => pattern(n, 40 + k));
      const many = Array.from({ length: 600 }, (_, k) => `entry-${k}`);
      for (const plusList of [false, true]) {
        const make = (k: number, s: string) =>
          plusList ? { entry_out: eo(k), ...entry(k, s) } : entry(k, s);
        const list = new g[plusList ? "DirentplusListEncoder" : "DirentListEncoder"](1 << 20);
        const first: Uint8Array = list.buffer;
        for (const [k, s] of many.entries()) assert.equal(list.add(make(k, s)), true, s);
        assert.notEqual(list.buffer, first, "a larger buffer replaced the first");
        const want = many.map((s, k) => ({ ...make(k, s), name: g.FuseName.from(s) }));
        const decode = (b: Uint8Array) => (plusList ? g.decodeDirentplus(b) : g.decodeDirents(b));
        assert.deepEqual(decode(list.finish()), want);
        const opcode = Number(
          opNamed(schema, plusList ? "FUSE_READDIRPLUS" : "FUSE_READDIR").value,
        );
        const message = list.buffer.subarray(0, list.finishReply(7n));
        assert.deepEqual(decode(g.decodeReply(opcode, message, full).reply.data), want);
        // Reset keeps the grown buffer: the next listing writes the same bytes in place.
        const grown: Uint8Array = list.buffer;
        const bytes = list.finish().slice();
        list.reset();
        for (const [k, s] of many.entries()) list.add(make(k, s));
        assert.equal(list.buffer, grown);
        assert.deepEqual(list.finish(), bytes);
      }
    });

    test(`names are bytes: any but '/' and NUL, 1 to DIRENT_NAME_MAX (${1024}) of them; decoders refuse what encoders and the kernel refuse`, () => {
      assert.equal(g.DIRENT_NAME_MAX, schema.protocol!.direntNameMax);
      assert.equal(g.DIRENT_NAME_MAX, 1024);
      const good = [
        new Uint8Array([0x63, 0x61, 0x66, 0xe9]),
        new Uint8Array([0xff, 0xfe]),
        "m".repeat(g.DIRENT_NAME_MAX),
      ];
      for (const plusList of [false, true]) {
        const offset = plusList ? plusOffset : nameOffset;
        const make = (k: number, name: string | Uint8Array) =>
          plusList
            ? {
                entry_out: structOf(g, "fuse_entry_out", (n) => pattern(n, 40 + k)),
                ...entry(k, name),
              }
            : entry(k, name);
        const list = new g[plusList ? "DirentplusListEncoder" : "DirentListEncoder"](8192);
        for (const [k, name] of good.entries()) assert.equal(list.add(make(k, name)), true);
        const bytes: Uint8Array = list.finish();
        const decode = (b: Uint8Array) => (plusList ? g.decodeDirentplus(b) : g.decodeDirents(b));
        const back = decode(bytes);
        assert.deepEqual(
          back.map((e: any) => [...e.name.bytes]),
          good.map((n) => [...(typeof n === "string" ? new TextEncoder().encode(n) : n)]),
        );
        assert.equal(back[0].name.text, undefined);
        const again = new g[plusList ? "DirentplusListEncoder" : "DirentListEncoder"](8192);
        for (const e of back) again.add(e);
        assert.deepEqual(again.finish(), bytes, "decode → encode gives the same bytes");

        /** The first record ("café", 4 bytes) with its name bytes, length or padding changed. */
        const first = (patch: (b: Uint8Array, view: DataView) => void) => {
          const b = bytes.slice(0, Math.ceil((offset + 4) / align) * align);
          patch(b, new DataView(b.buffer));
          return b;
        };
        const namelenAt = offset - nameOffset + 16; // fuse_dirent: ino, off, then namelen
        assert.equal(new DataView(bytes.buffer, bytes.byteOffset).getUint32(namelenAt, true), 4);
        const label = plusList ? "direntplus" : "dirent";
        assert.throws(
          () => decode(first((b) => (b[offset + 1] = 0x2f))),
          (e: any) => isKind("name", "name")(e) && e.offset === offset,
          `${label}: '/'`,
        );
        assert.throws(
          () => decode(first((b) => (b[offset + 2] = 0))),
          isKind("name", "name"),
          `${label}: NUL`,
        );
        assert.throws(
          () => decode(first((_b, v) => v.setUint32(namelenAt, 0, true))),
          isKind("name", "name"),
          `${label}: empty`,
        );
        // Longer than the limit: refused before the record's length is even considered, as the kernel does.
        assert.throws(
          () => decode(first((_b, v) => v.setUint32(namelenAt, g.DIRENT_NAME_MAX + 1, true))),
          (e: any) => isKind("name", "name")(e) && e.available === g.DIRENT_NAME_MAX + 1,
          `${label}: too long`,
        );
        assert.throws(
          () => decode(first((b) => (b[offset + 4] = 1))),
          (e: any) => isKind("padding", "record")(e) && e.offset === offset + 4,
          `${label}: padding`,
        );
        assert.throws(
          () => decode(first((b) => (b[b.length - 1] = 0x80))),
          isKind("padding", "record"),
          `${label}: last padding byte`,
        );
        assert.equal(decode(first(() => {})).length, 1, `${label}: the untouched record decodes`);
      }
    });
  });

  describe(`${rev}: properties`, () => {
    const ops = protocol.opcodes;
    // Names as decoders give them: from text, or from any bytes but NUL (most of them not UTF-8).
    const nameArb = fc
      .oneof(
        fc.string({ unit: "grapheme", maxLength: 12 }).filter((s) => !s.includes("\0")),
        fc.uint8Array({ maxLength: 12 }).filter((b) => !b.includes(0)),
      )
      .map((n) => g.FuseName.from(n));
    const minorArb = fc.integer({ min: 0, max: schema.source.minorVersion! });
    const flagKeys = Object.keys(full).filter((k) => k !== "minor");
    const structs = new Map(schema.structs.map((s) => [s.name, s]));
    const hasPadding = (s: StructDef | undefined, seen = new Set<string>()): boolean => {
      if (!s || seen.has(s.name)) return false;
      seen.add(s.name);
      return (
        s.layout.x86_64.padding.length > 0 ||
        s.fields.some((f) => f.type.kind === "struct" && hasPadding(structs.get(f.type.name), seen))
      );
    };
    const padded = new Set(
      ops
        .filter((o) =>
          o.request.some(
            (p) => (p.kind === "struct" || p.kind === "array") && hasPadding(structs.get(p.struct)),
          ),
        )
        .map((o) => o.name),
    );

    /** A random valid request of a random opcode, and the options it is encoded under. */
    const requestArb = fc
      .record({
        opIndex: fc.nat({ max: ops.length - 1 }),
        seed: fc.integer(),
        names: fc.array(nameArb, { minLength: 3, maxLength: 3 }),
        data: fc.uint8Array({ maxLength: 40 }),
        count: fc.nat({ max: 4 }),
        extUnits: fc.nat({ max: 3 }),
        minor: minorArb,
        flag: fc.boolean(),
      })
      .map(({ opIndex, seed, names, data, count, extUnits, minor, flag }) => {
        const op = ops[opIndex]!;
        const fill: Fill = {
          struct: (cName, k) => structOf(g, cName, (n) => randomBytes(n, seed + k)),
          name: (_field, k) => names[k % 3]!,
          data: () => data,
          count,
        };
        const header = {
          ...structOf(g, "fuse_in_header", (n) => randomBytes(n, seed ^ 0x5a5a)),
          len: 0,
        };
        const req = sampleRequest(g, op, fill, header, randomBytes(extUnits * 8, seed + 1));
        const opts: Record<string, unknown> = { minor };
        for (const k of flagKeys) opts[k] = flag;
        return { op, req, opts };
      });

    test("random requests: encode → decode → encode is the identity at any minor; exact at the full one", () => {
      fc.assert(
        fc.property(requestArb, ({ req, opts }) => {
          const bytes: Uint8Array = g.encodeRequest(req, opts);
          const decoded = g.decodeRequest(bytes, opts);
          assert.deepEqual(g.encodeRequest(decoded, opts), bytes);
          assert.deepEqual(g.decodeRequest(g.encodeRequest(decoded, opts), opts), decoded);
          const atFull: Uint8Array = g.encodeRequest(req, full);
          req.header.len = atFull.length;
          assert.deepEqual(g.decodeRequest(atFull, full), req);
        }),
        { numRuns: 300 },
      );
    });

    test("damaged requests: a typed error, or a request that re-encodes to the same bytes", () => {
      const mutation = fc.oneof(
        fc.record({ kind: fc.constant("cut" as const), at: fc.nat() }),
        fc.record({
          kind: fc.constant("append" as const),
          extra: fc.uint8Array({ minLength: 1, maxLength: 24 }),
        }),
        fc.record({
          kind: fc.constant("poke" as const),
          at: fc.nat(),
          value: fc.nat({ max: 255 }),
        }),
        fc.record({ kind: fc.constant("extlen" as const), value: fc.nat({ max: 12 }) }),
        fc.record({
          kind: fc.constant("opcode" as const),
          value: fc.oneof(fc.nat(), fc.constantFrom(...ops.map((o) => Number(o.value)))),
        }),
        fc.record({ kind: fc.constant("len" as const), value: fc.nat({ max: 400 }) }),
      );
      fc.assert(
        fc.property(
          requestArb,
          fc.array(mutation, { minLength: 1, maxLength: 3 }),
          ({ req, opts }, mutations) => {
            let bytes: Uint8Array = g.encodeRequest(req, opts);
            let fixLen = true;
            for (const m of mutations) {
              const view = () => new DataView(bytes.buffer, bytes.byteOffset, bytes.byteLength);
              if (m.kind === "cut")
                bytes = bytes.slice(0, 40 + (m.at % Math.max(1, bytes.length - 39)));
              else if (m.kind === "append") bytes = new Uint8Array([...bytes, ...m.extra]);
              else if (m.kind === "poke" && bytes.length > 40)
                bytes[40 + (m.at % (bytes.length - 40))] = m.value;
              else if (m.kind === "extlen") view().setUint16(36, m.value, true);
              else if (m.kind === "opcode") view().setUint32(4, m.value, true);
              else if (m.kind === "len") {
                view().setUint32(0, m.value, true);
                fixLen = false;
              }
            }
            if (fixLen)
              new DataView(bytes.buffer, bytes.byteOffset).setUint32(0, bytes.length, true);
            let decoded: any;
            try {
              decoded = g.decodeRequest(bytes, opts);
            } catch (e) {
              assert.ok(e instanceof g.FuseMessageError, `not a typed error: ${String(e)}`);
              return;
            }
            // A negotiation struct (INIT) is decoded at the size it came with, whatever the minor,
            // but encoded at the minor's size: compare it at the full size.
            const op = ops.find((o) => Number(o.value) === decoded.opcode);
            const selfSized = op?.request.some(
              (p) =>
                p.kind === "struct" &&
                structs.get(p.struct)!.fields.some((f) => f.name === "major"),
            );
            const o = selfSized ? full : opts;
            const again: Uint8Array = g.encodeRequest(decoded, o);
            assert.deepEqual(g.decodeRequest(again, o), {
              ...decoded,
              header: { ...decoded.header, len: again.length },
            });
            // Byte identity, except where the message had bytes a value cannot carry: implicit
            // padding holes, or a negotiation struct sent at another size than this minor's.
            if (!padded.has(op?.name ?? "") && !selfSized) assert.deepEqual(again, bytes);
          },
        ),
        { numRuns: 1000 },
      );
    });
  });
}

test("the committed messages.ts of every revision passes tsc with the strictest options, without DOM or Node types", () => {
  const roots = revisions.map(({ name }) => join(repoRoot(), "generated", name, "messages.ts"));
  const program = ts.createProgram(roots, STRICT);
  const diags = ts.getPreEmitDiagnostics(program);
  assert.equal(
    ts.formatDiagnostics(diags, {
      getCanonicalFileName: (f) => f,
      getCurrentDirectory: () => repoRoot(),
      getNewLine: () => "\n",
    }),
    "",
  );
});

test("types: replies are typed by opcode, requests narrow on op (base-7.45)", () => {
  const { FuseOpcode } = base;
  const lookupReply = base.encodeReply(
    1n,
    { entry_out: base.zeroFuseEntryOut() },
    { opcode: FuseOpcode.FUSE_LOOKUP, minor: 45 },
  );
  assert.equal(lookupReply.length, 16 + base.FuseEntryOut.SIZE);
  const create = base.encodeReply(
    2n,
    { entry_out: base.zeroFuseEntryOut(), open_out: base.zeroFuseOpenOut() },
    { opcode: FuseOpcode.FUSE_CREATE, minor: 45 },
  );
  const decoded = base.decodeReply(FuseOpcode.FUSE_CREATE, create, { minor: 45 });
  if (!base.isErrorReply(decoded.reply)) assert.equal(decoded.reply.open_out.fh, 0n);
  assert.throws(
    () =>
      base.encodeReply(
        1n,
        // @ts-expect-error LOOKUP is answered with entry_out, not open_out
        { open_out: base.zeroFuseOpenOut() },
        { opcode: FuseOpcode.FUSE_LOOKUP, minor: 45 },
      ),
    isKind("value"),
  );
  assert.throws(
    // @ts-expect-error FORGET gets no reply
    () => base.encodeReply(1n, { error: -2 }, { opcode: FuseOpcode.FUSE_FORGET, minor: 45 }),
    isKind("no-reply"),
  );
  const xattrSize = base.encodeReply(
    3n,
    { getxattr_out: { size: 12, padding: 0 } },
    { opcode: FuseOpcode.FUSE_GETXATTR, minor: 45 },
  );
  const xattrData = base.encodeReply(
    3n,
    { data: new Uint8Array(8) },
    { opcode: FuseOpcode.FUSE_GETXATTR, minor: 45 },
  );
  assert.equal(xattrSize.length, xattrData.length, "both 8 bytes: the caller says which form");
  assert.deepEqual(
    base.decodeReply(FuseOpcode.FUSE_GETXATTR, xattrData, { minor: 45, xattr: "data" }).reply,
    { data: new Uint8Array(8) },
  );
  assert.deepEqual(base.decodeReply(FuseOpcode.FUSE_GETXATTR, xattrSize, { minor: 45 }).reply, {
    getxattr_out: { size: 12, padding: 0 },
  });

  const write: base.RequestOf<"FUSE_WRITE"> = {
    op: "FUSE_WRITE",
    opcode: FuseOpcode.FUSE_WRITE,
    header: base.zeroFuseInHeader(),
    write_in: { ...base.zeroFuseWriteIn(), size: 3 },
    data: new Uint8Array([1, 2, 3]),
  };
  const req: base.FuseRequest = base.decodeRequest(base.encodeRequest(write), { minor: 45 });
  let size = -1;
  if (req.op === "unknown") assert.fail("known opcode");
  switch (req.op) {
    case "FUSE_WRITE":
      size = req.write_in.size + req.data.length;
      break;
    case "FUSE_LOOKUP":
      assert.fail(req.name.toString());
  }
  assert.equal(size, 6);
  // Names: decoded as FuseName; encoders take a string, bytes or a FuseName (EncodeInput).
  const header = base.zeroFuseInHeader();
  const byText = base.encodeRequest({
    op: "FUSE_LOOKUP",
    opcode: FuseOpcode.FUSE_LOOKUP,
    header,
    name: "x",
  });
  const byBytes = base.encodeRequest({
    op: "FUSE_LOOKUP",
    opcode: FuseOpcode.FUSE_LOOKUP,
    header,
    name: new Uint8Array([0x78]),
  });
  assert.deepEqual(byText, byBytes);
  const lookup = base.decodeRequest(byText, { minor: 45 });
  if (lookup.op === "FUSE_LOOKUP") {
    const name: base.FuseName = lookup.name;
    const text: string | undefined = name.text;
    assert.equal(text, "x");
  }
  assert.throws(
    () =>
      // @ts-expect-error a name is a string, bytes or a FuseName
      base.encodeRequest({ op: "FUSE_LOOKUP", opcode: FuseOpcode.FUSE_LOOKUP, header, name: 5 }),
    isKind("value", "name"),
  );
  const list = new base.DirentListEncoder(64);
  assert.equal(list.add({ ino: 1n, off: 1n, type: 8, name: new Uint8Array([0xe9]) }), true);
  const entries: base.DirentEntry[] = base.decodeDirents(list.finish());
  assert.deepEqual([...entries[0]!.name.bytes], [0xe9]);
  const deleted = base.decodeNotify(
    base.encodeNotify(base.FuseNotifyCode.FUSE_NOTIFY_DELETE, {
      notify_delete_out: { parent: 1n, child: 2n, namelen: 1, padding: 0 },
      name: "f",
    }),
  );
  if (deleted.name === "FUSE_NOTIFY_DELETE") assert.equal(deleted.args.name.text, "f");
  const n = base.encodeNotify(base.FuseNotifyCode.FUSE_NOTIFY_INVAL_INODE, {
    notify_inval_inode_out: { ino: 1n, off: 0n, len: -1n },
  });
  const notification = base.decodeNotify(n);
  if (notification.name === "FUSE_NOTIFY_INVAL_INODE")
    assert.equal(notification.args.notify_inval_inode_out.len, -1n);
  else assert.fail(notification.name);
});

test("reply errors stay in the range the kernel accepts (protocol table replyErrors)", async () => {
  const g =
    (await import("../generated/base-7.45/messages.js")) as typeof import("../generated/base-7.45/messages.js");
  assert.equal(g.REPLY_ERROR_MIN, -511);
  assert.equal(g.encodeErrorReply(1n, -511).length, 16);
  assert.throws(() => g.encodeErrorReply(1n, -512), g.FuseMessageError);
  assert.throws(() => g.encodeErrorReply(1n, 0), g.FuseMessageError);
});
