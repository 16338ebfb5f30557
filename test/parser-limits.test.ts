/**
 * Headers that are legal but extreme: nesting thousands deep, macros that
 * explode, and many thousands of #defines. The parser must answer each with a
 * typed `file:line:col` error or a result, never a stack overflow, and in work
 * linear in the header (measured by counting tree-sitter nodes touched, not
 * by the clock). Big headers are parsed in chunks (generator/parse/chunks.ts):
 * chunked and whole parses must agree exactly.
 */
import assert from "node:assert/strict";
import { spawnSync } from "node:child_process";
import { mkdtempSync, readdirSync, readFileSync, rmSync, writeFileSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { after, describe, test } from "node:test";
import { Node } from "web-tree-sitter";
import { MAX_EXPR_DEPTH } from "../generator/cexpr/evaluate.js";
import { HeaderError } from "../generator/errors.js";
import { jsonChunks, jsonText } from "../generator/io.js";
import { planChunks } from "../generator/parse/chunks.js";
import { MAX_NESTING, parseHeader } from "../generator/parse/header.js";
import { repoRoot } from "../generator/revisions/registry.js";
import { buildSchema } from "../generator/schema-builder.js";

const FILE = "extreme.h";
const work = mkdtempSync(join(tmpdir(), "fuse-uapi-limits-"));
after(() => rmSync(work, { recursive: true, force: true }));

async function rejectsAt(
  text: string,
  line: number,
  column: number,
  detail: RegExp,
): Promise<void> {
  let caught: unknown;
  try {
    await buildSchema(text, { file: FILE });
  } catch (e) {
    caught = e;
  }
  assert.ok(
    caught instanceof HeaderError,
    `expected a HeaderError, got ${caught === undefined ? "success" : String(caught).slice(0, 300)}`,
  );
  assert.deepEqual(
    { line: caught.line, column: caught.column },
    { line, column },
    caught.message.slice(0, 300),
  );
  assert.match(caught.detail, detail);
}

const parens = (n: number, inner = "1") => "(".repeat(n) + inner + ")".repeat(n);
const DEEP = 2000;

describe("nesting deeper than the limits is a file:line:col error, not a stack overflow", () => {
  test("a #define nested 2000 parentheses deep (the reported case)", async () => {
    await rejectsAt(
      `#define A 1\n#define DEEP ${parens(DEEP)}\n`,
      2,
      1,
      /in #define DEEP: expression nested more than \d+ levels deep/,
    );
  });

  test("unary operators, casts and ?: chains count as nesting too", async () => {
    await rejectsAt(`#define NEG ${"- ".repeat(DEEP)}1\n`, 1, 1, /NEG: expression nested/);
    await rejectsAt(
      `#include <stdint.h>\n#define CAST ${"(uint32_t)".repeat(DEEP)}1\n`,
      2,
      1,
      /CAST: expression nested/,
    );
    await rejectsAt(
      `#define T ${"1 ? ".repeat(DEEP)}1${" : 0".repeat(DEEP)}\n`,
      1,
      1,
      /T: expression nested/,
    );
  });

  test("in #if, array sizes and enumerators, the error points at the expression", async () => {
    await rejectsAt(
      `#if ${parens(DEEP)}\n#endif\n`,
      1,
      5,
      /cannot evaluate #if condition: expression nested/,
    );
    await rejectsAt(
      `struct s {\n\tint a[${parens(DEEP)}];\n};\n`,
      2,
      8,
      /array size '\(\(\(.*\.\.\.' is not a constant: expression nested/,
    );
    await rejectsAt(
      `enum e {\n\tE = ${parens(DEEP)},\n};\n`,
      2,
      6,
      /enumerator E: expression nested/,
    );
  });

  test("nesting built by macro expansion is caught as well", async () => {
    const lines = ["#define P0 1"];
    for (let i = 1; i <= 40; i++) lines.push(`#define P${i} ${parens(10, `P${i - 1}`)}`);
    await rejectsAt(lines.join("\n") + "\n", 27, 1, /in #define P26: expression nested/);
  });

  test("struct nesting, pointer, parenthesized and array declarators", async () => {
    const struct = `struct s { ${"struct { ".repeat(DEEP)}int a; ${"} x;".repeat(DEEP)} };\n`;
    await rejectsAt(
      struct,
      1,
      12 + 9 * (MAX_NESTING - 1),
      /struct definitions nested more than \d+ levels deep/,
    );
    await rejectsAt(
      `struct s { int ${"*".repeat(DEEP)}p; };\n`,
      1,
      16 + MAX_NESTING + 1,
      /declarator nested more than \d+ levels deep/,
    );
    await rejectsAt(
      `struct s { int ${parens(DEEP, "p")}; };\n`,
      1,
      16 + MAX_NESTING + 1,
      /declarator nested more than \d+ levels deep/,
    );
    await rejectsAt(
      `struct s { int p${"[1]".repeat(DEEP)}; };\n`,
      1,
      16,
      /declarator nested more than \d+ levels deep/,
    );
  });

  test("macros whose expansion doubles at each level stop at a token budget", async () => {
    const lines = ["#define A0 1"];
    for (let i = 1; i < 60; i++) lines.push(`#define A${i} (A${i - 1} + A${i - 1})`);
    await rejectsAt(
      lines.join("\n") + "\n",
      19,
      1,
      /in #define A18: macro expansion exceeds \d+ tokens/,
    );
  });

  test("the CLI prints one line and exits 2", () => {
    const h = join(work, "deep.h");
    writeFileSync(h, `#define DEEP ${parens(DEEP)}\n`);
    const r = spawnSync(
      process.execPath,
      [join(repoRoot(), "dist", "generator", "cli.js"), "schema", h],
      { encoding: "utf8" },
    );
    assert.equal(r.status, 2, r.stderr);
    assert.match(
      r.stderr,
      /deep\.h:1:1: in #define DEEP: expression nested more than \d+ levels deep/,
    );
    assert.equal(r.stderr.trim().split("\n").length, 1);
  });
});

describe("within the limits, and where no limit is needed", () => {
  test("nesting up to the limit still evaluates", async () => {
    const s = await buildSchema(
      `#define OK ${parens(MAX_EXPR_DEPTH - 10)}\n#define NEG ${"- ".repeat(100)}7\n`,
      { file: FILE },
    );
    assert.equal(s.constants.find((c) => c.name === "OK")?.value, "1");
    assert.equal(s.constants.find((c) => c.name === "NEG")?.value, "7");
    const struct = `struct s { ${"struct { ".repeat(100)}unsigned int a; ${"} x;".repeat(100)} };\n`;
    assert.equal((await buildSchema(struct, { file: FILE })).structs[0]!.size, 4);
  });

  test("100,000 nested #if, a 100,000-branch #elif chain and a syntax error 100,000 parentheses deep", async () => {
    const n = 100_000;
    let s = await buildSchema("#if 1\n".repeat(n) + "#define INSIDE 42\n" + "#endif\n".repeat(n), {
      file: FILE,
    });
    assert.equal(s.constants.find((c) => c.name === "INSIDE")?.value, "42");
    s = await buildSchema("#if 0\n" + "#elif 0\n".repeat(n) + "#else\n#define LAST 7\n#endif\n", {
      file: FILE,
    });
    assert.equal(s.constants.find((c) => c.name === "LAST")?.value, "7");
    await rejectsAt(`#if ${parens(n, "1 +")}\n#endif\n`, 1, 5 + n + 3, /syntax error/);
  });

  test("a macro of 200,000 tokens used by others (no spread of huge arrays)", async () => {
    const wide = Array.from({ length: 200_000 }, () => "1").join("+");
    const s = await buildSchema(`#define W (${wide})\n#define W2 W\n`, { file: FILE });
    assert.equal(s.constants.find((c) => c.name === "W2")?.value, "200000");
  });
});

/** A header of `n` object-like #defines in fuse.h's styles, with an include guard and doc comments. */
function definesHeader(n: number): string {
  const out = ["#ifndef _BIG_H", "#define _BIG_H", "", "#include <stdint.h>", ""];
  for (let i = 0; i < n; i++) {
    const name = `BIG_${i}`;
    if (i % 5 === 0) out.push(`/** Doc of ${i}. */`, `#define ${name} ${i}`);
    else if (i % 5 === 1) out.push(`#define ${name} (1U << ${i % 31})  /* bit */`);
    else if (i % 5 === 2)
      out.push(`#define ${name} (BIG_${i - 1} | 0x${(i & 0xffff).toString(16)})`);
    else if (i % 5 === 3) out.push(`#define ${name} ((uint64_t)${i} * 4096ULL)`);
    else out.push(`#if ${i % 2}`, `#define ${name} ${i}L`, "#else", `#define ${name} 0`, "#endif");
  }
  out.push("", "#endif", "");
  return out.join("\n");
}

/** Nodes tree-sitter hands to JavaScript as child lists, and parent lookups (each costs time linear in the siblings). */
function countTreeWork<T>(
  run: () => Promise<T>,
): Promise<{ result: T; nodes: number; parents: number }> {
  const proto = Node.prototype as unknown as Record<string, unknown>;
  const originals = new Map<string, PropertyDescriptor>();
  let nodes = 0;
  let parents = 0;
  for (const name of ["children", "namedChildren", "parent"]) {
    const d = Object.getOwnPropertyDescriptor(Node.prototype, name)!;
    originals.set(name, d);
    Object.defineProperty(proto, name, {
      configurable: true,
      get(this: Node) {
        const v = d.get!.call(this) as unknown;
        if (name === "parent") parents++;
        else nodes += (v as unknown[]).length;
        return v;
      },
    });
  }
  return run().then(
    (result) => {
      for (const [name, d] of originals) Object.defineProperty(proto, name, d);
      return { result, nodes, parents };
    },
    (e: unknown) => {
      for (const [name, d] of originals) Object.defineProperty(proto, name, d);
      throw e;
    },
  );
}

describe("work linear in the number of #defines", () => {
  test("4x the defines touch at most ~4x the tree nodes (was quadratic: each #define re-listed all its siblings)", async () => {
    const small = await countTreeWork(() => parseHeader(definesHeader(2_500), FILE));
    const big = await countTreeWork(() => parseHeader(definesHeader(10_000), FILE));
    assert.equal(big.result.constants.length, 10_000);
    const ratio = big.nodes / small.nodes;
    assert.ok(
      ratio > 3 && ratio < 5,
      `nodes touched: ${small.nodes} for 2,500 defines, ${big.nodes} for 10,000 (ratio ${ratio.toFixed(2)})`,
    );
    assert.ok(big.nodes < 20 * 10_000, `${big.nodes} nodes touched for 10,000 defines`);
    assert.ok(
      big.parents <= small.parents * 5,
      `parent lookups: ${small.parents} -> ${big.parents}`,
    );
  });

  test("a chunked parse gives exactly the whole parse (golden fixtures, the corpus, a big generated header)", async () => {
    const strip = (p: Awaited<ReturnType<typeof parseHeader>>) =>
      JSON.stringify({ ...p, scope: null }, (_k, v: unknown) =>
        typeof v === "bigint" ? v.toString() : v,
      );
    const golden = join(repoRoot(), "test", "fixtures", "golden");
    const texts = readdirSync(golden)
      .filter((f) => f.endsWith(".h"))
      .map((f) => readFileSync(join(golden, f), "utf8"));
    texts.push(definesHeader(3_000), readFileSync("/usr/include/linux/fuse.h", "utf8"));
    let chunked = 0;
    for (const text of texts) {
      const whole = strip(await parseHeader(text, FILE, { chunkSize: Infinity }));
      for (const size of [64, 500, 4096]) {
        if ((planChunks(text, size)?.length ?? 1) > 1) chunked++;
        assert.equal(
          strip(await parseHeader(text, FILE, { chunkSize: size })),
          whole,
          `chunk size ${size}`,
        );
      }
    }
    assert.ok(chunked > texts.length, `most texts were really split (${chunked})`);
  });

  test("chunks keep conditionals decided once, docs with their items, and errors at their own line", async () => {
    const text = [
      "#ifndef G", // 1
      "#define G", // 2
      ...Array.from({ length: 50 }, (_, i) => `/** doc ${i} */\n#define A${i} ${i}`), // 3..102
      "#elif 1", // 103
      "#define NEVER 1",
      "#else",
      "#define NEITHER 1",
      "#endif", // 107
      "struct s { int x; };", // 108
      "struct t { unknown_t y; };", // 109
      "",
    ].join("\n");
    const chunks = planChunks(text, 100)!;
    assert.ok(chunks.length > 5);
    const p = await parseHeader(text.replace("unknown_t", "int"), FILE, { chunkSize: 100 });
    assert.deepEqual(
      p.constants.map((c) => c.name),
      Array.from({ length: 50 }, (_, i) => `A${i}`),
    );
    assert.deepEqual(
      p.constants.map((c) => c.doc),
      Array.from({ length: 50 }, (_, i) => `doc ${i}`),
    );
    await assert.rejects(
      parseHeader(text, FILE, { chunkSize: 100 }),
      (e: unknown) => e instanceof HeaderError && e.line === 109 && e.column === 12,
    );
  });

  test("what the chunker does not follow is parsed whole", () => {
    const pad = "#define X 1\n".repeat(50);
    assert.equal(planChunks(`#if 1\n${pad}`, 100), null, "unterminated #if");
    assert.equal(planChunks(`${pad}#endif\n${pad}`, 100), null, "#endif without #if");
    assert.equal(planChunks(`${pad}/* unterminated\n${pad}`, 100), null, "unterminated comment");
    assert.equal(planChunks(pad, 10_000), null, "small enough");
    assert.ok((planChunks(pad, 100)?.length ?? 0) > 1);
  });

  test("the schema JSON written in pieces is byte for byte jsonText", async () => {
    const schema = await buildSchema(definesHeader(300), { file: FILE });
    assert.equal([...jsonChunks(schema, 1000)].join(""), jsonText(schema));
    const committed = join(repoRoot(), "schema", "revisions", "v6.json");
    const text = readFileSync(committed, "utf8");
    assert.equal([...jsonChunks(JSON.parse(text))].join(""), text);
  });
});
