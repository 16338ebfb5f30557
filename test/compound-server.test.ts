/**
 * FUSE_COMPOUND on the server side, for every revision that has it (the
 * `compound` entries of schema/known-revisions.json), without a mount: the
 * running kernel has no compound patches, so a test "kernel" drives the memfs
 * server over an in-memory pair or a Unix stream socket, with compounds built by
 * the revision's generated `CompoundBuilder` and replies read by its
 * `parseCompoundReply` (the kernel's own reply walk and checks).
 *
 * The reference for every op of a compound is the same op sent as a separate
 * request to a fresh memfs holding the same content (times pinned, so replies
 * compare field by field). Where the revision's kernel falls back to separate
 * requests (`fallback.kernelSplits`), its generated `runSeparately` is compared
 * too. Expectations come from the revision's data (`COMPOUND_SEMANTICS`), never
 * from its name.
 */
import assert from "node:assert/strict";
import { readFileSync } from "node:fs";
import { mkdtemp, rm } from "node:fs/promises";
import { createServer, connect, type Socket } from "node:net";
import { tmpdir } from "node:os";
import { dirname, join, resolve } from "node:path";
import { after, before, describe, test } from "node:test";
import { fileURLToPath } from "node:url";
import fc from "fast-check";
import { MemFs } from "../examples/memfs/memfs.js";
import { memberWithRole } from "../runtime/compound.js";
import {
  Errno,
  FuseError,
  Session,
  StreamTransport,
  createMemoryPair,
  loadProtocol,
  type FuseHandlers,
  type Protocol,
  type SessionOptions,
  type Transport,
} from "../server/index.js";

const ROOT = resolve(dirname(fileURLToPath(import.meta.url)), "../..");

/** A revision's generated module set (every revision has the shape of v6's; only literal types differ). */
type Gen = typeof import("../generated/v6/index.js");
type Sem = Gen["COMPOUND_SEMANTICS"];
type Builder = InstanceType<Gen["CompoundBuilder"]>;
type OpRef = { opcode: number; outSize: number; nodeid?: bigint; unique?: bigint; raw?: boolean };
type AnyRequest = {
  op: string;
  opcode: number;
  header: { unique: bigint; uid: number; gid: number; pid: number; nodeid: bigint };
} & Record<string, unknown>;

interface RevisionEntry {
  name: string;
  compound?: { maxOps: number | null } | null;
}

const REVISIONS: string[] = (
  JSON.parse(readFileSync(join(ROOT, "schema/known-revisions.json"), "utf8")) as {
    revisions: RevisionEntry[];
  }
).revisions
  .filter((r) => r.compound)
  .map((r) => r.name);

const FIXED_NS = 1_700_000_000_123_456_789n;
/** Credentials of the compounds (and of their reference requests): not root, so ACCESS answers by mode bits. */
const CALLER = { uid: 1000, gid: 1000, pid: 4242 };
const ROOT_CRED = { uid: 0, gid: 0, pid: 1 };
const O_RDONLY = 0;
const O_RDWR = 2;
const R_OK = 4;
const W_OK = 2;
const X_OK = 1;
const enc = new TextEncoder();

function withTimeout<T>(p: Promise<T>, ms: number, what: string): Promise<T> {
  let timer: NodeJS.Timeout;
  const t = new Promise<never>(
    (_, reject) =>
      (timer = setTimeout(() => reject(new Error(`${what}: nothing within ${ms} ms`)), ms)),
  );
  return Promise.race([p, t]).finally(() => clearTimeout(timer));
}

/**
 * The kernel's end, read by one loop into a queue: a read that times out leaves
 * no reader behind to swallow the next message.
 */
class Inbox {
  private readonly queue: Uint8Array[] = [];
  private waiter: ((m: Uint8Array | null) => void) | null = null;
  private ended = false;

  constructor(end: Transport) {
    void (async () => {
      for (;;) {
        const m = await end.read();
        if (m === null) break;
        if (this.waiter) {
          const w = this.waiter;
          this.waiter = null;
          w(m);
        } else this.queue.push(m);
      }
      this.ended = true;
      this.waiter?.(null);
    })();
  }

  /** The next message, or null when none comes within `ms` (or the end is closed). */
  next(ms: number): Promise<Uint8Array | null> {
    const m = this.queue.shift();
    if (m) return Promise.resolve(m);
    if (this.ended) return Promise.resolve(null);
    return new Promise((resolve) => {
      const timer = setTimeout(() => {
        this.waiter = null;
        resolve(null);
      }, ms);
      this.waiter = (x) => {
        clearTimeout(timer);
        resolve(x);
      };
    });
  }
}

/** A Unix stream socket pair (Node has no socketpair(2)): the server's end and the kernel's end. */
async function socketPair(): Promise<{
  server: Socket;
  kernel: Socket;
  cleanup: () => Promise<void>;
}> {
  const dir = await mkdtemp(join(tmpdir(), "compound-server-"));
  const path = join(dir, "sock");
  const listener = createServer();
  const accepted = new Promise<Socket>((res) => listener.once("connection", res));
  await new Promise<void>((res) => listener.listen(path, res));
  const kernel = connect(path);
  await new Promise<void>((res, rej) => kernel.once("connect", res).once("error", rej));
  const server = await accepted;
  return {
    server,
    kernel,
    cleanup: async () => {
      kernel.destroy();
      server.destroy();
      await new Promise<void>((res) => listener.close(() => res()));
      await rm(dir, { recursive: true, force: true });
    },
  };
}

/** Nodeids of the content every memfs of these tests holds. */
interface Tree {
  root: bigint;
  dir: bigint;
  file: bigint;
  link: bigint;
}

/**
 * One memfs server and the "kernel" talking to it: INIT, content made through
 * ordinary requests, then all times pinned so that two instances answer alike.
 */
class Rig {
  private unique = 1000n;
  readonly errors: unknown[] = [];
  /** Handler methods called, in order (for "declined means nothing ran"). */
  readonly calls: string[] = [];
  session!: Session;
  fs!: MemFs;
  kernel!: Transport;
  inbox!: Inbox;
  done!: Promise<void>;
  tree!: Tree;
  private cleanup: () => Promise<void> = async () => {};

  constructor(
    readonly g: Gen,
    readonly protocol: Protocol,
  ) {}

  /** Message options as negotiated (set after INIT). */
  opts: { minor: number; setxattrExt: boolean; hostEndian: true } = {
    minor: 45,
    setxattrExt: false,
    hostEndian: true,
  };

  static async start(
    g: Gen,
    protocol: Protocol,
    sessionOpts: SessionOptions = {},
    transport: "memory" | "socket" = "memory",
  ): Promise<Rig> {
    const rig = new Rig(g, protocol);
    rig.fs = new MemFs();
    const calls = rig.calls;
    const spy = new Proxy(rig.fs, {
      get(target, prop, receiver) {
        const v = Reflect.get(target, prop, receiver) as unknown;
        if (typeof v !== "function" || typeof prop !== "string") return v;
        return (...args: unknown[]) => {
          calls.push(prop);
          return (v as (...a: unknown[]) => unknown).apply(target, args);
        };
      },
    }) as FuseHandlers;
    rig.session = new Session(spy, {
      protocol,
      onError: (err) => rig.errors.push(err),
      ...sessionOpts,
    });
    if (transport === "memory") {
      const [server, kernel] = createMemoryPair();
      rig.kernel = kernel;
      rig.done = rig.session.run(server);
    } else {
      const pair = await socketPair();
      rig.kernel = new StreamTransport(pair.kernel);
      rig.done = rig.session.run(new StreamTransport(pair.server));
      rig.cleanup = pair.cleanup;
    }
    rig.inbox = new Inbox(rig.kernel);
    await rig.init();
    await rig.populate();
    rig.calls.length = 0;
    return rig;
  }

  async close(): Promise<void> {
    this.kernel.close();
    await withTimeout(this.done, 5000, "session end");
    await this.cleanup();
  }

  nextUnique(): bigint {
    this.unique += 2n;
    return this.unique;
  }

  header(nodeid: bigint, cred = ROOT_CRED) {
    return { ...this.g.zeroFuseInHeader(), unique: this.nextUnique(), nodeid, ...cred };
  }

  async roundTrip(bytes: Uint8Array, ms = 3000): Promise<Uint8Array> {
    const unique = this.g.decodeFuseInHeader(bytes, 0, { hostEndian: true }).unique;
    this.kernel.write(bytes);
    const reply = await this.inbox.next(ms);
    assert.ok(reply, `no reply to unique ${unique} within ${ms} ms`);
    const h = this.g.decodeFuseOutHeader(reply, 0, { hostEndian: true });
    assert.equal(h.unique, unique, "reply to the request sent");
    assert.equal(h.len, reply.length, "fuse_out_header.len is the reply's size");
    return reply;
  }

  /** Sends one request (encoded by the revision's messages.ts) and decodes the reply. */
  async call(
    req: Record<string, unknown> & { op: string; opcode: number },
    xattr?: "size" | "data",
  ) {
    const bytes = this.g.encodeRequest(req as never, this.opts);
    const reply = await this.roundTrip(bytes);
    return this.g.decodeReply(req.opcode as never, reply, { ...this.opts, xattr })
      .reply as unknown as Record<string, unknown>;
  }

  private async init(): Promise<void> {
    const g = this.g;
    const init_in = {
      ...g.zeroFuseInitIn(),
      major: 7,
      minor: 45,
      max_readahead: 65536,
      flags: 0xffffffff >>> 0,
      flags2: 0xffffffff >>> 0,
    };
    const bytes = g.encodeRequest(
      {
        op: "FUSE_INIT",
        opcode: g.FuseOpcode.FUSE_INIT,
        header: this.header(0n),
        init_in,
      } as never,
      { hostEndian: true },
    );
    await this.roundTrip(bytes);
    const c = this.session.connection;
    assert.ok(c, "INIT done");
    assert.equal(c.revision, this.protocol.revision);
    this.opts = { minor: c.minor, setxattrExt: c.setxattrExt, hostEndian: true };
  }

  private async populate(): Promise<void> {
    const g = this.g;
    const op = g.FuseOpcode;
    const ok = (r: Record<string, unknown>, what: string) => {
      if ("error" in r) assert.fail(`${what}: error ${String(r["error"])}`);
      return r;
    };
    const root = 1n;
    const dir = ok(
      await this.call({
        op: "FUSE_MKDIR",
        opcode: op.FUSE_MKDIR,
        header: this.header(root),
        mkdir_in: { mode: 0o755, umask: 0 },
        name: "dir",
        extensions: new Uint8Array(0),
      }),
      "mkdir",
    ) as { entry_out: { nodeid: bigint } };
    const created = ok(
      await this.call({
        op: "FUSE_CREATE",
        opcode: op.FUSE_CREATE,
        header: this.header(root),
        create_in: { ...g.zeroFuseCreateIn(), flags: O_RDWR, mode: 0o640 },
        name: "file",
        extensions: new Uint8Array(0),
      }),
      "create",
    ) as { entry_out: { nodeid: bigint }; open_out: { fh: bigint } };
    const file = created.entry_out.nodeid;
    const fh = created.open_out.fh;
    const data = enc.encode("hello, compound\n");
    ok(
      await this.call({
        op: "FUSE_WRITE",
        opcode: op.FUSE_WRITE,
        header: this.header(file),
        write_in: { ...g.zeroFuseWriteIn(), fh, size: data.length },
        data,
      }),
      "write",
    );
    ok(
      await this.call({
        op: "FUSE_RELEASE",
        opcode: op.FUSE_RELEASE,
        header: this.header(file),
        release_in: { ...g.zeroFuseReleaseIn(), fh },
      }),
      "release",
    );
    const value = enc.encode("blue");
    ok(
      await this.call({
        op: "FUSE_SETXATTR",
        opcode: op.FUSE_SETXATTR,
        header: this.header(file),
        setxattr_in: { ...g.zeroFuseSetxattrIn(), size: value.length },
        name: "user.color",
        value,
      }),
      "setxattr",
    );
    const link = ok(
      await this.call({
        op: "FUSE_SYMLINK",
        opcode: op.FUSE_SYMLINK,
        header: this.header(root),
        name: "link",
        target: "file",
        extensions: new Uint8Array(0),
      }),
      "symlink",
    ) as { entry_out: { nodeid: bigint } };
    for (const i of this.fs.inodes.values()) i.atime = i.mtime = i.ctime = i.btime = FIXED_NS;
    this.tree = { root, dir: dir.entry_out.nodeid, file, link: link.entry_out.nodeid };
  }
}

/** The generated module set of a revision and its protocol, or why the test must skip. */
async function revision(name: string): Promise<{ g: Gen; protocol: Protocol; sem: Sem }> {
  const protocol = await loadProtocol(name);
  assert.ok(protocol.compound, `generated/${name}/compound.js is missing: run the generator`);
  const g = (await import(new URL(`../generated/${name}/index.js`, import.meta.url).href)) as Gen;
  return { g, protocol, sem: g.COMPOUND_SEMANTICS };
}

/** The flags the revision's kernel sets on a compound of these ops (kernelSequences), if it builds one. */
function kernelFlags(sem: Sem, ops: string[]): string[] {
  const seq = sem.kernelSequences.find(
    (s) => s.ops.length === ops.length && s.ops.every((o, i) => o === ops[i]),
  );
  return seq ? [...seq.flags] : [];
}

function builder(g: Gen, rig: Rig): Builder {
  return new g.CompoundBuilder({ ...rig.opts, maxPages: 32 });
}

/** What the reference run answered for one op: its error, and its decoded reply arguments on success. */
interface Outcome {
  error: number;
  reply: unknown;
}

function xattrForm(sub: AnyRequest): "size" | "data" | undefined {
  const x = sub["getxattr_in"] as { size: number } | undefined;
  return x ? (x.size === 0 ? "size" : "data") : undefined;
}

/**
 * The reference: each sub-request of `compound` as a separate request (ordinary header: a
 * fresh unique, the compound's credentials) to a fresh memfs with the same content.
 */
async function separately(g: Gen, protocol: Protocol, compound: Uint8Array): Promise<Outcome[]> {
  const rig = await Rig.start(g, protocol);
  try {
    const decoded = g.decodeCompoundRequest(compound, rig.opts);
    const out: Outcome[] = [];
    for (const sub of decoded.requests as unknown as AnyRequest[]) {
      const header = {
        ...sub.header,
        unique: rig.nextUnique(),
        uid: decoded.header.uid,
        gid: decoded.header.gid,
        pid: decoded.header.pid,
      };
      const reply = await rig.call({ ...sub, header }, xattrForm(sub));
      out.push(
        "error" in reply ? { error: reply["error"] as number, reply: null } : { error: 0, reply },
      );
    }
    return out;
  } finally {
    await rig.close();
  }
}

/** Sends a compound and parses the reply the way the revision's kernel does. */
async function sendCompound(rig: Rig, b: Builder, cred = CALLER) {
  const unique = rig.nextUnique();
  const bytes = b.encode({ unique, ...cred });
  const reply = await rig.roundTrip(bytes);
  const parsed = rig.g.parseCompoundReply(reply, { ...rig.opts, ops: b.ops as unknown as OpRef[] });
  return { bytes, reply, parsed };
}

/**
 * Asserts a compound reply op by op against the reference outcomes, twice: the server's own
 * sub-replies (walked by their lengths and decoded by messages.ts), and what the revision's
 * kernel makes of them (`parsed`, from parseCompoundReply: page-backed out args are not
 * copied where `outPages` is "not-copied").
 */
function assertSameAsSeparate(
  g: Gen,
  reply: Uint8Array,
  parsed: ReturnType<Gen["parseCompoundReply"]>,
  ref: Outcome[],
  subs: readonly AnyRequest[],
  label: string,
  opts: { minor: number; hostEndian: true },
): void {
  const sem = g.COMPOUND_SEMANTICS;
  // What the server wrote.
  const whole = g.decodeReply(g.COMPOUND_OPCODE as never, reply, opts).reply as unknown as Record<
    string,
    unknown
  >;
  assert.ok(!("error" in whole), `${label}: the compound failed as a whole`);
  const area = whole["replies"] as Uint8Array;
  let at = 0;
  subs.forEach((sub, i) => {
    const what = `${label}, sub-reply ${i} (${sub.op})`;
    assert.ok(area.length - at >= 16, `${what}: present`);
    const h = g.decodeFuseOutHeader(area, at, opts);
    assert.equal(h.unique, sub.header.unique, `${what}: echoes the sub-request's unique`);
    const one = g.decodeReply(sub.opcode as never, area.subarray(at, at + h.len), {
      ...opts,
      xattr: xattrForm(sub),
    }).reply as unknown as Record<string, unknown>;
    if ("error" in one) assert.deepEqual({ error: one["error"], reply: null }, ref[i], what);
    else assert.deepEqual({ error: 0, reply: one }, ref[i], `${what}: field by field`);
    at += h.len;
  });
  assert.equal(at, area.length, `${label}: nothing after the last sub-reply`);
  const countOut = memberWithRole(sem.framing.reply, "count");
  if (countOut !== null) {
    assert.equal(
      (whole["compound_out"] as Record<string, number>)[countOut],
      subs.length,
      `${label}: the reply's count`,
    );
  }
  // What the kernel reads from it.
  assert.equal(parsed.error, 0, `${label}: the compound failed as a whole`);
  assert.ok(parsed.results, label);
  assert.equal(parsed.results.length, ref.length, `${label}: one result per op`);
  assert.equal(parsed.trailing, 0, `${label}: no bytes after the last sub-reply`);
  parsed.results.forEach((r, i) => {
    const what = `${label}, op ${i} (${subs[i]?.op})`;
    assert.equal(r.missing, false, `${what}: has a sub-reply`);
    assert.equal(
      r.unique,
      subs[i]!.header.unique,
      `${what}: the sub-reply echoes the sub-request's unique`,
    );
    assert.equal(r.error, ref[i]!.error, `${what}: error`);
    // replyChecks.copyWhen and outPages: when the kernel copies out args at all.
    const copied =
      sem.replyChecks.copyWhen === "no-error"
        ? r.error === 0
        : (r.len ?? 0) > sem.replyChecks.minOpLen;
    // Only out args the op marks page-backed are left uncopied (xattr values are not page-backed).
    const paged = sem.outPages === "not-copied" && g.COMPOUND_OPS.get(r.opcode)?.outPages === true;
    if (ref[i]!.error === 0 && copied && !paged)
      assert.deepEqual(r.reply, ref[i]!.reply, `${what}: reply, field by field`);
    else
      assert.equal(
        r.reply,
        null,
        `${what}: nothing copied (${paged ? "page-backed out args" : r.error ? "a failed op" : "no out args"})`,
      );
  });
}

/**
 * Where the revision's kernel splits compounds: `runSeparately` against a fresh memfs gives the
 * reference outcomes, up to where its stop rule ends the run.
 */
async function assertFallbackMatches(
  g: Gen,
  protocol: Protocol,
  compound: Uint8Array,
  ref: Outcome[],
  label: string,
): Promise<void> {
  const sem = g.COMPOUND_SEMANTICS;
  if (!sem.fallback.kernelSplits) {
    const decoded = g.decodeCompoundRequest(compound, { hostEndian: true });
    assert.throws(
      () => g.separateRequests(decoded),
      { name: "CompoundError" },
      `${label}: this revision never splits`,
    );
    return;
  }
  const rig = await Rig.start(g, protocol);
  try {
    const decoded = g.decodeCompoundRequest(compound, rig.opts);
    const results = await g.runSeparately(decoded, (_req, bytes) => rig.roundTrip(bytes), rig.opts);
    const goOn =
      sem.onOpError.fallback === "continue" ||
      (sem.fallback.stopUnless !== null &&
        (decoded.flags as readonly string[]).includes(sem.fallback.stopUnless));
    let stopped = false;
    results.forEach((r, i) => {
      const what = `${label}, fallback op ${i}`;
      if (stopped) {
        assert.equal(r.skipped, true, `${what}: skipped after a failure`);
        return;
      }
      assert.equal(r.skipped, false, what);
      if (r.skipped) return;
      assert.equal(r.error, ref[i]!.error, `${what}: error`);
      if (r.error === 0) assert.deepEqual(r.reply, ref[i]!.reply, `${what}: reply`);
      if (r.error !== 0 && !goOn) stopped = true;
    });
  } finally {
    await rig.close();
  }
}

/** A compound of independent ops: `n` of them, the middle one a LOOKUP of a missing name. */
function mixedCompound(g: Gen, rig: Rig, n: number): Builder {
  const t = rig.tree;
  const pool: Array<(b: Builder) => Builder> = [
    (b) => b.getattr(t.file, g.zeroFuseGetattrIn()),
    (b) => b.statfs(t.root),
    (b) => b.getxattr(t.file, { ...g.zeroFuseGetxattrIn(), size: 4 }, "user.color", 4),
    (b) => b.readlink(t.link, 4),
    (b) => b.access(t.file, { ...g.zeroFuseAccessIn(), mask: W_OK }), // EACCES for CALLER: mode 0640, owner root
    (b) => b.lookup(t.root, "file"),
    (b) => b.access(t.dir, { ...g.zeroFuseAccessIn(), mask: R_OK | X_OK }),
    (b) => b.getxattr(t.file, { ...g.zeroFuseGetxattrIn(), size: 0 }, "user.color", 0),
    (b) => b.listxattr(t.file, { ...g.zeroFuseGetxattrIn(), size: 11 }, 11),
    (b) => b.statx(t.file, g.zeroFuseStatxIn()),
    (b) => b.getattr(t.dir, g.zeroFuseGetattrIn()),
    (b) => b.getxattr(t.dir, { ...g.zeroFuseGetxattrIn(), size: 4 }, "user.none", 4), // ENODATA
    (b) => b.lookup(t.dir, "nothing-here"), // ENOENT
    (b) => b.getattr(t.root, g.zeroFuseGetattrIn()),
  ];
  const middle = Math.floor(n / 2);
  let b = builder(g, rig);
  for (let i = 0, k = 0; i < n; i++) {
    b = i === middle ? b.lookup(t.root, "missing") : pool[k++ % pool.length]!(b);
  }
  return b;
}

for (const name of REVISIONS) {
  describe(`FUSE_COMPOUND served by memfs, revision ${name}`, () => {
    for (const transport of ["memory", "socket"] as const) {
      test(`OPEN + GETATTR and OPENDIR + GETATTR on the same node (${transport})`, async () => {
        const { g, protocol, sem } = await revision(name);
        for (const open of ["FUSE_OPEN", "FUSE_OPENDIR"] as const) {
          // A fresh server each: the reference starts from the same state (handle numbers included).
          const rig = await Rig.start(g, protocol, {}, transport);
          try {
            const label = `${name} ${open} + GETATTR`;
            const node = open === "FUSE_OPEN" ? rig.tree.file : rig.tree.dir;
            let b = builder(g, rig);
            b =
              open === "FUSE_OPEN"
                ? b.open(node, { ...g.zeroFuseOpenIn(), flags: O_RDONLY })
                : b.opendir(node, { ...g.zeroFuseOpenIn(), flags: O_RDONLY });
            b = b.getattr(node, g.zeroFuseGetattrIn()); // The kernel's GETATTR input is all zeros.
            b.flags(...(kernelFlags(sem, [open, "FUSE_GETATTR"]) as never[]));
            const { bytes, reply, parsed } = await sendCompound(rig, b);
            const subs = g.decodeCompoundRequest(bytes, rig.opts)
              .requests as unknown as AnyRequest[];
            // Handlers saw two ordinary requests: the compound is the session's business.
            assert.deepEqual(
              rig.calls,
              [open === "FUSE_OPEN" ? "open" : "opendir", "getattr"],
              label,
            );
            const ref = await separately(g, protocol, bytes);
            assert.deepEqual(
              ref.map((r) => r.error),
              [0, 0],
              `${label}: the reference succeeds`,
            );
            assertSameAsSeparate(g, reply, parsed, ref, subs, label, rig.opts);
            await assertFallbackMatches(g, protocol, bytes, ref, label);
            assert.deepEqual(rig.errors, []);
          } finally {
            await rig.close();
          }
        }
      });
    }

    test("independent ops up to the revision's limit, with a failing op in the middle", async () => {
      const { g, protocol, sem } = await revision(name);
      const n = sem.maxOps ?? 8;
      const rig = await Rig.start(g, protocol);
      try {
        const b = mixedCompound(g, rig, n);
        const { bytes, reply, parsed } = await sendCompound(rig, b);
        const subs = g.decodeCompoundRequest(bytes, rig.opts).requests as unknown as AnyRequest[];
        assert.equal(subs.length, n);
        const ref = await separately(g, protocol, bytes);
        assert.equal(ref[Math.floor(n / 2)]!.error, -Errno.ENOENT, "the middle op fails");
        assert.ok(
          ref.some((r, i) => i > n / 2 && r.error === 0),
          "ops after the failure succeed",
        );
        assert.ok(
          ref.some((r) => r.error === -Errno.EACCES),
          "the compound's credentials reach the handlers (ACCESS as uid 1000)",
        );
        // Under rfc-v1..v4 (outPages "not-copied") the READLINK's target cannot travel in a
        // compound (the kernel reads the next sub-reply right after its header): the session
        // answers it EOPNOTSUPP without running it; every other op as on its own.
        const dropped = subs.map((s) => protocol.pagePayloadDropped(s.opcode));
        assert.equal(
          dropped.some(Boolean),
          sem.outPages === "not-copied",
          "the compound holds a page-backed op exactly where its payload is dropped",
        );
        const served = ref.map((r, i) =>
          dropped[i] ? { error: -Errno.EOPNOTSUPP, reply: null } : r,
        );
        assertSameAsSeparate(g, reply, parsed, served, subs, `${name} ${n} ops`, rig.opts);
        // A handler ran for every op, the failed one included, and nothing else.
        assert.equal(rig.calls.length, n - dropped.filter(Boolean).length);
        await assertFallbackMatches(g, protocol, bytes, ref, `${name} ${n} ops`);
        if (sem.fallback.stopUnless !== null) {
          // With the flag that keeps the kernel's fallback going, it runs every op like the server did.
          const b2 = mixedCompound(g, rig, n).flags(sem.fallback.stopUnless as never);
          await assertFallbackMatches(
            g,
            protocol,
            b2.encode({ unique: 77n, ...CALLER }),
            ref,
            `${name} ${n} ops, ${sem.fallback.stopUnless}`,
          );
        }
        // One op more than the revision allows is the builder's refusal, not the server's problem.
        if (sem.maxOps !== null)
          assert.throws(() => mixedCompound(g, rig, n + 1), { name: "CompoundError" });
        assert.deepEqual(rig.errors, []);
      } finally {
        await rig.close();
      }
    });

    test("declining: the error the revision allows, and nothing else", async () => {
      const { g, protocol, sem } = await revision(name);
      const errnoNamed = (n: string | null) =>
        n !== null && n in Errno ? Errno[n as keyof typeof Errno] : undefined;
      // The wanted errno where the revision takes it, else the one that declines this compound alone, else the first.
      const takes = (wanted: number) =>
        sem.decline.some((d) => d.errno === "any" || errnoNamed(d.errno) === wanted);
      const named =
        sem.decline.find((d) => d.errno !== "any" && d.effect === "split") ??
        sem.decline.find((d) => d.errno !== "any");
      const expected = (wanted?: number) =>
        wanted !== undefined && takes(wanted)
          ? wanted
          : named
            ? errnoNamed(named.errno)
            : (errnoNamed(sem.fallback.callerFallbackErrno) ?? Errno.ENOSYS);
      const mayDecline = sem.decline.length > 0;
      for (const wanted of [undefined, Errno.EOPNOTSUPP]) {
        const rig = await Rig.start(g, protocol, { compounds: "decline", declineErrno: wanted });
        try {
          const b = builder(g, rig)
            .open(rig.tree.file, g.zeroFuseOpenIn())
            .getattr(rig.tree.file, g.zeroFuseGetattrIn());
          b.flags(...(kernelFlags(sem, ["FUSE_OPEN", "FUSE_GETATTR"]) as never[]));
          const { bytes, reply, parsed } = await sendCompound(rig, b);
          if (!mayDecline) {
            assert.equal(parsed.error, 0, "this revision does not let a server decline: executed");
            continue;
          }
          const errno = expected(wanted)!;
          assert.equal(reply.length, 16, "a bare fuse_out_header");
          assert.equal(parsed.error, -errno, `declined with ${errno}`);
          assert.deepEqual(rig.calls, [], "no handler ran");
          assert.equal(await rig.inbox.next(100), null, "no second reply");
          // The kernel's way on: split (where it does) or the caller's plain OPEN.
          const decoded = g.decodeCompoundRequest(bytes, rig.opts);
          const splits = g.kernelFallsBack(decoded.flags, parsed.error);
          assert.equal(splits, sem.fallback.kernelSplits);
          if (sem.fallback.kernelSplits) {
            const results = await g.runSeparately(
              decoded,
              (_req, sep) => rig.roundTrip(sep),
              rig.opts,
            );
            const ref = await separately(g, protocol, bytes);
            results.forEach((r, i) => {
              assert.ok(!r.skipped && r.error === ref[i]!.error, `fallback op ${i}`);
              if (!r.skipped) assert.deepEqual(r.reply, ref[i]!.reply);
            });
          } else {
            const plain = await rig.call({
              op: "FUSE_OPEN",
              opcode: g.FuseOpcode.FUSE_OPEN,
              header: rig.header(rig.tree.file, CALLER),
              open_in: g.zeroFuseOpenIn(),
            });
            assert.ok("open_out" in plain, "the plain OPEN works");
          }
        } finally {
          await rig.close();
        }
      }
      // A policy function declines some compounds and executes others.
      const rig = await Rig.start(g, protocol, {
        compounds: (c) => (c.ops.includes("FUSE_OPENDIR") ? "decline" : "execute"),
      });
      try {
        const opendir = await sendCompound(
          rig,
          builder(g, rig)
            .opendir(rig.tree.dir, g.zeroFuseOpenIn())
            .getattr(rig.tree.dir, g.zeroFuseGetattrIn()),
        );
        assert.equal(opendir.parsed.error, mayDecline ? -expected()! : 0);
        const open = await sendCompound(
          rig,
          builder(g, rig)
            .open(rig.tree.file, g.zeroFuseOpenIn())
            .getattr(rig.tree.file, g.zeroFuseGetattrIn()),
        );
        assert.equal(open.parsed.error, 0);
        assert.deepEqual(
          open.parsed.results?.map((r) => r.error),
          [0, 0],
        );
      } finally {
        await rig.close();
      }
    });

    test("sub-requests that cannot be in a compound get a per-op error; the others run", async () => {
      const { g, protocol } = await revision(name);
      const rig = await Rig.start(g, protocol);
      try {
        const op = g.FuseOpcode;
        const sub = (req: Record<string, unknown> & { op: string; opcode: number }) =>
          g.encodeRequest(req as never, rig.opts);
        // Sub-request headers as the kernel writes them (the subHeader rules; the decoder checks them).
        const h = (nodeid: bigint, index: number) => ruleHeader(g, nodeid, index);
        const parts = [
          sub({
            op: "FUSE_FORGET",
            opcode: op.FUSE_FORGET,
            header: h(rig.tree.file, 0),
            forget_in: { nlookup: 1000n },
          }), // no reply: EINVAL, not run
          sub({ op: "unknown", opcode: 9999, header: h(1n, 1), body: new Uint8Array(0) }), // unknown: ENOSYS
          sub({
            op: "FUSE_INIT",
            opcode: op.FUSE_INIT,
            header: h(1n, 2),
            init_in: { ...g.zeroFuseInitIn(), major: 7, minor: 45 },
          }), // the session's: EINVAL
          sub({
            op: "FUSE_GETATTR",
            opcode: op.FUSE_GETATTR,
            header: h(rig.tree.file, 3),
            getattr_in: g.zeroFuseGetattrIn(),
          }),
        ];
        const write = sub({
          op: "FUSE_WRITE",
          opcode: op.FUSE_WRITE,
          header: h(rig.tree.file, 4),
          write_in: { ...g.zeroFuseWriteIn(), size: 1 },
          data: new Uint8Array(1),
        });
        const writeInCompound = protocol.allowedInCompound(op.FUSE_WRITE);
        if (writeInCompound) {
          parts.push(write);
        } else {
          // A page payload the kernel never puts in a compound: the decoder refuses the compound as a whole.
          const refused = g.parseCompoundReply(
            await rig.roundTrip(rawCompound(g, rig, [...parts, write], parts.length + 1)),
            { ...rig.opts, ops: [] },
          );
          assert.equal(
            refused.error,
            -Errno.EIO,
            "a compound with a page payload is malformed here (as any malformed compound)",
          );
          rig.calls.length = 0;
        }
        const compound = rawCompound(g, rig, parts, parts.length);
        const reply = await rig.roundTrip(compound);
        const getattrSize =
          g.encodeReply(0n, { attr_out: g.zeroFuseAttrOut() } as never, {
            ...rig.opts,
            opcode: op.FUSE_GETATTR as never,
          }).length - 16;
        const parsed = g.parseCompoundReply(reply, {
          ...rig.opts,
          ops: [
            { opcode: op.FUSE_FORGET, outSize: 0, raw: true },
            { opcode: 9999, outSize: 0, raw: true },
            { opcode: op.FUSE_INIT, outSize: 0, raw: true },
            { opcode: op.FUSE_GETATTR, outSize: getattrSize },
            ...(writeInCompound ? [{ opcode: op.FUSE_WRITE, outSize: 0, raw: true }] : []),
          ],
        });
        assert.deepEqual(
          parsed.results?.map((r) => r.error),
          [-Errno.EINVAL, -Errno.ENOSYS, -Errno.EINVAL, 0, ...(writeInCompound ? [0] : [])],
        );
        assert.deepEqual(
          rig.calls,
          writeInCompound ? ["getattr", "write"] : ["getattr"],
          "FORGET, INIT (and page payloads where refused) never ran",
        );
        assert.ok(
          rig.fs.inodes.get(rig.tree.file)!.nlookup > 0,
          "the FORGET inside was not executed",
        );
      } finally {
        await rig.close();
      }
    });

    test("a malformed compound is answered with an error, and the server goes on", async () => {
      const { g, protocol, sem } = await revision(name);
      const rig = await Rig.start(g, protocol);
      try {
        const good = () =>
          builder(g, rig)
            .open(rig.tree.file, g.zeroFuseOpenIn())
            .getattr(rig.tree.file, g.zeroFuseGetattrIn())
            .encode({ unique: rig.nextUnique(), ...CALLER });
        // The first sub-request's fuse_in_header, after its prefix where the revision has one.
        const prefix = g.COMPOUND_SEMANTICS.framing.subRequestPrefix;
        const prefixSize = prefix
          ? (
              Object.values(g).find(
                (v: any) => v?.struct === prefix.struct && typeof v.encode === "function",
              ) as { size: number }
            ).size
          : 0;
        const area = (b: Uint8Array) =>
          b.length -
          (g.decodeRequest(b, rig.opts) as unknown as { requests: Uint8Array }).requests.length +
          prefixSize;
        const setU32 = (b: Uint8Array, at: number, v: number) =>
          new DataView(b.buffer, b.byteOffset).setUint32(at, v, true);
        const cases: Array<[string, () => Uint8Array]> = [
          [
            "truncated sub-request",
            () => {
              const b = good().slice(0, -8);
              setU32(b, 0, b.length);
              return b;
            },
          ],
          [
            "sub-request len overflow (0xffffffff)",
            () => {
              const b = good();
              setU32(b, area(b), 0xffffffff);
              return b;
            },
          ],
          [
            "sub-request len below its header",
            () => {
              const b = good();
              setU32(b, area(b), 8);
              return b;
            },
          ],
          [
            "sub-request len without its arguments",
            () => {
              const b = good();
              setU32(b, area(b), 40);
              return b;
            },
          ],
          [
            "bytes after the last sub-request",
            () => {
              const a = good();
              const b = new Uint8Array(a.length + 5);
              b.set(a);
              setU32(b, 0, b.length);
              return b;
            },
          ],
          [
            "compound len longer than the message",
            () => {
              const b = good();
              setU32(b, 0, b.length + 100);
              return b;
            },
          ],
          [
            "sub-request name without NUL",
            () => {
              const lookup = g.encodeRequest(
                {
                  op: "FUSE_LOOKUP",
                  opcode: g.FuseOpcode.FUSE_LOOKUP,
                  header: { ...g.zeroFuseInHeader(), nodeid: 1n },
                  name: "abc",
                } as never,
                rig.opts,
              );
              return rawCompound(
                g,
                rig,
                [lookup.slice(0, -1).map((x, i) => (i === 0 ? x - 1 : x))],
                1,
              );
            },
          ],
        ];
        const countField = memberWithRole(sem.framing.request, "count");
        if (countField !== null) {
          const recount = (count: number) => () => {
            const req = g.decodeRequest(good(), rig.opts) as unknown as Record<
              string,
              Record<string, number>
            >;
            return g.encodeRequest(
              { ...req, compound_in: { ...req["compound_in"], [countField]: count } } as never,
              rig.opts,
            );
          };
          cases.push(["count larger than the sub-requests", recount(3)]);
          cases.push(["count beyond every limit", recount(0x7fffffff)]);
        }
        for (const [what, make] of cases) {
          const bytes = make();
          const unique = g.decodeFuseInHeader(bytes, 0, { hostEndian: true }).unique;
          rig.kernel.write(bytes);
          const reply = await rig.inbox.next(3000);
          assert.ok(reply, `${what}: answered`);
          const hdr = g.decodeFuseOutHeader(reply, 0, { hostEndian: true });
          assert.equal(hdr.unique, unique, what);
          assert.ok(hdr.error < 0 && reply.length === 16, `${what}: a bare error (${hdr.error})`);
          assert.equal(await rig.inbox.next(20), null, `${what}: one reply`);
        }
        assert.deepEqual(rig.calls, [], "no sub-request of a malformed compound ran");
        // Still serving: a plain request and a good compound.
        const attr = await rig.call({
          op: "FUSE_GETATTR",
          opcode: g.FuseOpcode.FUSE_GETATTR,
          header: rig.header(rig.tree.file),
          getattr_in: g.zeroFuseGetattrIn(),
        });
        assert.ok("attr_out" in attr);
        const b = builder(g, rig)
          .open(rig.tree.file, g.zeroFuseOpenIn())
          .getattr(rig.tree.file, g.zeroFuseGetattrIn());
        assert.deepEqual(
          (await sendCompound(rig, b)).parsed.results?.map((r) => r.error),
          [0, 0],
        );
        assert.ok(rig.errors.length > 0, "malformed compounds are reported through onError");
      } finally {
        await rig.close();
      }
    });

    test("random corruption of a compound never kills the server: one well-formed reply each", async () => {
      const { g, protocol } = await revision(name);
      const rig = await Rig.start(g, protocol);
      try {
        const base = mixedCompound(g, rig, 4).encode({ unique: 5n, ...CALLER });
        const start =
          base.length -
          (g.decodeRequest(base, rig.opts) as unknown as { requests: Uint8Array }).requests.length -
          24;
        await fc.assert(
          fc.asyncProperty(
            fc.array(
              fc.tuple(
                fc.integer({ min: Math.max(4, start), max: base.length - 1 }),
                fc.integer({ min: 0, max: 255 }),
              ),
              { minLength: 1, maxLength: 6 },
            ),
            fc.integer({ min: 0, max: 24 }),
            async (flips, cut) => {
              const b = base.slice(0, base.length - cut);
              for (const [at, v] of flips) if (at < b.length) b[at] = v;
              const unique = rig.nextUnique();
              const dv = new DataView(b.buffer);
              dv.setUint32(0, b.length, true);
              dv.setBigUint64(8, unique, true);
              const reply = await rig.roundTrip(b);
              const h = g.decodeFuseOutHeader(reply, 0, { hostEndian: true });
              if (h.error !== 0) assert.equal(reply.length, 16);
              else g.decodeReply(g.COMPOUND_OPCODE as never, reply, rig.opts);
            },
          ),
          { numRuns: 150, seed: 0x5eed },
        );
        const attr = await rig.call({
          op: "FUSE_GETATTR",
          opcode: g.FuseOpcode.FUSE_GETATTR,
          header: rig.header(1n),
          getattr_in: g.zeroFuseGetattrIn(),
        });
        assert.ok("attr_out" in attr, "still serving");
      } finally {
        await rig.close();
      }
    });
  });
}

/** A compound around raw sub-requests (no builder checks), with the count and the (independent) prefixes where the revision has them. */
/** A sub-request's fuse_in_header as the revision's kernel fills it (`subHeader` rules; `rawCompound` sends CALLER). */
function ruleHeader(g: Gen, nodeid: bigint, index: number): Record<string, unknown> {
  const h: Record<string, unknown> = { ...g.zeroFuseInHeader(), nodeid };
  for (const [field, rule] of Object.entries(
    g.COMPOUND_SEMANTICS.subHeader as Record<string, string>,
  )) {
    if (rule === "copy-parent") h[field] = (CALLER as Record<string, number>)[field];
    if (rule === "op-index") h[field] = BigInt(index);
  }
  return h;
}

function rawCompound(g: Gen, rig: Rig, subs: Uint8Array[], count: number): Uint8Array {
  const sem = g.COMPOUND_SEMANTICS;
  const prefix = sem.framing.subRequestPrefix;
  if (prefix) {
    const codec = Object.values(g).find(
      (v: any) => v?.struct === prefix.struct && typeof v.encode === "function",
    ) as any;
    const value = codec.zero();
    const dep = memberWithRole(prefix, "dep-index");
    if (dep !== null && sem.dependencies.noDependency)
      value[dep] = sem.dependencies.noDependency.value;
    const bytes = new Uint8Array(codec.size);
    codec.encode(value, bytes, 0);
    subs = subs.flatMap((s) => [bytes, s]);
  }
  let len = 0;
  for (const s of subs) len += s.length;
  const requests = new Uint8Array(len);
  let at = 0;
  for (const s of subs) {
    requests.set(s, at);
    at += s.length;
  }
  const compound_in: Record<string, unknown> = { ...g.zeroFuseCompoundIn() };
  const countIn = memberWithRole(sem.framing.request, "count");
  if (countIn !== null) compound_in[countIn] = count;
  // These compounds hold ops the table does not size (raw, unknown): result_size need only be
  // at least the fixed part, which this exceeds.
  const resultSize = memberWithRole(sem.framing.request, "result-size");
  if (resultSize !== null) compound_in[resultSize] = 1 << 16;
  return g.encodeRequest(
    {
      op: sem.opcode,
      opcode: g.COMPOUND_OPCODE,
      header: { ...g.zeroFuseInHeader(), unique: rig.nextUnique(), ...CALLER },
      compound_in,
      requests,
    } as never,
    rig.opts,
  );
}

describe("revision-aware server", () => {
  test("loadProtocol takes everything from the generated code", async () => {
    const base = await loadProtocol();
    assert.equal(base.compound, null, "base-7.45 has no FUSE_COMPOUND");
    await assert.rejects(loadProtocol("no-such-revision"), /unknown revision/);
    await assert.rejects(loadProtocol("../schema"), /unknown revision/);
    for (const name of REVISIONS) {
      const { g, protocol } = await revision(name);
      assert.equal(protocol.revision, name);
      assert.equal(
        protocol.compoundOpcode,
        g.FuseOpcode[g.COMPOUND_SEMANTICS.opcode as "FUSE_COMPOUND"],
      );
      assert.equal(protocol.minor, g.FUSE_KERNEL_MINOR_VERSION);
    }
  });

  test("the default revision answers a compound opcode of another revision with ENOSYS", async () => {
    const { g } = await revision(REVISIONS[0]!);
    const rig = await Rig.start(g, await loadProtocol());
    try {
      const b = builder(g, rig)
        .open(rig.tree.file, g.zeroFuseOpenIn())
        .getattr(rig.tree.file, g.zeroFuseGetattrIn());
      const reply = await rig.roundTrip(b.encode({ unique: rig.nextUnique(), ...CALLER }));
      assert.equal(g.decodeFuseOutHeader(reply, 0, { hostEndian: true }).error, -Errno.ENOSYS);
      assert.deepEqual(rig.calls, []);
    } finally {
      await rig.close();
    }
  });

  test("parseCompoundReply decodes a GETXATTR of size 0 as fuse_getxattr_out", async () => {
    for (const name of REVISIONS) {
      const { g, protocol, sem } = await revision(name);
      if (sem.outPages === "not-copied") continue;
      const rig = await Rig.start(g, protocol);
      try {
        const b = builder(g, rig).getxattr(
          rig.tree.file,
          { ...g.zeroFuseGetxattrIn(), size: 0 },
          "user.color",
          0,
        );
        const { parsed } = await sendCompound(rig, b);
        assert.deepEqual(
          parsed.results?.[0]?.reply,
          { getxattr_out: { size: 4, padding: 0 } },
          name,
        );
      } finally {
        await rig.close();
      }
    }
  });

  test("a handler's FuseError inside a compound is that op's error only", async () => {
    const { g, protocol } = await revision(REVISIONS[REVISIONS.length - 1]!);
    const [server, kernel] = createMemoryPair();
    const session = new Session(
      {
        getattr: (req) => {
          if (req.header.nodeid === 2n) throw new FuseError(Errno.ESTALE);
          if (req.header.nodeid === 3n) throw new Error("bug");
          if (req.header.nodeid === 4n) return { error: -99999 };
          if (req.header.nodeid === 6n) return {} as never; // no attr_out: cannot be encoded
          return {
            attr_out: {
              ...g.zeroFuseAttrOut(),
              attr: { ...g.zeroFuseAttr(), ino: req.header.nodeid },
            },
          };
        },
      },
      { protocol, onError: () => {} },
    );
    const done = session.run(server);
    const opts = { minor: 45, hostEndian: true as const };
    kernel.write(
      g.encodeRequest(
        {
          op: "FUSE_INIT",
          opcode: g.FuseOpcode.FUSE_INIT,
          header: { ...g.zeroFuseInHeader(), unique: 1n },
          init_in: { ...g.zeroFuseInitIn(), major: 7, minor: 45 },
        } as never,
        opts,
      ),
    );
    await withTimeout(kernel.read(), 2000, "INIT");
    let b = new g.CompoundBuilder(opts) as Builder;
    for (const node of [1n, 2n, 3n, 4n, 5n, 6n, 7n]) b = b.getattr(node, g.zeroFuseGetattrIn());
    kernel.write(b.encode({ unique: 9n, ...CALLER }));
    const reply = await withTimeout(kernel.read(), 2000, "compound");
    const parsed = g.parseCompoundReply(reply!, { ...opts, ops: b.ops as unknown as OpRef[] });
    assert.deepEqual(
      parsed.results?.map((r) => r.error),
      [0, -Errno.ESTALE, -Errno.EIO, -Errno.EIO, 0, -Errno.EIO, 0],
    );
    for (const i of [4, 6])
      assert.equal(
        (parsed.results![i]!.reply as unknown as { attr_out: { attr: { ino: bigint } } }).attr_out
          .attr.ino,
        BigInt(i + 1),
      );
    kernel.close();
    await done;
  });
});

// ---- dependencies (revisions whose sub-requests may name a producer: v7 so far) ----

/* A builder of any revision (the suite's Gen type is one revision's, without dependency options). */
const anyBuilder = (g: Gen, rig: Rig): any => builder(g, rig);

const DEPENDENT_REVISIONS = REVISIONS.filter((name) => {
  const entry = (
    JSON.parse(readFileSync(join(ROOT, "schema/known-revisions.json"), "utf8")) as {
      revisions: { name: string; compound?: Sem | null }[];
    }
  ).revisions.find((r) => r.name === name);
  return entry?.compound?.dependencies.model !== "none";
});

describe("dependent sub-requests served by memfs", () => {
  test("some revision has dependencies (else this suite checks nothing)", () => {
    assert.ok(DEPENDENT_REVISIONS.length > 0);
  });

  for (const name of DEPENDENT_REVISIONS) {
    describe(`revision ${name}`, () => {
      let rig: Rig;
      let g: Gen;
      let sem: Sem;
      before(async () => {
        const r = await revision(name);
        g = r.g;
        sem = r.sem;
        rig = await Rig.start(g, r.protocol);
      });
      after(async () => {
        await rig.close();
      });
      /** The kernel's fallback over the same rig: each op separately, nodeids threaded by the same rules. */
      const fallback = async (bytes: Uint8Array) => {
        const decoded = g.decodeCompoundRequest(bytes, rig.opts);
        return g.runSeparately(decoded, (_req, sep) => rig.roundTrip(sep), rig.opts);
      };

      test("LOOKUP + dependent GETATTR: the GETATTR runs on the looked-up node", async () => {
        const producers = sem.dependencies.threads.flatMap((t) => t.producers);
        assert.ok(producers.includes("FUSE_LOOKUP"), "LOOKUP is a producer of this revision");
        rig.calls.length = 0;
        const b = anyBuilder(g, rig)
          .lookup(rig.tree.root, "file")
          .getattr(0n, g.zeroFuseGetattrIn(), { dependsOn: 0 });
        const { bytes, parsed } = await sendCompound(rig, b);
        assert.equal(parsed.error, 0);
        const [lookup, getattr] = parsed.results!;
        assert.equal(lookup!.error, 0);
        assert.equal((lookup!.reply as any).entry_out.nodeid, rig.tree.file);
        assert.equal(
          getattr!.error,
          0,
          "GETATTR of nodeid 0 would fail: the producer's nodeid was threaded",
        );
        assert.equal(
          (getattr!.reply as any).attr_out.attr.ino,
          (lookup!.reply as any).entry_out.attr.ino,
        );
        assert.deepEqual(rig.calls, ["lookup", "getattr"]);
        // The kernel's own fallback threads the same way.
        const sep = await fallback(bytes);
        assert.deepEqual(
          sep.map((r: any) => [r.error, r.request.header.nodeid]),
          [
            [0, rig.tree.root],
            [0, rig.tree.file],
          ],
        );
      });

      test("LOOKUP + OPEN and MKNOD + OPEN: the OPEN opens the producer's node", async () => {
        const open = await sendCompound(
          rig,
          anyBuilder(g, rig)
            .lookup(rig.tree.root, "file")
            .open(0n, g.zeroFuseOpenIn(), { dependsOn: 0 }),
        );
        assert.deepEqual(
          open.parsed.results!.map((r: any) => r.error),
          [0, 0],
        );
        const mknod = await sendCompound(
          rig,
          anyBuilder(g, rig)
            .mknod(rig.tree.dir, { ...g.zeroFuseMknodIn(), mode: 0o100644 }, "made")
            .open(0n, g.zeroFuseOpenIn(), { dependsOn: 0 }),
        );
        const [made, opened] = mknod.parsed.results!;
        assert.equal(made!.error, 0);
        assert.equal(opened!.error, 0);
        const ino = (made!.reply as any).entry_out.nodeid as bigint;
        assert.ok(rig.fs.inodes.get(ino), "MKNOD made the node the OPEN opened");
      });

      test("a failed producer fails its dependents with its error, without running them", async () => {
        rig.calls.length = 0;
        const { bytes, parsed } = await sendCompound(
          rig,
          anyBuilder(g, rig)
            .lookup(rig.tree.root, "missing")
            .getattr(0n, g.zeroFuseGetattrIn(), { dependsOn: 0 })
            .getattr(rig.tree.file, g.zeroFuseGetattrIn()),
        );
        assert.equal(sem.dependencies.producerFailed, "inherit-error");
        assert.deepEqual(
          parsed.results!.map((r: any) => r.error),
          [-Errno.ENOENT, -Errno.ENOENT, 0],
          "the independent op still runs",
        );
        assert.deepEqual(rig.calls, ["lookup", "getattr"], "the dependent GETATTR never ran");
        const sep = await fallback(bytes);
        assert.deepEqual(
          sep.map((r: any) => [r.error, r.byRule]),
          [
            [-Errno.ENOENT, false],
            [-Errno.ENOENT, true],
            [0, false],
          ],
        );
      });

      test("a forward or self reference fails that op with the revision's errno; the builder refuses it unless asked", async () => {
        assert.throws(
          () =>
            anyBuilder(g, rig).getattr(rig.tree.file, g.zeroFuseGetattrIn(), {
              dependsOn: 0 as never,
            }),
          (e: any) => e instanceof g.CompoundError && e.kind === "dependency",
        );
        const b = new (g.CompoundBuilder as any)({ ...rig.opts, allowInvalidDependencies: true })
          .getattr(rig.tree.file, g.zeroFuseGetattrIn(), { dependsOn: 1 as never })
          .lookup(rig.tree.root, "file")
          .getattr(rig.tree.file, g.zeroFuseGetattrIn(), { dependsOn: 2 as never });
        const { parsed } = await sendCompound(rig, b);
        const einval = -Errno[sem.dependencies.invalidReference as "EINVAL"];
        assert.deepEqual(
          parsed.results!.map((r: any) => r.error),
          [einval, 0, einval],
        );
      });

      test("a prefix with a reserved byte set is refused as malformed, and the server goes on", async () => {
        const bytes = anyBuilder(g, rig)
          .getattr(rig.tree.file, g.zeroFuseGetattrIn())
          .encode({ unique: rig.nextUnique(), ...CALLER });
        const prefix = sem.framing.subRequestPrefix!;
        const reserved = Object.keys(prefix.members).find((m) => prefix.members[m] === "reserved");
        assert.ok(reserved, "the prefix has a reserved member");
        const bad = bytes.slice();
        const schema = JSON.parse(
          readFileSync(join(ROOT, "schema", "revisions", `${name}.json`), "utf8"),
        ) as { structs: { name: string; fields: { name: string; offset: number }[] }[] };
        const offset = schema.structs
          .find((st) => st.name === prefix.struct)!
          .fields.find((f) => f.name === reserved)!.offset;
        bad[40 + g.FuseCompoundInCodec.size + offset] = 1;
        assert.throws(
          () => g.decodeCompoundRequest(bad, rig.opts),
          (e: any) => e.kind === "reserved",
        );
        const reply = await rig.roundTrip(bad);
        assert.equal(g.decodeFuseOutHeader(reply, 0, rig.opts).error, -Errno.EIO);
      });
    });
  }
});

describe("short variable replies inside a compound (the server gives each op's expected out args)", () => {
  for (const name of REVISIONS) {
    test(`${name}: after a READ at end of file or a smaller xattr, the GETATTR is read where the kernel reads it`, async () => {
      const { g, protocol, sem } = await revision(name);
      const rig = await Rig.start(g, protocol);
      try {
        const t = rig.tree;
        const opened = await rig.call({
          op: "FUSE_OPEN",
          opcode: g.FuseOpcode.FUSE_OPEN,
          header: rig.header(t.file),
          open_in: { ...g.zeroFuseOpenIn(), flags: O_RDONLY },
        });
        const fh = (opened["open_out"] as { fh: bigint }).fh;
        const ask = 64;
        // [what, the op, the out-arg bytes memfs answers with]: each but the probe shorter than asked.
        const cases: [string, (b: Builder) => Builder, number][] = [
          [
            "READ of 64 bytes at a 16-byte file",
            (b) => b.read(t.file, { ...g.zeroFuseReadIn(), fh, size: ask }, ask),
            16,
          ],
          [
            "GETXATTR of 64 bytes, value 4",
            (b) => b.getxattr(t.file, { ...g.zeroFuseGetxattrIn(), size: ask }, "user.color", ask),
            4,
          ],
          [
            "LISTXATTR of 64 bytes, names 11",
            (b) => b.listxattr(t.file, { ...g.zeroFuseGetxattrIn(), size: ask }, ask),
            11,
          ],
          [
            "GETXATTR size probe (size 0)",
            (b) => b.getxattr(t.file, { ...g.zeroFuseGetxattrIn(), size: 0 }, "user.color", 0),
            g.FuseGetxattrOutCodec.size,
          ],
        ];
        for (const [what, add, got] of cases) {
          const label = `${name} ${what} + GETATTR`;
          const b = add(builder(g, rig)).getattr(t.file, g.zeroFuseGetattrIn());
          const { reply, parsed } = await sendCompound(rig, b);
          const ref = await rig.call({
            op: "FUSE_GETATTR",
            opcode: g.FuseOpcode.FUSE_GETATTR,
            header: rig.header(t.file, CALLER),
            getattr_in: g.zeroFuseGetattrIn(),
          });
          // What the revision's kernel makes of the bytes (its walk: by len, or by expected out args).
          assert.equal(parsed.error, 0, `${label}: the compound failed as a whole`);
          const [first, second] = parsed.results!;
          // Under rfc-v1..v4 a READ's data cannot travel in a compound (their kernel steps over
          // the header alone): the session answers it EOPNOTSUPP, a bare header.
          const dropped = protocol.pagePayloadDropped(b.ops[0]!.opcode);
          assert.equal(
            dropped,
            sem.outPages === "not-copied" && what.startsWith("READ"),
            `${label}: payload dropped`,
          );
          const carried = dropped ? 0 : got;
          assert.equal(first!.error, dropped ? -Errno.EOPNOTSUPP : 0, `${label}: first op`);
          assert.equal(
            first!.len,
            16 + carried,
            `${label}: the first sub-reply's len is what it carries`,
          );
          assert.equal(second!.error, 0, `${label}: GETATTR's error`);
          assert.equal(second!.missing, false, `${label}: GETATTR has a sub-reply`);
          assert.deepEqual(second!.reply, ref, `${label}: GETATTR's attributes`);
          assert.equal(parsed.trailing, 0, `${label}: nothing after the last sub-reply`);
          // The bytes: where the kernel steps by len nothing is added; else zeros fill the first
          // sub-reply up to the 16 + expected out args the kernel steps over.
          const whole = g.decodeReply(g.COMPOUND_OPCODE as never, reply, rig.opts)
            .reply as unknown as Record<string, unknown>;
          const area = whole["replies"] as Uint8Array;
          const expected = b.ops[0]!.outSize;
          const step = dropped
            ? 16
            : sem.replyChecks.advance === "len"
              ? 16 + got
              : 16 + Math.max(got, expected);
          assert.equal(area.length, step + 16 + g.FuseAttrOutCodec.size, `${label}: reply size`);
          assert.ok(
            area.subarray(16 + carried, step).every((x) => x === 0),
            `${label}: the filler is zeros`,
          );
        }
        assert.deepEqual(rig.errors, []);
      } finally {
        await rig.close();
      }
    });
  }
});
