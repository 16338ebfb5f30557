/**
 * `fuse-uapi check`: the schema's layouts and values, proven by real compilers.
 * A hand-written header with a hand-computed schema pins the emitter and the
 * diagnostics mapping; the corpus run proves the schema builder on every header.
 */

import { test } from "node:test";
import assert from "node:assert/strict";
import { existsSync, readdirSync, readFileSync, statSync } from "node:fs";
import { dirname, join, relative, resolve } from "node:path";
import { fileURLToPath } from "node:url";

import {
  TARGETS,
  type Field,
  type Schema,
  type StructDef,
  type Target,
  type TypeRef,
} from "../generator/model.js";
import { cLiteral, emitAssertions, type FactKind } from "../generator/check/emit-asserts.js";
import {
  CheckError,
  compilerAvailable,
  resolveCompiler,
  runCheck,
  type CheckResult,
} from "../generator/check/compile.js";

import { buildSchema } from "../generator/schema-builder.js";
import { skipOrFail } from "./helpers/skip.js";

// ---------------------------------------------------------------------------
// A tiny header, written for this test, and its schema computed by hand.

const DEMO_HEADER = `/* demo uapi header for fuse-uapi's check tests */
#ifndef DEMO_H
#define DEMO_H
#include <stdint.h>

#define DEMO_MAGIC 0x7a
#define DEMO_BIG (1ULL << 63)
#define DEMO_NEG (-5)
#define DEMO_ALL_ONES ((uint32_t)(-1))
#define DEMO_IOC_GET _IOR(DEMO_MAGIC, 1, struct demo_hdr)
#define DEMO_NEEDS_PAGE (PAGE_SIZE / 2)
#define demo_len_t uint16_t

typedef uint32_t demo_id_t;

struct demo_hdr {
	uint32_t kind;
	uint64_t stamp;
};

struct demo_msg {
	struct demo_hdr hdr;
	union {
		uint64_t handle;
		struct {
			uint32_t lo;
			uint32_t hi;
		};
	};
	uint16_t flags;
	char name[];
};

enum demo_op { DEMO_OP_A = 1, DEMO_OP_B, DEMO_OP_C = 4096 };

#endif
`;

const pos = { line: 1, column: 1 };
type Fig = [offset: number, size: number, align: number];
/** Figures for x86_64 and aarch64 (LP64, same here), then i386. */
type Figs = { lp64: Fig; i386: Fig };

function field(
  name: string | null,
  type: TypeRef,
  ctype: string,
  f: Figs,
  extra: Partial<Field> = {},
): Field {
  const l = ([offset, size, align]: Fig) => ({ offset, size, align });
  return {
    name,
    type,
    ctype,
    offset: f.lp64[0],
    size: f.lp64[1],
    align: f.lp64[2],
    count: 1,
    layout: { x86_64: l(f.lp64), aarch64: l(f.lp64), i386: l(f.i386) },
    pos,
    ...extra,
  };
}

function struct(
  name: string,
  union: boolean,
  fields: Field[],
  lp64: [number, number],
  i386: [number, number],
): StructDef {
  const rl = ([size, align]: [number, number]) => ({ size, align, padding: [] });
  return {
    name,
    union,
    size: lp64[0],
    align: lp64[1],
    fields,
    layout: { x86_64: rl(lp64), aarch64: rl(lp64), i386: rl(i386) },
    pos,
  };
}

const u32: TypeRef = { kind: "int", name: "uint32_t", spelled: "uint32_t" };
const u64: TypeRef = { kind: "int", name: "uint64_t", spelled: "uint64_t" };
const u16: TypeRef = { kind: "int", name: "uint16_t", spelled: "uint16_t" };

function demoSchema(): Schema {
  const hdr = struct(
    "demo_hdr",
    false,
    [
      field("kind", u32, "uint32_t", { lp64: [0, 4, 4], i386: [0, 4, 4] }),
      // i386 aligns a 64-bit member to 4 inside structs.
      field("stamp", u64, "uint64_t", { lp64: [8, 8, 8], i386: [4, 8, 4] }),
    ],
    [16, 8],
    [12, 4],
  );
  const inner: TypeRef = {
    kind: "record",
    union: false,
    fields: [
      field("lo", u32, "uint32_t", { lp64: [0, 4, 4], i386: [0, 4, 4] }),
      field("hi", u32, "uint32_t", { lp64: [4, 4, 4], i386: [4, 4, 4] }),
    ],
  };
  const anonUnion: TypeRef = {
    kind: "record",
    union: true,
    fields: [
      field("handle", u64, "uint64_t", { lp64: [0, 8, 8], i386: [0, 8, 4] }),
      field(null, inner, "struct", { lp64: [0, 8, 4], i386: [0, 8, 4] }),
    ],
  };
  const msg = struct(
    "demo_msg",
    false,
    [
      field("hdr", { kind: "struct", name: "demo_hdr" }, "struct demo_hdr", {
        lp64: [0, 16, 8],
        i386: [0, 12, 4],
      }),
      field(null, anonUnion, "union", { lp64: [16, 8, 8], i386: [12, 8, 4] }),
      field("flags", u16, "uint16_t", { lp64: [24, 2, 2], i386: [20, 2, 2] }),
      field(
        "name",
        { kind: "array", of: { kind: "char", spelled: "char" }, length: null, lengthExpr: "" },
        "char",
        { lp64: [26, 0, 1], i386: [22, 0, 1] },
        { count: 0, flexible: true },
      ),
    ],
    [32, 8],
    [24, 4],
  );
  msg.flexible = true;
  const c = (
    name: string,
    value: string | null,
    type: Schema["constants"][number]["type"],
    more = {},
  ) => ({
    name,
    value,
    type,
    expression: "",
    pos,
    ...more,
  });
  return {
    schemaVersion: 2,
    source: {
      file: "demo.h",
      sha256: "",
      gitBlob: "",
      kernelVersion: null,
      minorVersion: null,
      revision: null,
      patches: [],
    },
    includes: [{ path: "stdint.h", system: true, pos }],
    typedefs: [
      { name: "demo_len_t", type: u16, viaMacro: true, pos },
      { name: "demo_id_t", type: u32, viaMacro: false, pos },
    ],
    structs: [hdr, msg],
    enums: [
      {
        name: "demo_op",
        members: [
          { name: "DEMO_OP_A", value: "1", pos },
          { name: "DEMO_OP_B", value: "2", pos },
          { name: "DEMO_OP_C", value: "4096", pos },
        ],
        pos,
      },
    ],
    constants: [
      c("DEMO_MAGIC", "122", "int"),
      c("DEMO_BIG", "9223372036854775808", "unsigned long long"),
      c("DEMO_NEG", "-5", "int"),
      c("DEMO_ALL_ONES", "4294967295", "unsigned int"),
      // _IOR's size field is sizeof(struct demo_hdr): 16 on LP64, 12 on i386; sizeof makes it
      // unsigned long on LP64 and unsigned int (size_t) on i386.
      c("DEMO_IOC_GET", "2148563457", "unsigned long", {
        targetValues: { i386: "2148301313" },
        targetTypes: { i386: "unsigned int" },
      }),
      c("DEMO_NEEDS_PAGE", null, null, { unresolved: "PAGE_SIZE" }),
    ],
    macros: [],
    lint: [],
  };
}

/** Each target's compiler, or the reason it is missing (tests skip with it). */
async function missingCompiler(target: Target): Promise<string | null> {
  if (await compilerAvailable(target)) return null;
  const { reason } = await resolveCompiler(target);
  return `no ${target} compiler installed (.ci/run installs it): ${reason.split("\n")[0]}`;
}

function describeFailures(results: { label: string; r: CheckResult }[]): string {
  return results
    .flatMap(({ label, r }) => r.failed.map((f) => `${label}: ${f.fact.message}: ${f.message}`))
    .join("\n");
}

// ---------------------------------------------------------------------------

test("cLiteral: each value gets a literal whose type can hold it", () => {
  assert.equal(cLiteral(0n), "0");
  assert.equal(cLiteral(2147483647n), "2147483647");
  assert.equal(cLiteral(2147483648n), "2147483648U");
  assert.equal(cLiteral(4294967295n), "4294967295U");
  assert.equal(cLiteral(4294967296n), "4294967296LL");
  assert.equal(cLiteral(2n ** 63n), "9223372036854775808ULL");
  assert.equal(cLiteral(2n ** 64n - 1n), "18446744073709551615ULL");
  assert.equal(cLiteral(-5n), "(-5)");
  assert.equal(cLiteral(-(2n ** 31n)), "(-2147483647 - 1)");
  assert.equal(cLiteral(-(2n ** 31n) - 1n), "(-2147483649LL)");
  assert.equal(cLiteral(-(2n ** 63n)), "(-9223372036854775807LL - 1)");
  assert.throws(() => cLiteral(2n ** 64n), RangeError);
});

test("emitAssertions: one fact per size, alignment, offset, field size, constant and enum member", () => {
  const { source, facts, skipped, byLine } = emitAssertions(demoSchema(), "x86_64", "demo.h");
  const lines = source.split("\n");
  for (const f of facts) {
    assert.equal(byLine.get(f.line), f);
    assert.match(lines[f.line - 1], /^_Static_assert\(/);
    assert.ok(lines[f.line - 1].includes(`"${f.message}"`), f.message);
  }
  assert.equal(new Set(facts.map((f) => f.message)).size, facts.length, "messages are unique");
  const messages = facts.map((f) => f.message);
  assert.ok(messages.includes("sizeof(struct demo_msg) x86_64 == 32"));
  assert.ok(messages.includes("_Alignof(struct demo_msg) x86_64 == 8"));
  // Fields of anonymous members are reached through the parent, at absolute offsets.
  assert.ok(messages.includes("offsetof(struct demo_msg, hi) x86_64 == 20"));
  assert.ok(messages.includes("offsetof(struct demo_msg, name) x86_64 == 26"));
  // No sizeof of a flexible array member (incomplete type).
  assert.ok(!messages.some((m) => m.startsWith("sizeof(struct demo_msg.name)")));
  assert.ok(messages.includes("DEMO_IOC_GET x86_64 == 2148563457"));
  assert.ok(messages.includes("type of DEMO_IOC_GET x86_64 == unsigned long"));
  assert.ok(messages.includes("enum demo_op DEMO_OP_C x86_64 == 4096"));
  assert.deepEqual(skipped, [{ name: "DEMO_NEEDS_PAGE", reason: "unresolved: PAGE_SIZE" }]);
  assert.ok(messages.includes("typedef demo_len_t x86_64 == uint16_t"));
  // typedefs + 2 structs x (size + align) + fields (offset + size) + constants (value + type) + enum members.
  assert.equal(facts.length, 2 + 4 + 2 * 2 + (6 * 2 - 1) + 5 * 2 + 3);
  // i386 uses its own figures, types included (targetTypes).
  const i386 = emitAssertions(demoSchema(), "i386", "demo.h").facts.map((f) => f.message);
  assert.ok(i386.includes("DEMO_IOC_GET i386 == 2148301313"));
  assert.ok(i386.includes("offsetof(struct demo_msg, hi) i386 == 16"));
  assert.ok(i386.includes("type of DEMO_IOC_GET i386 == unsigned int"));
  assert.ok(i386.includes("type of DEMO_MAGIC i386 == int"));
});

for (const target of TARGETS) {
  test(`runCheck(${target}): the hand-computed demo schema is proven`, async (t) => {
    const missing = await missingCompiler(target);
    if (missing) return skipOrFail(t, missing);
    const r = await runCheck(demoSchema(), DEMO_HEADER, { target });
    assert.deepEqual(r.failed, []);
    assert.equal(r.proven, emitAssertions(demoSchema(), target, "demo.h").facts.length);
    assert.deepEqual(r.skipped, [{ name: "DEMO_NEEDS_PAGE", reason: "unresolved: PAGE_SIZE" }]);
    assert.equal(r.target, target);
  });
}

test("runCheck: one altered figure fails exactly that fact", async (t) => {
  for (const target of TARGETS) {
    const missing = await missingCompiler(target);
    if (missing) {
      await t.test(target, (tt) => skipOrFail(tt, missing));
      continue;
    }
    await t.test(target, async () => {
      const total = emitAssertions(demoSchema(), target, "demo.h").facts.length;
      const cases: [string, (s: Schema) => void, string][] = [
        [
          "struct size",
          (s) => s.structs[1].layout[target].size++,
          `sizeof(struct demo_msg) ${target} == `,
        ],
        [
          "struct align",
          (s) => (s.structs[0].layout[target].align = 2),
          `_Alignof(struct demo_hdr) ${target} == 2`,
        ],
        [
          "field offset",
          (s) => s.structs[0].fields[1].layout[target].offset--,
          `offsetof(struct demo_hdr, stamp) ${target} == `,
        ],
        [
          "offset inside an anonymous member",
          (s) => {
            const u = s.structs[1].fields[1].type as Extract<TypeRef, { kind: "record" }>;
            const inner = u.fields[1].type as Extract<TypeRef, { kind: "record" }>;
            inner.fields[1].layout[target].offset = 8;
          },
          `offsetof(struct demo_msg, hi) ${target} == `,
        ],
        [
          "field size",
          (s) => (s.structs[1].fields[2].layout[target].size = 4),
          `sizeof(struct demo_msg.flags) ${target} == 4`,
        ],
        ["constant", (s) => (s.constants[0].value = "123"), `DEMO_MAGIC ${target} == 123`],
        // The sign test: -5 must not pass as an unsigned value, nor 4294967295U as -1.
        ["constant sign", (s) => (s.constants[2].value = "5"), `DEMO_NEG ${target} == 5`],
        [
          "unsigned as negative",
          (s) => (s.constants[3].value = "-1"),
          `DEMO_ALL_ONES ${target} == -1`,
        ],
        [
          "per-target constant",
          (s) => (s.constants[4].targetValues = { ...s.constants[4].targetValues, [target]: "1" }),
          `DEMO_IOC_GET ${target} == 1`,
        ],
        [
          "enum member",
          (s) => (s.enums[0].members[1].value = "3"),
          `enum demo_op DEMO_OP_B ${target} == 3`,
        ],
        // Same size, other type: only an exact type match catches it.
        [
          "typedef",
          (s) => (s.typedefs[1].type = { kind: "int", name: "int32_t", spelled: "__s32" }),
          `typedef demo_id_t ${target} == int32_t`,
        ],
        [
          "constant not in the header",
          (s) =>
            s.constants.push({
              name: "DEMO_NOT_THERE",
              value: "1",
              type: null,
              expression: "1",
              pos,
            }),
          `DEMO_NOT_THERE ${target} == 1`,
        ],
        [
          "member not in the struct",
          (s) => s.structs[0].fields.push({ ...s.structs[0].fields[0], name: "ghost" }),
          `offsetof(struct demo_hdr, ghost) ${target} == `,
        ],
      ];
      cases.push([
        "constant type",
        (s) => (s.constants[0].type = "long"),
        `type of DEMO_MAGIC ${target} == long`,
      ]);
      for (const [what, alter, expected] of cases) {
        const schema = demoSchema();
        alter(schema);
        const r = await runCheck(schema, DEMO_HEADER, { target });
        if (what === "member not in the struct") {
          // Both facts about the member fail (its offset and its size), nothing else.
          assert.deepEqual(
            r.failed.map((f) => [f.fact.kind, f.fact.subject]),
            [
              ["field-offset", "demo_hdr.ghost"],
              ["field-size", "demo_hdr.ghost"],
            ],
          );
          assert.match(r.failed[0].message, /no member named 'ghost'/);
          continue;
        }
        assert.equal(
          r.failed.length,
          1,
          `${what}: ${r.failed.map((f) => f.fact.message).join("; ")}`,
        );
        assert.ok(
          r.failed[0].fact.message.startsWith(expected),
          `${what}: got ${r.failed[0].fact.message}`,
        );
        assert.equal(r.failed[0].fact.target, target);
        assert.ok(r.failed[0].message.length > 0);
        const facts = emitAssertions(schema, target, "demo.h").facts.length;
        assert.equal(r.proven, facts - 1, what);
        assert.ok(facts >= total, what);
      }
    });
  }
});

test("runCheck: a header that does not compile, or no compiler, is a CheckError", async (t) => {
  const missing = await missingCompiler("x86_64");
  if (missing) return skipOrFail(t, missing);
  await assert.rejects(
    runCheck(demoSchema(), DEMO_HEADER.replace("uint16_t flags;", "uint16_t flags"), {
      target: "x86_64",
    }),
    (e: unknown) =>
      e instanceof CheckError && e.target === "x86_64" && /demo\.h:\d+/.test(e.message),
  );
  await assert.rejects(
    runCheck(demoSchema(), DEMO_HEADER, { target: "x86_64", cc: "/nonexistent/fuse-uapi-cc" }),
    (e: unknown) => e instanceof CheckError && e.compiler === "/nonexistent/fuse-uapi-cc",
  );
  // A compiler for another target would prove the wrong ABI: refused.
  await assert.rejects(
    runCheck(demoSchema(), DEMO_HEADER, { target: "x86_64", cc: "cc -m32" }),
    CheckError,
  );
});

// ---------------------------------------------------------------------------
// Every corpus header, every target.

const repoRoot = resolve(dirname(fileURLToPath(import.meta.url)), "../..");
const corpusDir = process.env.FUSE_UAPI_CORPUS ?? resolve(repoRoot, "../shared/corpus");
const headersDir = join(corpusDir, "headers");
const SYSTEM_HEADER = "/usr/include/linux/fuse.h";

function listHeaders(dir: string): string[] {
  return readdirSync(dir)
    .sort()
    .flatMap((name) => {
      const p = join(dir, name);
      if (statSync(p).isDirectory()) return listHeaders(p);
      return name.endsWith(".h") ? [p] : [];
    });
}

/** Runs `fn` over `items` with at most `limit` at once (the machines have 2 cores). */
async function pool<T, R>(items: T[], limit: number, fn: (item: T) => Promise<R>): Promise<R[]> {
  const out: R[] = new Array(items.length);
  let next = 0;
  const worker = async () => {
    while (next < items.length) {
      const i = next++;
      out[i] = await fn(items[i]);
    }
  };
  await Promise.all(Array.from({ length: Math.min(limit, items.length) }, worker));
  return out;
}

interface Built {
  label: string;
  text: string;
  schema: Schema;
}

let builtOnce: Promise<Built[]> | undefined;
/** Schemas of the corpus headers, built once for all targets. */
function corpusSchemas(paths: string[], base: string): Promise<Built[]> {
  builtOnce ??= (async () => {
    const out: Built[] = [];
    for (const p of paths) {
      const text = readFileSync(p, "utf8");
      out.push({
        label: relative(base, p),
        text,
        schema: await buildSchema(text, { file: p.split("/").pop()! }),
      });
    }
    return out;
  })();
  return builtOnce;
}

/**
 * What the 7.45 header must at least yield, per kind, so a builder that silently drops
 * structs, fields or constants cannot pass on few facts (7.45 has 76 structs, ~317
 * fields, ~115 constants, 68 enum members; x86_64 has 1080 facts).
 */
const MIN_FACTS_745: Partial<Record<FactKind, number>> = {
  "struct-size": 70,
  "struct-align": 70,
  "field-offset": 300,
  "field-size": 300,
  constant: 100,
  "constant-type": 100,
  "enum-member": 60,
};
const MIN_TOTAL_745 = 1000;

test("corpus: every header's schema is proven by the compiler on every target", async (t) => {
  let paths: string[];
  let base: string;
  if (existsSync(headersDir)) {
    paths = listHeaders(headersDir);
    base = headersDir;
  } else {
    await t.test(`corpus not found at ${headersDir} (set FUSE_UAPI_CORPUS)`, (tt) =>
      skipOrFail(tt, `no corpus; checking ${SYSTEM_HEADER} only`),
    );
    if (!existsSync(SYSTEM_HEADER))
      return skipOrFail(t, `neither the corpus nor ${SYSTEM_HEADER} exists`);
    paths = [SYSTEM_HEADER];
    base = dirname(SYSTEM_HEADER);
  }
  assert.ok(paths.length > 0, `no headers under ${base}`);
  const built = await corpusSchemas(paths, base);

  for (const target of TARGETS) {
    await t.test(target, async (tt) => {
      const missing = await missingCompiler(target);
      if (missing) return skipOrFail(tt, missing);
      const results = await pool(built, 2, async (b) => ({
        label: b.label,
        r: await runCheck(b.schema, b.text, { target }),
      }));
      const failures = describeFailures(results);
      assert.equal(failures, "", `facts the compiler refutes on ${target}:\n${failures}`);
      for (const { label, r } of results)
        assert.ok(r.proven > 0, `${label}: nothing proven on ${target}`);
      const proven = results.reduce((n, { r }) => n + r.proven, 0);
      const skipped = results.reduce((n, { r }) => n + r.skipped.length, 0);
      tt.diagnostic(
        `${target}: ${results.length} headers, ${proven} facts proven, ${skipped} constants skipped (${results[0].r.compiler})`,
      );
      const k745 = built.find(({ label }) => label === "kernel/fuse-7.45.h");
      if (k745 && target !== "i386") {
        const { facts } = emitAssertions(k745.schema, target, "fuse.h");
        const r = results.find(({ label }) => label === k745.label)!.r;
        assert.ok(r.proven >= MIN_TOTAL_745, `7.45 proved only ${r.proven} facts on ${target}`);
        for (const [kind, min] of Object.entries(MIN_FACTS_745)) {
          const n = facts.filter((f) => f.kind === kind).length;
          assert.ok(
            n >= min!,
            `7.45 has only ${n} ${kind} facts on ${target} (expected >= ${min})`,
          );
        }
      }
    });
  }
});

test("corpus 7.45: one deliberately altered offset, size or constant fails exactly that fact", async (t) => {
  const path = join(headersDir, "kernel/fuse-7.45.h");
  if (!existsSync(path)) return skipOrFail(t, `${path} not found (set FUSE_UAPI_CORPUS)`);
  const text = readFileSync(path, "utf8");
  const pristine = await buildSchema(text, { file: "fuse-7.45.h" });
  const fresh = () => structuredClone(pristine);
  const byName = (s: Schema, name: string) => s.structs.find((x) => x.name === name)!;
  for (const target of TARGETS) {
    const missing = await missingCompiler(target);
    if (missing) {
      await t.test(target, (tt) => skipOrFail(tt, missing));
      continue;
    }
    await t.test(target, async () => {
      const cases: [(s: Schema) => void, string][] = [
        [
          (s) =>
            (byName(s, "fuse_write_in").fields.find((f) => f.name === "offset")!.layout[
              target
            ].offset += 4),
          "offsetof(struct fuse_write_in, offset)",
        ],
        [
          (s) => (byName(s, "fuse_init_out").layout[target].size += 8),
          "sizeof(struct fuse_init_out)",
        ],
        [
          (s) => (s.constants.find((c) => c.name === "FUSE_ROOT_ID")!.value = "2"),
          `FUSE_ROOT_ID ${target} == 2`,
        ],
      ];
      for (const [alter, expected] of cases) {
        const schema = fresh();
        alter(schema);
        const r = await runCheck(schema, text, { target });
        assert.deepEqual(
          r.failed.map((f) => f.fact.message.split(` ${target} `)[0]),
          [expected.split(` ${target} `)[0]],
        );
        assert.ok(r.failed[0].fact.message.startsWith(expected), r.failed[0].fact.message);
        assert.match(r.failed[0].message, /static assertion failed/);
        assert.equal(r.proven, emitAssertions(schema, target, "fuse.h").facts.length - 1);
      }
    });
  }
});
