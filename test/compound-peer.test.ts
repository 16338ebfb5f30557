/**
 * The generated compound builders and parsers against a real C peer
 * (test/compound-peer/compound_peer.c), compiled once per revision against that revision's
 * own header (rebuilt from the corpus by loadRevisionHeader and written to a temp dir).
 * The peer reads and writes compound messages only through the header's structs; the
 * kernel's rules of the revision reach it as compiler defines and command-line flags made
 * from the revision's `compound` data (no revision names), exactly as the generated code
 * gets them. Per revision:
 *  - the builder's request passes the peer's field-by-field check, and equals byte for
 *    byte the request the peer builds for the same scenario (which decodeCompoundRequest
 *    reads back);
 *  - the peer's reply (OPEN ok, GETATTR -EACCES, LOOKUP ok) parses with parseCompoundReply
 *    to the scenario's values, equals byte for byte what encodeCompoundReply writes for the
 *    same scenario, and the peer's kernel-style walk accepts our reply.
 * Skips, saying why, without the corpus or a C compiler.
 */
import assert from "node:assert/strict";
import { spawnSync } from "node:child_process";
import { readFileSync } from "node:fs";
import { mkdir, mkdtemp, rm, writeFile } from "node:fs/promises";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { after, before, describe, test } from "node:test";
import { pathToFileURL } from "node:url";
import type { CompoundInfo, Schema } from "../generator/model.js";
import {
  corpusAvailable,
  corpusDir,
  loadKnownRevisions,
  loadRevisionHeader,
  repoRoot,
} from "../generator/revisions/registry.js";
import { memberWithRole } from "../runtime/compound.js";
import { skipOrFail } from "./helpers/skip.js";

const ROOT = repoRoot();
const PEER_SOURCE = join(ROOT, "test", "compound-peer", "compound_peer.c");

/* eslint-disable @typescript-eslint/no-explicit-any -- generated modules are imported per revision */
type Gen = Record<string, any>;

interface Rev {
  name: string;
  c: CompoundInfo;
  g: Gen;
  peer: string;
}

/** Compiler defines from the revision's compound data. */
function ccDefines(c: CompoundInfo, header: string): string[] {
  return [
    `-DFUSE_HEADER="${header}"`,
    `-DCOMPOUND_OPCODE=${c.opcode}`,
    ...defineIf("FLAGS_FIELD", memberWithRole(c.framing.request, "flags")),
    ...defineIf("RESULT_SIZE_FIELD", memberWithRole(c.framing.request, "result-size")),
    ...defineIf("COUNT_IN_FIELD", memberWithRole(c.framing.request, "count")),
    ...defineIf("COUNT_OUT_FIELD", memberWithRole(c.framing.reply, "count")),
    ...(c.framing.subRequestPrefix
      ? [
          `-DPREFIX_STRUCT=${c.framing.subRequestPrefix.struct}`,
          `-DDEP_FIELD=${memberWithRole(c.framing.subRequestPrefix, "dep-index")}`,
          `-DNO_DEP=${c.dependencies.noDependency?.value ?? 0}`,
        ]
      : []),
  ];
}

function defineIf(name: string, member: string | null): string[] {
  return member !== null ? [`-D${name}=${member}`] : [];
}

/** The peer's rule flags from the revision's compound data. */
function ruleFlags(c: CompoundInfo): string[] {
  const on = (cond: boolean, flag: string) => (cond ? [flag] : []);
  const sc = c.subRequestChecks;
  const rc = c.replyChecks;
  return [
    `--outer-nodeid=${c.outerNodeid}`,
    `--sub-unique=${c.subHeader.unique}`,
    `--sub-uid=${c.subHeader.uid}`,
    `--sub-gid=${c.subHeader.gid}`,
    `--sub-pid=${c.subHeader.pid}`,
    `--align-requests=${c.alignment.subRequests}`,
    `--align-replies=${c.alignment.subReplies}`,
    `--count-from=${c.opCountFrom}`,
    ...(c.maxOps !== null ? [`--max-ops=${c.maxOps}`] : []),
    ...on(sc.rejectOpcodeZero, "--reject-opcode-zero"),
    ...on(sc.rejectNestedCompound, "--reject-nested"),
    ...on(sc.rejectNodeidZero, "--reject-nodeid-zero"),
    ...on(sc.lengthsMustSumToPayload, "--lengths-sum"),
    ...on(c.resultSize?.includesOutHeaders ?? false, "--result-size-includes-headers"),
    `--min-op-len=${rc.minOpLen}`,
    ...on(rc.opLenInBounds, "--op-len-in-bounds"),
    `--min-payload=${rc.minPayload}`,
    `--ops-parsed=${rc.opsParsed}`,
    `--advance=${rc.advance}`,
    `--copy-when=${rc.copyWhen}`,
  ];
}

// ---- the scenarios ----

const HEADER = { unique: 0x1234n, uid: 1000, gid: 1001, pid: 4242 };
const headerFlags = [
  `--unique=${HEADER.unique}`,
  `--uid=${HEADER.uid}`,
  `--gid=${HEADER.gid}`,
  `--pid=${HEADER.pid}`,
];
/** Fresh uniques where the revision draws them from the connection's counter. */
const nextUnique = (i: number) => 0x9000n + 2n * BigInt(i);

/** The request scenario: builder calls and the same ops as peer --op flags. */
function requestScenario(
  g: Gen,
  c: CompoundInfo,
): { builder: any; peerOps: string[]; flagBits: number } {
  const flags = c.kernelSequences[0]!.flags;
  const flagBits = flags.reduce(
    (bits, name) => bits | c.flags.defined.find((f) => f.name === name)!.value,
    0,
  );
  // Where ops may depend on each other, ACCESS takes the node CREATE makes (op 4).
  const deps = c.dependencies.model !== "none";
  const builder = new g.CompoundBuilder({ nextUnique })
    .open(5n, { flags: 0x8002, open_flags: 0 })
    .getattr(5n, { ...g.zeroFuseGetattrIn(), getattr_flags: 1, fh: 0x99n })
    .lookup(1n, "hello.txt")
    .statx(7n, { ...g.zeroFuseStatxIn(), sx_flags: 0x100, sx_mask: 0x7ff })
    .create(1n, { flags: 0x8041, mode: 0o100644, umask: 0o22, open_flags: 0 }, "new.txt")
    .access(7n, { ...g.zeroFuseAccessIn(), mask: 4 }, ...(deps ? [{ dependsOn: 4 }] : []))
    .flags(...flags);
  const peerOps = [
    "--op=FUSE_OPEN:nodeid=5:flags=0x8002",
    "--op=FUSE_GETATTR:nodeid=5:getattr_flags=1:fh=0x99",
    "--op=FUSE_LOOKUP:nodeid=1:name=hello.txt",
    "--op=FUSE_STATX:nodeid=7:sx_flags=0x100:sx_mask=0x7ff",
    "--op=FUSE_CREATE:nodeid=1:flags=0x8041:mode=0100644:umask=022:name=new.txt",
    `--op=FUSE_ACCESS:nodeid=7:mask=4${deps ? ":dep=4" : ""}`,
  ];
  return { builder, peerOps, flagBits };
}

/** The reply scenario (fixed in the peer): OPEN ok, GETATTR -EACCES, LOOKUP ok. */
const EACCES = 13;
function replyOps(g: Gen): any {
  return new g.CompoundBuilder({ nextUnique })
    .open(5n, g.zeroFuseOpenIn())
    .getattr(5n, g.zeroFuseGetattrIn())
    .lookup(1n, "hello.txt");
}
function replyScenario(g: Gen, uniques: bigint[]): any[] {
  const entry = g.zeroFuseEntryOut();
  return [
    {
      opcode: 14,
      unique: uniques[0],
      reply: { open_out: { ...g.zeroFuseOpenOut(), fh: 0x1122334455667788n, open_flags: 2 } },
    },
    { opcode: 3, unique: uniques[1], reply: { error: -EACCES } },
    {
      opcode: 1,
      unique: uniques[2],
      reply: {
        entry_out: {
          ...entry,
          nodeid: 42n,
          generation: 7n,
          entry_valid: 1n,
          attr_valid: 2n,
          attr: {
            ...entry.attr,
            ino: 42n,
            size: 11n,
            mode: 0o100644,
            nlink: 1,
            uid: 1000,
            gid: 1000,
          },
        },
      },
    },
  ];
}

function runPeer(
  peer: string,
  args: string[],
  input?: Uint8Array,
): { status: number | null; stdout: Buffer; stderr: string } {
  const r = spawnSync(peer, args, {
    input: input ? Buffer.from(input) : Buffer.alloc(0),
    maxBuffer: 1 << 24,
  });
  return { status: r.status, stdout: r.stdout, stderr: r.stderr.toString() };
}

function findCc(): string | null {
  const r = spawnSync("cc", ["--version"], { encoding: "utf8" });
  return r.status === 0 ? "cc" : null;
}

// ---- setup ----

let dir: string | undefined;
const revs: Rev[] = [];
let skipReason: string | null = null;

before(async () => {
  const cc = findCc();
  if (!corpusAvailable()) {
    skipReason = `corpus not found at ${corpusDir()}`;
    return;
  }
  if (!cc) {
    skipReason = "no C compiler (cc) on PATH";
    return;
  }
  dir = await mkdtemp(join(tmpdir(), "fuse-uapi-compound-peer-"));
  for (const r of await loadKnownRevisions()) {
    const schema = JSON.parse(
      readFileSync(join(ROOT, "schema", "revisions", `${r.name}.json`), "utf8"),
    ) as Schema;
    if (!schema.compound) continue;
    const revDir = join(dir, r.name);
    await mkdir(revDir);
    const header = join(revDir, "fuse.h");
    await writeFile(header, (await loadRevisionHeader(r.name)).text);
    const peer = join(revDir, "compound_peer");
    const cr: { status: number | null; stderr: string } = spawnSync(
      cc,
      [
        "-std=gnu11",
        "-Wall",
        "-Wextra",
        "-Werror",
        ...ccDefines(schema.compound, header),
        "-o",
        peer,
        PEER_SOURCE,
      ],
      { encoding: "utf8" },
    );
    assert.equal(
      cr.status,
      0,
      `${r.name}: the peer does not compile against the revision's header:\n${cr.stderr}`,
    );
    const g = (await import(
      pathToFileURL(join(ROOT, "dist", "generated", r.name, "index.js")).href
    )) as Gen;
    revs.push({ name: r.name, c: schema.compound, g, peer });
  }
});

after(async () => {
  if (dir) await rm(dir, { recursive: true, force: true });
});

describe("compound builders and parsers against the C peer, per revision", () => {
  test("the peer compiles for every revision with a compound section", (t) => {
    if (skipReason) return skipOrFail(t, skipReason);
    assert.deepEqual(
      revs.map((r) => r.name),
      ["rfc-v1", "rfc-v2", "rfc-v3", "v4", "v5", "v6", "v7"],
    );
  });

  test("builder -> peer: the request passes the peer's checks and equals the peer's own, byte for byte", async (t) => {
    if (skipReason) return skipOrFail(t, skipReason);
    for (const r of revs) {
      await t.test(r.name, () => {
        const { builder, peerOps, flagBits } = requestScenario(r.g, r.c);
        const bytes: Uint8Array = builder.encode(HEADER);
        const uniques = (builder.ops as { unique: bigint }[]).map((o) => o.unique);
        const args = [
          ...headerFlags,
          ...ruleFlags(r.c),
          `--flags=${flagBits}`,
          `--fresh-uniques=${uniques.join(",")}`,
          ...peerOps,
        ];
        const checked = runPeer(r.peer, ["check-request", ...args], bytes);
        assert.equal(checked.status, 0, `${r.name}: peer check failed:\n${checked.stderr}`);
        assert.match(checked.stdout.toString(), /^ok: request with 6 sub-requests/);
        const written = runPeer(r.peer, ["write-request", ...args]);
        assert.equal(written.status, 0, written.stderr);
        assert.deepEqual(
          new Uint8Array(written.stdout),
          bytes,
          `${r.name}: the peer's request differs from the builder's`,
        );
        if (r.c.subHeader.unique === "fresh-unique")
          assert.deepEqual(uniques, [0, 1, 2, 3, 4, 5].map(nextUnique));
      });
    }
  });

  test("peer -> server side: decodeCompoundRequest reads the peer's request", async (t) => {
    if (skipReason) return skipOrFail(t, skipReason);
    for (const r of revs) {
      await t.test(r.name, () => {
        const { builder, peerOps, flagBits } = requestScenario(r.g, r.c);
        builder.encode(HEADER);
        const uniques = (builder.ops as { unique: bigint }[]).map((o) => o.unique);
        const args = [
          ...headerFlags,
          ...ruleFlags(r.c),
          `--flags=${flagBits}`,
          `--fresh-uniques=${uniques.join(",")}`,
          ...peerOps,
        ];
        const written = runPeer(r.peer, ["write-request", ...args]);
        const d = r.g.decodeCompoundRequest(new Uint8Array(written.stdout));
        assert.deepEqual(
          d.requests.map((q: any) => q.op),
          ["FUSE_OPEN", "FUSE_GETATTR", "FUSE_LOOKUP", "FUSE_STATX", "FUSE_CREATE", "FUSE_ACCESS"],
        );
        assert.equal(d.requests[2].name.text, "hello.txt");
        assert.equal(d.requests[4].name.text, "new.txt");
        assert.equal(d.requests[4].create_in.mode, 0o100644);
        assert.equal(d.requests[1].getattr_in.fh, 0x99n);
        assert.equal(d.count, memberWithRole(r.c.framing.request, "count") !== null ? 6 : null);
        assert.deepEqual(d.flags, r.c.kernelSequences[0]!.flags);
        assert.deepEqual(
          d.requests.map((q: any) => q.header.unique),
          uniques,
        );
      });
    }
  });

  test("peer -> parseCompoundReply: the fixed reply scenario, and encodeCompoundReply writes the same bytes", async (t) => {
    if (skipReason) return skipOrFail(t, skipReason);
    for (const r of revs) {
      await t.test(r.name, () => {
        const ops = replyOps(r.g);
        ops.encode(HEADER); // fills the uniques the sub-replies echo
        const uniques = (ops.ops as { unique: bigint }[]).map((o) => o.unique);
        const args = [...headerFlags, ...ruleFlags(r.c), `--fresh-uniques=${uniques.join(",")}`];
        const written = runPeer(r.peer, ["write-reply", ...args]);
        assert.equal(written.status, 0, written.stderr);
        const bytes = new Uint8Array(written.stdout);
        const parsed = r.g.parseCompoundReply(bytes, { ops: ops.ops });
        assert.equal(parsed.error, 0);
        assert.deepEqual(
          parsed.results.map((x: any) => [x.opcode, x.error, x.missing]),
          [
            [14, 0, false],
            [3, -EACCES, false],
            [1, 0, false],
          ],
        );
        assert.equal(parsed.results[0].reply.open_out.fh, 0x1122334455667788n);
        assert.equal(parsed.results[0].reply.open_out.open_flags, 2);
        assert.equal(parsed.results[1].reply, null);
        assert.equal(parsed.results[2].reply.entry_out.nodeid, 42n);
        assert.equal(parsed.results[2].reply.entry_out.attr.mode, 0o100644);
        assert.equal(parsed.trailing, 0);
        const ours: Uint8Array = r.g.encodeCompoundReply(
          HEADER.unique,
          replyScenario(r.g, uniques),
        );
        assert.deepEqual(
          ours,
          bytes,
          `${r.name}: encodeCompoundReply differs from the peer's reply`,
        );
      });
    }
  });

  test("encodeCompoundReply -> peer: the peer's kernel-style walk accepts our reply", async (t) => {
    if (skipReason) return skipOrFail(t, skipReason);
    for (const r of revs) {
      await t.test(r.name, () => {
        const ops = replyOps(r.g);
        ops.encode(HEADER);
        const uniques = (ops.ops as { unique: bigint }[]).map((o) => o.unique);
        const ours: Uint8Array = r.g.encodeCompoundReply(
          HEADER.unique,
          replyScenario(r.g, uniques),
        );
        const checked = runPeer(
          r.peer,
          [
            "check-reply",
            ...headerFlags,
            ...ruleFlags(r.c),
            `--fresh-uniques=${uniques.join(",")}`,
          ],
          ours,
        );
        assert.equal(checked.status, 0, `${r.name}: peer reply check failed:\n${checked.stderr}`);
        assert.match(checked.stdout.toString(), /^ok: reply with 3 sub-replies, errors 0 -13 0/);
      });
    }
  });

  test("the peer catches what the revision forbids (a sanity check of the checker)", async (t) => {
    if (skipReason) return skipOrFail(t, skipReason);
    for (const r of revs) {
      await t.test(r.name, () => {
        const { builder, peerOps, flagBits } = requestScenario(r.g, r.c);
        const bytes: Uint8Array = builder.encode(HEADER);
        const uniques = (builder.ops as { unique: bigint }[]).map((o) => o.unique);
        const args = [
          ...headerFlags,
          ...ruleFlags(r.c),
          `--flags=${flagBits}`,
          `--fresh-uniques=${uniques.join(",")}`,
          ...peerOps,
        ];
        // A sub-request's uid changed: the revision's credential rule catches it.
        const bad = bytes.slice();
        const prefix = r.c.framing.subRequestPrefix;
        const prefixSize = prefix
          ? (Object.values(r.g).find((v: any) => v?.struct === prefix.struct) as { size: number })
              .size
          : 0;
        const firstSub = 40 + (r.g.FuseCompoundInCodec.size as number) + prefixSize;
        new DataView(bad.buffer).setUint32(firstSub + 24, 4321, true);
        const checked = runPeer(r.peer, ["check-request", ...args], bad);
        assert.equal(checked.status, 1);
        assert.match(checked.stderr, /sub-request 0: uid 4321 against rule/);
      });
    }
  });
});

describe("`fuse-uapi compound encode` against the C peer, per revision", () => {
  const CLI = join(ROOT, "dist", "generator", "cli.js");
  /** Two compounds as ops.json, and the same ops as peer flags: OPEN+GETATTR, and LOOKUP + GETATTR (dependent where the revision allows). */
  const scenarios = (c: CompoundInfo) => {
    const deps = c.dependencies.model !== "none";
    return [
      {
        what: "OPEN+GETATTR",
        ops: [
          { op: "FUSE_OPEN", nodeid: 5, open_in: { flags: "0x8002" } },
          { op: "getattr", nodeid: 5 },
        ],
        peer: ["--op=FUSE_OPEN:nodeid=5:flags=0x8002", "--op=FUSE_GETATTR:nodeid=5"],
      },
      {
        what: deps ? "LOOKUP + dependent GETATTR" : "LOOKUP+GETATTR",
        ops: [
          { op: "FUSE_LOOKUP", nodeid: 1, name: "hello.txt" },
          { op: "getattr", nodeid: deps ? 0 : 7, ...(deps ? { dependsOn: 0 } : {}) },
        ],
        peer: [
          "--op=FUSE_LOOKUP:nodeid=1:name=hello.txt",
          deps ? "--op=FUSE_GETATTR:nodeid=0:dep=0" : "--op=FUSE_GETATTR:nodeid=7",
        ],
      },
    ];
  };

  test("the CLI's requests pass the peer's checks through the revision's own header structs", async (t) => {
    if (skipReason) return skipOrFail(t, skipReason);
    for (const r of revs) {
      await t.test(r.name, async () => {
        for (const s of scenarios(r.c)) {
          const file = join(
            dir!,
            r.name,
            `ops-${s.ops.length}-${s.what.replace(/\W+/g, "_")}.json`,
          );
          await writeFile(
            file,
            JSON.stringify({
              header: {
                unique: String(HEADER.unique),
                uid: HEADER.uid,
                gid: HEADER.gid,
                pid: HEADER.pid,
              },
              ops: s.ops,
            }),
          );
          const enc = spawnSync(
            process.execPath,
            [CLI, "compound", "encode", "--revision", r.name, file],
            { maxBuffer: 1 << 24 },
          );
          assert.equal(enc.status, 0, `${r.name} ${s.what}: ${enc.stderr}`);
          const bytes = new Uint8Array(enc.stdout);
          const uniques = (
            g(r).decodeCompoundRequest(bytes).requests as { header: { unique: bigint } }[]
          ).map((q) => q.header.unique);
          const checked = runPeer(
            r.peer,
            [
              "check-request",
              ...headerFlags,
              ...ruleFlags(r.c),
              `--fresh-uniques=${uniques.join(",")}`,
              ...s.peer,
            ],
            bytes,
          );
          assert.equal(
            checked.status,
            0,
            `${r.name} ${s.what}: the peer refuses the CLI's request:\n${checked.stderr}`,
          );
          assert.match(checked.stdout.toString(), /^ok: request with 2 sub-requests/);
        }
      });
    }
  });
});

function g(r: Rev): Gen {
  return r.g;
}
