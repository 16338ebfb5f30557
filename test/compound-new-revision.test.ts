/**
 * "A new revision can be added by data alone": an invented FUSE-shaped protocol (toyfuse,
 * test/fixtures/compound-revision/) gets a compound revision from a base header, a
 * git-format-patch mail and a registry entry with a `compound` section whose rules differ
 * from every real revision's (8-byte aligned sub-requests, an allow-list, unique = op index
 * with gid zeroed, counts and uniques that must match, headers counted in result_size,
 * outer nodeid 1, a CONTINUE flag for the fallback). Through the registry's `registryPath`
 * parameter its schema is extracted, its folder rendered into a temp dir, compiled with
 * strict TypeScript options (including a typed use of the API), imported, and a compound
 * round-tripped under those rules. Nothing in the generator is told about toyfuse.
 */
import assert from "node:assert/strict";
import { readFile, rm, writeFile } from "node:fs/promises";
import { join } from "node:path";
import { after, before, describe, test } from "node:test";
import { pathToFileURL } from "node:url";
import ts from "typescript";
import { revisionSchema } from "../generator/commands/schema.js";
import type { Schema } from "../generator/model.js";
import { renderRevision } from "../generator/render/index.js";
import { loadKnownRevisions, repoRoot } from "../generator/revisions/registry.js";
import { assertSchema } from "../generator/schema-file.js";
import { materialize } from "./helpers/materialize.js";
import { STRICT } from "./helpers/strict-tsc.js";

const FIXTURE = join(repoRoot(), "test", "fixtures", "compound-revision");
const FROM = {
  corpus: join(FIXTURE, "corpus"),
  registryPath: join(FIXTURE, "known-revisions.json"),
};

/** A consumer of the new revision's API: typed per op, flags checked by the compiler. */
const USAGE = `
import { CompoundBuilder, COMPOUND_FLAGS, parseCompoundReply, zeroFuseGetattrIn, zeroFuseOpenIn, type CompoundFlagName } from "./index.js";
const b = new CompoundBuilder().lookup(1n, "hello").getattr(0n, zeroFuseGetattrIn()).open(0n, zeroFuseOpenIn()).flags("FUSE_COMPOUND_IN_ORDER");
export const bytes: Uint8Array = b.encode({ unique: 1n, uid: 0, gid: 0, pid: 0 });
const parsed = parseCompoundReply(new Uint8Array(0), { ops: b.ops });
export const nodeid: bigint | undefined = parsed.results?.[0].reply?.entry_out.nodeid;
export const attrValid: bigint | undefined = parsed.results?.[1].reply?.attr_out.attr_valid;
export const fh: bigint | undefined = parsed.results?.[2].reply?.open_out.fh;
export const flag: CompoundFlagName = "FUSE_COMPOUND_CONTINUE";
export const bit: 16 = COMPOUND_FLAGS.FUSE_COMPOUND_CONTINUE;
// @ts-expect-error not a flag of this revision
b.flags("FUSE_COMPOUND_ATOMIC");
// @ts-expect-error RELEASE is not on this revision's allow-list, so there is no method
b.release(1n);
// @ts-expect-error WRITE is allowed but carries a page payload
b.write(1n);
`;

/* eslint-disable @typescript-eslint/no-explicit-any -- the generated module is imported untyped */
let g: Record<string, any>;
let schema: Schema;
let files: Map<string, string>;
let dir: string;

before(async () => {
  schema = await revisionSchema("toy-v1", FROM);
  files = await renderRevision(schema, { toolVersion: "0.0.0-test" });
  // As `generate -o dir` lays it out: the revision's folder beside the shared runtime.
  dir = (await materialize({ "toy-v1": files }, "fuse-uapi-new-revision-")).root;
  await writeFile(join(dir, "toy-v1", "usage.ts"), USAGE);
  g = await import(pathToFileURL(join(dir, "toy-v1", "index.js")).href);
});

after(async () => {
  if (dir) await rm(dir, { recursive: true, force: true });
});

const HEADER = { unique: 900n, uid: 10, gid: 20, pid: 30 };
const size = (name: string) => schema.structs.find((s) => s.name === name)!.size;

describe("a compound revision added by data alone (toyfuse)", () => {
  test("the registry entry validates and the schema carries it", async () => {
    const entry = (await loadKnownRevisions(FROM.registryPath)).find((r) => r.name === "toy-v1")!;
    assert.deepEqual(schema.compound, entry.compound);
    assert.equal(schema.source.revision, "toy-v1");
    assert.deepEqual(
      schema.source.patches.map((p) => p.file),
      ["toy-v1-1of1.txt"],
    );
    assertSchema(JSON.parse(JSON.stringify(schema)), "toy-v1 schema");
    // The base revision has no compound section, and renders no compound.ts.
    const base = await revisionSchema("toy-7.90", FROM);
    assert.equal(base.compound, undefined);
    assert.ok(!(await renderRevision(base, { toolVersion: "0.0.0-test" })).has("compound.ts"));
  });

  test("its folder has compound.ts and compiles with strict options, typed use included", async () => {
    assert.ok(files.has("compound.ts"));
    assert.match(files.get("index.ts")!, /export \* from "\.\/compound\.js";/);
    const program = ts.createProgram(
      [join(dir, "toy-v1", "index.ts"), join(dir, "toy-v1", "usage.ts")],
      STRICT,
    );
    const diags = ts.formatDiagnostics(ts.getPreEmitDiagnostics(program), {
      getCanonicalFileName: (f) => f,
      getCurrentDirectory: () => dir,
      getNewLine: () => "\n",
    });
    assert.equal(diags, "");
    const text = await readFile(join(dir, "toy-v1", "compound.ts"), "utf8");
    assert.doesNotMatch(
      text,
      /=== "toy-v1"|COMPOUND_REVISION ===/,
      "no test of the revision's name in the generated code",
    );
  });

  test("builder methods: the allow-list minus page payloads", () => {
    assert.deepEqual(
      [...g.COMPOUND_OPS.values()].map((o: any) => o.method),
      ["lookup", "getattr", "open"],
    );
    assert.equal(g.COMPOUND_OPCODE, 77);
  });

  test("a compound round-trips under the new rules", () => {
    const b = new g.CompoundBuilder()
      .lookup(1n, "hello")
      .getattr(0n, g.zeroFuseGetattrIn())
      .open(0n, { ...g.zeroFuseOpenIn(), flags: 2 })
      .flags("FUSE_COMPOUND_IN_ORDER");
    const outSizes = [size("fuse_entry_out"), size("fuse_attr_out"), size("fuse_open_out")];
    assert.equal(
      b.resultSize,
      outSizes.reduce((a, x) => a + x + 16, 0),
      "headers count in result_size",
    );
    const bytes = b.encode(HEADER);
    const d = g.decodeCompoundRequest(bytes);
    assert.equal(d.header.nodeid, 1n, "outer nodeid 1");
    assert.equal(d.count, 3);
    assert.equal(d.compound_in.nops, 3);
    assert.deepEqual(d.flags, ["FUSE_COMPOUND_IN_ORDER"]);
    assert.deepEqual(
      d.offsets,
      [0, 48, 104],
      "LOOKUP (40 + 6 bytes) is padded to 48, then GETATTR (40 + 16)",
    );
    assert.deepEqual(
      d.requests.map((q: any) => [
        q.op,
        q.header.unique,
        q.header.uid,
        q.header.gid,
        q.header.pid,
        q.header.nodeid,
      ]),
      [
        ["FUSE_LOOKUP", 0n, 10, 0, 30, 1n],
        ["FUSE_GETATTR", 1n, 10, 0, 30, 0n],
        ["FUSE_OPEN", 2n, 10, 0, 30, 0n],
      ],
    );
    const area = bytes.subarray(40 + size("fuse_compound_in"));
    assert.deepEqual(area.subarray(46, 48), new Uint8Array(2), "alignment padding is zero");

    const entries = [
      { opcode: 1, unique: 0n, reply: { entry_out: { ...g.zeroFuseEntryOut(), nodeid: 42n } } },
      { opcode: 3, unique: 1n, reply: { error: -2 } },
      { opcode: 14, unique: 2n, reply: { open_out: { ...g.zeroFuseOpenOut(), fh: 7n } } },
    ];
    const reply = g.encodeCompoundReply(HEADER.unique, entries);
    const p = g.parseCompoundReply(reply, { ops: b.ops });
    assert.deepEqual(
      p.results.map((r: any) => [r.opcode, r.error, r.unique]),
      [
        [1, 0, 0n],
        [3, -2, 1n],
        [14, 0, 2n],
      ],
    );
    assert.equal(p.results[0].reply.entry_out.nodeid, 42n);
    assert.equal(p.results[1].reply, null);
    assert.equal(p.results[2].reply.open_out.fh, 7n);

    // Checks this revision has and no real one does.
    const wrongUnique = g.encodeCompoundReply(HEADER.unique, [
      entries[0],
      { ...entries[1], unique: 5n },
      entries[2],
    ]);
    assert.throws(
      () => g.parseCompoundReply(wrongUnique, { ops: b.ops }),
      (e: any) => e.kind === "unique" && e.index === 1,
    );
    const short = g.encodeCompoundReply(HEADER.unique, entries.slice(0, 2));
    assert.throws(
      () => g.parseCompoundReply(short, { ops: b.ops }),
      (e: any) => e.kind === "count",
    );
  });

  test("the limits and checks of the new rules", () => {
    const four = () =>
      new g.CompoundBuilder().lookup(1n, "a").lookup(1n, "b").lookup(1n, "c").lookup(1n, "d");
    assert.throws(
      () => four().lookup(1n, "e"),
      (e: any) => e.kind === "too-many-ops",
    );
    assert.throws(
      () => new g.CompoundBuilder().encode(HEADER),
      (e: any) => e.kind === "empty",
    );
    assert.throws(
      () => new g.CompoundBuilder().addRaw(0, 1n, new Uint8Array(0)),
      (e: any) => e.kind === "not-allowed",
    );
    assert.throws(
      () => new g.CompoundBuilder().addRaw(18, 1n, new Uint8Array(16)),
      (e: any) => e.kind === "not-allowed",
    );
    assert.throws(
      () => new g.CompoundBuilder().addRaw(16, 1n, new Uint8Array(24)),
      (e: any) => e.kind === "in-pages",
    );
    assert.doesNotThrow(
      () => new g.CompoundBuilder().getattr(0n, g.zeroFuseGetattrIn()),
      "nodeid 0 is allowed here",
    );
  });

  test("the fallback stops at a failure unless CONTINUE is set", async () => {
    const send = (req: any) =>
      req.op === "FUSE_GETATTR"
        ? g.encodeErrorReply(req.header.unique, -5)
        : req.op === "FUSE_LOOKUP"
          ? g.encodeReply(
              req.header.unique,
              { entry_out: g.zeroFuseEntryOut() },
              { opcode: 1, minor: 90 },
            )
          : g.encodeReply(
              req.header.unique,
              { open_out: g.zeroFuseOpenOut() },
              { opcode: 14, minor: 90 },
            );
    const build = () =>
      new g.CompoundBuilder()
        .lookup(1n, "a")
        .getattr(0n, g.zeroFuseGetattrIn())
        .open(0n, g.zeroFuseOpenIn());
    const stop = await g.runSeparately(g.decodeCompoundRequest(build().encode(HEADER)), send);
    assert.deepEqual(
      stop.map((r: any) => r.skipped),
      [false, false, true],
    );
    const cont = await g.runSeparately(
      g.decodeCompoundRequest(build().flags("FUSE_COMPOUND_CONTINUE").encode(HEADER)),
      send,
    );
    assert.deepEqual(
      cont.map((r: any) => [r.skipped, r.error]),
      [
        [false, 0],
        [false, -5],
        [false, 0],
      ],
    );
  });
});

/**
 * A second invented revision whose per-sub-request prefix and dependency model both differ
 * from v7's: an 8-byte `fuse_compound_sub { op_flags, dep, spare }` before each sub-request,
 * and a dependency that counts only when the per-op flag FUSE_COMPOUND_OP_DEP is set
 * (`flag-and-index`, no sentinel); a failed producer's dependents still run (`run-anyway`),
 * page payloads are allowed, EOPNOTSUPP splits. Again nothing in the generator is told.
 */
describe("a revision with another prefix and dependency model, by data alone (toy-v2)", () => {
  const USAGE2 = `
import { CompoundBuilder, zeroFuseGetattrIn, type FuseCompoundSub } from "./index.js";
const b = new CompoundBuilder().lookup(1n, "hello").getattr(0n, zeroFuseGetattrIn(), { dependsOn: 0 });
export const bytes: Uint8Array = b.encode({ unique: 1n, uid: 0, gid: 0, pid: 0 });
export const sub: FuseCompoundSub = { op_flags: 1, dep: 0, spare: 0 };
// @ts-expect-error a dependency may name only an earlier op
new CompoundBuilder().lookup(1n, "x").getattr(0n, zeroFuseGetattrIn(), { dependsOn: 1 });
`;
  let g2: Record<string, any>;
  let schema2: Schema;
  let dir2: string;
  const sizeOf = (name: string) => schema2.structs.find((s) => s.name === name)!.size;

  before(async () => {
    schema2 = await revisionSchema("toy-v2", FROM);
    const files2 = await renderRevision(schema2, { toolVersion: "0.0.0-test" });
    dir2 = (await materialize({ "toy-v2": files2 }, "fuse-uapi-new-revision-2-")).root;
    await writeFile(join(dir2, "toy-v2", "usage.ts"), USAGE2);
    g2 = await import(pathToFileURL(join(dir2, "toy-v2", "index.js")).href);
  });
  after(async () => {
    if (dir2) await rm(dir2, { recursive: true, force: true });
  });

  test("the schema carries the entry, and the folder compiles strict with typed dependencies", () => {
    assert.equal(schema2.compound!.dependencies.model, "flag-and-index");
    assert.deepEqual(schema2.compound!.framing.subRequestPrefix?.members, {
      op_flags: "op-flags",
      dep: "dep-index",
      spare: "reserved",
    });
    const program = ts.createProgram(
      [join(dir2, "toy-v2", "index.ts"), join(dir2, "toy-v2", "usage.ts")],
      STRICT,
    );
    const diags = ts.formatDiagnostics(ts.getPreEmitDiagnostics(program), {
      getCanonicalFileName: (f) => f,
      getCurrentDirectory: () => dir2,
      getNewLine: () => "\n",
    });
    assert.equal(diags, "");
    // WRITE is allowed here (no rejectInPages): a builder method exists.
    assert.ok([...g2.COMPOUND_OPS.values()].some((o: any) => o.method === "write"));
  });

  test("the prefix: op flag and index for a dependent, all zero for an independent op", () => {
    const b = new g2.CompoundBuilder()
      .lookup(1n, "hello")
      .getattr(0n, g2.zeroFuseGetattrIn(), { dependsOn: 0 });
    const bytes: Uint8Array = b.encode({ unique: 900n, uid: 10, gid: 20, pid: 30 });
    const view = new DataView(bytes.buffer, bytes.byteOffset);
    const area = 40 + sizeOf("fuse_compound_in");
    const prefix = sizeOf("fuse_compound_sub");
    assert.equal(prefix, 8);
    // Op 0: prefix all zero (no flag, dep 0), then LOOKUP's header padded to 8 bytes.
    assert.deepEqual([...bytes.subarray(area, area + prefix)], [0, 0, 0, 0, 0, 0, 0, 0]);
    const lookupLen = view.getUint32(area + prefix, true);
    const second = area + Math.ceil((prefix + lookupLen) / 8) * 8;
    assert.equal(view.getUint32(second, true), 1, "op_flags: FUSE_COMPOUND_OP_DEP");
    assert.equal(view.getUint16(second + 4, true), 0, "dep: op 0");
    const d = g2.decodeCompoundRequest(bytes);
    assert.deepEqual(d.dependsOn, [null, 0]);
    assert.deepEqual(d.prefixes, [
      { op_flags: 0, dep: 0, spare: 0 },
      { op_flags: 1, dep: 0, spare: 0 },
    ]);
    // Fresh uniques, caller's uid/gid, pid 0 (this revision's subHeader).
    assert.deepEqual(
      d.requests.map((q: any) => [q.header.unique, q.header.uid, q.header.gid, q.header.pid]),
      [
        [902n, 10, 20, 0],
        [904n, 10, 20, 0],
      ],
    );
    // A dep without the flag, or an unknown op flag, is not what the encoder writes: refused.
    const noFlag = bytes.slice();
    new DataView(noFlag.buffer).setUint16(area + 4, 3, true);
    assert.throws(
      () => g2.decodeCompoundRequest(noFlag),
      (e: any) => e.kind === "dependency",
    );
    const unknownFlag = bytes.slice();
    new DataView(unknownFlag.buffer).setUint32(area, 4, true);
    assert.throws(
      () => g2.decodeCompoundRequest(unknownFlag),
      (e: any) => e.kind === "flag",
    );
  });

  test("run-anyway: a failed producer's dependent still runs, with its own nodeid", async () => {
    const b = new g2.CompoundBuilder()
      .lookup(1n, "missing")
      .getattr(7n, g2.zeroFuseGetattrIn(), { dependsOn: 0 });
    const d = g2.decodeCompoundRequest(b.encode({ unique: 1n, uid: 0, gid: 0, pid: 0 }));
    const seen: [string, bigint][] = [];
    const results = await g2.runCompound(d, async (req: any) => {
      seen.push([req.op, req.header.nodeid]);
      return req.op === "FUSE_LOOKUP"
        ? { error: -2, reply: null }
        : { error: 0, reply: { attr_out: g2.zeroFuseAttrOut() } };
    });
    assert.deepEqual(seen, [
      ["FUSE_LOOKUP", 1n],
      ["FUSE_GETATTR", 7n],
    ]);
    assert.deepEqual(
      results.map((r: any) => [r.error, r.byRule]),
      [
        [-2, false],
        [0, false],
      ],
    );
    // A successful LOOKUP threads its nodeid; a later index is EINVAL without running.
    const ok = g2.decodeCompoundRequest(
      new g2.CompoundBuilder({ allowInvalidDependencies: true })
        .lookup(1n, "hello")
        .getattr(0n, g2.zeroFuseGetattrIn(), { dependsOn: 0 })
        .getattr(0n, g2.zeroFuseGetattrIn(), { dependsOn: 5 })
        .encode({ unique: 1n, uid: 0, gid: 0, pid: 0 }),
    );
    const threaded: bigint[] = [];
    const entry = { ...g2.zeroFuseEntryOut(), nodeid: 42n };
    const r2 = await g2.runCompound(ok, async (req: any) => {
      threaded.push(req.header.nodeid);
      return req.op === "FUSE_LOOKUP"
        ? { error: 0, reply: { entry_out: entry } }
        : { error: 0, reply: { attr_out: g2.zeroFuseAttrOut() } };
    });
    assert.deepEqual(threaded, [1n, 42n]);
    assert.deepEqual(
      r2.map((r: any) => r.error),
      [0, 0, -22],
    );
  });

  test("decline: EOPNOTSUPP splits, other errors do not", () => {
    assert.equal(g2.kernelFallsBack([], -95), true);
    assert.equal(g2.kernelFallsBack([], -38), false);
    assert.equal(g2.kernelFallsBack([], "bad-reply"), false);
  });
});
