/**
 * Golden tests: every `test/fixtures/golden/<name>.h` is a tiny invented header
 * that shows one construct (arrays, anonymous members, enums, conditionals, ...);
 * `<name>.schema.json` next to it is the schema `buildSchema` must produce for it,
 * compared with deep equality.
 *
 * UPDATE_GOLDEN=1 rewrites the expected files from the current output:
 *
 *     npx tsc -p . && UPDATE_GOLDEN=1 node --test dist/test/golden.test.js
 *
 * An update is a claim about the C ABI, not a formality. Review every changed
 * line (`git diff test/fixtures/golden`) before it is committed, and keep the
 * second suite below green: it checks the expected files themselves against real
 * compilers, so a wrong layout or value can never be blessed silently.
 *
 * That second suite turns each expected schema into `_Static_assert`s (struct
 * and field sizes, alignments and offsets, constant values and C types, enum
 * values, helper macros, typedef widths) and compiles them with gcc for
 * x86_64, i386 and aarch64, together with the fixture header itself. A target
 * whose compiler is missing is skipped, saying so.
 */
import assert from "node:assert/strict";
import { execFile } from "node:child_process";
import { existsSync } from "node:fs";
import { mkdtemp, readFile, readdir, rm, writeFile } from "node:fs/promises";
import { tmpdir } from "node:os";
import { dirname, join } from "node:path";
import { fileURLToPath } from "node:url";
import { after, before, describe, test } from "node:test";
import { promisify } from "node:util";
import { type Field, type Schema, type Target, TARGETS } from "../generator/model.js";
import { buildSchema } from "../generator/schema-builder.js";
import { partialOrFail, skipOrFail } from "./helpers/skip.js";

const run = promisify(execFile);

/** The repository root: the first folder above this file that holds package.json. */
function repoRoot(): string {
  let dir = dirname(fileURLToPath(import.meta.url));
  while (!existsSync(join(dir, "package.json"))) {
    const up = dirname(dir);
    if (up === dir) throw new Error("no package.json above the test file");
    dir = up;
  }
  return dir;
}

const GOLDEN = join(repoRoot(), "test", "fixtures", "golden");
const UPDATE = process.env.UPDATE_GOLDEN === "1";

const headers = (await readdir(GOLDEN)).filter((f) => f.endsWith(".h")).sort();
const expectedPath = (header: string) => join(GOLDEN, header.replace(/\.h$/, ".schema.json"));

describe("golden schemas", () => {
  test("there are fixtures, and every expected file has its header", async () => {
    assert.ok(headers.length >= 10, `expected golden fixtures in ${GOLDEN}`);
    const orphans = (await readdir(GOLDEN))
      .filter((f) => f.endsWith(".schema.json"))
      .filter((f) => !headers.includes(f.replace(/\.schema\.json$/, ".h")));
    assert.deepEqual(orphans, [], "expected schemas without a fixture header");
  });

  for (const header of headers) {
    test(header, async () => {
      const text = await readFile(join(GOLDEN, header), "utf8");
      const actual = JSON.parse(
        JSON.stringify(await buildSchema(text, { file: header })),
      ) as Schema;
      if (UPDATE) {
        await writeFile(expectedPath(header), JSON.stringify(actual, null, 2) + "\n");
        return;
      }
      assert.ok(
        existsSync(expectedPath(header)),
        `${expectedPath(header)} is missing: run with UPDATE_GOLDEN=1, then review it`,
      );
      const expected = JSON.parse(await readFile(expectedPath(header), "utf8")) as Schema;
      assert.deepEqual(actual, expected);
    });
  }
});

// ---------------------------------------------------------------------------
// The expected files, checked against real compilers.

/** Compilers to try per target, first that works wins. */
const COMPILERS: Record<Target, string[][]> = {
  x86_64: process.arch === "x64" ? [["cc"], ["x86_64-linux-gnu-gcc"]] : [["x86_64-linux-gnu-gcc"]],
  i386: [["i686-linux-gnu-gcc"], ["cc", "-m32"]],
  aarch64:
    process.arch === "arm64" ? [["cc"], ["aarch64-linux-gnu-gcc"]] : [["aarch64-linux-gnu-gcc"]],
};

/** The probe each compiler must pass: the system headers the fixtures include. */
const PROBE =
  "#include <stddef.h>\n#include <stdint.h>\n#include <linux/types.h>\n#include <linux/ioctl.h>\nint probe;\n";

let tmp: string;
const compilerFor = new Map<Target, string[] | null>();

async function compile(cmd: string[], file: string): Promise<{ ok: boolean; stderr: string }> {
  try {
    await run(
      cmd[0],
      [...cmd.slice(1), "-std=gnu11", "-fsyntax-only", "-Wall", "-Werror=div-by-zero", file],
      { timeout: 60_000 },
    );
    return { ok: true, stderr: "" };
  } catch (e) {
    const err = e as { stderr?: string; message: string };
    return { ok: false, stderr: err.stderr || err.message };
  }
}

/** A C literal with exactly `value`, typed wide enough that `==` compares values. */
function lit(value: string): string {
  const n = BigInt(value);
  if (n === -(1n << 63n)) return "(-9223372036854775807LL - 1)";
  if (n < 0n) return `(${n}LL)`;
  return n > (1n << 63n) - 1n ? `${n}ULL` : `${n}LL`;
}

function roundUp(n: number, to: number): number {
  return Math.ceil(n / to) * to;
}

/** One `_Static_assert` per layout figure and value the expected schema states for `target`. */
function assertions(schema: Schema, target: Target): string[] {
  const out: string[] = [];
  const check = (expr: string, what: string) =>
    out.push(`_Static_assert(${expr}, ${JSON.stringify(`${target}: ${what}`)});`);
  for (const s of schema.structs) {
    const tag = `${s.union ? "union" : "struct"} ${s.name}`;
    const l = s.layout[target];
    check(`sizeof(${tag}) == ${l.size}`, `sizeof(${tag}) is ${l.size}`);
    check(`_Alignof(${tag}) == ${l.align}`, `_Alignof(${tag}) is ${l.align}`);
    const member = (name: string) => `((${tag} *)0)->${name}`;
    const walk = (fields: readonly Field[], base: number) => {
      for (const f of fields) {
        const fl = f.layout[target];
        if (f.name === null) {
          assert.equal(
            f.type.kind,
            "record",
            `${tag}: a nameless member must be an anonymous record`,
          );
          if (f.type.kind === "record") walk(f.type.fields, base + fl.offset);
          continue;
        }
        check(
          `offsetof(${tag}, ${f.name}) == ${base + fl.offset}`,
          `offsetof(${tag}, ${f.name}) is ${base + fl.offset}`,
        );
        if (f.flexible) {
          check(
            `_Alignof(__typeof__(${member(f.name)}[0])) == ${fl.align}`,
            `${tag}.${f.name} elements align to ${fl.align}`,
          );
        } else {
          check(`sizeof(${member(f.name)}) == ${fl.size}`, `sizeof ${tag}.${f.name} is ${fl.size}`);
          check(
            `_Alignof(__typeof__(${member(f.name)})) == ${fl.align}`,
            `${tag}.${f.name} aligns to ${fl.align}`,
          );
        }
      }
    };
    walk(s.fields, 0);
  }
  for (const c of schema.constants) {
    if (c.value === null) continue;
    const value = c.targetValues?.[target] ?? c.value;
    check(`(${c.name}) == ${lit(value)}`, `${c.name} is ${value}`);
    // The schema records the type on the primary target (aarch64 is LP64 too) after
    // integer promotion, which unary `+` applies: `(uint16_t)1` is used as an int.
    if (c.type && target !== "i386")
      check(`_Generic(+(${c.name}), ${c.type}: 1, default: 0)`, `${c.name} has type ${c.type}`);
  }
  for (const e of schema.enums)
    for (const m of e.members) check(`${m.name} == ${lit(m.value)}`, `${m.name} is ${m.value}`);
  for (const m of schema.macros) {
    if (!m.helper) continue;
    const a = m.helper.alignment;
    for (let x = 0; x <= 3 * a; x++)
      check(`${m.name}(${x}) == ${roundUp(x, a)}`, `${m.name}(${x}) is ${roundUp(x, a)}`);
  }
  const wide = target === "i386" ? 4 : 8;
  for (const t of schema.typedefs) {
    const type = t.type;
    if (type.kind === "int") {
      const bytes = Number(type.name.replace(/\D/g, "")) / 8;
      check(`sizeof(${t.name}) == ${bytes}`, `sizeof(${t.name}) is ${bytes}`);
      check(
        `(((${t.name})-1) < 0) == ${type.name.startsWith("int") ? 1 : 0}`,
        `${t.name} is ${type.name}`,
      );
    } else if (type.kind === "long" || type.kind === "pointer") {
      check(`sizeof(${t.name}) == ${wide}`, `sizeof(${t.name}) is ${wide}`);
    } else if (type.kind === "struct" || type.kind === "union") {
      check(
        `sizeof(${t.name}) == sizeof(${type.kind} ${type.name})`,
        `${t.name} is ${type.kind} ${type.name}`,
      );
    }
  }
  return out;
}

/** The padding holes that the (compiler-checked) offsets and sizes imply. */
function impliedHoles(fields: readonly Field[], union: boolean, size: number, target: Target) {
  const holes: { after: string | null; offset: number; size: number }[] = [];
  let end = 0;
  let prev: string | null = null;
  for (const f of fields) {
    const l = f.layout[target];
    if (!union && l.offset > end) holes.push({ after: prev, offset: end, size: l.offset - end });
    end = union ? Math.max(end, l.size) : l.offset + l.size;
    prev = f.name;
  }
  if (size > end) holes.push({ after: union ? null : prev, offset: end, size: size - end });
  return holes;
}

describe("golden schemas agree with gcc", () => {
  before(async () => {
    tmp = await mkdtemp(join(tmpdir(), "fuse-uapi-golden-"));
    const probe = join(tmp, "probe.c");
    await writeFile(probe, PROBE);
    for (const target of TARGETS) {
      compilerFor.set(target, null);
      for (const cmd of COMPILERS[target]) {
        if ((await compile(cmd, probe)).ok) {
          compilerFor.set(target, cmd);
          break;
        }
      }
    }
  });
  after(async () => {
    if (tmp) await rm(tmp, { recursive: true, force: true });
  });

  for (const header of headers) {
    test(header, async (t) => {
      if (!existsSync(expectedPath(header))) return skipOrFail(t, "no expected schema yet");
      const expected = JSON.parse(await readFile(expectedPath(header), "utf8")) as Schema;
      for (const s of expected.structs)
        for (const target of TARGETS)
          assert.deepEqual(
            s.layout[target].padding,
            impliedHoles(s.fields, s.union, s.layout[target].size, target),
            `${s.name} on ${target}: padding holes do not follow from the field layout`,
          );
      for (const target of TARGETS) {
        const cmd = compilerFor.get(target);
        if (!cmd) {
          partialOrFail(
            t,
            `${target}: no working compiler (tried ${COMPILERS[target].map((c) => c.join(" ")).join(", ")})`,
          );
          continue;
        }
        const file = join(tmp, `${header.replace(/\.h$/, "")}.${target}.c`);
        const source = [
          `#include <stddef.h>`,
          `#include ${JSON.stringify(join(GOLDEN, header))}`,
          ...assertions(expected, target),
          "",
        ].join("\n");
        await writeFile(file, source);
        const r = await compile(cmd, file);
        assert.ok(
          r.ok,
          `${cmd.join(" ")} rejects the expected schema of ${header} on ${target}:\n${r.stderr}`,
        );
      }
    });
  }
});
