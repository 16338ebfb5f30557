/**
 * The constant-expression evaluator against C's typing rules: every value has
 * the type gcc gives it (int, unsigned int, long, ... per target data model),
 * wraps like gcc, and `#if` arithmetic runs in intmax_t/uintmax_t.
 *
 * Unit tests call `evaluateText` with the environment of an empty header
 * (`new DeclScope().env(target)`: compiler predefines and <linux/ioctl.h>
 * macros), or `buildSchema` on inline snippets when records or enums are
 * needed. The last suite is a property test: a batch of random expressions
 * evaluated by us and checked by gcc in one compile per target.
 */
import assert from "node:assert/strict";
import { execFile } from "node:child_process";
import { mkdtemp, rm, writeFile } from "node:fs/promises";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { describe, test } from "node:test";
import { promisify } from "node:util";
import fc from "fast-check";
import { EvalError, evaluateText } from "../generator/cexpr/evaluate.js";
import { type ConstantDef, type Target, TARGETS } from "../generator/model.js";
import { DeclScope } from "../generator/parse/scope.js";
import { buildSchema } from "../generator/schema-builder.js";
import { skipOrFail } from "./helpers/skip.js";

const run = promisify(execFile);

/** Value (decimal) and C type of `text` on `target`. */
function ev(
  text: string,
  target: Target = "x86_64",
  opts: { inIf?: boolean } = {},
): { v: string; t: string } {
  const r = evaluateText(text, new DeclScope().env(target), opts);
  return { v: r.v.toString(), t: r.t.name };
}

function evIf(text: string, target: Target = "x86_64") {
  return ev(text, target, { inIf: true });
}

async function constant(header: string, name: string): Promise<ConstantDef> {
  const schema = await buildSchema(header, { file: "cexpr-snippet.h" });
  const c = schema.constants.find((k) => k.name === name);
  assert.ok(c, `constant ${name} missing`);
  return c;
}

describe("integer literals take the first type that holds them (C11 6.4.4.1)", () => {
  const cases: [string, Target, string, string][] = [
    ["0", "x86_64", "0", "int"],
    ["2147483647", "x86_64", "2147483647", "int"],
    ["2147483648", "x86_64", "2147483648", "long"], // decimal: never unsigned without a suffix
    ["2147483648", "i386", "2147483648", "long long"],
    ["4294967295", "x86_64", "4294967295", "long"],
    ["0x7fffffff", "x86_64", "2147483647", "int"],
    ["0x80000000", "x86_64", "2147483648", "unsigned int"], // hex: unsigned int comes before long
    ["0xffffffff", "i386", "4294967295", "unsigned int"],
    ["0x100000000", "x86_64", "4294967296", "long"],
    ["0x100000000", "i386", "4294967296", "long long"],
    ["0x8000000000000000", "x86_64", "9223372036854775808", "unsigned long"],
    ["0x8000000000000000", "i386", "9223372036854775808", "unsigned long long"],
    ["017", "x86_64", "15", "int"],
    ["0b101", "x86_64", "5", "int"],
    ["1u", "x86_64", "1", "unsigned int"],
    ["1U", "x86_64", "1", "unsigned int"],
    ["1l", "x86_64", "1", "long"],
    ["1L", "i386", "1", "long"],
    ["1ul", "x86_64", "1", "unsigned long"],
    ["1LU", "x86_64", "1", "unsigned long"],
    ["1ll", "x86_64", "1", "long long"],
    ["1ull", "x86_64", "1", "unsigned long long"],
    ["1ULL", "i386", "1", "unsigned long long"],
    ["1llu", "x86_64", "1", "unsigned long long"],
    ["4294967296u", "i386", "4294967296", "unsigned long long"],
    ["'A'", "x86_64", "65", "int"],
    ["'\\n'", "x86_64", "10", "int"],
    ["'\\x7f'", "x86_64", "127", "int"],
  ];
  for (const [text, target, v, t] of cases)
    test(`${text} on ${target} is ${t} ${v}`, () => assert.deepEqual(ev(text, target), { v, t }));
});

describe("operators follow C's typing rules", () => {
  test("1 << 31 is the int -2147483648 (wraps like gcc)", () => {
    assert.deepEqual(ev("(1 << 31)"), { v: "-2147483648", t: "int" });
  });
  test("1U << 31 and 1ULL << 63 stay unsigned", () => {
    assert.deepEqual(ev("(1U << 31)"), { v: "2147483648", t: "unsigned int" });
    assert.deepEqual(ev("(1ULL << 63)"), { v: "9223372036854775808", t: "unsigned long long" });
    assert.deepEqual(ev("(1ULL << 63)", "i386"), {
      v: "9223372036854775808",
      t: "unsigned long long",
    });
  });
  test("a shift has the type of its left operand only", () => {
    assert.deepEqual(ev("1 << 2ULL"), { v: "4", t: "int" });
    assert.deepEqual(ev("1u >> 1"), { v: "0", t: "unsigned int" });
    assert.deepEqual(ev("-8 >> 1"), { v: "-4", t: "int" }); // arithmetic shift, as gcc does
  });
  test("a shift count out of range is not a constant", () => {
    assert.throws(() => ev("1 << 32"), EvalError);
    assert.throws(() => ev("1UL << 40", "i386"), EvalError);
    assert.throws(() => ev("1 << -1"), EvalError);
    assert.deepEqual(ev("1UL << 40"), { v: "1099511627776", t: "unsigned long" });
  });
  test("-1 cast to uint32_t is 4294967295; narrow casts promote back to int", () => {
    assert.deepEqual(ev("((uint32_t)(-1))"), { v: "4294967295", t: "unsigned int" });
    assert.deepEqual(ev("((__u32)-1)"), { v: "4294967295", t: "unsigned int" });
    assert.deepEqual(ev("((uint8_t)300)"), { v: "44", t: "int" });
    assert.deepEqual(ev("((int8_t)200)"), { v: "-56", t: "int" });
    assert.deepEqual(ev("((uint16_t)-1)"), { v: "65535", t: "int" });
    assert.deepEqual(ev("((int)0xffffffff)"), { v: "-1", t: "int" });
  });
  test("casts to long and size_t follow the target's width", () => {
    assert.deepEqual(ev("((unsigned long)-1)"), { v: "18446744073709551615", t: "unsigned long" });
    assert.deepEqual(ev("((size_t)-1)", "aarch64"), {
      v: "18446744073709551615",
      t: "unsigned long",
    });
    assert.deepEqual(ev("((size_t)-1)", "i386"), { v: "4294967295", t: "unsigned int" }); // i386 size_t is unsigned int
  });
  test("a cast keeps the named type, not just its width", () => {
    // gcc: same width, different type (and so different usual arithmetic conversions).
    assert.deepEqual(ev("((unsigned long)-1)", "i386"), { v: "4294967295", t: "unsigned long" });
    assert.deepEqual(ev("((long)-1)", "i386"), { v: "-1", t: "long" });
    assert.deepEqual(ev("((long long)1)"), { v: "1", t: "long long" });
    assert.deepEqual(ev("((unsigned long long)1 << 63)"), {
      v: "9223372036854775808",
      t: "unsigned long long",
    });
  });
  test("sizeof is unsigned long on LP64 targets and unsigned int on i386", () => {
    assert.deepEqual(ev("sizeof(int)"), { v: "4", t: "unsigned long" });
    assert.deepEqual(ev("sizeof(int)", "i386"), { v: "4", t: "unsigned int" });
    assert.deepEqual(ev("sizeof(long)"), { v: "8", t: "unsigned long" });
    assert.deepEqual(ev("sizeof(long)", "i386"), { v: "4", t: "unsigned int" });
    assert.deepEqual(ev("sizeof(void *)", "aarch64"), { v: "8", t: "unsigned long" });
    assert.deepEqual(ev("sizeof(__u64)", "i386"), { v: "8", t: "unsigned int" });
    assert.deepEqual(ev("sizeof(1ULL)"), { v: "8", t: "unsigned long" });
  });
  test("_Alignof gives the ABI alignment: 4 for 8-byte integers on i386", () => {
    assert.deepEqual(ev("_Alignof(__u64)"), { v: "8", t: "unsigned long" });
    assert.deepEqual(ev("_Alignof(__u64)", "i386"), { v: "4", t: "unsigned int" });
  });
  test("GNU __alignof__ gives the preferred alignment: 8 for 8-byte integers on i386", () => {
    // gcc -m32: __alignof__(unsigned long long) == 8 but _Alignof(unsigned long long) == 4.
    assert.deepEqual(ev("__alignof__(__u64)", "i386"), { v: "8", t: "unsigned int" });
  });
  test("division and remainder truncate toward zero", () => {
    assert.deepEqual(ev("(-7 / 2)"), { v: "-3", t: "int" });
    assert.deepEqual(ev("(7 / -2)"), { v: "-3", t: "int" });
    assert.deepEqual(ev("(-7 % 2)"), { v: "-1", t: "int" });
    assert.deepEqual(ev("(7 % -2)"), { v: "1", t: "int" });
    assert.deepEqual(ev("(-7 / 2u)"), { v: "2147483644", t: "unsigned int" }); // -7 converts to unsigned first
    assert.throws(() => ev("1 / 0"), EvalError);
  });
  test("usual arithmetic conversions depend on the data model", () => {
    assert.deepEqual(ev("1u + -2"), { v: "4294967295", t: "unsigned int" });
    assert.deepEqual(ev("1L + 1u"), { v: "2", t: "long" }); // LP64 long holds every unsigned int
    assert.deepEqual(ev("1L + 1u", "i386"), { v: "2", t: "unsigned long" }); // ILP32 long does not
    assert.deepEqual(ev("-1L < 1u"), { v: "1", t: "int" });
    assert.deepEqual(ev("-1L < 1u", "i386"), { v: "0", t: "int" });
    assert.deepEqual(ev("1LL + 1UL"), { v: "2", t: "unsigned long long" });
    assert.deepEqual(ev("1LL + 1UL", "i386"), { v: "2", t: "long long" });
    assert.deepEqual(ev("2u > -1"), { v: "0", t: "int" });
  });
  test("unary operators keep the operand's type; ! and comparisons give int", () => {
    assert.deepEqual(ev("-1u"), { v: "4294967295", t: "unsigned int" });
    assert.deepEqual(ev("-0x80000000"), { v: "2147483648", t: "unsigned int" });
    assert.deepEqual(ev("-2147483648"), { v: "-2147483648", t: "long" });
    assert.deepEqual(ev("~0"), { v: "-1", t: "int" });
    assert.deepEqual(ev("~0u"), { v: "4294967295", t: "unsigned int" });
    assert.deepEqual(ev("~0UL", "i386"), { v: "4294967295", t: "unsigned long" });
    assert.deepEqual(ev("!5"), { v: "0", t: "int" });
    assert.deepEqual(ev("1ULL == 1"), { v: "1", t: "int" });
  });
  test("?: converts both arms to their common type", () => {
    assert.deepEqual(ev("1 ? -1 : 0u"), { v: "4294967295", t: "unsigned int" });
    assert.deepEqual(ev("0 ? 1ULL : 2"), { v: "2", t: "unsigned long long" });
  });
  test("?:, && and || do not evaluate the operand they skip", () => {
    // gcc accepts all of these as integer constant expressions.
    assert.deepEqual(ev("1 ? 2 : 1 / 0"), { v: "2", t: "int" });
    assert.deepEqual(ev("0 && 1 / 0"), { v: "0", t: "int" });
    assert.deepEqual(ev("1 || 1 / 0"), { v: "1", t: "int" });
    assert.deepEqual(ev("(sizeof(long) == 8 ? (1UL << 40) : 0)", "i386"), {
      v: "0",
      t: "unsigned long",
    });
  });
  test("an identifier with no definition is not a constant, and is named", () => {
    assert.throws(
      () => ev("DEMO_UNDEFINED * 2"),
      (e: unknown) => e instanceof EvalError && e.unresolved === "DEMO_UNDEFINED",
    );
  });
  test("ioctl macros from <linux/ioctl.h> are known", () => {
    // dir READ=2 at bit 30 | size 4 at bit 16 | type 'E'=0x45 at bit 8 | nr 1.
    assert.deepEqual(ev("_IOR('E', 1, uint32_t)"), { v: String(0x80044501), t: "unsigned long" });
    assert.deepEqual(ev("_IOR('E', 1, uint32_t)", "i386"), {
      v: String(0x80044501),
      t: "unsigned int",
    });
    assert.deepEqual(ev("_IO('E', 2)"), { v: String(0x4502), t: "unsigned int" });
  });
});

describe("#if arithmetic is done in intmax_t / uintmax_t (C11 6.10.1p4)", () => {
  test("no 32-bit wrap in #if", () => {
    assert.equal(evIf("(1 << 40) > 0").v, "1");
    assert.equal(evIf("2147483647 + 1 > 0").v, "1");
    assert.equal(ev("2147483647 + 1 > 0").v, "0"); // outside #if: int wraps (gcc -Woverflow)
    assert.equal(evIf("0xffffffff + 1 == 0x100000000").v, "1");
    assert.equal(ev("0xffffffff + 1").v, "0");
  });
  test("unsigned in #if is uintmax_t", () => {
    assert.equal(evIf("-1 > 0u").v, "1");
    assert.equal(evIf("0xffffffffffffffff == -1").v, "1");
    assert.equal(evIf("-1 < 0").v, "1");
  });
  test("#if is the same on every target", () => {
    for (const t of TARGETS) assert.equal(evIf("(1L << 40) == 0x10000000000", t).v, "1");
  });
  test("undefined identifiers are 0 and defined() is decided before expansion", () => {
    assert.equal(evIf("DEMO_NOT_DEFINED == 0").v, "1");
    assert.equal(evIf("defined(__linux__) && !defined __KERNEL__").v, "1");
    assert.equal(evIf("defined linux").v, "1");
    assert.equal(evIf("__GNUC__ >= 4").v, "1");
  });
  test("a header's #if uses its own macros, and a skipped operand is not evaluated", async () => {
    const text = [
      "#define DEMO_LEVEL 2",
      "#if DEMO_LEVEL * 0x100000000 == 0x200000000",
      "#define DEMO_WIDE_IF 1",
      "#endif",
      "#if 0 && (1 / 0)",
      "#define DEMO_NEVER 1",
      "#endif",
      "",
    ].join("\n");
    const schema = await buildSchema(text, { file: "cexpr-snippet.h" });
    assert.deepEqual(
      schema.constants.map((c) => c.name),
      ["DEMO_LEVEL", "DEMO_WIDE_IF"],
    );
  });
});

describe("constants in a header (buildSchema)", () => {
  test("sizeof and offsetof over the header's own records, per target", async () => {
    const text = [
      "#include <linux/types.h>",
      "struct demo_uneven { __u32 a; __u32 b; __u32 c; __u64 d; };",
      "#define DEMO_SIZE sizeof(struct demo_uneven)",
      "#define DEMO_D_OFF offsetof(struct demo_uneven, d)",
      "",
    ].join("\n");
    const size = await constant(text, "DEMO_SIZE");
    assert.equal(size.value, "24");
    assert.equal(size.type, "unsigned long");
    assert.deepEqual(size.targetValues, { i386: "20" });
    const off = await constant(text, "DEMO_D_OFF");
    assert.equal(off.value, "16");
    assert.deepEqual(off.targetValues, { i386: "12" });
  });

  test("a constant that only i386 cannot evaluate keeps its x86_64 value", async () => {
    // gcc x86_64: 1099511627776, unsigned long. On i386 `1UL << 40` is a shift
    // past the width of unsigned long: no value there, but x86_64 has one.
    const c = await constant("#define DEMO_BIG_SHIFT (1UL << 40)\n", "DEMO_BIG_SHIFT");
    assert.equal(c.value, "1099511627776");
    assert.equal(c.type, "unsigned long");
  });

  test("a per-target choice made with ?: has a value on every target", async () => {
    // gcc: x86_64 and aarch64 1099511627776, i386 0 (the shift is in the arm not taken).
    const c = await constant(
      "#define DEMO_PICK (sizeof(long) == 8 ? (1UL << 40) : 0)\n",
      "DEMO_PICK",
    );
    assert.equal(c.value, "1099511627776");
    assert.equal(c.type, "unsigned long");
    assert.deepEqual(c.targetValues, { i386: "0" });
  });

  test("an enumerator past INT_MAX has its enum's type (unsigned int here), as gcc gives it", async () => {
    // gcc: enum { DEMO_BIG = 0x80000000 } makes DEMO_BIG an unsigned int, so
    // -DEMO_BIG is 2147483648 and DEMO_BIG << 1 wraps to 0, on every target.
    const text = [
      "enum demo_big { DEMO_BIG = 0x80000000 };",
      "#define DEMO_NEG (-DEMO_BIG)",
      "#define DEMO_DOUBLE (DEMO_BIG << 1)",
      "",
    ].join("\n");
    const neg = await constant(text, "DEMO_NEG");
    assert.deepEqual(
      [neg.value, neg.type, neg.targetValues],
      ["2147483648", "unsigned int", undefined],
    );
    const dbl = await constant(text, "DEMO_DOUBLE");
    assert.deepEqual([dbl.value, dbl.type, dbl.targetValues], ["0", "unsigned int", undefined]);
  });

  test("an enumerator of a mixed-sign enum is 64-bit on every target", async () => {
    // gcc: enum { -1, 0x80000000 } has type long on LP64 and long long on i386,
    // so the value stays 2147483648 on i386 too.
    const text = [
      "enum demo_mixed { DEMO_M_NEG = -1, DEMO_M_BIG = 0x80000000 };",
      "#define DEMO_M (DEMO_M_BIG)",
      "",
    ].join("\n");
    const c = await constant(text, "DEMO_M");
    assert.deepEqual([c.value, c.type, c.targetValues], ["2147483648", "long", undefined]);
  });

  test("alias and unresolved constants", async () => {
    const text = [
      "#define DEMO_A 3",
      "#define DEMO_B DEMO_A",
      "#define DEMO_PAGES (DEMO_A * PAGE_SIZE)",
      "",
    ].join("\n");
    const alias = await constant(text, "DEMO_B");
    assert.equal(alias.aliasOf, "DEMO_A");
    assert.equal(alias.value, "3");
    const pages = await constant(text, "DEMO_PAGES");
    assert.equal(pages.value, null);
    assert.equal(pages.type, null);
    assert.equal(pages.unresolved, "PAGE_SIZE");
  });
});

// ---------------------------------------------------------------------------
// Property: our value and type equal gcc's, for random expressions.

const COMPILERS: Record<Target, string[][]> = {
  x86_64: process.arch === "x64" ? [["cc"], ["x86_64-linux-gnu-gcc"]] : [["x86_64-linux-gnu-gcc"]],
  i386: [["i686-linux-gnu-gcc"], ["cc", "-m32"]],
  aarch64:
    process.arch === "arm64" ? [["cc"], ["aarch64-linux-gnu-gcc"]] : [["aarch64-linux-gnu-gcc"]],
};

async function compiles(cmd: string[], file: string): Promise<{ ok: boolean; stderr: string }> {
  try {
    await run(cmd[0], [...cmd.slice(1), "-std=gnu11", "-fsyntax-only", "-w", file], {
      timeout: 60_000,
      maxBuffer: 16 << 20,
    });
    return { ok: true, stderr: "" };
  } catch (e) {
    const err = e as { stderr?: string; message: string };
    return { ok: false, stderr: err.stderr || err.message };
  }
}

const U64_MAX = (1n << 64n) - 1n;
const I64_MAX = (1n << 63n) - 1n;
const BOUNDARIES = [
  0x7fffffffn,
  0x80000000n,
  0xffffffffn,
  0x100000000n,
  I64_MAX,
  1n << 63n,
  U64_MAX,
  0xffn,
  0x8000n,
  0xffffn,
];
const SUFFIXES = [
  "",
  "",
  "",
  "u",
  "U",
  "l",
  "L",
  "ul",
  "UL",
  "lu",
  "ll",
  "LL",
  "ull",
  "ULL",
  "llu",
];

/** A C integer literal: random value (small or near a type boundary), base and suffix. */
const literal: fc.Arbitrary<string> = fc
  .record({
    value: fc.oneof(fc.bigInt({ min: 0n, max: 300n }), fc.constantFrom(...BOUNDARIES)),
    base: fc.constantFrom("dec", "hex", "oct"),
    suffix: fc.constantFrom(...SUFFIXES),
  })
  // An unsuffixed (or only-L) decimal past LLONG_MAX has no standard type: gcc extends it.
  .filter(({ value, base, suffix }) => !(base === "dec" && !/u/i.test(suffix) && value > I64_MAX))
  .map(({ value, base, suffix }) => {
    const digits =
      base === "hex"
        ? "0x" + value.toString(16)
        : base === "oct"
          ? value === 0n
            ? "0"
            : "0" + value.toString(8)
          : value.toString();
    return digits + suffix;
  });

const shiftCount: fc.Arbitrary<string> = fc
  .tuple(fc.integer({ min: 0, max: 66 }), fc.constantFrom("", "", "u", "ull"))
  .map(([n, s]) => `${n}${s}`);

function expression(depth: number): fc.Arbitrary<string> {
  if (depth === 0) return literal;
  const sub = expression(depth - 1);
  return fc.oneof(
    { weight: 2, arbitrary: literal },
    {
      weight: 4,
      arbitrary: fc
        .tuple(sub, fc.constantFrom("+", "-", "*", "&", "|", "^"), sub)
        .map(([a, op, b]) => `(${a} ${op} ${b})`),
    },
    {
      weight: 2,
      arbitrary: fc
        .tuple(sub, fc.constantFrom("<<", ">>"), shiftCount)
        .map(([a, op, n]) => `(${a} ${op} ${n})`),
    },
    {
      weight: 1,
      arbitrary: fc.tuple(fc.constantFrom("-", "~"), sub).map(([op, a]) => `${op}(${a})`),
    },
  );
}

/** A C literal with exactly `value`, wide enough that `==` compares values. */
function lit(value: string): string {
  const n = BigInt(value);
  if (n === -(1n << 63n)) return "(-9223372036854775807LL - 1)";
  if (n < 0n) return `(${n}LL)`;
  return n > I64_MAX ? `${n}ULL` : `${n}LL`;
}

describe("random expressions: our value and type equal gcc's", () => {
  const seed = Number(process.env.FUSE_UAPI_FC_SEED ?? Date.now() % 2 ** 31);
  const exprs = fc.sample(expression(3), { numRuns: 200, seed });

  for (const target of TARGETS) {
    test(`${exprs.length} expressions on ${target} (seed ${seed}; rerun with FUSE_UAPI_FC_SEED=${seed})`, async (t) => {
      const env = new DeclScope().env(target);
      const cases: { expr: string; v: string; t: string }[] = [];
      for (const expr of exprs) {
        try {
          const r = evaluateText(expr, env);
          cases.push({ expr, v: r.v.toString(), t: r.t.name });
        } catch (e) {
          if (!(e instanceof EvalError)) throw e; // shift counts out of range: undefined in C, skipped
        }
      }
      assert.ok(
        cases.length >= exprs.length / 4,
        `too few evaluable expressions (${cases.length} of ${exprs.length})`,
      );

      const tmp = await mkdtemp(join(tmpdir(), "fuse-uapi-cexpr-"));
      try {
        const probe = join(tmp, "probe.c");
        await writeFile(probe, "int probe;\n");
        let cmd: string[] | undefined;
        for (const c of COMPILERS[target]) {
          if ((await compiles(c, probe)).ok) {
            cmd = c;
            break;
          }
        }
        if (!cmd) {
          skipOrFail(
            t,
            `no compiler for ${target} (tried ${COMPILERS[target].map((c) => c.join(" ")).join(", ")})`,
          );
          return;
        }
        const lines = cases.map(
          (c, i) =>
            `_Static_assert((${c.expr}) == ${lit(c.v)} && _Generic(+(${c.expr}), ${c.t}: 1, default: 0), "case ${i}");`,
        );
        const file = join(tmp, `random.${target}.c`);
        await writeFile(file, lines.join("\n") + "\n");
        const r = await compiles(cmd, file);
        if (!r.ok) {
          const failed = [
            ...new Set([...r.stderr.matchAll(/"case (\d+)"/g)].map((m) => Number(m[1]))),
          ];
          const detail = failed
            .slice(0, 10)
            .map((i) => `  ${cases[i].expr}\n    ours: ${cases[i].t} ${cases[i].v}`)
            .join("\n");
          assert.fail(
            `gcc (${cmd.join(" ")}) disagrees on ${failed.length} of ${cases.length} expressions (seed ${seed}):\n${detail || r.stderr.slice(0, 2000)}`,
          );
        }
      } finally {
        await rm(tmp, { recursive: true, force: true });
      }
    });
  }
});
