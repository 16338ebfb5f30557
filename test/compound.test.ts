/**
 * The generated compound modules (generated/<rev>/compound.ts), per revision with a compound
 * section, against that revision's data: every expectation below is computed from the
 * schema's `compound` entry (never from the revision's name), so a check that a revision does
 * not have is expected *not* to fire. Covers the schema section itself, the builder's typed
 * errors, result_size, the sub-header rules, the kernel's reply walk and its checks,
 * encode/decode round trips, the fallback (runSeparately) and the `compound` CLI.
 */
import assert from "node:assert/strict";
import { spawnSync } from "node:child_process";
import { readFileSync } from "node:fs";
import { mkdtemp, rm, writeFile } from "node:fs/promises";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { after, before, describe, test } from "node:test";
import { pathToFileURL } from "node:url";
import type { CompoundInfo, Schema } from "../generator/model.js";
import { loadKnownRevisions, repoRoot } from "../generator/revisions/registry.js";
import { memberWithRole } from "../runtime/compound.js";

const ROOT = repoRoot();
const CLI = join(ROOT, "dist", "generator", "cli.js");

/* eslint-disable @typescript-eslint/no-explicit-any -- generated modules are imported per revision */
type Gen = Record<string, any>;

interface Rev {
  name: string;
  schema: Schema;
  c: CompoundInfo;
  g: Gen;
}

const revs: Rev[] = [];
const HEADER = { unique: 500n, uid: 1000, gid: 100, pid: 77 };
let tmp: string;

before(async () => {
  tmp = await mkdtemp(join(tmpdir(), "fuse-uapi-compound-"));
  for (const r of await loadKnownRevisions()) {
    const schema = JSON.parse(
      readFileSync(join(ROOT, "schema", "revisions", `${r.name}.json`), "utf8"),
    ) as Schema;
    if (!schema.compound) continue;
    const g = (await import(
      pathToFileURL(join(ROOT, "dist", "generated", r.name, "index.js")).href
    )) as Gen;
    revs.push({ name: r.name, schema, c: schema.compound, g });
  }
});

after(async () => {
  if (tmp) await rm(tmp, { recursive: true, force: true });
});

/** Runs `t` once per revision as a subtest. */
async function each(
  t: { test: (name: string, fn: () => void | Promise<void>) => Promise<void> },
  fn: (r: Rev) => void | Promise<void>,
) {
  assert.ok(revs.length > 0, "no revision with a compound section");
  for (const r of revs) await t.test(r.name, () => fn(r));
}

const structSize = (s: Schema, name: string) => s.structs.find((x) => x.name === name)!.size;
/** Bytes of the per-sub-request prefix (0 where the revision has none). */
const prefixSize = (c: CompoundInfo, s: Schema) =>
  c.framing.subRequestPrefix ? structSize(s, c.framing.subRequestPrefix.struct) : 0;
/** A struct's bytes through the generated codec of that C struct. */
function encodeStruct(g: Gen, struct: string, value: object): Uint8Array {
  const codec = Object.values(g).find(
    (v: any) => v?.struct === struct && typeof v.encode === "function",
  ) as { size: number; encode(v: object, b: Uint8Array, o: number): number };
  const out = new Uint8Array(codec.size);
  codec.encode(value, out, 0);
  return out;
}
const opcodeValue = (s: Schema, name: string) =>
  Number(s.protocol!.opcodes.find((o) => o.name === name)!.value);

/** Asserts `fn` throws a CompoundError of `kind` exactly when `expected`, else that it does not throw. */
function expectRefusal(expected: boolean, kind: string, fn: () => unknown, what: string) {
  if (expected) {
    assert.throws(
      fn,
      (e: any) => e?.name === "CompoundError" && e.kind === kind,
      `${what}: expected CompoundError ${kind}`,
    );
  } else {
    assert.doesNotThrow(fn, `${what}: this revision does not refuse it`);
  }
}

const openGetattr = (g: Gen, opts: object = {}) =>
  new g.CompoundBuilder(opts).open(5n, g.zeroFuseOpenIn()).getattr(5n, g.zeroFuseGetattrIn());

function concat(parts: Uint8Array[]): Uint8Array {
  const out = new Uint8Array(parts.reduce((n, p) => n + p.length, 0));
  let at = 0;
  for (const p of parts) {
    out.set(p, at);
    at += p.length;
  }
  return out;
}

/** A raw sub-reply: fuse_out_header with `len` (default: header + payload) and `error`, then the payload. */
function subReply(g: Gen, payload: Uint8Array, error = 0, len?: number, unique = 0n): Uint8Array {
  const out = new Uint8Array(16 + payload.length);
  g.encodeFuseOutHeader({ len: len ?? out.length, error, unique }, out, 0);
  out.set(payload, 16);
  return out;
}

/** A compound reply around raw sub-replies, the count (where there is one) set to `count`. */
function compoundReply(r: Rev, subs: Uint8Array[], count: number): Uint8Array {
  const co = r.g.zeroFuseCompoundOut();
  const countOut = memberWithRole(r.c.framing.reply, "count");
  if (countOut !== null) co[countOut] = count;
  return r.g.encodeReply(
    HEADER.unique,
    { compound_out: co, replies: concat(subs) },
    { opcode: r.g.COMPOUND_OPCODE, minor: r.schema.source.minorVersion },
  );
}

describe("the schema carries the revision's compound semantics", () => {
  test("schema/revisions/<rev>.json has the registry entry verbatim", async () => {
    const registry = await loadKnownRevisions();
    for (const r of registry) {
      const schema = JSON.parse(
        readFileSync(join(ROOT, "schema", "revisions", `${r.name}.json`), "utf8"),
      ) as Schema;
      if (r.compound) assert.deepEqual(schema.compound, r.compound, r.name);
      else assert.equal(schema.compound, undefined, r.name);
    }
  });

  test("fuse-uapi.schema.json documents it with the same definitions as known-revisions.schema.json", () => {
    const a = JSON.parse(readFileSync(join(ROOT, "schema", "fuse-uapi.schema.json"), "utf8"));
    const b = JSON.parse(readFileSync(join(ROOT, "schema", "known-revisions.schema.json"), "utf8"));
    assert.deepEqual(a.properties.compound.$ref, "#/$defs/compound");
    for (const d of [
      "compound",
      "compoundSequence",
      "compoundFlagName",
      "opcodeName",
      "relativePath",
    ])
      assert.deepEqual(a.$defs[d], b.$defs[d], d);
  });

  test("the generated module prints the semantics, opcode and flags from the schema", async (t) => {
    await each(t, ({ c, g, schema }) => {
      const { sources, ...rest } = c;
      void sources;
      assert.deepEqual(JSON.parse(JSON.stringify(g.COMPOUND_SEMANTICS)), rest);
      assert.equal(g.COMPOUND_OPCODE, opcodeValue(schema, c.opcode));
      assert.deepEqual(
        { ...g.COMPOUND_FLAGS },
        Object.fromEntries(c.flags.defined.map((f) => [f.name, f.value])),
      );
      assert.ok(Object.isFrozen(g.COMPOUND_SEMANTICS.subHeader));
    });
  });

  test("builder methods: exactly the opcodes the data lets into a compound", async (t) => {
    await each(t, ({ c, g, schema }) => {
      const expected = schema
        .protocol!.opcodes.filter(
          (o) =>
            o.name !== c.opcode &&
            o.reply.kind !== "none" &&
            (c.allowedOpcodes === null || c.allowedOpcodes.includes(o.name)) &&
            !(c.subRequestChecks.rejectInPages && o.request.some((p) => p.kind === "data")),
        )
        .map((o) => o.name);
      const ops = [...g.COMPOUND_OPS.values()];
      assert.deepEqual(
        ops.map((o: any) => o.op),
        expected,
      );
      for (const o of ops)
        assert.equal(typeof g.CompoundBuilder.prototype[o.method], "function", o.method);
      for (const m of ["open", "getattr", "lookup", "create", "statx"])
        assert.ok(
          ops.some((o: any) => o.method === m),
          m,
        );
      for (const m of ["write", "setxattr", "ioctl", "forget", "batchForget", "compound"])
        assert.ok(!ops.some((o: any) => o.method === m), m);
    });
  });
});

describe("CompoundBuilder: the revision's limits and checks, as typed errors", () => {
  test("empty compound", async (t) => {
    await each(t, ({ c, g, schema }) => {
      const b = new g.CompoundBuilder();
      expectRefusal(
        c.emptyCompound === "kernel-rejects",
        "empty",
        () => b.encode(HEADER),
        "empty compound",
      );
      if (c.emptyCompound !== "kernel-rejects")
        assert.equal(b.encode(HEADER).length, 40 + structSize(schema, "fuse_compound_in"));
    });
  });

  test("too many ops: maxOps, or the caller's capacity", async (t) => {
    await each(t, ({ c, g }) => {
      if (c.maxOps !== null) {
        const b = new g.CompoundBuilder();
        for (let i = 0; i < c.maxOps; i++) b.getattr(5n, g.zeroFuseGetattrIn());
        expectRefusal(
          true,
          "too-many-ops",
          () => b.getattr(5n, g.zeroFuseGetattrIn()),
          `op ${c.maxOps + 1}`,
        );
      } else {
        const b = new g.CompoundBuilder();
        for (let i = 0; i < 40; i++) b.getattr(5n, g.zeroFuseGetattrIn());
        assert.equal(b.length, 40);
      }
      const capped = new g.CompoundBuilder({ capacity: 2 })
        .open(5n, g.zeroFuseOpenIn())
        .getattr(5n, g.zeroFuseGetattrIn());
      expectRefusal(
        true,
        "too-many-ops",
        () => capped.getattr(5n, g.zeroFuseGetattrIn()),
        "capacity 2",
      );
    });
  });

  test("opcode 0, nested compound, nodeid 0: refused exactly where the kernel validates before sending", async (t) => {
    await each(t, ({ c, g }) => {
      const sc = c.subRequestChecks;
      expectRefusal(
        sc.rejectOpcodeZero,
        "opcode-zero",
        () => new g.CompoundBuilder().addRaw(0, 5n, new Uint8Array(0)),
        "opcode 0",
      );
      const inner = openGetattr(g).encode(HEADER).subarray(40);
      expectRefusal(
        sc.rejectNestedCompound,
        "nested-compound",
        () => new g.CompoundBuilder().addRaw(g.COMPOUND_OPCODE, 5n, inner),
        "nested",
      );
      expectRefusal(
        sc.rejectNodeidZero,
        "nodeid-zero",
        () => new g.CompoundBuilder().getattr(0n, g.zeroFuseGetattrIn()),
        "nodeid 0",
      );
    });
  });

  test("ops with a page payload", async (t) => {
    await each(t, ({ c, g, schema }) => {
      const write = opcodeValue(schema, "FUSE_WRITE");
      expectRefusal(
        c.subRequestChecks.rejectInPages,
        "in-pages",
        () => new g.CompoundBuilder().addRaw(write, 5n, new Uint8Array(48)),
        "WRITE",
      );
      assert.throws(
        () => new g.CompoundBuilder().add({ op: "FUSE_WRITE", nodeid: 5n }),
        (e: any) => e.kind === "not-allowed",
      );
    });
  });

  test("the reply budget must fit max_pages", async (t) => {
    await each(t, ({ g }) => {
      const big = new g.CompoundBuilder().read(
        5n,
        { ...g.zeroFuseReadIn(), size: 200_000 },
        200_000,
      );
      expectRefusal(true, "reply-budget", () => big.encode(HEADER), "200000 bytes at 32 pages");
      assert.doesNotThrow(() =>
        new g.CompoundBuilder({ maxPages: 64 })
          .read(5n, { ...g.zeroFuseReadIn(), size: 200_000 }, 200_000)
          .encode(HEADER),
      );
      const b = openGetattr(g, { maxPages: 1, pageSize: 128 });
      assert.equal(b.replyBudget, 152);
      expectRefusal(true, "reply-budget", () => b.encode(HEADER), "152 bytes in one 128-byte page");
    });
  });

  test("flags: only the revision's own", async (t) => {
    await each(t, ({ c, g }) => {
      expectRefusal(
        true,
        "flag",
        () => new g.CompoundBuilder().flags("FUSE_COMPOUND_NO_SUCH_FLAG"),
        "unknown flag",
      );
      for (const f of c.flags.defined) {
        const bytes = openGetattr(g).flags(f.name).encode(HEADER);
        assert.deepEqual(g.decodeCompoundRequest(bytes).flags, [f.name]);
      }
    });
  });

  test("bad arguments are typed errors too", async (t) => {
    await each(t, ({ g }) => {
      expectRefusal(true, "value", () => new g.CompoundBuilder({ maxPages: 0 }), "maxPages 0");
      expectRefusal(
        true,
        "value",
        () =>
          new g.CompoundBuilder().add({ op: "FUSE_READ", nodeid: 5n, read_in: g.zeroFuseReadIn() }),
        "READ without outSize",
      );
      expectRefusal(
        true,
        "value",
        () => new g.CompoundBuilder().addRaw(-1, 5n, new Uint8Array(0)),
        "opcode -1",
      );
    });
  });
});

describe("CompoundBuilder: result_size and the sub-header rules", () => {
  test("OPEN + GETATTR: result_size is the sum of the expected out args, the request as the docs say", async (t) => {
    await each(t, ({ c, g, schema }) => {
      const b = openGetattr(g);
      const out = structSize(schema, "fuse_open_out") + structSize(schema, "fuse_attr_out");
      const expected = out + (c.resultSize?.includesOutHeaders ? 2 * 16 : 0);
      assert.equal(b.resultSize, expected);
      assert.equal(expected, 120); // docs/compound-revisions.md, "Sizes"
      const bytes = b.encode(HEADER);
      const d = g.decodeCompoundRequest(bytes);
      const resultSizeIn = memberWithRole(c.framing.request, "result-size");
      if (resultSizeIn !== null) assert.equal(d.compound_in[resultSizeIn], expected);
      assert.equal(
        bytes.length,
        40 + structSize(schema, "fuse_compound_in") + 2 * prefixSize(c, schema) + 48 + 56,
      );
      assert.deepEqual(
        b.ops.map((o: any) => [o.opcode, o.outSize]),
        [
          [opcodeValue(schema, "FUSE_OPEN"), 16],
          [opcodeValue(schema, "FUSE_GETATTR"), 104],
        ],
      );
    });
  });

  test("result_size follows the negotiated minor (compat sizes) and counts variable outputs as given", async (t) => {
    await each(t, ({ g, schema }) => {
      const compatAttrOut = Number(
        schema.constants.find((k) => k.name === "FUSE_COMPAT_ATTR_OUT_SIZE")!.value,
      );
      assert.equal(openGetattr(g, { minor: 8 }).resultSize, 16 + compatAttrOut);
      assert.equal(new g.CompoundBuilder().read(5n, g.zeroFuseReadIn(), 4096).resultSize, 4096);
      assert.equal(
        new g.CompoundBuilder().getxattr(5n, g.zeroFuseGetxattrIn(), "user.a", 0).resultSize,
        structSize(schema, "fuse_getxattr_out"),
      );
      assert.equal(new g.CompoundBuilder().unlink(5n, "x").resultSize, 0);
    });
  });

  test("sub-headers are filled by the rules; the outer header by outerNodeid", async (t) => {
    await each(t, ({ c, g, schema }) => {
      const b = openGetattr(g).lookup(1n, "name-with-odd-length");
      const d = g.decodeCompoundRequest(b.encode(HEADER));
      assert.equal(d.header.nodeid, BigInt(c.outerNodeid));
      assert.equal(d.header.unique, HEADER.unique);
      assert.equal(d.header.opcode, g.COMPOUND_OPCODE);
      assert.equal(d.count, memberWithRole(c.framing.request, "count") !== null ? 3 : null);
      d.requests.forEach((q: any, i: number) => {
        const want =
          c.subHeader.unique === "op-index"
            ? BigInt(i)
            : c.subHeader.unique === "zero"
              ? 0n
              : HEADER.unique + 2n * BigInt(i + 1);
        assert.equal(q.header.unique, want, `sub ${i} unique (${c.subHeader.unique})`);
        for (const k of ["uid", "gid", "pid"] as const) {
          assert.equal(
            q.header[k],
            c.subHeader[k] === "copy-parent" ? HEADER[k] : 0,
            `sub ${i} ${k} (${c.subHeader[k]})`,
          );
        }
        assert.equal(q.header.total_extlen, 0);
        assert.equal(q.header.padding, 0);
      });
      assert.deepEqual(
        d.requests.map((q: any) => q.header.nodeid),
        [5n, 5n, 1n],
      );
      // Packed back to back where alignment is 1: the third sub-request starts right after the second.
      const pre = prefixSize(c, schema);
      let at = 0;
      const want = [48, 56, 0].map((len) => {
        const start = at;
        at = Math.ceil((at + pre + len) / c.alignment.subRequests) * c.alignment.subRequests;
        return start;
      });
      assert.deepEqual(d.offsets, want);
      assert.deepEqual(
        b.ops.map((o: any) => o.unique),
        d.requests.map((q: any) => q.header.unique),
      );
    });
  });

  test("nextUnique overrides the fresh uniques (where the revision draws them)", async (t) => {
    await each(t, ({ c, g }) => {
      const d = g.decodeCompoundRequest(
        openGetattr(g, { nextUnique: (i: number) => 1000n + BigInt(i) }).encode(HEADER),
      );
      const got = d.requests.map((q: any) => q.header.unique);
      if (c.subHeader.unique === "fresh-unique") assert.deepEqual(got, [1000n, 1001n]);
      else assert.notDeepEqual(got, [1000n, 1001n]);
    });
  });
});

describe("encode/decode round trips", () => {
  test("every sub-request of a decoded compound re-encodes to its own bytes", async (t) => {
    await each(t, ({ c, g, schema }) => {
      const b = openGetattr(g)
        .lookup(1n, "hello")
        .create(1n, { ...g.zeroFuseCreateIn(), mode: 0o644 }, "new")
        .statx(7n, g.zeroFuseStatxIn())
        .readdirplus(9n, { ...g.zeroFuseReadIn(), size: 4096 }, 4096);
      const bytes = b.encode(HEADER);
      const d = g.decodeCompoundRequest(bytes);
      d.requests.forEach((q: any, i: number) => {
        const start = 40 + g.FuseCompoundInCodec.size + d.offsets[i] + prefixSize(c, schema);
        assert.deepEqual(g.encodeRequest(q), bytes.subarray(start, start + q.header.len));
      });
      assert.equal(d.requests[3].name.text, "new");
    });
  });

  test("a short data reply is followed where the revision's kernel steps (outSize)", async (t) => {
    await each(t, ({ c, g }) => {
      // READ asks 64 bytes and gets 10; GETATTR follows. A kernel that steps by expected out
      // args (replyChecks.advance) reads GETATTR at header + 64: the encoder, told the op's
      // outSize, puts it there. Stepping by len, nothing is added.
      const b = new g.CompoundBuilder()
        .read(5n, { ...g.zeroFuseReadIn(), size: 64 }, 64)
        .getattr(5n, g.zeroFuseGetattrIn());
      b.encode(HEADER);
      const u = b.ops.map((o: any) => o.unique);
      const attr = { ...g.zeroFuseAttrOut(), attr_valid: 7n };
      const entries = [
        { opcode: 15, reply: { data: new Uint8Array(10).fill(1) }, unique: u[0] },
        { opcode: 3, reply: { attr_out: attr }, unique: u[1] },
      ];
      const sized = entries.map((e, i) => ({ ...e, outSize: b.ops[i].outSize }));
      if (c.outPages === "not-copied") {
        // rfc-v1..v4: the kernel's copy returns where READ's page-bound data would start, so it
        // reads the next sub-reply right after READ's header. The data cannot travel: the
        // encoder refuses it, and READ answered with an error leaves GETATTR where it is read.
        assert.throws(
          () => g.encodeCompoundReply(HEADER.unique, sized),
          (e: any) =>
            e.name === "CompoundError" &&
            e.kind === "op-data" &&
            e.index === 0 &&
            /10 bytes bound for pages/.test(e.message),
        );
        const refused = [{ ...sized[0]!, reply: { error: -95 } }, sized[1]!];
        const ok = g.parseCompoundReply(g.encodeCompoundReply(HEADER.unique, refused), {
          ops: b.ops,
        });
        assert.deepEqual(
          ok.results.map((r: any) => [r.error, r.len]),
          [
            [-95, 16],
            [0, 16 + g.FuseAttrOutCodec.size],
          ],
        );
        assert.deepEqual(ok.results[1].reply.attr_out, attr);
        // The data sent anyway, all 64 bytes asked, then GETATTR (as libfuse 7cb226c answers):
        // read as that kernel reads it, GETATTR's header is looked for inside the data (len
        // 0x01010101: EIO there), not 64 bytes on where a walk by expected out args finds it.
        const full = [{ ...entries[0]!, reply: { data: new Uint8Array(64).fill(1) } }, entries[1]!];
        const subs = full.map((e) =>
          g.encodeReply(e.unique, e.reply, { opcode: e.opcode, minor: 45 }),
        ) as Uint8Array[];
        const area = new Uint8Array(subs[0]!.length + subs[1]!.length);
        area.set(subs[0]!);
        area.set(subs[1]!, subs[0]!.length);
        const asSent = g.encodeReply(
          HEADER.unique,
          { compound_out: { ...g.zeroFuseCompoundOut(), count: 2 }, replies: area },
          { opcode: g.COMPOUND_OPCODE, minor: 45 },
        );
        assert.throws(
          () => g.parseCompoundReply(asSent, { ops: b.ops }),
          (e: any) => e.name === "CompoundError" && e.kind === "op-bounds" && e.index === 1,
        );
        return;
      }
      const bytes = g.encodeCompoundReply(HEADER.unique, sized);
      const p = g.parseCompoundReply(bytes, { ops: b.ops });
      assert.deepEqual(p.results[0].reply.data, new Uint8Array(10).fill(1));
      assert.deepEqual(p.results[1].reply.attr_out, attr);
      const unsized = g.encodeCompoundReply(HEADER.unique, entries);
      if (c.replyChecks.advance === "len") assert.deepEqual(unsized, bytes);
      else assert.ok(bytes.length > unsized.length, "zeros up to the expected out args");
    });
  });

  test("expectedReplySize: a decoded sub-request's expected out args, as its builder's outSize", async (t) => {
    await each(t, ({ g }) => {
      // Each variable op asks for a size its request carries; the size-0 xattr probe expects
      // fuse_getxattr_out. Sizes from the wire are added up, never allocated (4 GiB - 1 here).
      const huge = 0xffffffff;
      const b = new g.CompoundBuilder()
        .read(5n, { ...g.zeroFuseReadIn(), size: 64 }, 64)
        .getxattr(5n, { ...g.zeroFuseGetxattrIn(), size: 0 }, "user.a", 0)
        .getxattr(5n, { ...g.zeroFuseGetxattrIn(), size: 100 }, "user.a", 100)
        .listxattr(5n, { ...g.zeroFuseGetxattrIn(), size: 7 }, 7)
        .getattr(5n, g.zeroFuseGetattrIn())
        .lookup(1n, "x")
        // (The builder's own outSize argument is sized by encoding, so it is given 0 here.)
        .read(5n, { ...g.zeroFuseReadIn(), size: huge }, 0);
      const d = g.decodeCompoundRequest(b.encode(HEADER));
      const sizes = d.requests.map((q: any) => g.expectedReplySize(q));
      assert.deepEqual(
        sizes.slice(0, -1),
        b.ops.slice(0, -1).map((o: any) => o.outSize),
      );
      assert.equal(sizes.at(-1), huge);
      assert.equal(sizes[1], g.FuseGetxattrOutCodec.size, "xattr size 0: the size struct");
      // READLINK's bound is the kernel's (a page), not in the request.
      const link = g.decodeCompoundRequest(
        new g.CompoundBuilder().readlink(5n, 4095).encode(HEADER),
      );
      assert.equal(g.expectedReplySize(link.requests[0]), undefined);
      assert.equal(
        g.expectedReplySize({ op: "unknown", opcode: 9999, header: HEADER } as any),
        undefined,
      );
    });
  });

  test("encodeCompoundReply -> parseCompoundReply, typed per op", async (t) => {
    await each(t, ({ c, g }) => {
      const b = openGetattr(g).unlink(1n, "gone");
      b.encode(HEADER);
      const attr = { ...g.zeroFuseAttrOut(), attr_valid: 3n };
      // Each sub-reply echoes its sub-request's unique (where the revision checks it, it must).
      const u = b.ops.map((o: any) => o.unique);
      const bytes = g.encodeCompoundReply(HEADER.unique, [
        { opcode: 14, reply: { open_out: { ...g.zeroFuseOpenOut(), fh: 9n } }, unique: u[0] },
        { opcode: 3, reply: { attr_out: attr }, unique: u[1] },
        { opcode: 10, reply: {}, unique: u[2] },
      ]);
      const p = g.parseCompoundReply(bytes, { ops: b.ops });
      assert.equal(p.error, 0);
      assert.equal(p.results[0].reply.open_out.fh, 9n);
      assert.deepEqual(p.results[1].reply.attr_out, attr);
      // An empty reply: "copied" (as {}) only where the kernel copies on success, not by len.
      assert.deepEqual(p.results[2].reply, c.replyChecks.copyWhen === "no-error" ? {} : null);
      assert.deepEqual(
        p.results.map((x: any) => x.len),
        [32, 120, 16],
      );
      // Bare opcodes work for ops with fixed-size replies.
      assert.equal(
        g.parseCompoundReply(bytes, { ops: [14, 3, 10] }).results[0].reply.open_out.fh,
        9n,
      );
    });
  });

  test("xattr replies: the size struct for outSize 0, data otherwise (even of the same length)", async (t) => {
    await each(t, ({ g }) => {
      const b = new g.CompoundBuilder()
        .getxattr(5n, g.zeroFuseGetxattrIn(), "user.a", 0)
        .getxattr(5n, { ...g.zeroFuseGetxattrIn(), size: 8 }, "user.a", 8);
      b.encode(HEADER);
      const opcode = b.ops[0].opcode;
      const bytes = g.encodeCompoundReply(HEADER.unique, [
        {
          opcode,
          reply: { getxattr_out: { ...g.zeroFuseGetxattrOut(), size: 4 } },
          unique: b.ops[0].unique,
        },
        {
          opcode,
          reply: { data: new Uint8Array([1, 2, 3, 4, 5, 6, 7, 8]) },
          unique: b.ops[1].unique,
        },
      ]);
      const p = g.parseCompoundReply(bytes, { ops: b.ops });
      // An xattr value is not page-backed, so outPages does not apply to it.
      assert.equal(p.results[0].reply.getxattr_out.size, 4);
      assert.deepEqual(p.results[1].reply.data, new Uint8Array([1, 2, 3, 4, 5, 6, 7, 8]));
    });
  });

  test("a compound that fails as a whole", async (t) => {
    await each(t, ({ g }) => {
      const p = g.parseCompoundReply(g.encodeErrorReply(HEADER.unique, -38), { ops: [14, 3] });
      assert.equal(p.error, -38);
      assert.equal(p.results, null);
    });
  });
});

describe("parseCompoundReply: the kernel's checks of each revision", () => {
  const openOut = (g: Gen, fh: bigint) => {
    const b = new Uint8Array(16);
    g.encodeFuseOpenOut({ ...g.zeroFuseOpenOut(), fh }, b);
    return b;
  };
  const open = (g: Gen, fh = 1n) => subReply(g, openOut(g, fh));
  const attr = (g: Gen) => subReply(g, new Uint8Array(104));

  test("minimum payload; fewer sub-replies than ops are missing (treated as success)", async (t) => {
    await each(t, (r) => {
      const none = compoundReply(r, [], 0);
      expectRefusal(
        r.c.replyChecks.minPayload > 0,
        "min-payload",
        () => r.g.parseCompoundReply(none, { ops: [14, 3] }),
        "no sub-replies",
      );
      const one = r.g.parseCompoundReply(compoundReply(r, [open(r.g)], 1), { ops: [14, 3] });
      assert.deepEqual(
        one.results.map((x: any) => [x.missing, x.error, x.reply === null]),
        [
          [false, 0, false],
          [true, 0, true],
        ],
      );
    });
  });

  test("more than result size plus headers is refused", async (t) => {
    await each(t, (r) => {
      const long = compoundReply(r, [open(r.g), subReply(r.g, new Uint8Array(112))], 2);
      expectRefusal(
        true,
        "max-payload",
        () => r.g.parseCompoundReply(long, { ops: [14, 3] }),
        "160 > 152",
      );
    });
  });

  test("per-op len: at least minOpLen, within the reply", async (t) => {
    await each(t, (r) => {
      const short = compoundReply(r, [open(r.g), subReply(r.g, new Uint8Array(0), 0, 8)], 2);
      expectRefusal(true, "op-len", () => r.g.parseCompoundReply(short, { ops: [14, 3] }), "len 8");
      const past = compoundReply(r, [open(r.g), subReply(r.g, new Uint8Array(0), -2, 200)], 2);
      expectRefusal(
        r.c.replyChecks.opLenInBounds,
        "op-bounds",
        () => r.g.parseCompoundReply(past, { ops: [14, 3] }),
        "len past the end",
      );
      const cut = compoundReply(r, [open(r.g), new Uint8Array(8)], 2);
      expectRefusal(
        true,
        "op-len",
        () => r.g.parseCompoundReply(cut, { ops: [14, 3] }),
        "8 bytes left",
      );
    });
  });

  test("the server's count: how many sub-replies the kernel walks", async (t) => {
    await each(t, (r) => {
      const rc = r.c.replyChecks;
      const both = [open(r.g), attr(r.g)];
      if (memberWithRole(r.c.framing.reply, "count") === null) {
        // until-end: a third sub-reply is beyond the ops; within a larger capacity it is the kernel defect, beyond it the bound.
        // (errors are header-only, so three sub-replies still fit the budget of two ops)
        const three = compoundReply(
          r,
          [open(r.g), subReply(r.g, new Uint8Array(0), -2), subReply(r.g, new Uint8Array(0), -2)],
          0,
        );
        const ops = [14, 3];
        if (rc.opsBound === "capacity")
          expectRefusal(
            true,
            "capacity",
            () => r.g.parseCompoundReply(three, { ops }),
            "beyond the capacity",
          );
        else
          expectRefusal(
            true,
            "extra-reply",
            () => r.g.parseCompoundReply(three, { ops }),
            "beyond the kernel's ops",
          );
        expectRefusal(
          true,
          "extra-reply",
          () => r.g.parseCompoundReply(three, { ops, capacity: 3 }),
          "beyond the ops",
        );
        return;
      }
      const over = compoundReply(r, both, 5);
      if (rc.opsParsed === "server-count" && rc.opsBound === "none") {
        expectRefusal(
          true,
          "ops-bound",
          () => r.g.parseCompoundReply(over, { ops: [14, 3] }),
          "count 5 > 2 ops",
        );
      } else {
        expectRefusal(
          rc.countMustMatch,
          "count",
          () => r.g.parseCompoundReply(over, { ops: [14, 3] }),
          "count 5 with min-count",
        );
      }
      const under = r.g.parseCompoundReply(compoundReply(r, both, 1), { ops: [14, 3] });
      assert.deepEqual(
        under.results.map((x: any) => x.missing),
        [false, true],
      );
      assert.equal(under.trailing, 120);
    });
  });

  test("what is copied: after an error only where the kernel copies by len", async (t) => {
    await each(t, (r) => {
      // An error sub-reply that still carries the out args.
      const failed = subReply(r.g, openOut(r.g, 77n), -13);
      const p = r.g.parseCompoundReply(compoundReply(r, [failed, attr(r.g)], 2), { ops: [14, 3] });
      assert.equal(p.results[0].error, -13);
      if (r.c.replyChecks.copyWhen === "len-exceeds-header")
        assert.equal(p.results[0].reply.open_out.fh, 77n);
      else assert.equal(p.results[0].reply, null);
    });
  });

  test("stepping: by len, or by the expected sizes (a short sub-reply misplaces the next)", async (t) => {
    await each(t, (r) => {
      // OPEN answered with 8 bytes instead of 16, then GETATTR.
      const short = subReply(r.g, new Uint8Array(8));
      const bytes = compoundReply(r, [short, attr(r.g)], 2);
      if (r.c.replyChecks.advance === "len") {
        const p = r.g.parseCompoundReply(bytes, { ops: [14, 3] });
        assert.deepEqual(
          p.results.map((x: any) => [x.error, x.len]),
          [
            [0, 24],
            [0, 120],
          ],
        );
      } else {
        // The next header is looked for at 16 + 16: inside GETATTR's header, where len reads 0.
        expectRefusal(
          true,
          "op-len",
          () => r.g.parseCompoundReply(bytes, { ops: [14, 3] }),
          "misplaced walk",
        );
      }
    });
  });
});

describe("the server side", () => {
  test("decodeCompoundRequest refuses what is not a well-formed compound", async (t) => {
    await each(t, (r) => {
      const { g, c } = r;
      const plain = g.encodeRequest({
        op: "FUSE_GETATTR",
        opcode: 3,
        header: { ...g.zeroFuseInHeader(), nodeid: 5n },
        getattr_in: g.zeroFuseGetattrIn(),
      });
      expectRefusal(true, "not-compound", () => g.decodeCompoundRequest(plain), "GETATTR");
      const bytes = openGetattr(g).encode(HEADER);
      const d = g.decodeCompoundRequest(bytes);
      // Re-encode with a count one short (where counted), or with 8 stray bytes after the sub-requests.
      const prefixes = d.prefixes.map((p: any) =>
        p === null ? new Uint8Array(0) : encodeStruct(g, c.framing.subRequestPrefix!.struct, p),
      );
      const area = d.requests.flatMap((q: any, i: number) => [prefixes[i], g.encodeRequest(q)]);
      const countIn = memberWithRole(c.framing.request, "count");
      if (countIn !== null) {
        const ci = { ...d.compound_in, [countIn]: 1 };
        const msg = g.encodeRequest({
          op: c.opcode,
          opcode: g.COMPOUND_OPCODE,
          header: d.header,
          compound_in: ci,
          requests: concat(area),
        });
        expectRefusal(true, "trailing", () => g.decodeCompoundRequest(msg), "count 1 of 2");
        if (c.maxOps !== null) {
          const many = g.encodeRequest({
            op: c.opcode,
            opcode: g.COMPOUND_OPCODE,
            header: d.header,
            compound_in: { ...ci, [countIn]: c.maxOps + 1 },
            requests: concat(area),
          });
          expectRefusal(
            true,
            "too-many-ops",
            () => g.decodeCompoundRequest(many),
            "count above maxOps",
          );
        }
      } else {
        const msg = g.encodeRequest({
          op: c.opcode,
          opcode: g.COMPOUND_OPCODE,
          header: d.header,
          compound_in: d.compound_in,
          requests: concat([...area, new Uint8Array(8)]),
        });
        expectRefusal(true, "op-len", () => g.decodeCompoundRequest(msg), "8 stray bytes");
      }
    });
  });

  test("encodeCompoundReply sets the count where the revision has one", async (t) => {
    await each(t, ({ c, g }) => {
      const bytes = g.encodeCompoundReply(1n, [{ opcode: 3, reply: { error: -2 } }]);
      const d = g.decodeReply(g.COMPOUND_OPCODE, bytes, { minor: 45 });
      const countOut = memberWithRole(c.framing.reply, "count");
      if (countOut !== null) assert.equal(d.reply.compound_out[countOut], 1);
      assert.equal(d.reply.replies.length, 16);
    });
  });
});

describe("runSeparately: the kernel's fallback", () => {
  const replyFor = (g: Gen, failAt: number | null) => (req: any) => {
    if (req.opcode === failAt) return g.encodeErrorReply(req.header.unique, -5);
    if (req.op === "FUSE_OPEN")
      return g.encodeReply(
        req.header.unique,
        { open_out: g.zeroFuseOpenOut() },
        { opcode: 14, minor: 45 },
      );
    if (req.op === "FUSE_GETATTR")
      return g.encodeReply(
        req.header.unique,
        { attr_out: g.zeroFuseAttrOut() },
        { opcode: 3, minor: 45 },
      );
    return g.encodeReply(
      req.header.unique,
      { entry_out: g.zeroFuseEntryOut() },
      { opcode: 1, minor: 45 },
    );
  };

  test("only where the kernel splits; stops at a failure unless the flag says go on", async (t) => {
    await each(t, async ({ c, g }) => {
      const compound = g.decodeCompoundRequest(openGetattr(g).lookup(1n, "x").encode(HEADER));
      if (!c.fallback.kernelSplits) {
        await assert.rejects(
          g.runSeparately(compound, replyFor(g, null)),
          (e: any) => e.kind === "no-fallback",
        );
        assert.throws(
          () => g.separateRequests(compound),
          (e: any) => e.kind === "no-fallback",
        );
        assert.equal(g.kernelFallsBack([], -38), false);
        return;
      }
      const sent: any[] = [];
      const all = await g.runSeparately(compound, (req: any, bytes: Uint8Array) => {
        sent.push(g.decodeRequest(bytes, { minor: 45 }));
        return replyFor(g, null)(req);
      });
      assert.deepEqual(
        all.map((x: any) => [x.skipped, x.error]),
        [
          [false, 0],
          [false, 0],
          [false, 0],
        ],
      );
      // Ordinary requests: fresh uniques, the caller's credentials, each op's nodeid.
      assert.deepEqual(
        sent.map((q) => [
          q.op,
          q.header.unique,
          q.header.uid,
          q.header.gid,
          q.header.pid,
          q.header.nodeid,
        ]),
        [
          ["FUSE_OPEN", HEADER.unique + 2n, HEADER.uid, HEADER.gid, HEADER.pid, 5n],
          ["FUSE_GETATTR", HEADER.unique + 4n, HEADER.uid, HEADER.gid, HEADER.pid, 5n],
          ["FUSE_LOOKUP", HEADER.unique + 6n, HEADER.uid, HEADER.gid, HEADER.pid, 1n],
        ],
      );
      const stopped = await g.runSeparately(compound, replyFor(g, 3));
      const stops =
        c.onOpError.fallback === "stop" || c.onOpError.fallback === "stop-unless-continue-flag";
      assert.deepEqual(
        stopped.map((x: any) => x.skipped),
        [false, false, stops],
      );
      assert.equal(stopped[1].error, -5);
      if (c.fallback.stopUnless !== null) {
        const goOn = g.decodeCompoundRequest(
          openGetattr(g).lookup(1n, "x").flags(c.fallback.stopUnless).encode(HEADER),
        );
        const cont = await g.runSeparately(goOn, replyFor(g, 3));
        assert.deepEqual(
          cont.map((x: any) => [x.skipped, x.error]),
          [
            [false, 0],
            [false, -5],
            [false, 0],
          ],
        );
      }
      if (c.fallback.suppressedBy !== null) {
        const atomic = g.decodeCompoundRequest(
          openGetattr(g).flags(c.fallback.suppressedBy).encode(HEADER),
        );
        await assert.rejects(
          g.runSeparately(atomic, replyFor(g, null)),
          (e: any) => e.kind === "fallback-suppressed",
        );
        assert.equal(g.kernelFallsBack([c.fallback.suppressedBy], -5), false);
      }
      // Any failure, or only the decline errnos whose effect splits (by name: ENOSYS 38, EOPNOTSUPP 95, EIO 5).
      const splitsOn = (errno: string) =>
        c.fallback.trigger === "any-failure" ||
        c.decline.some(
          (d) => (d.errno === errno || d.errno === "any") && d.effect !== "caller-fallback",
        );
      assert.equal(g.kernelFallsBack([], -38), splitsOn("ENOSYS"));
      assert.equal(g.kernelFallsBack([], -95), splitsOn("EOPNOTSUPP"));
      assert.equal(g.kernelFallsBack([], -5), splitsOn("EIO"));
      assert.equal(g.kernelFallsBack([], "bad-reply"), c.fallback.trigger === "any-failure");
      assert.equal(g.kernelFallsBack([], 0), false);
    });
  });
});

describe("fuse-uapi compound (CLI)", () => {
  const cli = (args: string[], input?: Uint8Array) => {
    const r = spawnSync(process.execPath, [CLI, ...args], {
      input: input ? Buffer.from(input) : undefined,
      maxBuffer: 1 << 24,
    });
    return { status: r.status, stdout: r.stdout, stderr: r.stderr.toString() };
  };

  test("encode ops.json gives the builder's bytes; decode reads them back", async (t) => {
    await each(t, async ({ name, c, g }) => {
      const flags = c.kernelSequences[0]!.flags;
      const ops = {
        header: { unique: "500", uid: 1000, gid: 100, pid: 77 },
        flags,
        ops: [
          { op: "FUSE_OPEN", nodeid: "5", open_in: { flags: "0x8002" } },
          { op: "getattr", nodeid: 5 },
          { op: "LOOKUP", nodeid: 1, name: "hello.txt" },
          { op: "FUSE_READ", nodeid: 5, read_in: { size: 4096 }, outSize: 4096 },
        ],
      };
      const file = join(tmp, `ops-${name}.json`);
      await writeFile(file, JSON.stringify(ops));
      const enc = cli(["compound", "encode", "--revision", name, file]);
      assert.equal(enc.status, 0, enc.stderr);
      const want = new g.CompoundBuilder()
        .open(5n, { ...g.zeroFuseOpenIn(), flags: 0x8002 })
        .getattr(5n, g.zeroFuseGetattrIn())
        .lookup(1n, "hello.txt")
        .read(5n, { ...g.zeroFuseReadIn(), size: 4096 }, 4096)
        .flags(...flags)
        .encode(HEADER);
      assert.deepEqual(new Uint8Array(enc.stdout), want);
      const dec = cli(["compound", "decode", "--revision", name, "--request", "-"], want);
      assert.equal(dec.status, 0, dec.stderr);
      const json = JSON.parse(dec.stdout.toString());
      assert.deepEqual(
        json.requests.map((q: any) => q.op),
        ["FUSE_OPEN", "FUSE_GETATTR", "FUSE_LOOKUP", "FUSE_READ"],
      );
      assert.equal(json.header.unique, "500");
      // The reply walk, with the ops from the same file (READ's outSize included) or by name.
      const reply = g.encodeCompoundReply(500n, [
        { opcode: 14, reply: { open_out: g.zeroFuseOpenOut() } },
        { opcode: 3, reply: { error: -13 } },
        { opcode: 1, reply: { entry_out: g.zeroFuseEntryOut() } },
        // Under rfc-v1..v4 READ's data cannot travel in a compound (outPages "not-copied"): an error.
        {
          opcode: 15,
          reply:
            c.outPages === "not-copied" ? { error: -95 } : { data: new Uint8Array([104, 105]) },
        },
      ]);
      const walked = cli(
        ["compound", "decode", "--revision", name, "--reply", "--ops", file],
        reply,
      );
      assert.equal(walked.status, 0, walked.stderr);
      const results = JSON.parse(walked.stdout.toString()).results;
      assert.deepEqual(
        results.map((x: any) => [x.opcode, x.error]),
        [
          [14, 0],
          [3, -13],
          [1, 0],
          [15, c.outPages === "not-copied" ? -95 : 0],
        ],
      );
      if (c.outPages === "not-copied") assert.equal(results[3].reply, null);
      else assert.equal(results[3].reply.data, "6869");
      const byName = cli(
        ["compound", "decode", "--revision", name, "--reply", "--ops", "FUSE_OPEN,GETATTR,lookup"],
        g.encodeCompoundReply(1n, [{ opcode: 14, reply: { error: -2 } }]),
      );
      assert.equal(byName.status, 0, byName.stderr);
      assert.deepEqual(
        JSON.parse(byName.stdout.toString()).results.map((x: any) => x.missing),
        [false, true, true],
      );
    });
  });

  test("refusals and bad input exit 2 with the error kind", async (t) => {
    await each(t, async ({ name, c }) => {
      const file = join(tmp, `bad-${name}.json`);
      await writeFile(
        file,
        JSON.stringify({ header: { unique: 1 }, ops: [{ op: "FUSE_WRITE", nodeid: 1 }] }),
      );
      const r = cli(["compound", "encode", "--revision", name, file]);
      assert.equal(r.status, 2);
      assert.match(r.stderr, /may not appear in a compound/);
      await writeFile(file, JSON.stringify({ header: { unique: 1 }, ops: [] }));
      const empty = cli(["compound", "encode", "--revision", name, file]);
      assert.equal(empty.status, c.emptyCompound === "kernel-rejects" ? 2 : 0);
      if (empty.status === 2) assert.match(empty.stderr, /\[empty\]/);
      await writeFile(
        file,
        JSON.stringify({
          header: { unique: 1 },
          ops: [{ op: "open", nodeid: 1, open_in: { nope: 1 } }],
        }),
      );
      assert.match(
        cli(["compound", "encode", "--revision", name, file]).stderr,
        /open_in\.nope: no such member/,
      );
    });
    const none = cli(["compound", "encode", "--revision", "base-7.45", "x.json"]);
    assert.equal(none.status, 2);
    assert.match(none.stderr, /has no FUSE_COMPOUND/);
  });
});
