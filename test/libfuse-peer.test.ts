/**
 * Real userspace peers: the two libfuse snapshots of ../shared/peers (README there), built
 * with meson in a scratch directory (test/libfuse-peer/build.ts), each driving peer_fs.c (our
 * small filesystem on libfuse's low-level API) over fuse_session_custom_io() on a socketpair.
 * The test plays the kernel with our generated code and shows:
 *  (a) libfuse 7cb226c accepts the compounds of our rfc-v1, rfc-v2 and rfc-v3 builders, and
 *      each op's sub-reply equals the reply to the same op sent on its own;
 *  (b) our encodeCompoundReply writes exactly libfuse's compound reply for those results;
 *  (c) the same for v7 with 7b231c23, whose .compound handler in peer_fs.c threads nodeids
 *      by dep_index (a dependent GETATTR after LOOKUP gets the looked-up node), compared with
 *      our runSeparately (the kernel's one-by-one fallback) against the same libfuse;
 *  (d) every opcode each libfuse implements (its fuse_ll_ops[] table) goes through our
 *      base-7.45 encodeRequest, and every reply and notification libfuse writes decodes with
 *      our decoders and re-encodes to the same bytes: no byte left undecoded.
 * Under CI (env CI set) a missing ../shared/peers, meson or ninja, or a failed build fails;
 * elsewhere the tests skip and say why.
 */
import assert from "node:assert/strict";
import { skipOrFail } from "./helpers/skip.js";
import { existsSync, mkdtempSync, rmSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { after, before, describe, test, type TestContext } from "node:test";
import { pathToFileURL } from "node:url";
import * as base from "../generated/base-7.45/index.js";
import { repoRoot } from "../generator/revisions/registry.js";
import {
  PEERS,
  buildLibfuse,
  compilePeer,
  libfuseOpcodeNames,
  missingTools,
  peersDir,
  type LibfuseBuild,
} from "./libfuse-peer/build.js";
import { CREDS, KernelSide, type Unheadered } from "./libfuse-peer/kernel.js";
import {
  F_UNLCK,
  F_WRLCK,
  FATTR_ATIME,
  FATTR_MODE,
  FATTR_MTIME,
  FUSE_LK_FLOCK,
  FUSE_POLL_SCHEDULE_NOTIFY,
  O_CREAT,
  O_EXCL,
  O_RDWR,
  PAGE,
  PEER_IOC_NOTIFY,
  PEER_IOC_REVERSE,
  POLLIN,
  RENAME_EXCHANGE,
  S_IFIFO,
  S_IFREG,
  SEEK_DATA,
  W_OK,
  baseCompounds,
  type Sub,
} from "./libfuse-peer/scenarios.js";
import { PeerSession } from "./libfuse-peer/session.js";

/* eslint-disable @typescript-eslint/no-explicit-any -- revision modules are imported by path */
type Gen = Record<string, any>;

const ENOENT = 2;
const EINTR = 4;
const EINVAL = 22;
const ENODATA = 61;
const OUT_HEADER = 16;

interface Ready {
  readonly build: LibfuseBuild;
  readonly bin: string;
}
const peers = new Map<string, Ready | { reason: string }>();
let binDir: string | undefined;

before(() => {
  const dir = peersDir();
  const common = existsSync(dir)
    ? missingTools()
    : `${dir} not found (the libfuse peer tarballs: ../shared/peers beside the checkout, or $FUSE_UAPI_PEERS)`;
  if (!common) binDir = mkdtempSync(join(tmpdir(), "fuse-uapi-libfuse-peer-"));
  for (const spec of PEERS) {
    if (common) {
      peers.set(spec.name, { reason: common });
      continue;
    }
    try {
      const build = buildLibfuse(spec);
      peers.set(spec.name, { build, bin: compilePeer(build, binDir!) });
    } catch (e) {
      peers.set(spec.name, { reason: (e as Error).message });
    }
  }
});

after(() => {
  // A failed test leaves its peer running (and Node waiting on its pipes): end them.
  PeerSession.killAll();
  if (binDir) rmSync(binDir, { recursive: true, force: true });
});

/** The built peer, or undefined after failing (CI) or skipping (elsewhere) with the reason. */
function need(t: TestContext, name: string): Ready | undefined {
  const p = peers.get(name);
  if (p && "bin" in p) return p;
  const why = p ? p.reason : "the setup did not run";
  skipOrFail(t, `libfuse ${name} is required: ${why}`);
  return undefined;
}

async function loadRevision(name: string): Promise<Gen | string> {
  const file = join(repoRoot(), "dist", "generated", name, "index.js");
  if (!existsSync(file)) return `generated/${name} does not exist in this checkout`;
  return (await import(pathToFileURL(file).href)) as Gen;
}

async function start(ready: Ready, args: string[] = []): Promise<KernelSide> {
  const k = new KernelSide(PeerSession.start(ready.bin, args));
  await k.init();
  return k;
}

/** Ends a session: libfuse must exit cleanly with nothing left unread. */
async function finish(k: KernelSide): Promise<void> {
  const exit = await k.peer.close();
  assert.equal(exit.code, 0, `peer_fs exited with ${exit.code} (${exit.signal}):\n${exit.stderr}`);
  assert.equal(
    exit.unread.length,
    0,
    `${exit.unread.length} messages from libfuse nobody asked for`,
  );
}

const view = (b: Uint8Array) => new DataView(b.buffer, b.byteOffset, b.byteLength);
const outLen = (b: Uint8Array) => view(b).getUint32(0, true);
const outError = (b: Uint8Array) => view(b).getInt32(4, true);
const outUnique = (b: Uint8Array) => view(b).getBigUint64(8, true);

/** The sub-replies of a compound reply, walked by their own lengths. */
function subReplies(reply: Uint8Array, compoundOutSize: number): Uint8Array[] {
  const out: Uint8Array[] = [];
  let at = OUT_HEADER + compoundOutSize;
  while (at < reply.length) {
    const len = view(reply).getUint32(at, true);
    assert.ok(
      len >= OUT_HEADER && at + len <= reply.length,
      `sub-reply at ${at} has len ${len} in ${reply.length} bytes`,
    );
    out.push(reply.subarray(at, at + len));
    at += len;
  }
  return out;
}

/** The xattr reply form the request asked for (size 0: the size struct). */
function xattrForm(req: {
  op: string;
  getxattr_in?: { size: number };
}): "size" | "data" | undefined {
  if (req.op !== "FUSE_GETXATTR" && req.op !== "FUSE_LISTXATTR") return undefined;
  return req.getxattr_in!.size === 0 ? "size" : "data";
}

/** Figures for the closing report, printed as test diagnostics. */
interface Figures {
  compounds: number;
  ops: number;
  parsedResults: number;
  replyBytes: number;
  /** Compound replies with heap bytes where libfuse wrote nothing. */
  garbage: number;
}
const newFigures = (): Figures => ({
  compounds: 0,
  ops: 0,
  parsedResults: 0,
  replyBytes: 0,
  garbage: 0,
});

// ---------------------------------------------------------------------------
// Compounds: sent whole to one peer, and op by op to another started the same way.

interface CompoundRun {
  readonly builder: any;
  readonly request: Uint8Array;
  readonly unique: bigint;
  readonly reply: Uint8Array;
}

interface AloneReply {
  readonly opcode: number;
  readonly reply: Uint8Array;
  /** The decoded reply (`{ error }` for an error). */
  readonly decoded: any;
}

/** Builds each compound with the revision's builder (`add`) and sends it; returns what came back. */
async function sendCompounds(
  ready: Ready,
  g: Gen,
  compounds: readonly Sub[][],
): Promise<CompoundRun[]> {
  const k = await start(ready);
  const runs: CompoundRun[] = [];
  for (const subs of compounds) {
    const builder = new g.CompoundBuilder({ minor: k.opts.minor });
    for (const s of subs) builder.add(s);
    const unique = k.nextUnique();
    const request: Uint8Array = builder.encode({ unique, ...CREDS });
    const { reply } = await k.peer.exchange(request, unique);
    runs.push({ builder, request, unique, reply });
  }
  await finish(k);
  return runs;
}

/**
 * Sends the sub-requests of each compound on their own, in order, to a fresh peer: each as
 * decodeCompoundRequest reads it, with an ordinary header (a fresh unique, the compound's
 * credentials), re-encoded by the revision's encodeRequest.
 */
async function sendAlone(
  ready: Ready,
  g: Gen,
  runs: readonly CompoundRun[],
): Promise<AloneReply[][]> {
  const k = await start(ready);
  const out: AloneReply[][] = [];
  for (const run of runs) {
    const decoded = g.decodeCompoundRequest(run.request, k.opts);
    const list: AloneReply[] = [];
    for (const sub of decoded.requests) {
      const unique = k.nextUnique();
      const bytes: Uint8Array = g.encodeRequest(
        { ...sub, header: { ...sub.header, unique, ...CREDS } },
        k.opts,
      );
      const { reply } = await k.peer.exchange(bytes, unique);
      const d = g.decodeReply(sub.opcode, reply, { ...k.opts, xattr: xattrForm(sub) });
      list.push({ opcode: sub.opcode, reply, decoded: d.reply });
    }
    out.push(list);
  }
  await finish(k);
  return out;
}

/**
 * (a) and (b) for one compound: every sub-reply equals the op's own reply but for the unique
 * (`subUnique(i)`: what this libfuse writes there), parseCompoundReply gives the same result,
 * and encodeCompoundReply of the own replies is libfuse's compound reply, byte for byte.
 */
function compareCompound(
  g: Gen,
  opts: base.FuseMessageOptions,
  run: CompoundRun,
  alone: readonly AloneReply[],
  subUnique: (i: number) => bigint,
  fig: Figures,
  what: string,
  unset: { start: number; end: number } | null = null,
): void {
  const header = base.FuseOutHeaderCodec.decode(run.reply, 0);
  assert.equal(header.error, 0, `${what}: libfuse failed the whole compound with ${header.error}`);
  assert.equal(header.unique, run.unique);
  const subs = subReplies(run.reply, g.FuseCompoundOutCodec.size);
  assert.equal(
    subs.length,
    alone.length,
    `${what}: ${subs.length} sub-replies for ${alone.length} ops`,
  );
  // Read as libfuse sent it: the kernel's walk ignores fuse_compound_out.reserved (the test below).
  const parsed = g.parseCompoundReply(run.reply, { ops: run.builder.ops, ...opts });
  assert.equal(parsed.error, 0);
  for (let i = 0; i < alone.length; i++) {
    const sub = subs[i]!;
    const own = alone[i]!;
    const name = base.fuseOpcodeName(own.opcode);
    assert.equal(outLen(sub), outLen(own.reply), `${what} op ${i} ${name}: len`);
    assert.equal(outError(sub), outError(own.reply), `${what} op ${i} ${name}: error`);
    assert.equal(outUnique(sub), subUnique(i), `${what} op ${i} ${name}: unique`);
    assert.deepEqual(
      sub.subarray(OUT_HEADER),
      own.reply.subarray(OUT_HEADER),
      `${what} op ${i} ${name}: reply bytes`,
    );
    const r = parsed.results[i];
    assert.equal(r.error, outError(own.reply), `${what} op ${i} ${name}: parsed error`);
    if (r.reply !== null) {
      assert.deepEqual(r.reply, own.decoded, `${what} op ${i} ${name}: parsed reply`);
      fig.parsedResults++;
    }
    fig.ops++;
  }
  const ours: Uint8Array = g.encodeCompoundReply(
    run.unique,
    alone.map((a, i) => ({ opcode: a.opcode, reply: a.decoded, unique: subUnique(i) })),
    opts,
  );
  if (unset) {
    // Bytes this libfuse never writes (heap contents): ours are zero; the rest must match.
    assert.ok(ours.subarray(unset.start, unset.end).every((b) => b === 0));
    if (run.reply.subarray(unset.start, unset.end).some((b) => b !== 0)) fig.garbage++;
  }
  assert.deepEqual(
    ours,
    unset ? cleared(run.reply, unset) : run.reply,
    `${what}: encodeCompoundReply differs from libfuse's reply`,
  );
  fig.compounds++;
  fig.replyBytes += run.reply.length - (unset ? unset.end - unset.start : 0);
}

/** A copy of `bytes` with the span zeroed. */
function cleared(bytes: Uint8Array, span: { start: number; end: number }): Uint8Array {
  const copy = bytes.slice();
  copy.fill(0, span.start, span.end);
  return copy;
}

/**
 * 7cb226c fills fuse_compound_out from a malloc()ed buffer and sets count and flags only:
 * `reserved` goes out with whatever the heap held (a libfuse defect; peer_fs sees names of
 * earlier requests there). Its span in the reply.
 */
function compoundOutReserved(g: Gen): { start: number; end: number } {
  const facts = g.STRUCT_LAYOUT.fuse_compound_out.x86_64;
  return { start: OUT_HEADER + facts.offsets.reserved, end: OUT_HEADER + facts.size };
}

describe("libfuse 7cb226c: compounds of RFC v1-v3", () => {
  for (const revision of ["rfc-v1", "rfc-v2", "rfc-v3"]) {
    test(`${revision}: libfuse accepts our builder's compounds; each op equals the op alone; encodeCompoundReply = libfuse's bytes`, async (t) => {
      const ready = need(t, "7cb226c");
      if (!ready) return;
      const g = await loadRevision(revision);
      if (typeof g === "string") return void assert.fail(g);
      const runs = await sendCompounds(ready, g, baseCompounds(g));
      const alone = await sendAlone(ready, g, runs);
      const probe = await start(ready);
      const opts = probe.opts;
      await finish(probe);
      const fig = newFigures();
      const unset = compoundOutReserved(g);
      runs.forEach((run, c) =>
        compareCompound(g, opts, run, alone[c]!, () => 0n, fig, `${revision} compound ${c}`, unset),
      );
      // 7cb226c writes no unique into sub-replies (0 above), and answers 7.43.
      assert.equal(opts.minor, 43);
      const opcodes = new Set(
        runs.flatMap((r) => (r.builder.ops as { opcode: number }[]).map((o) => o.opcode)),
      );
      t.diagnostic(
        `${revision} vs libfuse 7cb226c: ${fig.compounds} compounds, ${fig.ops} ops (${opcodes.size} opcodes) equal to the op alone, ${fig.parsedResults} parsed results equal, ${fig.replyBytes} reply bytes equal to encodeCompoundReply ` +
          `(fuse_compound_out.reserved excluded: libfuse leaves it unwritten, ${fig.garbage} of ${fig.compounds} replies carried heap bytes there)`,
      );
    });
  }

  test("parseCompoundReply reads 7cb226c's replies as they come, heap bytes in fuse_compound_out.reserved included", async (t) => {
    const ready = need(t, "7cb226c");
    if (!ready) return;
    const g = await loadRevision("rfc-v1");
    if (typeof g === "string") return void assert.fail(g);
    const runs = await sendCompounds(ready, g, baseCompounds(g));
    const unset = compoundOutReserved(g);
    // Heap bytes come and go: where no reply carried any this time, one is given some.
    const dirty = runs.filter((r) => r.reply.subarray(unset.start, unset.end).some((b) => b !== 0));
    const samples = dirty.length
      ? dirty.map((r) => ({ run: r, reply: r.reply }))
      : [{ run: runs[0]!, reply: runs[0]!.reply.slice().fill(0xa5, unset.start, unset.end) }];
    for (const { run, reply } of samples) {
      t.diagnostic(`reply head: ${Buffer.from(reply.subarray(0, unset.end)).toString("hex")}`);
      const parsed: any = g.parseCompoundReply(reply, { ops: run.builder.ops, minor: 43 });
      assert.equal(parsed.error, 0);
    }
  });
});

// ---------------------------------------------------------------------------
// v7 with 7b231c23

/** v7 compounds without dependencies: the RFC set, failing ops, and the ops 7b231c23 adds. */
function v7Compounds(g: Gen): Sub[][] {
  const compounds = baseCompounds(g);
  // 7b231c23 answers every op and goes on after a failure (7cb226c stops), so add some.
  compounds[0]!.splice(1, 0, { op: "FUSE_LOOKUP", nodeid: 1n, name: "missing" });
  compounds[1]!.splice(0, 0, {
    op: "FUSE_GETXATTR",
    nodeid: 2n,
    getxattr_in: { ...g.zeroFuseGetxattrIn(), size: 64 },
    name: "user.none",
    outSize: 64,
  });
  compounds.push([
    { op: "FUSE_STATX", nodeid: 2n, statx_in: { ...g.zeroFuseStatxIn(), sx_mask: 0x7ff } },
    { op: "FUSE_SYNCFS", nodeid: 1n, syncfs_in: g.zeroFuseSyncfsIn() },
    {
      op: "FUSE_COPY_FILE_RANGE_64",
      nodeid: 2n,
      copy_file_range_in: {
        ...g.zeroFuseCopyFileRangeIn(),
        fh_in: 100n,
        nodeid_out: 9n,
        fh_out: 101n,
        off_out: 20n,
        len: 5n,
      },
    },
    { op: "FUSE_RMDIR", nodeid: 1n, name: "dir" }, // ENOTEMPTY
  ]);
  return compounds;
}

/** Dependent v7 compounds: each names what it shows. */
function v7Dependent(g: Gen): { what: string; subs: Sub[] }[] {
  const getattr = (dependsOn: number): Sub => ({
    op: "FUSE_GETATTR",
    nodeid: 0n,
    getattr_in: g.zeroFuseGetattrIn(),
    dependsOn,
  });
  return [
    {
      what: "LOOKUP + GETATTR(dependsOn 0)",
      subs: [{ op: "FUSE_LOOKUP", nodeid: 1n, name: "hello.txt" }, getattr(0)],
    },
    {
      what: "LOOKUP dir + LOOKUP(dependsOn 0) + GETATTR(dependsOn 1)",
      subs: [
        { op: "FUSE_LOOKUP", nodeid: 1n, name: "dir" },
        { op: "FUSE_LOOKUP", nodeid: 0n, name: "inner", dependsOn: 0 },
        getattr(1),
      ],
    },
    {
      what: "MKNOD + OPEN(dependsOn 0)",
      subs: [
        {
          op: "FUSE_MKNOD",
          nodeid: 1n,
          mknod_in: { ...g.zeroFuseMknodIn(), mode: S_IFREG | 0o644 },
          name: "fresh",
        },
        {
          op: "FUSE_OPEN",
          nodeid: 0n,
          open_in: { ...g.zeroFuseOpenIn(), flags: O_RDWR },
          dependsOn: 0,
        },
      ],
    },
    {
      what: "LOOKUP + OPEN(dependsOn 0)",
      subs: [
        { op: "FUSE_LOOKUP", nodeid: 1n, name: "hello.txt" },
        { op: "FUSE_OPEN", nodeid: 0n, open_in: { ...g.zeroFuseOpenIn(), flags: 0 }, dependsOn: 0 },
      ],
    },
    {
      what: "failed producer: LOOKUP missing + GETATTR(dependsOn 0)",
      subs: [{ op: "FUSE_LOOKUP", nodeid: 1n, name: "missing" }, getattr(0)],
    },
    {
      what: "CREATE + GETATTR(dependsOn 0) + independent STATFS",
      subs: [
        {
          op: "FUSE_CREATE",
          nodeid: 3n,
          create_in: { ...g.zeroFuseCreateIn(), flags: O_RDWR | O_CREAT, mode: S_IFREG | 0o600 },
          name: "c",
        },
        getattr(0),
        { op: "FUSE_STATFS", nodeid: 1n },
      ],
    },
    // What no kernel sends (the builder writes them with allowInvalidDependencies): -EINVAL for that op.
    {
      what: "forward reference: GETATTR(dependsOn 1) + LOOKUP",
      subs: [getattr(1), { op: "FUSE_LOOKUP", nodeid: 1n, name: "hello.txt" }],
    },
    {
      what: "self reference: STATFS + GETATTR(dependsOn 1)",
      subs: [{ op: "FUSE_STATFS", nodeid: 1n }, getattr(1)],
    },
  ];
}

describe("libfuse 7b231c23: v7 compounds", () => {
  test("v7 compounds without dependencies: each op equals the op alone; encodeCompoundReply = libfuse's bytes", async (t) => {
    const ready = need(t, "7b231c23");
    if (!ready) return;
    const g = await loadRevision("v7");
    if (typeof g === "string") return skipOrFail(t, g);
    const runs = await sendCompounds(ready, g, v7Compounds(g));
    const alone = await sendAlone(ready, g, runs);
    const probe = await start(ready);
    const opts = probe.opts;
    await finish(probe);
    const fig = newFigures();
    runs.forEach((run, c) => {
      // 7b231c23 echoes each sub-request's unique (the v7 kernel checks it).
      const uniques = (
        g.decodeCompoundRequest(run.request, opts).requests as { header: { unique: bigint } }[]
      ).map((q) => q.header.unique);
      compareCompound(g, opts, run, alone[c]!, (i) => uniques[i]!, fig, `v7 compound ${c}`);
    });
    const failed = alone.flat().filter((a) => outError(a.reply) !== 0).length;
    assert.ok(failed >= 3, "the failing ops are in the comparison");
    t.diagnostic(
      `v7 vs libfuse 7b231c23 (no dependencies): ${fig.compounds} compounds, ${fig.ops} ops (${failed} failing) equal to the op alone, ${fig.parsedResults} parsed results equal, ${fig.replyBytes} reply bytes equal to encodeCompoundReply`,
    );
  });

  test("v7 dependencies: peer_fs's .compound handler threads dep_index; each op equals runSeparately (the kernel's fallback) against the same libfuse", async (t) => {
    const ready = need(t, "7b231c23");
    if (!ready) return;
    const g = await loadRevision("v7");
    if (typeof g === "string") return skipOrFail(t, g);
    const fig = newFigures();
    let threaded = 0;
    for (const { what, subs } of v7Dependent(g)) {
      const k = await start(ready);
      const opts = k.opts;
      const builder = new g.CompoundBuilder({ minor: opts.minor, allowInvalidDependencies: true });
      for (const s of subs) builder.add(s);
      const unique = k.nextUnique();
      const request: Uint8Array = builder.encode({ unique, ...CREDS });
      const { reply } = await k.peer.exchange(request, unique);
      await finish(k);

      const decoded: any = g.decodeCompoundRequest(request, opts);
      assert.deepEqual(
        decoded.dependsOn,
        subs.map((s) => (s["dependsOn"] as number | undefined) ?? null),
        `${what}: decodeCompoundRequest reads the dependencies back`,
      );
      // The reference: the kernel's fallback by our runSeparately, against a fresh peer.
      const own = new Map<bigint, Uint8Array>();
      const ref = await start(ready);
      const separate: any[] = await g.runSeparately(
        decoded,
        async (req: any, bytes: Uint8Array) => {
          const ex = await ref.peer.exchange(bytes, req.header.unique);
          own.set(req.header.unique, ex.reply);
          return ex.reply;
        },
        { ...opts, nextUnique: () => ref.nextUnique() },
      );
      await finish(ref);

      const subBytes = subReplies(reply, g.FuseCompoundOutCodec.size);
      assert.equal(subBytes.length, subs.length, `${what}: one sub-reply per op`);
      const parsed: any = g.parseCompoundReply(reply, { ops: builder.ops, ...opts });
      assert.equal(parsed.error, 0);
      const entries = separate.map((s, i) => {
        assert.equal(s.skipped, false, `${what} op ${i}: the v7 fallback runs every op`);
        const sub = subBytes[i]!;
        const name = base.fuseOpcodeName(decoded.requests[i].opcode);
        assert.equal(outError(sub), s.error, `${what} op ${i} ${name}: error`);
        assert.equal(
          outUnique(sub),
          decoded.requests[i].header.unique,
          `${what} op ${i}: libfuse echoes the sub-request's unique`,
        );
        assert.equal(parsed.results[i].error, s.error, `${what} op ${i} ${name}: parsed error`);
        if (s.error === 0)
          assert.deepEqual(
            parsed.results[i].reply,
            s.reply,
            `${what} op ${i} ${name}: parsed reply`,
          );
        if (!s.byRule) {
          // Sent on its own (a dependent with the producer's nodeid): the same bytes but the unique.
          const alone = own.get(s.request.header.unique)!;
          assert.deepEqual(
            sub.subarray(OUT_HEADER),
            alone.subarray(OUT_HEADER),
            `${what} op ${i} ${name}: reply bytes`,
          );
          assert.equal(outLen(sub), outLen(alone));
          if (decoded.dependsOn[i] !== null) threaded++;
        }
        fig.ops++;
        return {
          opcode: decoded.requests[i].opcode,
          reply: s.error === 0 ? s.reply : { error: s.error },
          unique: decoded.requests[i].header.unique,
        };
      });
      const ours: Uint8Array = g.encodeCompoundReply(unique, entries, opts);
      assert.deepEqual(ours, reply, `${what}: encodeCompoundReply differs from libfuse's reply`);
      fig.compounds++;
      fig.replyBytes += reply.length;

      const errors = parsed.results.map((r: any) => r.error);
      if (what.startsWith("LOOKUP + GETATTR")) {
        const lookup = parsed.results[0].reply.entry_out;
        assert.equal(
          parsed.results[1].reply.attr_out.attr.ino,
          lookup.nodeid,
          "the dependent GETATTR got the looked-up node",
        );
        assert.equal(decoded.requests[1].header.nodeid, 0n, "...though its own header names none");
      }
      if (what.startsWith("LOOKUP dir"))
        assert.equal(
          parsed.results[2].reply.attr_out.attr.ino,
          parsed.results[1].reply.entry_out.nodeid,
        );
      if (what.startsWith("MKNOD")) assert.deepEqual(errors, [0, 0]);
      if (what.startsWith("failed producer"))
        assert.deepEqual(
          errors,
          [-ENOENT, -ENOENT],
          "a failed producer fails its dependent with its error",
        );
      if (what.startsWith("forward")) assert.deepEqual(errors, [-EINVAL, 0]);
      if (what.startsWith("self")) assert.deepEqual(errors, [0, -EINVAL]);
    }
    t.diagnostic(
      `v7 dependencies vs libfuse 7b231c23: ${fig.compounds} compounds, ${fig.ops} ops equal to runSeparately's (${threaded} dependents sent with a threaded nodeid), ${fig.replyBytes} reply bytes equal to encodeCompoundReply`,
    );
  });
});

// ---------------------------------------------------------------------------
// (d) Every opcode libfuse implements, through encodeRequest and back through our decoders.

/**
 * Decodes a reply with decodeReply and re-encodes it with encodeReply: the bytes must come
 * back unchanged, so every byte libfuse wrote was read into a field. Directory listings are
 * walked record by record and rebuilt with our list encoders too.
 */
function roundTripReply(
  opcode: number,
  bytes: Uint8Array,
  opts: base.FuseMessageOptions,
  xattr?: "size" | "data",
): any {
  const name = base.fuseOpcodeName(opcode);
  const d = base.decodeReply(opcode as base.FuseReplyOpcode, bytes, { ...opts, xattr });
  const again = base.encodeReply(d.header.unique, d.reply as never, {
    ...opts,
    opcode: opcode as base.FuseReplyOpcode,
  });
  assert.deepEqual(again, bytes, `${name}: our re-encoded reply differs from libfuse's`);
  const r = d.reply as any;
  if (!("error" in r) && (opcode === 28 || opcode === 44)) {
    const plus = opcode === 44;
    const list = plus ? base.decodeDirentplus(r.data) : base.decodeDirents(r.data);
    const enc = plus
      ? new base.DirentplusListEncoder(r.data.length)
      : new base.DirentListEncoder(r.data.length);
    for (const e of list)
      assert.ok(enc.add(e as never), `${name}: record ${e.name} does not fit again`);
    assert.deepEqual(enc.finish(), r.data, `${name}: records re-encoded differ`);
  }
  return r;
}

function roundTripNotify(bytes: Uint8Array, opts: base.FuseMessageOptions): base.FuseNotification {
  const n = base.decodeNotify(bytes, opts);
  assert.deepEqual(
    base.encodeNotify(n.code, n.args as never, opts),
    bytes,
    `${n.name}: re-encoded notification differs`,
  );
  return n;
}

const text = (s: string) => new TextEncoder().encode(s);
/** No request extensions (security context, supplementary groups): none were negotiated. */
const NO_EXT = new Uint8Array(0);
const str = (b: Uint8Array) => new TextDecoder().decode(b);

interface Coverage {
  /** opcode -> how it came back ("reply", or why it has none). */
  readonly opcodes: Map<number, string>;
  readonly notifications: Set<string>;
}

/** One session that sends every opcode of `implemented` (and only those) in a meaningful order. */
async function everyOpcode(ready: Ready, implemented: ReadonlySet<number>): Promise<Coverage> {
  const cov: Coverage = { opcodes: new Map(), notifications: new Set() };
  const k = new KernelSide(PeerSession.start(ready.bin));
  const init = await k.init();
  roundTripReply(26, init.exchange.reply, { minor: 45 });
  cov.opcodes.set(26, "reply");
  const o = k.opts;
  const has = (opcode: number) => implemented.has(opcode);
  const call = async (
    req: Unheadered,
    nodeid: bigint,
    expectError = 0,
    unique?: bigint,
  ): Promise<any> => {
    const ex = await k.call(req, nodeid, unique);
    assert.equal(ex.notifications.length, 0, `${req.op}: unexpected notifications`);
    const r = roundTripReply(req.opcode, ex.reply, o, xattrForm(req as never));
    assert.equal(
      "error" in r ? r.error : 0,
      expectError === 0 ? 0 : -expectError,
      `${req.op}: error`,
    );
    cov.opcodes.set(req.opcode, "reply");
    return r;
  };
  const Z = base;

  const hello = (await call({ op: "FUSE_LOOKUP", opcode: 1, name: "hello.txt" }, 1n)).entry_out;
  assert.equal(hello.nodeid, 2n);
  assert.equal(hello.attr.size, 13n);
  await call({ op: "FUSE_LOOKUP", opcode: 1, name: "missing" }, 1n, ENOENT);
  assert.equal(
    (await call({ op: "FUSE_GETATTR", opcode: 3, getattr_in: Z.zeroFuseGetattrIn() }, 2n)).attr_out
      .attr.mode,
    S_IFREG | 0o644,
  );
  const set = await call(
    {
      op: "FUSE_SETATTR",
      opcode: 4,
      setattr_in: {
        ...Z.zeroFuseSetattrIn(),
        valid: FATTR_MODE | FATTR_ATIME | FATTR_MTIME,
        mode: S_IFREG | 0o600,
        atime: 1700000500n,
        mtime: 1700000600n,
        mtimensec: 7,
      },
    },
    2n,
  );
  assert.deepEqual(
    [
      set.attr_out.attr.mode,
      set.attr_out.attr.atime,
      set.attr_out.attr.mtime,
      set.attr_out.attr.mtimensec,
    ],
    [S_IFREG | 0o600, 1700000500n, 1700000600n, 7],
  );
  assert.equal(str((await call({ op: "FUSE_READLINK", opcode: 5 }, 5n)).data), "hello.txt");
  const sym = (
    await call(
      { op: "FUSE_SYMLINK", opcode: 6, extensions: NO_EXT, name: "sym", target: "dir/inner" },
      1n,
    )
  ).entry_out; // 6
  assert.equal(sym.attr.size, 9n);
  const fifo = (
    await call(
      {
        op: "FUSE_MKNOD",
        opcode: 8,
        extensions: NO_EXT,
        mknod_in: { ...Z.zeroFuseMknodIn(), mode: S_IFIFO | 0o644, umask: 0o22 },
        name: "fifo",
      },
      1n,
    )
  ).entry_out; // 7
  assert.equal(fifo.attr.mode, S_IFIFO | 0o644);
  const made = (
    await call(
      {
        op: "FUSE_MKDIR",
        opcode: 9,
        extensions: NO_EXT,
        mkdir_in: { ...Z.zeroFuseMkdirIn(), mode: 0o755, umask: 0o22 },
        name: "made",
      },
      1n,
    )
  ).entry_out; // 8
  assert.equal(made.attr.nlink, 2);
  await call(
    {
      op: "FUSE_RENAME",
      opcode: 12,
      rename_in: { ...Z.zeroFuseRenameIn(), newdir: made.nodeid },
      oldname: "fifo",
      newname: "fifo2",
    },
    1n,
  );
  assert.equal(
    (
      await call(
        {
          op: "FUSE_LINK",
          opcode: 13,
          link_in: { ...Z.zeroFuseLinkIn(), oldnodeid: 2n },
          newname: "hard",
        },
        1n,
      )
    ).entry_out.attr.nlink,
    2,
  );
  await call({ op: "FUSE_UNLINK", opcode: 10, name: "fifo2" }, made.nodeid);
  await call(
    {
      op: "FUSE_MKDIR",
      opcode: 9,
      extensions: NO_EXT,
      mkdir_in: { ...Z.zeroFuseMkdirIn(), mode: 0o700 },
      name: "gone",
    },
    made.nodeid,
  );
  await call({ op: "FUSE_RMDIR", opcode: 11, name: "gone" }, made.nodeid);
  const fh = (
    await call(
      { op: "FUSE_OPEN", opcode: 14, open_in: { ...Z.zeroFuseOpenIn(), flags: O_RDWR } },
      2n,
    )
  ).open_out.fh;
  const w = await call(
    {
      op: "FUSE_WRITE",
      opcode: 16,
      write_in: { ...Z.zeroFuseWriteIn(), fh, offset: 13n, size: 6 },
      data: text("again\n"),
    },
    2n,
  );
  assert.equal(w.write_out.size, 6);
  assert.equal(
    str(
      (
        await call(
          { op: "FUSE_READ", opcode: 15, read_in: { ...Z.zeroFuseReadIn(), fh, size: PAGE } },
          2n,
        )
      ).data,
    ),
    "hello, world\nagain\n",
  );
  assert.equal((await call({ op: "FUSE_STATFS", opcode: 17 }, 1n)).statfs_out.st.namelen, 255);
  await call(
    {
      op: "FUSE_SETXATTR",
      opcode: 21,
      setxattr_in: { ...Z.zeroFuseSetxattrIn(), size: 3 },
      name: "user.k",
      value: text("abc"),
    },
    2n,
  );
  assert.equal(
    (
      await call(
        {
          op: "FUSE_GETXATTR",
          opcode: 22,
          getxattr_in: { ...Z.zeroFuseGetxattrIn(), size: 0 },
          name: "user.k",
        },
        2n,
      )
    ).getxattr_out.size,
    3,
  );
  assert.equal(
    str(
      (
        await call(
          {
            op: "FUSE_GETXATTR",
            opcode: 22,
            getxattr_in: { ...Z.zeroFuseGetxattrIn(), size: 16 },
            name: "user.k",
          },
          2n,
        )
      ).data,
    ),
    "abc",
  );
  assert.equal(
    (
      await call(
        { op: "FUSE_LISTXATTR", opcode: 23, getxattr_in: { ...Z.zeroFuseGetxattrIn(), size: 0 } },
        2n,
      )
    ).getxattr_out.size,
    18,
  );
  assert.equal(
    str(
      (
        await call(
          {
            op: "FUSE_LISTXATTR",
            opcode: 23,
            getxattr_in: { ...Z.zeroFuseGetxattrIn(), size: 64 },
          },
          2n,
        )
      ).data,
    ),
    "user.color\0user.k\0",
  );
  await call({ op: "FUSE_REMOVEXATTR", opcode: 24, name: "user.k" }, 2n);
  await call(
    {
      op: "FUSE_GETXATTR",
      opcode: 22,
      getxattr_in: { ...Z.zeroFuseGetxattrIn(), size: 16 },
      name: "user.k",
    },
    2n,
    ENODATA,
  );
  await call(
    { op: "FUSE_FLUSH", opcode: 25, flush_in: { ...Z.zeroFuseFlushIn(), fh, lock_owner: 7n } },
    2n,
  );
  await call(
    { op: "FUSE_FSYNC", opcode: 20, fsync_in: { ...Z.zeroFuseFsyncIn(), fh, fsync_flags: 1 } },
    2n,
  );
  const lock = (type: number) => ({ ...Z.zeroFuseFileLock(), start: 0n, end: 99n, type, pid: 42 });
  assert.equal(
    (
      await call(
        {
          op: "FUSE_GETLK",
          opcode: 31,
          lk_in: { ...Z.zeroFuseLkIn(), fh, owner: 7n, lk: lock(F_WRLCK) },
        },
        2n,
      )
    ).lk_out.lk.type,
    F_UNLCK,
  );
  await call(
    {
      op: "FUSE_SETLK",
      opcode: 32,
      lk_in: { ...Z.zeroFuseLkIn(), fh, owner: 7n, lk: lock(F_WRLCK) },
    },
    2n,
  );
  const conflict = (
    await call(
      {
        op: "FUSE_GETLK",
        opcode: 31,
        lk_in: { ...Z.zeroFuseLkIn(), fh, owner: 8n, lk: lock(F_WRLCK) },
      },
      2n,
    )
  ).lk_out.lk;
  assert.deepEqual(
    [conflict.type, conflict.start, conflict.end, conflict.pid],
    [F_WRLCK, 0n, 99n, 42],
  );
  await call(
    {
      op: "FUSE_SETLKW",
      opcode: 33,
      lk_in: { ...Z.zeroFuseLkIn(), fh, owner: 7n, lk: lock(F_UNLCK) },
    },
    2n,
  );
  await call(
    {
      op: "FUSE_SETLK",
      opcode: 32,
      lk_in: { ...Z.zeroFuseLkIn(), fh, owner: 7n, lk: lock(F_WRLCK), lk_flags: FUSE_LK_FLOCK },
    },
    2n,
  );
  await call(
    { op: "FUSE_ACCESS", opcode: 34, access_in: { ...Z.zeroFuseAccessIn(), mask: W_OK } },
    2n,
  );
  const created = await call(
    {
      op: "FUSE_CREATE",
      opcode: 35,
      extensions: NO_EXT,
      create_in: {
        ...Z.zeroFuseCreateIn(),
        flags: O_RDWR | O_CREAT | O_EXCL,
        mode: S_IFREG | 0o644,
        umask: 0o22,
      },
      name: "new.txt",
    },
    made.nodeid,
  );
  const newNode: bigint = created.entry_out.nodeid;
  const newFh: bigint = created.open_out.fh;

  // INTERRUPT: no reply; libfuse marks the request it names, which peer_fs then fails with EINTR.
  {
    const target = k.nextUnique();
    k.post({ op: "FUSE_INTERRUPT", opcode: 36, interrupt_in: { unique: target } }, 0n, target | 1n);
    cov.opcodes.set(36, "no reply; the request it names then fails with EINTR");
    await call(
      { op: "FUSE_GETATTR", opcode: 3, getattr_in: Z.zeroFuseGetattrIn() },
      2n,
      EINTR,
      target,
    );
  }
  assert.equal(
    (
      await call(
        {
          op: "FUSE_BMAP",
          opcode: 37,
          bmap_in: { ...Z.zeroFuseBmapIn(), block: 5n, blocksize: 4096 },
        },
        2n,
      )
    ).bmap_out.block,
    1040n,
  );
  const rev = await call(
    {
      op: "FUSE_IOCTL",
      opcode: 39,
      ioctl_in: { ...Z.zeroFuseIoctlIn(), fh, cmd: PEER_IOC_REVERSE, in_size: 5, out_size: 5 },
      in_data: text("hello"),
    },
    2n,
  );
  assert.deepEqual([rev.ioctl_out.result, str(rev.out_data)], [5, "olleh"]);
  assert.equal(
    (
      await call(
        {
          op: "FUSE_POLL",
          opcode: 40,
          poll_in: {
            ...Z.zeroFusePollIn(),
            fh,
            kh: 77n,
            flags: FUSE_POLL_SCHEDULE_NOTIFY,
            events: POLLIN,
          },
        },
        2n,
      )
    ).poll_out.revents,
    POLLIN | 4 /* POLLOUT */,
  );

  // Notifications: peer_fs sends every kind its libfuse has, then answers the ioctl.
  let retrieve: base.FuseNotifyRetrieveOut | undefined;
  {
    const ex = await k.call(
      {
        op: "FUSE_IOCTL",
        opcode: 39,
        ioctl_in: { ...Z.zeroFuseIoctlIn(), fh, cmd: PEER_IOC_NOTIFY, out_size: 64 },
        in_data: new Uint8Array(0),
      },
      2n,
    );
    const r = roundTripReply(39, ex.reply, o);
    const results = new Int32Array(r.out_data.slice().buffer);
    assert.deepEqual(
      [...results],
      new Array(r.ioctl_out.result).fill(0),
      "every notify call succeeded",
    );
    assert.equal(ex.notifications.length, r.ioctl_out.result);
    for (const m of ex.notifications) {
      const n = roundTripNotify(m, o);
      cov.notifications.add(n.name);
      if (n.code === 5) retrieve = n.args.notify_retrieve_out;
      if (n.code === 1) assert.equal(n.args.notify_poll_wakeup_out.kh, 77n);
      if (n.code === 4) assert.equal(str(n.args.data), "STORE");
    }
  }
  assert.ok(retrieve, "a FUSE_NOTIFY_RETRIEVE came");
  assert.deepEqual([retrieve.nodeid, retrieve.offset, retrieve.size], [2n, 7n, 5]);
  // NOTIFY_REPLY answers the retrieve: no reply; peer_fs stores the data, and READ shows it.
  k.post(
    {
      op: "FUSE_NOTIFY_REPLY",
      opcode: 41,
      notify_retrieve_in: { ...Z.zeroFuseNotifyRetrieveIn(), offset: 7n, size: 5 },
      data: text("WORLD"),
    },
    2n,
    retrieve.notify_unique,
  );
  cov.opcodes.set(41, "no reply; the retrieved data arrived (READ)");
  assert.equal(
    str(
      (
        await call(
          { op: "FUSE_READ", opcode: 15, read_in: { ...Z.zeroFuseReadIn(), fh, size: PAGE } },
          2n,
        )
      ).data,
    ),
    "hello, WORLD\nagain\n",
  );

  await call(
    {
      op: "FUSE_FALLOCATE",
      opcode: 43,
      fallocate_in: { ...Z.zeroFuseFallocateIn(), fh: newFh, offset: 0n, length: 100n },
    },
    newNode,
  );
  const dh = (await call({ op: "FUSE_OPENDIR", opcode: 27, open_in: Z.zeroFuseOpenIn() }, 1n))
    .open_out.fh;
  const names = base
    .decodeDirents(
      (
        await call(
          {
            op: "FUSE_READDIR",
            opcode: 28,
            read_in: { ...Z.zeroFuseReadIn(), fh: dh, size: PAGE },
          },
          1n,
        )
      ).data,
    )
    .map((e) => e.name.text);
  assert.deepEqual(names, [".", "..", "hello.txt", "dir", "link", "sym", "made", "hard"]);
  const plus = base.decodeDirentplus(
    (
      await call(
        {
          op: "FUSE_READDIRPLUS",
          opcode: 44,
          read_in: { ...Z.zeroFuseReadIn(), fh: dh, size: PAGE },
        },
        1n,
      )
    ).data,
  );
  assert.deepEqual(
    plus.map((e) => [e.name.text, e.entry_out.nodeid]),
    [
      [".", 0n],
      ["..", 0n],
      ["hello.txt", 2n],
      ["dir", 3n],
      ["link", 5n],
      ["sym", 6n],
      ["made", 8n],
      ["hard", 2n],
    ],
  );
  await call({ op: "FUSE_FSYNCDIR", opcode: 30, fsync_in: { ...Z.zeroFuseFsyncIn(), fh: dh } }, 1n);
  await call(
    { op: "FUSE_RELEASEDIR", opcode: 29, release_in: { ...Z.zeroFuseReleaseIn(), fh: dh } },
    1n,
  );
  await call(
    {
      op: "FUSE_RENAME2",
      opcode: 45,
      rename2_in: { ...Z.zeroFuseRename2In(), newdir: 1n, flags: RENAME_EXCHANGE },
      oldname: "hello.txt",
      newname: "link",
    },
    1n,
  );
  assert.equal(
    (await call({ op: "FUSE_LOOKUP", opcode: 1, name: "link" }, 1n)).entry_out.nodeid,
    2n,
  );
  assert.equal(
    (
      await call(
        {
          op: "FUSE_LSEEK",
          opcode: 46,
          lseek_in: { ...Z.zeroFuseLseekIn(), fh, offset: 3n, whence: SEEK_DATA },
        },
        2n,
      )
    ).lseek_out.offset,
    3n,
  );
  const copy = {
    ...Z.zeroFuseCopyFileRangeIn(),
    fh_in: fh,
    off_in: 0n,
    nodeid_out: newNode,
    fh_out: newFh,
    off_out: 0n,
    len: 5n,
  };
  assert.equal(
    (await call({ op: "FUSE_COPY_FILE_RANGE", opcode: 47, copy_file_range_in: copy }, 2n)).write_out
      .size,
    5,
  );
  if (has(53)) {
    const r = await call(
      {
        op: "FUSE_COPY_FILE_RANGE_64",
        opcode: 53,
        copy_file_range_in: { ...copy, off_out: 5n, len: 1n << 33n },
      },
      2n,
    );
    assert.equal(r.copy_file_range_out.bytes_copied, 19n);
  }
  if (has(50)) await call({ op: "FUSE_SYNCFS", opcode: 50, syncfs_in: Z.zeroFuseSyncfsIn() }, 1n);
  const tmp = await call(
    {
      op: "FUSE_TMPFILE",
      opcode: 51,
      extensions: NO_EXT,
      create_in: { ...Z.zeroFuseCreateIn(), flags: O_RDWR, mode: S_IFREG | 0o600 },
      name: "/",
    },
    made.nodeid,
  );
  assert.equal(tmp.entry_out.attr.mode, S_IFREG | 0o600);
  if (has(52)) {
    const sx = await call(
      { op: "FUSE_STATX", opcode: 52, statx_in: { ...Z.zeroFuseStatxIn(), sx_mask: 0x7ff } },
      newNode,
    );
    assert.deepEqual([sx.statx_out.stat.ino, sx.statx_out.stat.size], [newNode, 100n]);
  }
  // FORGET and BATCH_FORGET: no reply; the next request's reply is the next message.
  k.post({ op: "FUSE_FORGET", opcode: 2, forget_in: { nlookup: 1n } }, sym.nodeid);
  cov.opcodes.set(2, "no reply");
  k.post(
    {
      op: "FUSE_BATCH_FORGET",
      opcode: 42,
      batch_forget_in: { ...Z.zeroFuseBatchForgetIn(), count: 2 },
      entries: [
        { nodeid: made.nodeid, nlookup: 1n },
        { nodeid: newNode, nlookup: 1n },
      ],
    },
    0n,
  );
  cov.opcodes.set(42, "no reply");
  await call({ op: "FUSE_RELEASE", opcode: 18, release_in: { ...Z.zeroFuseReleaseIn(), fh } }, 2n);
  await call({ op: "FUSE_DESTROY", opcode: 38 }, 0n);
  await finish(k);

  // CUSE_INIT needs a CUSE session: peer_fs --cuse, same socketpair.
  if (has(4096)) {
    const c = new KernelSide(PeerSession.start(ready.bin, ["--cuse"]));
    const unique = c.nextUnique();
    const req = base.encodeRequest({
      op: "CUSE_INIT",
      opcode: 4096,
      header: c.header(0n, unique),
      cuse_init_in: { ...Z.zeroCuseInitIn(), major: 7, minor: 45 },
    });
    const ex = await c.peer.exchange(req, unique);
    const r = roundTripReply(4096, ex.reply, { minor: 45 });
    assert.equal(str(r.dev_info).replace(/\0+$/, ""), "DEVNAME=fuse-uapi-peer");
    cov.opcodes.set(4096, "reply");
    const opened = await c.peer.exchange(
      base.encodeRequest({
        op: "FUSE_OPEN",
        opcode: 14,
        header: c.header(1n),
        open_in: Z.zeroFuseOpenIn(),
      }),
      4n,
    );
    const cfh = (roundTripReply(14, opened.reply, { minor: 45 }) as any).open_out.fh;
    const read = await c.peer.exchange(
      base.encodeRequest({
        op: "FUSE_READ",
        opcode: 15,
        header: c.header(1n),
        read_in: { ...Z.zeroFuseReadIn(), fh: cfh, size: 64 },
      }),
      6n,
    );
    assert.equal(str((roundTripReply(15, read.reply, { minor: 45 }) as any).data), "cuse peer\n");
    await finish(c);
  }
  return cov;
}

describe("every opcode libfuse implements: our encodeRequest in, our decoders on every reply", () => {
  test("an INTERRUPT libfuse cannot match gets a bare -EAGAIN reply, which decodeReply should read", async (t) => {
    const ready = need(t, "7b231c23");
    if (!ready) return;
    const k = await start(ready);
    try {
      const target = k.nextUnique();
      const { unique } = k.post(
        { op: "FUSE_INTERRUPT", opcode: 36, interrupt_in: { unique: target } },
        0n,
        target | 1n,
      );
      // Another request than the one named: libfuse hands the interrupt back with EAGAIN first.
      const statfs = k.encode({ op: "FUSE_STATFS", opcode: 17 }, 1n);
      k.peer.send(statfs.bytes);
      const answer = await k.peer.next();
      assert.deepEqual(
        [outLen(answer), outError(answer), outUnique(answer)],
        [OUT_HEADER, -11, unique],
      );
      assert.equal(outUnique(await k.peer.next()), statfs.unique);
      const d = base.decodeReply(36 as base.FuseReplyOpcode, answer, k.opts);
      assert.deepEqual(d.reply, { error: -11 });
    } finally {
      await finish(k);
    }
  });

  for (const spec of PEERS) {
    test(`libfuse ${spec.name}`, async (t) => {
      const ready = need(t, spec.name);
      if (!ready) return;
      const table = libfuseOpcodeNames(ready.build);
      const known = new Map<string, number>(
        Object.entries(base.FuseOpcode).map(([name, value]) => [name, value as number]),
      );
      const implemented = new Set(table.filter((n) => known.has(n)).map((n) => known.get(n)!));
      const outside = table.filter((n) => !known.has(n));
      const cov = await everyOpcode(ready, implemented);
      const missed = [...implemented]
        .filter((op) => !cov.opcodes.has(op))
        .map((op) => base.fuseOpcodeName(op));
      assert.deepEqual(missed, [], "opcodes libfuse implements that the session did not send");
      const extra = [...cov.opcodes.keys()].filter((op) => !implemented.has(op));
      assert.deepEqual(extra, [], "the session sent opcodes outside libfuse's table");
      const noReply = [...cov.opcodes]
        .filter(([, how]) => how !== "reply")
        .map(([op, how]) => `${base.fuseOpcodeName(op)} (${how})`);
      t.diagnostic(
        `libfuse ${spec.name}: ${cov.opcodes.size} of the ${table.length} opcodes in its fuse_ll_ops[] round-tripped through base-7.45 ` +
          `(${cov.opcodes.size - noReply.length} replies decoded and re-encoded byte for byte; ${noReply.join(", ")}); ` +
          `${cov.notifications.size} notification kinds round-tripped (${[...cov.notifications].join(", ")}); ` +
          `not in base-7.45: ${outside.join(", ")} (the compound opcode is covered by the compound tests)`,
      );
    });
  }
});
