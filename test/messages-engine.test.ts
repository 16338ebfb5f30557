/**
 * The message engine every revision shares (runtime/messages.ts, copied to
 * generated/_runtime/): one FuseMessageError and FuseName for all revisions, and
 * `encodeReplyInto`, whose struct replies go straight to their writer with a cached view of
 * the caller's buffer.
 */
import assert from "node:assert/strict";
import { test } from "node:test";
import * as base from "../generated/base-7.45/index.js";
import * as v7 from "../generated/v7/index.js";

const isKind = (kind: string) => (e: unknown) => {
  assert.ok(e instanceof base.FuseMessageError, String(e));
  assert.equal(e.kind, kind, e.message);
  return true;
};

const LOOKUP = base.FuseOpcode.FUSE_LOOKUP;
const entry = (ino: bigint): base.FuseEntryOut => ({
  ...base.zeroFuseEntryOut(),
  nodeid: ino,
  attr: { ...base.zeroFuseAttr(), ino, mode: 0o100644 },
});

test("one engine: the error and name classes are the same in every revision", () => {
  assert.equal(v7.FuseMessageError, base.FuseMessageError);
  assert.equal(v7.FuseName, base.FuseName);
  assert.throws(() => v7.decodeRequest(new Uint8Array(3), { minor: 45 }), isKind("length"));
});

test("encodeReplyInto: alternating buffers and views of one buffer get their own bytes", () => {
  const a = new Uint8Array(200);
  const b = new Uint8Array(200);
  const shared = new Uint8Array(400);
  const opts = { opcode: LOOKUP, minor: 45 } as const;
  for (let i = 0; i < 6; i++) {
    const ino = BigInt(10 + i);
    const expected = base.encodeReply(ino, { entry_out: entry(ino) }, opts);
    // Same buffer, other arrays: the cached view is of the buffer, offsets of the array.
    const target = [a, b, a, shared.subarray(0, 200), shared.subarray(200), b][i]!;
    const len = base.encodeReplyInto(target, 8, ino, { entry_out: entry(ino) }, opts);
    assert.equal(len, expected.length);
    assert.deepEqual(target.subarray(8, 8 + len), expected, `write ${i}`);
  }
  assert.deepEqual(a.subarray(0, 8), new Uint8Array(8), "nothing before the offset");
});

test("encodeReplyInto: compat sizes, errors and the generic path match encodeReply", () => {
  const buf = new Uint8Array(256);
  const cases: [number, object, object][] = [
    [LOOKUP, { entry_out: entry(3n) }, { minor: 8 }],
    [LOOKUP, { error: -2 }, { minor: 45 }],
    [base.FuseOpcode.FUSE_READ, { data: new Uint8Array([1, 2, 3]) }, { minor: 45 }],
    [base.FuseOpcode.FUSE_GETXATTR, { getxattr_out: { size: 5, padding: 0 } }, { minor: 45 }],
    [base.FuseOpcode.FUSE_INTERRUPT, { error: -11 }, { minor: 45 }],
  ];
  for (const [opcode, reply, o] of cases) {
    const opts = { ...o, opcode } as base.FuseReplyOptions;
    const expected = base.encodeReply(7n, reply as base.FuseReply, opts);
    const len = base.encodeReplyInto(buf, 1, 7n, reply as base.FuseReply, opts);
    assert.deepEqual(buf.subarray(1, 1 + len), expected, JSON.stringify([opcode, o]));
  }
});

test("encodeReplyInto: what it refuses, with nothing written", () => {
  const buf = new Uint8Array(100).fill(0xaa);
  const opts = { opcode: LOOKUP, minor: 45 } as const;
  const reply = { entry_out: entry(1n) };
  assert.throws(() => base.encodeReplyInto(buf, 0, 1n, reply, opts), isKind("length"));
  assert.throws(
    () => base.encodeReplyInto(new Uint8Array(400), 300, 1n, reply, opts),
    isKind("length"),
  );
  assert.throws(
    () => base.encodeReplyInto(new Uint8Array(400), 1.5, 1n, reply, opts),
    isKind("length"),
  );
  assert.throws(
    () => base.encodeReplyInto(new Uint8Array(400), -1, 1n, reply, opts),
    isKind("length"),
  );
  assert.ok(buf.every((b) => b === 0xaa));
  const big = new Uint8Array(400);
  assert.throws(
    () => base.encodeReplyInto(big, 0, 1n, reply, { opcode: LOOKUP, minor: -1 }),
    isKind("value"),
  );
  assert.throws(
    () => base.encodeReplyInto(big, 0, 1n, reply, { opcode: 999 as typeof LOOKUP, minor: 45 }),
    isKind("unknown"),
  );
  assert.throws(
    // @ts-expect-error a LOOKUP reply needs entry_out
    () => base.encodeReplyInto(big, 0, 1n, {}, opts),
    isKind("value"),
  );
  assert.throws(
    () => base.encodeReplyInto(big, 0, 1n, null as unknown as base.FuseReply<typeof LOOKUP>, opts),
    isKind("value"),
  );
  assert.ok(
    big.every((b) => b === 0),
    "nothing written",
  );
});
