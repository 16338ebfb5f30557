/**
 * The compound engine writes sub-requests in place and decodes fixed-size out args at their
 * offsets; anything it cannot take that way goes through the message codecs. These tests hold
 * both paths to the same bytes and values, for every op of every revision: the in-place
 * builder against one forced through encodeRequest (an `add` object with a key the in-place
 * writer leaves to encodeRequest), and the in-place reply walk against decodeReply per op.
 */
import assert from "node:assert/strict";
import { readFileSync } from "node:fs";
import { join } from "node:path";
import { before, test } from "node:test";
import { pathToFileURL } from "node:url";
import { loadKnownRevisions, repoRoot } from "../generator/revisions/registry.js";
import type { CompoundOpSpec } from "../runtime/compound.js";

const ROOT = repoRoot();
/* eslint-disable @typescript-eslint/no-explicit-any -- generated modules are imported per revision */
type Gen = Record<string, any>;

const revs: { name: string; g: Gen }[] = [];
const HEADER = { unique: 900n, uid: 1000, gid: 100, pid: 77 };
/** A name with 1-, 2-, 3- and 4-byte UTF-8 sequences. */
const NAME = "ñame-✓-😀.txt";

before(async () => {
  for (const r of await loadKnownRevisions()) {
    const schema = JSON.parse(
      readFileSync(join(ROOT, "schema", "revisions", `${r.name}.json`), "utf8"),
    ) as { compound?: unknown };
    if (!schema.compound) continue;
    revs.push({
      name: r.name,
      g: (await import(
        pathToFileURL(join(ROOT, "dist", "generated", r.name, "index.js")).href
      )) as Gen,
    });
  }
});

/** A revision's compound ops, whether its ops may depend on each other, and its op limit. */
function compoundFacts(g: Gen): { specs: CompoundOpSpec[]; deps: boolean; max: number } {
  const specs = [...(g["COMPOUND_OPS"] as ReadonlyMap<number, CompoundOpSpec>).values()];
  const sem = g["COMPOUND_SEMANTICS"] as {
    dependencies: { model: string };
    maxOps: number | null;
  };
  return { specs, deps: sem.dependencies.model !== "none", max: sem.maxOps ?? specs.length };
}

/** A sub-request object for `spec` with values in every part (structs zero but for the first integer member). */
function subRequest(spec: CompoundOpSpec, i: number, deps: boolean): Record<string, unknown> {
  const sub: Record<string, unknown> = { op: spec.op, nodeid: 0x1_0000_0000n + BigInt(i) };
  for (const p of spec.parts) {
    if (p.kind === "struct") {
      const v = p.codec.zero() as Record<string, unknown>;
      const first = Object.keys(v).find((k) => typeof v[k] === "number");
      // Not where an array's count lives in the struct (the array stays empty).
      if (first && !spec.parts.some((q) => q.kind === "array")) v[first] = 7 + i;
      sub[p.field] = v;
    } else if (p.kind === "name") sub[p.field] = `${NAME}-${p.field}`;
    else if (p.kind === "data") sub[p.field] = new Uint8Array([1, 2, 3, i & 255]);
    else sub[p.field] = [];
  }
  if (spec.variable !== null) sub["outSize"] = 64;
  if (deps && i > 0 && i % 3 === 0) sub["dependsOn"] = i - 1;
  return sub;
}

test("the in-place builder writes what encodeRequest writes, for every op of every revision", () => {
  assert.ok(revs.length > 0);
  for (const { name, g } of revs) {
    const { specs, deps, max } = compoundFacts(g);
    for (let from = 0; from < specs.length; from += max) {
      const chunk = specs.slice(from, from + max);
      const fast = new g["CompoundBuilder"]({ minor: 45, maxPages: 256 });
      const through = new g["CompoundBuilder"]({ minor: 45, maxPages: 256 });
      chunk.forEach((spec, i) => {
        const sub = subRequest(spec, i, deps);
        // The typed method where the op has one, as a user calls it.
        const args = [
          sub["nodeid"],
          ...spec.parts.map((p) => sub[p.field]),
          ...(spec.variable !== null ? [sub["outSize"]] : []),
        ];
        if (deps)
          args.push(sub["dependsOn"] === undefined ? undefined : { dependsOn: sub["dependsOn"] });
        fast[spec.method](...args);
        // `extensions: undefined` is read by encodeRequest only: the whole compound goes through it.
        through.add(i === 0 ? { ...sub, extensions: undefined } : sub);
      });
      fast.flags();
      through.flags();
      const a = fast.encode(HEADER) as Uint8Array;
      const b = through.encode(HEADER) as Uint8Array;
      assert.deepEqual(
        Buffer.from(a).toString("hex"),
        Buffer.from(b).toString("hex"),
        `${name}: ops ${from}..`,
      );
      assert.deepEqual(fast.ops, through.ops, `${name}: op refs`);
      // And the server side reads back every op as given.
      const decoded = g["decodeCompoundRequest"](a, { minor: 45 });
      assert.equal(decoded.requests.length, chunk.length, name);
    }
  }
});

test("encodeInto writes encode's bytes over a dirty buffer at an offset, for both paths of every revision", () => {
  for (const { name, g } of revs) {
    const { specs, deps, max } = compoundFacts(g);
    const chunk = specs.slice(0, Math.min(max, 12));
    // In place, and through encodeRequest (`extensions: undefined`), as in the test above.
    for (const forced of [false, true]) {
      const b = new g["CompoundBuilder"]({ minor: 45, maxPages: 256 });
      chunk.forEach((spec, i) => {
        const sub = subRequest(spec, i, deps);
        b.add(forced && i === 0 ? { ...sub, extensions: undefined } : sub);
      });
      const want = b.encode(HEADER) as Uint8Array;
      const opsAfterEncode = b.ops;
      const buf = new Uint8Array(want.length + 40).fill(0xa5);
      const len = b.encodeInto(HEADER, buf, 24) as number;
      const what = `${name} (${forced ? "through encodeRequest" : "in place"})`;
      assert.equal(len, want.length, what);
      assert.deepEqual(buf.subarray(24, 24 + len), want, what);
      // Only those bytes: before and after them, the buffer is as it was.
      assert.ok(
        buf.subarray(0, 24).every((x) => x === 0xa5),
        what,
      );
      assert.ok(
        buf.subarray(24 + len).every((x) => x === 0xa5),
        what,
      );
      assert.deepEqual(b.ops, opsAfterEncode, what);
    }
  }
});

test("encodeInto refuses a buffer without room (kind length, with the sizes) and writes nothing", () => {
  for (const { name, g } of revs) {
    const specs = [...(g["COMPOUND_OPS"] as ReadonlyMap<number, CompoundOpSpec>).values()];
    const b = new g["CompoundBuilder"]({ minor: 45 });
    b.add(subRequest(specs[0]!, 0, false));
    const need = (b.encode(HEADER) as Uint8Array).length;
    for (const [size, offset, available] of [
      [need - 1, 0, need - 1],
      [need, 1, need - 1],
      [need, need + 5, 0],
      [need * 2, -1, 0],
      [need * 2, 0.5, 0],
    ] as const) {
      const buf = new Uint8Array(size).fill(0x5a);
      assert.throws(
        () => b.encodeInto(HEADER, buf, offset),
        (e: Error & { kind?: string; offset?: number | null }) =>
          e.name === "CompoundError" &&
          e.kind === "length" &&
          e.message.includes(
            `needs ${need} bytes at offset ${offset} of the buffer, ${available} available`,
          ),
        `${name}: ${size} bytes at ${offset}`,
      );
      assert.ok(
        buf.every((x) => x === 0x5a),
        `${name}: nothing written`,
      );
    }
    assert.throws(
      () => b.encodeInto(HEADER, [1, 2, 3] as unknown as Uint8Array),
      (e: Error & { kind?: string }) => e.name === "CompoundError" && e.kind === "value",
      name,
    );
  }
});

test("a raw sub-request and a name given as bytes are written in place as encodeRequest writes them", () => {
  for (const { name, g } of revs) {
    const specs = [...(g["COMPOUND_OPS"] as ReadonlyMap<number, CompoundOpSpec>).values()];
    const lookup = specs.find((s) => s.op === "FUSE_LOOKUP");
    if (!lookup) continue;
    const bytes = new TextEncoder().encode(NAME);
    const fast = new g["CompoundBuilder"]({ minor: 45 })
      .lookup(5n, bytes)
      .addRaw(lookup.opcode, 6n, new Uint8Array([0x61, 0x62, 0]), 128);
    const through = new g["CompoundBuilder"]({ minor: 45 })
      .add({ op: "FUSE_LOOKUP", nodeid: 5n, name: bytes, extensions: undefined })
      .addRaw(lookup.opcode, 6n, new Uint8Array([0x61, 0x62, 0]), 128);
    assert.deepEqual(fast.encode(HEADER), through.encode(HEADER), name);
  }
});

test("a name the codecs refuse throws the message codecs' error from the method that adds it, and nothing is added", () => {
  for (const { name, g } of revs) {
    if (!(g["COMPOUND_OPS"] as ReadonlyMap<number, CompoundOpSpec>).has(1)) continue;
    const b = new g["CompoundBuilder"]({ minor: 45 }).lookup(5n, "ok");
    const before = b.encode(HEADER);
    assert.throws(
      () => b.lookup(5n, "a\0b"),
      (e: Error) => e.name === "FuseMessageError" && /NUL/.test(e.message),
      name,
    );
    assert.throws(
      () => b.lookup(6n, "\ud800x"),
      (e: Error) => e.name === "FuseMessageError",
      name,
    );
    assert.equal(b.length, 1, `${name}: the refused ops are not added`);
    assert.deepEqual(b.encode(HEADER), before, `${name}: the builder's bytes are unchanged`);
    assert.deepEqual(
      b.lookup(7n, "next").encode(HEADER),
      new g["CompoundBuilder"]({ minor: 45 }).lookup(5n, "ok").lookup(7n, "next").encode(HEADER),
      `${name}: the builder goes on after a refused op`,
    );
  }
});

test("the in-place reply walk decodes what decodeReply decodes, for every fixed-size reply of every revision", () => {
  for (const { name, g } of revs) {
    const specs = [...(g["COMPOUND_OPS"] as ReadonlyMap<number, CompoundOpSpec>).values()].filter(
      (s) => s.variable === null,
    );
    const max = (g["COMPOUND_SEMANTICS"] as { maxOps: number | null }).maxOps ?? specs.length;
    for (let from = 0; from < specs.length; from += max) {
      const chunk = specs.slice(from, from + max);
      const b = new g["CompoundBuilder"]({ minor: 45, maxPages: 256 });
      for (const spec of chunk) b.add(subRequest(spec, 1, false));
      b.encode(HEADER);
      const refs = b.ops as { opcode: number; unique?: bigint }[];
      const entries = chunk.map((spec, i) => ({
        opcode: spec.opcode,
        reply: spec.zeroReply(0),
        unique: refs[i]!.unique ?? 0n,
      }));
      let reply: Uint8Array;
      try {
        reply = g["encodeCompoundReply"](HEADER.unique, entries, { minor: 45 });
      } catch {
        continue; // a revision whose reply encoder refuses one of these zero replies: nothing to compare
      }
      const parsed = g["parseCompoundReply"](reply, { ops: refs, minor: 45 });
      parsed.results.forEach((r: { opcode: number; reply: unknown; error: number }, i: number) => {
        if (r.error !== 0 || r.reply === null) return;
        const want = g["decodeReply"](
          r.opcode,
          g["encodeReply"](0n, entries[i]!.reply, { minor: 45, opcode: r.opcode }),
          { minor: 45 },
        ).reply;
        assert.deepEqual(r.reply, want, `${name}: ${chunk[i]!.op}`);
      });
    }
  }
});

test("encode hands out the builder's own bytes, exactly the compound; bytes returned earlier never change", () => {
  for (const { name, g } of revs) {
    if (!(g["COMPOUND_OPS"] as ReadonlyMap<number, CompoundOpSpec>).has(1)) continue;
    const b = new g["CompoundBuilder"]({ minor: 45 }).lookup(5n, "first");
    const first = b.encode(HEADER) as Uint8Array;
    assert.equal(first.byteOffset, 0, name);
    assert.equal(first.buffer.byteLength, first.length, `${name}: no slack after the compound`);
    const firstCopy = first.slice();
    // Encoded again with another header, then grown: the first bytes stay as they were.
    const again = b.encode({ ...HEADER, unique: 901n }) as Uint8Array;
    assert.notEqual(again.buffer, first.buffer, name);
    assert.deepEqual(first, firstCopy, `${name}: a second encode leaves the first bytes alone`);
    const grown = b.lookup(6n, "second").encode(HEADER) as Uint8Array;
    assert.deepEqual(first, firstCopy, `${name}: an add leaves the first bytes alone`);
    const fresh = new g["CompoundBuilder"]({ minor: 45 }).lookup(5n, "first").lookup(6n, "second");
    assert.deepEqual(grown, fresh.encode(HEADER), `${name}: the same bytes as a fresh builder's`);
    assert.deepEqual(
      b.ops.map((r: { nodeid: bigint; opcode: number }) => [r.opcode, r.nodeid]),
      [
        [1, 5n],
        [1, 6n],
      ],
      `${name}: ops read back from the handed-out bytes`,
    );
    const into = new Uint8Array(grown.length + 8).fill(0x5a);
    assert.equal(b.encodeInto(HEADER, into, 8), grown.length, name);
    assert.deepEqual(into.subarray(8), grown, `${name}: encodeInto after encode`);
  }
});

test("bytes an encode returned, then transferred: the builder says so instead of reading a detached buffer", () => {
  for (const { name, g } of revs) {
    if (!(g["COMPOUND_OPS"] as ReadonlyMap<number, CompoundOpSpec>).has(1)) continue;
    // A builder of the same ops as the revision's last one starts at that size, so its encode
    // hands out its own bytes (a builder whose room came out bigger hands out a copy).
    new g["CompoundBuilder"]({ minor: 45 }).lookup(5n, "x").encode(HEADER);
    const b = new g["CompoundBuilder"]({ minor: 45 }).lookup(5n, "x");
    const bytes = b.encode(HEADER) as Uint8Array;
    structuredClone(bytes, { transfer: [bytes.buffer] });
    assert.equal(bytes.length, 0, `${name}: detached`);
    for (const use of [() => b.encode(HEADER), () => b.lookup(6n, "y"), () => b.ops]) {
      assert.throws(
        use,
        (e: Error & { kind?: string }) =>
          e.name === "CompoundError" && e.kind === "value" && /transferred/.test(e.message),
        name,
      );
    }
  }
});

test("the builder reads an op's arguments when the op is added, and keeps none of them", () => {
  for (const { name, g } of revs) {
    const { specs } = compoundFacts(g);
    const open = specs.find((s) => s.op === "FUSE_OPEN");
    if (!open) continue;
    const openIn = { flags: 2, open_flags: 0 } as Record<string, number>;
    const b = new g["CompoundBuilder"]({ minor: 45 }).open(9n, openIn);
    openIn["flags"] = 0x7777;
    const want = new g["CompoundBuilder"]({ minor: 45 }).open(9n, { flags: 2, open_flags: 0 });
    assert.deepEqual(b.encode(HEADER), want.encode(HEADER), name);
  }
});
