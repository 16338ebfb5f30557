/**
 * The CLI as a user meets it: exit codes, one-line errors with file:line:col,
 * and no output file when a run fails.
 */
import assert from "node:assert/strict";
import { spawnSync } from "node:child_process";
import { existsSync, mkdtempSync, readdirSync, readFileSync, rmSync, writeFileSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { after, test } from "node:test";
import { repoRoot } from "../generator/revisions/registry.js";
import { skipOrFail } from "./helpers/skip.js";

const CLI = join(repoRoot(), "dist", "generator", "cli.js");
const work = mkdtempSync(join(tmpdir(), "fuse-uapi-cli-"));
after(() => rmSync(work, { recursive: true, force: true }));

function run(args: string[], input?: string) {
  const r = spawnSync(process.execPath, [CLI, ...args], { encoding: "utf8", input, cwd: work });
  return { code: r.status, out: r.stdout, err: r.stderr };
}

function header(name: string, text: string): string {
  const path = join(work, name);
  writeFileSync(path, text);
  return path;
}

test("schema: a valid header gives schema JSON on stdout and atomically into -o", () => {
  const h = header(
    "ok.h",
    "#include <stdint.h>\n/** A demo. */\nstruct demo { uint32_t a; uint64_t b; };\n#define DEMO_MAX 16\n",
  );
  const r = run(["schema", h]);
  assert.equal(r.code, 0, r.err);
  const schema = JSON.parse(r.out);
  assert.equal(schema.structs[0].name, "demo");
  assert.equal(schema.structs[0].size, 16);
  assert.equal(schema.structs[0].doc, "A demo.");
  const out = join(work, "ok.json");
  assert.equal(run(["schema", h, "-o", out]).code, 0);
  assert.equal(readFileSync(out, "utf8"), r.out);
  assert.deepEqual(
    readdirSync(work).filter((f) => f.endsWith(".tmp")),
    [],
    "no temporary file left behind",
  );
});

test("schema: syntax error and unknown type give file:line:col, exit 2, and no output file", () => {
  const cases: [string, string, RegExp][] = [
    ["syntax.h", "struct a {\n\tint x\n\tint y;\n};\n", /syntax\.h:2:7: syntax error: missing ';'/],
    [
      "unknown.h",
      "struct a {\n\tuint32_t x;\n\tfoo_t y;\n};\n",
      /unknown\.h:3:2: unknown type 'foo_t'/,
    ],
  ];
  for (const [name, text, message] of cases) {
    const out = join(work, `${name}.json`);
    const r = run(["schema", header(name, text), "-o", out]);
    assert.equal(r.code, 2, name);
    assert.match(r.err, message);
    assert.equal(r.err.trim().split("\n").length, 1, "one line");
    assert.equal(existsSync(out), false, "no output file");
  }
});

test("schema: a missing file and a bad patch are one-line errors with exit 2", () => {
  let r = run(["schema", join(work, "nope.h")]);
  assert.equal(r.code, 2);
  assert.match(r.err, /nope\.h: no such header/);
  const h = header("base.h", "#define A 1\n");
  const mail = join(work, "bad.patch");
  writeFileSync(
    mail,
    "Subject: [PATCH] nothing for fuse.h\n\n---\ndiff --git a/x.c b/x.c\n--- a/x.c\n+++ b/x.c\n@@ -1 +1 @@\n-a\n+b\n",
  );
  r = run(["schema", h, "--patch", mail]);
  assert.equal(r.code, 2);
  assert.match(r.err, /bad\.patch/);
});

test("unknown command or option: exit 2 with usage", () => {
  assert.equal(run(["frobnicate"]).code, 2);
  assert.equal(run(["schema", "--bogus"]).code, 2);
  const r = run(["check", header("t.h", "#define A 1\n"), "--target", "mips"]);
  assert.equal(r.code, 2);
  assert.match(r.err, /unknown target 'mips'/);
});

test("revisions: lists every known revision", () => {
  const r = run(["revisions", "--json"]);
  assert.equal(r.code, 0, r.err);
  const names = (JSON.parse(r.out) as { name: string }[]).map((x) => x.name);
  for (const n of ["base-7.45", "rfc-v1", "rfc-v2", "rfc-v3", "v4", "v5", "v6"])
    assert.ok(names.includes(n), n);
});

test("generate: renders a schema into <dir>/<revision>/ and is deterministic", () => {
  const schema = join(repoRoot(), "schema", "revisions", "v6.json");
  const a = join(work, "gen-a");
  const b = join(work, "gen-b");
  assert.equal(run(["generate", schema, "-o", a]).code, 0);
  assert.equal(run(["generate", schema, "-o", b]).code, 0);
  const files = readdirSync(join(a, "v6")).sort();
  assert.ok(files.includes("structs.ts") && files.includes("codecs.ts"));
  for (const f of files)
    assert.equal(readFileSync(join(a, "v6", f), "utf8"), readFileSync(join(b, "v6", f), "utf8"), f);
  // ... and identical to the committed folder.
  for (const f of files)
    assert.equal(
      readFileSync(join(a, "v6", f), "utf8"),
      readFileSync(join(repoRoot(), "generated", "v6", f), "utf8"),
      f,
    );
});

test("generate: a file that is not a schema is refused (exit 2), nothing written", () => {
  const bad = join(work, "bad-schema.json");
  writeFileSync(bad, JSON.stringify({ schemaVersion: 2, structs: "no" }));
  const out = join(work, "gen-bad");
  const r = run(["generate", bad, "-o", out]);
  assert.equal(r.code, 2);
  assert.match(r.err, /not a fuse-uapi schema/);
  assert.equal(existsSync(out), false);
});

test("check: --emit-c keeps a C file that compiles on its own", (t) => {
  const h = header(
    "emit.h",
    "#include <stdint.h>\nstruct e { uint8_t a; uint64_t b; };\n#define E_MAX (1ULL << 40)\n",
  );
  const dir = join(work, "emit");
  const r = run(["check", h, "--target", "x86_64", "--emit-c", dir]);
  if (r.code !== 0 && /no working x86_64 compiler/.test(r.err))
    return skipOrFail(t, "no C compiler");
  assert.equal(r.code, 0, r.err + r.out);
  assert.match(r.out, /emit\.h x86_64: (\d+)\/\1 facts proven \(100\.0%\)/);
  const c = readFileSync(join(dir, "check-x86_64.c"), "utf8");
  assert.match(c, /_Static_assert/);
  const cc = spawnSync("cc", ["-fsyntax-only", "-std=gnu11", join(dir, "check-x86_64.c")], {
    encoding: "utf8",
  });
  assert.equal(cc.status, 0, cc.stderr);
});
