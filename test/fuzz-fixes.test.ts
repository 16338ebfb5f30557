/**
 * One test per decoder-strictness rule the fuzzers found missing: each builds a valid message
 * with the revision's own encoder, changes the bytes the rule is about, and expects the
 * project's typed error (before the fix the decoder accepted bytes no encoder produces).
 * Generic over revisions: every revision with the construct is checked.
 */
import assert from "node:assert/strict";
import { describe, test } from "node:test";
import { loadRevisions, type Gen } from "./fuzz/revisions.js";

const revisions = await loadRevisions();
const compoundRevisions = revisions.filter((r) => r.hasCompound);

/* eslint-disable @typescript-eslint/no-explicit-any -- generated modules of any revision */

/** A valid compound of two GETATTRs, and where its parts are. */
function twoGetattrs(g: Gen): {
  bytes: Uint8Array;
  area: number;
  sub: number[];
} {
  const b = new g["CompoundBuilder"]();
  b.add({
    op: "FUSE_GETATTR",
    nodeid: 5n,
    getattr_in: g["FuseGetattrInCodec"].zero(),
  });
  b.add({
    op: "FUSE_GETATTR",
    nodeid: 6n,
    getattr_in: g["FuseGetattrInCodec"].zero(),
  });
  const bytes: Uint8Array = b.encode({ unique: 9n, uid: 1, gid: 2, pid: 3 });
  const rules = g["COMPOUND_SEMANTICS"];
  const area = 40 + g["FuseCompoundInCodec"].size;
  const prefix = rules.framing.subRequestPrefix ? g["FuseCompoundReqInCodec"].size : 0;
  const first = area + prefix;
  const subLen = new DataView(bytes.buffer).getUint32(first, true);
  return { bytes, area, sub: [first, first + subLen + prefix] };
}

/** An op of the compound table with zero structs for its parts and no data asked. */
function opOf(g: Gen, spec: any): Record<string, unknown> {
  const op: Record<string, unknown> = { op: spec.op, nodeid: 1n, outSize: 0 };
  for (const p of spec.parts) op[p.field] = p.codec.zero();
  return op;
}

function refuses(g: Gen, bytes: Uint8Array, kind: string): void {
  assert.throws(
    () => g["decodeCompoundRequest"](bytes),
    (e: any) => e.name === "CompoundError" && e.kind === kind,
  );
}

function patched(bytes: Uint8Array, at: number, value: number, width = 4): Uint8Array {
  const out = bytes.slice();
  const v = new DataView(out.buffer);
  if (width === 8) v.setBigUint64(at, BigInt(value), true);
  else if (width === 2) v.setUint16(at, value, true);
  else v.setUint32(at, value, true);
  return out;
}

describe("compound requests: fuse_in_header members set by rule", () => {
  for (const rev of compoundRevisions) {
    const g = rev.gen;
    const rules = g["COMPOUND_SEMANTICS"];
    test(`${rev.name}: the builder's compound decodes`, () => {
      const { bytes } = twoGetattrs(g);
      assert.equal(g["decodeCompoundRequest"](bytes).requests.length, 2);
    });
    test(`${rev.name}: outer nodeid other than ${rules.outerNodeid}, total_extlen or padding not 0`, () => {
      const { bytes } = twoGetattrs(g);
      refuses(g, patched(bytes, 16, rules.outerNodeid + 7, 8), "header");
      refuses(g, patched(bytes, 36, 1, 2), "header");
      refuses(g, patched(bytes, 38, 1, 2), "header");
    });
    test(`${rev.name}: sub-request header members against the subHeader rules`, () => {
      const { bytes, sub } = twoGetattrs(g);
      const at = sub[1]!;
      const sh = rules.subHeader;
      for (const [field, off, width] of [
        ["uid", 24, 4],
        ["gid", 28, 4],
        ["pid", 32, 4],
        ["total_extlen", 36, 2],
        ["padding", 38, 2],
        ["unique", 8, 8],
      ] as const) {
        const rule = sh[field];
        if (rule === "zero" || rule === "copy-parent" || rule === "op-index")
          refuses(g, patched(bytes, at + off, 0x77, width), "header");
      }
    });
  }
});

describe("compound requests: fuse_compound_in as the kernel fills it", () => {
  for (const rev of compoundRevisions) {
    const g = rev.gen;
    const rules = g["COMPOUND_SEMANTICS"];
    const offsets = g["STRUCT_LAYOUT"].fuse_compound_in.x86_64.offsets;
    const member = (role: string): string | undefined =>
      Object.keys(rules.framing.request.members).find(
        (m) => rules.framing.request.members[m] === role,
      );
    const flags = member("flags");
    if (flags !== undefined)
      test(`${rev.name}: flag bits the revision does not define`, () => {
        const { bytes } = twoGetattrs(g);
        let known = 0;
        for (const f of rules.flags.defined) known |= f.value;
        const bit = [1, 2, 4, 8, 16, 0x80000000].find((b) => (b & known) === 0)!;
        refuses(g, patched(bytes, 40 + offsets[flags], bit), "flag");
      });
    const rs = member("result-size");
    if (rs !== undefined && rules.resultSize)
      test(`${rev.name}: result_size other than the sum of the expected out args`, () => {
        const { bytes } = twoGetattrs(g);
        const at = 40 + offsets[rs];
        const sum = new DataView(bytes.buffer).getUint32(at, true);
        refuses(g, patched(bytes, at, sum + 1), "result-size");
        refuses(g, patched(bytes, at, sum - 1), "result-size");
      });
    // A data reply with fixed parts before its data (e.g. CUSE_INIT: cuse_init_out, then the
    // device info) expects at least those parts: the decoder once counted such an op as 0.
    const fixedThenData = [...(g["COMPOUND_OPS"] as Map<number, any>).values()].find(
      (spec) =>
        spec.variable === "data" &&
        spec.parts.every((p: any) => p.kind === "struct") &&
        new g["CompoundBuilder"]().add(opOf(g, spec)).resultSize > 0,
    );
    if (rs !== undefined && rules.resultSize && fixedThenData)
      test(`${rev.name}: result_size below the fixed parts of a data reply (${fixedThenData.op})`, () => {
        const b = new g["CompoundBuilder"]();
        b.add(opOf(g, fixedThenData));
        const least: number = b.resultSize;
        const bytes: Uint8Array = b.encode({ unique: 9n, uid: 1, gid: 2, pid: 3 });
        const at = 40 + offsets[rs];
        assert.equal(new DataView(bytes.buffer).getUint32(at, true), least);
        g["decodeCompoundRequest"](bytes);
        g["decodeCompoundRequest"](patched(bytes, at, least + 4096)); // the data the caller asks
        refuses(g, patched(bytes, at, least - 1), "result-size");
        refuses(g, patched(bytes, at, 0), "result-size");
      });
    const padding = rev.structs.find((s) => s.name === "fuse_compound_in")!.layout.x86_64.padding;
    if (padding.length)
      test(`${rev.name}: implicit padding of fuse_compound_in not 0`, () => {
        const { bytes } = twoGetattrs(g);
        const out = bytes.slice();
        out[40 + padding[0]!.offset] = 1;
        // Refused by decodeRequest, as the padding of any struct part.
        assert.throws(
          () => g["decodeCompoundRequest"](out),
          (e: any) => e.name === "FuseMessageError" && e.kind === "padding",
        );
      });
  }
});

describe("messages: struct parts as encoders write them", () => {
  for (const rev of revisions) {
    const g = rev.gen;
    test(`${rev.name}: an INIT reply longer than fuse_init_out is refused (the kernel takes at most the full size)`, () => {
      const bytes: Uint8Array = g["encodeReply"](
        1n,
        { init_out: g["FuseInitOutCodec"].zero() },
        { opcode: 26, minor: 45 },
      );
      const longer = new Uint8Array(bytes.length + 8);
      longer.set(bytes);
      new DataView(longer.buffer).setUint32(0, longer.length, true);
      assert.equal(g["decodeReply"](26, bytes, { minor: 45 }).reply.init_out.major, 0);
      assert.throws(
        () => g["decodeReply"](26, longer, { minor: 45 }),
        (e: any) => e.name === "FuseMessageError" && e.kind === "trailing",
      );
    });
    // Every struct part with implicit padding: a non-zero padding byte would not re-encode.
    for (const op of rev.opcodes) {
      for (const p of op.request) {
        const s = p.kind === "struct" ? rev.structs.find((x) => x.name === p.struct) : undefined;
        const hole = s?.layout.x86_64.padding[0];
        if (!hole || op.request[0] !== p) continue;
        test(`${rev.name}: ${op.name} request with a non-zero padding byte in ${s!.name}`, () => {
          const req: Record<string, unknown> = {
            op: op.name,
            opcode: Number(op.value),
            header: g["FuseInHeaderCodec"].zero(),
          };
          for (const q of op.request)
            req[q.field] =
              q.kind === "struct"
                ? rev.codecs.get(q.struct!)!.zero()
                : q.kind === "array"
                  ? []
                  : new Uint8Array(0);
          const bytes: Uint8Array = g["encodeRequest"](req, { minor: 45 });
          g["decodeRequest"](bytes, { minor: 45 });
          const bad = bytes.slice();
          bad[40 + hole.offset] = 0x5a;
          assert.throws(
            () => g["decodeRequest"](bad, { minor: 45 }),
            (e: any) => e.name === "FuseMessageError" && e.kind === "padding",
          );
        });
      }
    }
  }
});
