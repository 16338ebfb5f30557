/**
 * `fuse-uapi diff`: the ABI diff and its classification.
 *
 * First the committed revisions (what the compound series really changed),
 * then one small invented header pair per change kind and severity, built with
 * buildSchema so each case shows the C that causes it. Then the three output
 * formats, the CLI's exit codes, and docs/revisions.md against a fresh render
 * (the page is generated; this test is what keeps it from drifting).
 */
import assert from "node:assert/strict";
import { execFile } from "node:child_process";
import { mkdtemp, readFile, rm, writeFile } from "node:fs/promises";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { after, before, describe, test } from "node:test";
import { promisify } from "node:util";
import type { Change, ChangeKind } from "../generator/diff/change.js";
import { consecutiveDiffs, REGENERATE_DOCS, revisionsPage } from "../generator/diff/docs.js";
import { formatDiff } from "../generator/diff/format.js";
import { diffSchemas, summary } from "../generator/diff/index.js";
import { resolveSchemaArg } from "../generator/diff/resolve.js";
import { InputError } from "../generator/errors.js";
import { jsonText } from "../generator/io.js";
import type { Schema } from "../generator/model.js";
import type { ProtocolTable } from "../generator/protocol.js";
import { repoRoot } from "../generator/revisions/registry.js";
import { buildSchema } from "../generator/schema-builder.js";

const run = promisify(execFile);
const CLI = join(repoRoot(), "dist", "generator", "cli.js");

function revision(name: string): Schema {
  return resolveSchemaArg(name).schema;
}

function diffRevisions(a: string, b: string): Change[] {
  return diffSchemas(revision(a), revision(b));
}

/** The one change of `kind` about `subject` (exactly one must exist). */
function one(changes: Change[], kind: ChangeKind, subject: string): Change {
  const found = changes.filter((c) => c.kind === kind && c.subject === subject);
  assert.equal(
    found.length,
    1,
    `expected one ${kind} of ${subject}, got:\n${changes.map((c) => `  ${c.kind} ${c.subject}: ${c.detail}`).join("\n")}`,
  );
  return found[0];
}

function kinds(changes: Change[]): string[] {
  return changes.map((c) => `${c.severity} ${c.kind} ${c.subject}`);
}

const PRE = "#include <linux/types.h>\n";

async function schemaOf(body: string, table?: ProtocolTable): Promise<Schema> {
  return buildSchema(PRE + body + "\n", {
    file: "demo.h",
    ...(table ? { protocol: { table, required: true } } : {}),
  });
}

async function diff(
  oldBody: string,
  newBody: string,
  tables: { old?: ProtocolTable; new?: ProtocolTable } = {},
): Promise<Change[]> {
  return diffSchemas(await schemaOf(oldBody, tables.old), await schemaOf(newBody, tables.new));
}

describe("the committed revisions", () => {
  test("rfc-v2 → rfc-v3: no ABI change (only kernel code changed)", () => {
    assert.deepEqual(diffRevisions("rfc-v2", "rfc-v3"), []);
    assert.deepEqual(diffRevisions("rfc-v1", "rfc-v2"), []);
  });

  test("rfc-v3 → v4: FUSE_COMPOUND moves 101 → 54, breaking, and nothing else (the reworded comment is no ABI)", () => {
    const changes = diffRevisions("rfc-v3", "v4");
    assert.equal(changes.length, 1);
    const c = one(changes, "opcode-moved", "FUSE_COMPOUND");
    assert.equal(c.detail, "101 → 54");
    assert.equal(c.severity, "breaking");
  });

  test("v5 → v6: the struct changes, FUSE_MAX_COMPOUND_OPS removed, the flags renumbered", () => {
    const changes = diffRevisions("v5", "v6");
    assert.equal(
      one(changes, "field-removed", "struct fuse_compound_in.count").severity,
      "breaking",
    );
    const size = one(changes, "struct-size-changed", "struct fuse_compound_in");
    assert.equal(size.severity, "breaking");
    assert.equal(size.detail, "size 24 → 16 on x86_64, aarch64; 20 → 16 on i386");
    assert.deepEqual(size.targets, ["x86_64", "i386", "aarch64"]);
    assert.match(
      one(changes, "field-moved", "struct fuse_compound_in.reserved").detail,
      /16 → 8 on x86_64, aarch64; 12 → 8 on i386/,
    );
    assert.equal(
      one(changes, "padding-disappeared", "struct fuse_compound_in").severity,
      "compatible",
    );
    one(changes, "struct-target-mismatch-fixed", "struct fuse_compound_in");
    assert.equal(
      one(changes, "field-removed", "struct fuse_compound_out.count").severity,
      "breaking",
    );
    assert.match(
      one(changes, "field-added", "struct fuse_compound_out.padding").detail,
      /padding at offset 4/,
    );
    assert.ok(
      !changes.some(
        (c) => c.kind === "struct-size-changed" && c.subject === "struct fuse_compound_out",
      ),
      "fuse_compound_out stays 16 bytes",
    );
    assert.equal(one(changes, "constant-removed", "FUSE_MAX_COMPOUND_OPS").severity, "breaking");
    const atomic = one(changes, "flag-renumbered", "FUSE_COMPOUND_ATOMIC");
    assert.equal(atomic.detail, "bit 1 → bit 2");
    assert.equal(atomic.severity, "breaking");
    const cont = one(changes, "flag-bit-reused", "FUSE_COMPOUND_CONTINUE");
    assert.match(cont.detail, /^added at bit 1, which was FUSE_COMPOUND_ATOMIC's \(now bit 2\)$/);
    assert.equal(cont.severity, "breaking");
    // SEPARABLE keeps bit 0 though its spelling changed from (1<<0) to (1 << 0).
    assert.ok(!changes.some((c) => c.subject === "FUSE_COMPOUND_SEPARABLE"));
    assert.ok(!changes.some((c) => c.kind.startsWith("opcode-")));
  });

  test("base-7.45 → rfc-v1: opcode, constant and structs added (compatible); fuse_compound_in's i386 layout and hole flagged", () => {
    const changes = diffRevisions("base-7.45", "rfc-v1");
    const op = one(changes, "opcode-added", "FUSE_COMPOUND");
    assert.equal(op.detail, "added as 101");
    assert.equal(op.severity, "compatible");
    assert.equal(one(changes, "constant-added", "FUSE_MAX_COMPOUND_OPS").severity, "compatible");
    assert.equal(one(changes, "struct-added", "struct fuse_compound_in").severity, "compatible");
    assert.equal(one(changes, "struct-added", "struct fuse_compound_out").severity, "compatible");
    const hole = one(changes, "padding-appeared", "struct fuse_compound_in");
    assert.deepEqual(hole.targets, ["x86_64", "aarch64"]);
    assert.match(hole.detail, /4 byte\(s\) at offset 12 after result_size/);
    const mismatch = one(changes, "struct-target-mismatch", "struct fuse_compound_in");
    assert.match(mismatch.detail, /size x86_64 24, i386 20, aarch64 24/);
    assert.equal(mismatch.severity, "breaking");
    assert.ok(
      !changes.some(
        (c) => c.subject.startsWith("struct fuse_compound_out") && c.kind !== "struct-added",
      ),
      "fuse_compound_out has no hole",
    );
  });

  test("v4 → v5: two new flags at new bits, compatible", () => {
    const changes = diffRevisions("v4", "v5");
    assert.deepEqual(kinds(changes), [
      "compatible flag-added FUSE_COMPOUND_SEPARABLE",
      "compatible flag-added FUSE_COMPOUND_ATOMIC",
    ]);
  });

  test("a diff is deterministic and a schema against itself is empty", () => {
    assert.deepEqual(diffRevisions("v6", "v6"), []);
    assert.deepEqual(diffRevisions("v5", "v6"), diffRevisions("v5", "v6"));
  });
});

describe("opcodes and enums", () => {
  const old =
    "enum fuse_opcode { FUSE_A = 1, FUSE_B = 2, FUSE_C = 3 };\nenum demo_kind { DEMO_X = 1, DEMO_GONE = 4 };\nenum demo_old { DEMO_OLD };";
  const now =
    "enum fuse_opcode { FUSE_A = 1, FUSE_C = 5, FUSE_D = 3, FUSE_E = 7 };\nenum demo_kind { DEMO_X = 2, DEMO_Y = 3 };\nenum demo_new { DEMO_NEW };";

  test("added (compatible), removed, moved, number reused (breaking)", async () => {
    const changes = await diff(old, now);
    assert.equal(one(changes, "opcode-added", "FUSE_E").severity, "compatible");
    assert.equal(one(changes, "opcode-removed", "FUSE_B").severity, "breaking");
    assert.equal(one(changes, "opcode-moved", "FUSE_C").detail, "3 → 5");
    const reused = one(changes, "opcode-number-reused", "FUSE_D");
    assert.equal(reused.severity, "breaking");
    assert.match(reused.detail, /added as 3, which was FUSE_C's, now 5/);
  });

  test("other enums: members added, removed, changed; enums added and removed", async () => {
    const changes = await diff(old, now);
    assert.equal(one(changes, "enum-member-value-changed", "DEMO_X").severity, "breaking");
    assert.match(
      one(changes, "enum-member-value-changed", "DEMO_X").detail,
      /^enum demo_kind: 1 → 2$/,
    );
    assert.equal(one(changes, "enum-member-added", "DEMO_Y").severity, "compatible");
    assert.equal(one(changes, "enum-member-removed", "DEMO_GONE").severity, "breaking");
    assert.equal(one(changes, "enum-added", "enum demo_new").severity, "compatible");
    assert.equal(one(changes, "enum-removed", "enum demo_old").severity, "breaking");
  });

  test("sections come in order: opcodes before enums", async () => {
    const changes = await diff(old, now);
    const firstEnum = changes.findIndex((c) => c.kind.startsWith("enum-"));
    assert.ok(changes.slice(0, firstEnum).every((c) => c.kind.startsWith("opcode-")));
  });
});

describe("constants", () => {
  test("added (compatible), removed and value changed (breaking)", async () => {
    const changes = await diff(
      "#define DEMO_MAX 16\n#define DEMO_GONE 1",
      "#define DEMO_MAX 32\n#define DEMO_NEW 4",
    );
    assert.equal(
      one(changes, "constant-value-changed", "DEMO_MAX").detail,
      "16 → 32 on all targets",
    );
    assert.equal(one(changes, "constant-value-changed", "DEMO_MAX").severity, "breaking");
    assert.equal(one(changes, "constant-removed", "DEMO_GONE").severity, "breaking");
    assert.equal(one(changes, "constant-added", "DEMO_NEW").severity, "compatible");
  });

  test("a value that changes on some targets only names them", async () => {
    const changes = await diff("#define DEMO_W 4", "#define DEMO_W sizeof(long)");
    const c = one(changes, "constant-value-changed", "DEMO_W");
    assert.deepEqual(c.targets, ["x86_64", "aarch64"]);
    assert.equal(c.detail, "4 → 8 on x86_64, aarch64");
    assert.equal(one(changes, "constant-type-changed", "DEMO_W").severity, "breaking");
  });

  test("a type change with the same value is compatible", async () => {
    const c = one(
      await diff("#define DEMO_T 16", "#define DEMO_T 16U"),
      "constant-type-changed",
      "DEMO_T",
    );
    assert.equal(c.severity, "compatible");
    assert.match(c.detail, /int → unsigned int on all targets/);
  });

  test("raising FUSE_KERNEL_MINOR_VERSION is compatible (negotiated at INIT); lowering it is not", async () => {
    assert.equal(
      one(
        await diff("#define FUSE_KERNEL_MINOR_VERSION 45", "#define FUSE_KERNEL_MINOR_VERSION 46"),
        "constant-value-changed",
        "FUSE_KERNEL_MINOR_VERSION",
      ).severity,
      "compatible",
    );
    assert.equal(
      one(
        await diff("#define FUSE_KERNEL_MINOR_VERSION 46", "#define FUSE_KERNEL_MINOR_VERSION 45"),
        "constant-value-changed",
        "FUSE_KERNEL_MINOR_VERSION",
      ).severity,
      "breaking",
    );
  });

  test("spelling, comments and positions are not ABI", async () => {
    assert.deepEqual(
      await diff(
        "#define DEMO_F (1<<3) /* old */\n#define DEMO_N 7",
        "\n/** new doc */\n#define DEMO_F (1 << 3)\n#define DEMO_N (7)",
      ),
      [],
    );
  });
});

describe("flags", () => {
  test("a new bit is compatible; renumbering and removal are breaking", async () => {
    const changes = await diff(
      "#define DEMO_A (1 << 0)\n#define DEMO_B (1 << 1)\n#define DEMO_C (1 << 2)",
      "#define DEMO_B (1 << 1)\n#define DEMO_C (1 << 3)\n#define DEMO_D (1 << 4)",
    );
    assert.equal(one(changes, "flag-added", "DEMO_D").severity, "compatible");
    assert.equal(one(changes, "flag-added", "DEMO_D").detail, "added at bit 4");
    assert.equal(one(changes, "flag-renumbered", "DEMO_C").detail, "bit 2 → bit 3");
    assert.equal(one(changes, "flag-removed", "DEMO_A").severity, "breaking");
    assert.ok(!changes.some((c) => c.subject === "DEMO_B"));
  });

  test("a bit taken by another flag of the same family is breaking, naming the old owner", async () => {
    const changes = await diff(
      "#define DEMO_A (1 << 0)\n#define DEMO_B (1 << 1)",
      "#define DEMO_A (1 << 0)\n#define DEMO_NEW (1 << 1)",
    );
    const c = one(changes, "flag-bit-reused", "DEMO_NEW");
    assert.equal(c.severity, "breaking");
    assert.equal(c.detail, "added at bit 1, which was DEMO_B's (removed)");
    one(changes, "flag-removed", "DEMO_B");
  });

  test("the same bit in another family is no reuse (FUSE_RELEASE_FLUSH and FOPEN_DIRECT_IO are both bit 0)", async () => {
    const changes = await diff(
      "#define FOO_A (1 << 0)\n#define FOO_B (1 << 1)\n#define DEMO_MAX 8\n#define BAR_A (1 << 0)",
      "#define FOO_A (1 << 0)\n#define DEMO_MAX 8\n#define BAR_A (1 << 0)\n#define BAR_B (1 << 1)",
    );
    assert.equal(one(changes, "flag-added", "BAR_B").severity, "compatible");
    one(changes, "flag-removed", "FOO_B");
  });

  test("1 << 31 as an int (negative) is bit 31; a multi-bit mask is a plain constant", async () => {
    const changes = await diff(
      "#define DEMO_HI (1 << 30)\n#define DEMO_MASK (3 << 1)",
      "#define DEMO_HI (1 << 31)\n#define DEMO_MASK (3 << 2)",
    );
    assert.equal(one(changes, "flag-renumbered", "DEMO_HI").detail, "bit 30 → bit 31");
    assert.equal(
      one(changes, "constant-value-changed", "DEMO_MASK").detail,
      "6 → 12 on all targets",
    );
  });
});

describe("structs", () => {
  test("struct added (compatible) and removed (breaking)", async () => {
    const changes = await diff("struct demo_old { __u64 a; };", "struct demo_new { __u64 a; };");
    assert.equal(one(changes, "struct-added", "struct demo_new").severity, "compatible");
    assert.equal(one(changes, "struct-removed", "struct demo_old").severity, "breaking");
  });

  test("field inserted: breaking, with the moves and the size change it causes", async () => {
    const changes = await diff(
      "struct demo { __u64 a; __u64 b; };",
      "struct demo { __u64 a; __u64 x; __u64 b; };",
    );
    const added = one(changes, "field-added", "struct demo.x");
    assert.equal(added.severity, "breaking");
    assert.match(added.detail, /inserted where the old struct had b/);
    assert.equal(
      one(changes, "field-moved", "struct demo.b").detail,
      "offset 8 → 16 on all targets",
    );
    const size = one(changes, "struct-size-changed", "struct demo");
    assert.equal(size.detail, "size 16 → 24 on all targets");
    assert.equal(size.severity, "breaking");
  });

  test("field removed and field retyped: breaking", async () => {
    const changes = await diff(
      "struct demo { __u32 a; __u32 b; __u64 c; };",
      "struct demo { __u64 a; __u64 c; };",
    );
    assert.equal(one(changes, "field-removed", "struct demo.b").severity, "breaking");
    const t = one(changes, "field-type-changed", "struct demo.a");
    assert.equal(t.detail, "__u32 → __u64");
    assert.equal(t.severity, "breaking");
  });

  test("a field resized because an embedded struct grew", async () => {
    const changes = await diff(
      "struct inner { __u32 a; };\nstruct outer { struct inner i; __u32 y; };",
      "struct inner { __u32 a; __u32 b; };\nstruct outer { struct inner i; __u32 y; };",
    );
    assert.match(
      one(changes, "field-resized", "struct outer.i").detail,
      /size 4 → 8 on all targets/,
    );
    one(changes, "field-moved", "struct outer.y");
  });

  test("a type spelled differently is the same type", async () => {
    assert.deepEqual(
      await diff(
        "struct demo { __u32 a; __u64 b; };",
        "#include <stdint.h>\nstruct demo { uint32_t a; uint64_t b; };",
      ),
      [],
    );
  });

  test("rename heuristic: same offset and type, different name; the detail says it is a heuristic", async () => {
    const plain = one(
      await diff("struct demo { __u32 a; __u32 flags; };", "struct demo { __u32 a; __u32 mode; };"),
      "field-renamed",
      "struct demo.mode",
    );
    assert.equal(plain.severity, "compatible");
    assert.match(plain.detail, /^flags → mode .*heuristic/);
    const used = one(
      await diff(
        "struct demo { __u32 a; __u32 unused; };",
        "struct demo { __u32 a; __u32 mode; };",
      ),
      "field-renamed",
      "struct demo.mode",
    );
    assert.equal(used.severity, "compatible");
    assert.match(used.reason, /old peers send zero/);
    const retired = one(
      await diff(
        "struct demo { __u32 a; __u32 flags; };",
        "struct demo { __u32 a; __u32 padding; };",
      ),
      "field-renamed",
      "struct demo.padding",
    );
    assert.equal(retired.severity, "breaking");
  });

  test("padding made explicit where there was a hole (compatible), with the i386 layout change it brings (breaking)", async () => {
    const changes = await diff(
      "struct demo { __u32 a; __u64 b; };",
      "struct demo { __u32 a; __u32 padding; __u64 b; };",
    );
    const p = one(changes, "padding-made-explicit", "struct demo.padding");
    assert.equal(p.severity, "compatible");
    assert.deepEqual(p.targets, ["x86_64", "aarch64"]);
    // On i386 __u64 aligns to 4: there was no hole, so b moves and the struct grows there.
    assert.deepEqual(one(changes, "field-moved", "struct demo.b").targets, ["i386"]);
    assert.equal(one(changes, "struct-size-changed", "struct demo").detail, "size 12 → 16 on i386");
    assert.equal(
      one(changes, "struct-target-mismatch-fixed", "struct demo").severity,
      "compatible",
    );
    assert.ok(
      !changes.some((c) => c.kind === "padding-disappeared"),
      "the filled hole is explained by the new field",
    );
  });

  test("a named field in an old hole is breaking (old peers leave the hole uninitialised)", async () => {
    const c = one(
      await diff(
        "struct demo { __u32 a; __u64 b; };",
        "struct demo { __u32 a; __u32 flags; __u64 b; };",
      ),
      "field-added",
      "struct demo.flags",
    );
    assert.equal(c.severity, "breaking");
    assert.match(c.detail, /old implicit hole after a on x86_64, aarch64/);
  });

  test("implicit padding appearing, and a layout that starts to differ between targets", async () => {
    const changes = await diff(
      "struct demo { __u32 a; __u32 b; __u64 c; };",
      "struct demo { __u32 a; __u64 c; };",
    );
    const hole = one(changes, "padding-appeared", "struct demo");
    assert.equal(hole.severity, "compatible");
    assert.deepEqual(hole.targets, ["x86_64", "aarch64"]);
    const m = one(changes, "struct-target-mismatch", "struct demo");
    assert.equal(m.severity, "breaking");
    assert.match(m.detail, /size x86_64 16, i386 12, aarch64 16/);
  });

  test("implicit padding disappearing", async () => {
    const changes = await diff(
      "struct demo { __u32 a; __u16 b; };",
      "struct demo { __u32 a; __u32 b; };",
    );
    const c = one(changes, "padding-disappeared", "struct demo");
    assert.equal(c.severity, "compatible");
    assert.equal(c.detail, "implicit padding gone: 2 byte(s) at offset 6 after b on all targets");
    one(changes, "field-type-changed", "struct demo.b");
  });

  test("alignment change", async () => {
    const changes = await diff(
      "struct demo { __u32 a; __u32 b; };",
      "struct demo { __u32 a; __u32 b; __u64 tail[]; };",
    );
    const c = one(changes, "struct-align-changed", "struct demo");
    assert.equal(c.detail, "alignment 4 → 8 on x86_64, aarch64");
    assert.equal(c.severity, "breaking");
  });

  describe("appending a field: compatible only if the size is negotiated", () => {
    const old =
      "enum fuse_opcode { FUSE_INIT = 26 };\nstruct demo_init_in { __u32 major; __u32 minor; };";
    const now =
      "enum fuse_opcode { FUSE_INIT = 26 };\nstruct demo_init_in { __u32 major; __u32 minor; __u32 flags; __u32 padding; };";
    const table = (compat: ProtocolTable["compatSizes"]): ProtocolTable => ({
      opcodes: { FUSE_INIT: { request: [{ struct: "demo_init_in" }], reply: { kind: "empty" } } },
      notifications: {},
      replyErrors: { min: -511, why: "" },
      direntNames: { maxBytes: 1024, why: "" },
      compatSizes: compat,
    });
    const negotiated = table([
      { struct: "demo_init_in", size: 8, minorBelow: 3, why: "flags arrived in 7.3" },
    ]);

    test("with a short size in the protocol table: compatible", async () => {
      const changes = await diff(old, now, { old: negotiated, new: negotiated });
      const f = one(changes, "field-appended", "struct demo_init_in.flags");
      assert.equal(f.severity, "compatible");
      assert.match(
        f.reason,
        /^compatible because the size is negotiated \(8 bytes below minor 3\)$/,
      );
      assert.equal(
        one(changes, "struct-size-changed", "struct demo_init_in").severity,
        "compatible",
      );
      assert.equal(
        one(changes, "struct-size-changed", "struct demo_init_in").detail,
        "size 8 → 16 on all targets",
      );
    });

    test("without one: breaking, saying it would be compatible if negotiated", async () => {
      for (const tables of [{}, { old: table([]), new: table([]) }]) {
        const changes = await diff(old, now, tables);
        const f = one(changes, "field-appended", "struct demo_init_in.flags");
        assert.equal(f.severity, "breaking");
        assert.match(f.reason, /breaking unless the size is negotiated/);
        assert.equal(
          one(changes, "struct-size-changed", "struct demo_init_in").severity,
          "breaking",
        );
      }
    });

    test("a negotiated struct that also moves a field is breaking", async () => {
      const moved =
        "enum fuse_opcode { FUSE_INIT = 26 };\nstruct demo_init_in { __u32 minor; __u32 major; __u32 flags; __u32 padding; };";
      const changes = await diff(old, moved, { old: negotiated, new: negotiated });
      assert.equal(one(changes, "struct-size-changed", "struct demo_init_in").severity, "breaking");
    });
  });
});

describe("macros", () => {
  test("added (compatible), removed (breaking), body changed (breaking), same helper rewritten (compatible)", async () => {
    const changes = await diff(
      "#define DEMO_ALIGN(x) (((x) + 7) & ~7)\n#define DEMO_SIZE(n) ((n) + 1)\n#define DEMO_GONE(x) (x)",
      "#define DEMO_ALIGN(x) (((x) + sizeof(__u64) - 1) & ~(sizeof(__u64) - 1))\n#define DEMO_SIZE(n) ((n) + 2)\n#define DEMO_NEW(x) (x)",
    );
    const align = one(changes, "macro-changed", "DEMO_ALIGN()");
    assert.equal(align.severity, "compatible");
    assert.match(align.reason, /multiple of 8/);
    assert.equal(one(changes, "macro-changed", "DEMO_SIZE()").severity, "breaking");
    assert.equal(one(changes, "macro-added", "DEMO_NEW()").severity, "compatible");
    assert.equal(one(changes, "macro-removed", "DEMO_GONE()").severity, "breaking");
  });

  test("whitespace in a body is not a change", async () => {
    assert.deepEqual(await diff("#define DEMO_F(x) ((x)+1)", "#define DEMO_F(x) ((x)+1)  "), []);
  });
});

describe("protocol table", () => {
  const header =
    "enum fuse_opcode { FUSE_DEMO = 1 };\nenum fuse_notify_code { FUSE_NOTIFY_DEMO = 1 };\nstruct demo_in { __u32 a; __u32 b; };\nstruct demo_out { __u64 x; };";
  const base: ProtocolTable = {
    opcodes: { FUSE_DEMO: { request: [{ struct: "demo_in" }], reply: { kind: "empty" } } },
    notifications: { FUSE_NOTIFY_DEMO: { parts: [{ struct: "demo_out" }] } },
    compatSizes: [],
    replyErrors: { min: -511, why: "" },
    direntNames: { maxBytes: 1024, why: "" },
  };
  const changed: ProtocolTable = {
    opcodes: {
      FUSE_DEMO: {
        request: [{ struct: "demo_in" }, { name: "name" }],
        reply: { kind: "parts", parts: [{ struct: "demo_out" }] },
        extensions: true,
      },
    },
    notifications: { FUSE_NOTIFY_DEMO: { parts: [{ struct: "demo_in" }] } },
    compatSizes: [{ struct: "demo_in", size: 4, minorBelow: 2, why: "b arrived in 7.2" }],
    replyErrors: { min: -511, why: "" },
    direntNames: { maxBytes: 1024, why: "" },
  };

  test("request, reply, notification changed (breaking); extensions and a short size added (compatible)", async () => {
    const changes = await diff(header, header, { old: base, new: changed });
    const req = one(changes, "protocol-request-changed", "FUSE_DEMO");
    assert.equal(req.detail, "request demo_in → demo_in + name: string");
    assert.equal(req.severity, "breaking");
    assert.equal(
      one(changes, "protocol-reply-changed", "FUSE_DEMO").detail,
      "reply empty → demo_out",
    );
    assert.equal(
      one(changes, "protocol-notification-changed", "FUSE_NOTIFY_DEMO").severity,
      "breaking",
    );
    assert.equal(one(changes, "protocol-extensions-changed", "FUSE_DEMO").severity, "compatible");
    assert.equal(one(changes, "protocol-compat-size-added", "demo_in").severity, "compatible");
  });

  test("the other way round: extensions and the short size withdrawn are breaking", async () => {
    const changes = await diff(header, header, { old: changed, new: base });
    assert.equal(one(changes, "protocol-extensions-changed", "FUSE_DEMO").severity, "breaking");
    assert.equal(one(changes, "protocol-compat-size-removed", "demo_in").severity, "breaking");
  });

  test("only compared when both schemas have a table", async () => {
    assert.deepEqual(await diff(header, header, { new: changed }), []);
  });
});

describe("output formats", () => {
  test("text, md and json are all produced, from the same changes", () => {
    const changes = diffRevisions("v5", "v6");
    const labels = { from: "v5", to: "v6" };
    const text = formatDiff(changes, labels, "text");
    assert.match(text, /^v5 → v6: 16 ABI change\(s\), 14 breaking, 2 compatible\n/);
    assert.match(text, /\nStructs\n/);
    assert.match(
      text,
      /BREAKING {4}flag-renumbered {2}FUSE_COMPOUND_ATOMIC: bit 1 → bit 2\n {14}why: /,
    );
    const md = formatDiff(changes, labels, "md");
    assert.match(md, /^## v5 → v6\n/);
    assert.match(
      md,
      /\n\| Severity \| Change \| Subject \| Detail \| Targets \| Why \|\n\| --- \|/,
    );
    assert.match(
      md,
      /\| \*\*breaking\*\* \| flag-renumbered \| `FUSE_COMPOUND_ATOMIC` \| bit 1 → bit 2 \| all \|/,
    );
    assert.equal(
      md
        .trimEnd()
        .split("\n")
        .filter((l) => l.startsWith("| ")).length,
      changes.length + 2,
    );
    const json = JSON.parse(formatDiff(changes, labels, "json")) as Change[];
    assert.deepEqual(json, changes);
    for (const c of json) {
      assert.deepEqual(
        Object.keys(c).filter(
          (k) => !["kind", "subject", "detail", "severity", "reason", "targets"].includes(k),
        ),
        [],
      );
      assert.ok(c.severity === "breaking" || c.severity === "compatible");
      assert.ok(c.reason.length > 0 && !c.reason.includes("\n"));
    }
    assert.deepEqual(summary(changes), { breaking: 14, compatible: 2 });
  });

  test("no change is said in each format", () => {
    const labels = { from: "rfc-v2", to: "rfc-v3" };
    assert.equal(formatDiff([], labels, "text"), "rfc-v2 → rfc-v3: no ABI change\n");
    assert.equal(formatDiff([], labels, "md"), "## rfc-v2 → rfc-v3\n\nNo ABI change.\n");
    assert.equal(formatDiff([], labels, "json"), "[]\n");
  });

  test("pipes in a Markdown cell are escaped", () => {
    const md = formatDiff(
      [
        {
          kind: "macro-changed",
          subject: "M()",
          detail: "a | b",
          severity: "breaking",
          reason: "x",
        },
      ],
      { from: "a", to: "b" },
      "md",
    );
    assert.match(md, /a \\\| b/);
  });
});

describe("revision arguments", () => {
  test("a name resolves to schema/revisions/<name>.json; an unknown name is an InputError listing the known ones", () => {
    assert.equal(resolveSchemaArg("v6").label, "v6");
    assert.throws(
      () => resolveSchemaArg("v99"),
      (e: unknown) =>
        e instanceof InputError &&
        /^unknown revision 'v99' \(known: base-7\.45, rfc-v1, rfc-v2, rfc-v3, v4, v5, v6, v7;/.test(
          e.message,
        ),
    );
  });
});

describe("CLI", () => {
  let dir: string;
  before(async () => {
    dir = await mkdtemp(join(tmpdir(), "fuse-uapi-diff-"));
  });
  after(async () => {
    await rm(dir, { recursive: true, force: true });
  });

  async function cli(...args: string[]): Promise<{ code: number; stdout: string; stderr: string }> {
    try {
      const r = await run(process.execPath, [CLI, ...args], { cwd: repoRoot() });
      return { code: 0, stdout: r.stdout, stderr: r.stderr };
    } catch (e) {
      const x = e as { code: number; stdout: string; stderr: string };
      return { code: x.code, stdout: x.stdout, stderr: x.stderr };
    }
  }

  test("diff rfc-v3 v4 exits 0 with the report, breaking changes or not", async () => {
    const r = await cli("diff", "rfc-v3", "v4");
    assert.equal(r.code, 0);
    assert.equal(r.stderr, "");
    assert.match(r.stdout, /^rfc-v3 → v4: 1 ABI change\(s\), 1 breaking, 0 compatible\n/);
    assert.match(r.stdout, /opcode-moved {2}FUSE_COMPOUND: 101 → 54/);
  });

  test("--format json and md; schema files as arguments", async () => {
    const json = await cli(
      "diff",
      "schema/revisions/v5.json",
      join(repoRoot(), "schema", "revisions", "v6.json"),
      "--format",
      "json",
    );
    assert.equal(json.code, 0);
    // One array: the ABI changes, then the TypeScript API changes (kinds `ts-…`, test/ts-api-diff.test.ts).
    const all = JSON.parse(json.stdout) as { kind: string }[];
    assert.deepEqual(
      all.filter((c) => !c.kind.startsWith("ts-")),
      diffRevisions("v5", "v6"),
    );
    assert.ok(
      all.some((c) => c.kind === "ts-export-removed"),
      "schema files are rendered for the TypeScript part",
    );
    const md = await cli("diff", "v4", "v5", "--format", "md");
    assert.equal(md.code, 0);
    assert.match(md.stdout, /^## v4 → v5\n/);
  });

  test("hand-made schema files are named by file name", async () => {
    const a = join(dir, "old.json");
    const b = join(dir, "new.json");
    await writeFile(a, jsonText(await schemaOf("#define DEMO_A (1 << 0)")));
    await writeFile(b, jsonText(await schemaOf("#define DEMO_A (1 << 1)")));
    const r = await cli("diff", a, b);
    assert.equal(r.code, 0);
    assert.match(r.stdout, /^old\.json → new\.json: 1 ABI change/);
  });

  test("unknown revision → exit 2 with one line", async () => {
    const r = await cli("diff", "rfc-v3", "v99");
    assert.equal(r.code, 2);
    assert.equal(r.stdout, "");
    assert.equal(r.stderr.split("\n").filter(Boolean).length, 1, r.stderr);
    assert.match(r.stderr, /^fuse-uapi: unknown revision 'v99' \(known: /);
  });

  test("a bad schema file, a missing file, a bad format, a missing argument → exit 2 with one line", async () => {
    const notJson = join(dir, "bad.json");
    await writeFile(notJson, "{ not json");
    const wrong = join(dir, "wrong.json");
    await writeFile(wrong, JSON.stringify({ schemaVersion: 2, source: {} }));
    for (const args of [
      ["diff", notJson, "v6"],
      ["diff", "v6", wrong],
      ["diff", join(dir, "missing.json"), "v6"],
      ["diff", "v5", "v6", "--format", "yaml"],
      ["diff", "v5"],
    ]) {
      const r = await cli(...args);
      assert.equal(r.code, 2, `${args.join(" ")}: ${r.stderr}`);
      assert.equal(
        r.stderr.split("\n").filter(Boolean).length,
        1,
        `${args.join(" ")}: ${r.stderr}`,
      );
      assert.match(r.stderr, /^fuse-uapi: /);
    }
  });

  test("--all-consecutive -o writes the docs page", async () => {
    const out = join(dir, "revisions.md");
    const r = await cli("diff", "--all-consecutive", "-o", out);
    assert.equal(r.code, 0, r.stderr);
    assert.equal(
      await readFile(out, "utf8"),
      await readFile(join(repoRoot(), "docs", "revisions.md"), "utf8"),
    );
  });
});

describe("docs/revisions.md", () => {
  test("is exactly what `diff --all-consecutive` renders (regenerate it if this fails)", async () => {
    const committed = await readFile(join(repoRoot(), "docs", "revisions.md"), "utf8").catch(
      () => "(missing)",
    );
    const fresh = revisionsPage(await consecutiveDiffs());
    assert.ok(
      committed === fresh,
      `docs/revisions.md is out of date with the schemas or the diff rules; run: ${REGENERATE_DOCS}`,
    );
  });

  test("has a section per consecutive pair, in registry order, and says how to regenerate it", async () => {
    const page = revisionsPage(await consecutiveDiffs());
    const sections = [...page.matchAll(/^## (.+)$/gm)].map((m) => m[1]);
    assert.deepEqual(sections, [
      "Summary",
      "base-7.45 → rfc-v1",
      "rfc-v1 → rfc-v2",
      "rfc-v2 → rfc-v3",
      "rfc-v3 → v4",
      "v4 → v5",
      "v5 → v6",
      "v6 → v7",
    ]);
    assert.ok(page.includes(REGENERATE_DOCS));
    assert.match(page, /generated/);
  });
});
