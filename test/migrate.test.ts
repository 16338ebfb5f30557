/**
 * `fuse-uapi migrate`: the ts-morph codemod, on a downstream project written against v5
 * (test/fixtures/migrate/consumer: CompoundBuilder with v5 flags, FUSE_MAX_COMPOUND_OPS,
 * the count fields, a package import and a relative one), moved to v6; and on an invented
 * revision pair that has a provable rename and a flag whose bit another name took.
 *
 * After --write, the migrated project is compiled with the repository's own TypeScript (not
 * the one the tool uses): it must fail exactly where the plan says it cannot fix.
 */
import assert from "node:assert/strict";
import { execFile } from "node:child_process";
import { cp, mkdir, mkdtemp, readdir, readFile, rm, symlink, writeFile } from "node:fs/promises";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { after, before, describe, test } from "node:test";
import { promisify } from "node:util";
import ts from "typescript";
import { rewriteSpecifier, type MigratePlan } from "../generator/commands/migrate.js";
import { jsonText } from "../generator/io.js";
import { repoRoot } from "../generator/revisions/registry.js";
import { buildSchema } from "../generator/schema-builder.js";

const run = promisify(execFile);
const CLI = join(repoRoot(), "dist", "generator", "cli.js");
const FIXTURE = join(repoRoot(), "test", "fixtures", "migrate", "consumer");

async function cli(
  cwd: string,
  ...args: string[]
): Promise<{ code: number; stdout: string; stderr: string }> {
  try {
    const r = await run(process.execPath, [CLI, ...args], { cwd, maxBuffer: 64 << 20 });
    return { code: 0, stdout: r.stdout, stderr: r.stderr };
  } catch (e) {
    const x = e as { code: number; stdout: string; stderr: string };
    return { code: x.code, stdout: x.stdout, stderr: x.stderr };
  }
}

/** Every diagnostic of a project, as "file:line:col TScode", compiled with this repository's TypeScript. */
function compile(tsconfig: string, cwd: string): string[] {
  const parsed = ts.getParsedCommandLineOfConfigFile(
    tsconfig,
    {},
    { ...ts.sys, onUnRecoverableConfigFileDiagnostic: (d) => assert.fail(String(d.messageText)) },
  );
  assert.ok(parsed);
  const program = ts.createProgram(parsed.fileNames, parsed.options);
  return ts.getPreEmitDiagnostics(program).map((d) => {
    const { line, character } = d.file!.getLineAndCharacterOfPosition(d.start!);
    return `${d.file!.fileName.slice(cwd.length + 1)}:${line + 1}:${character + 1} TS${d.code}`;
  });
}

async function readSources(dir: string): Promise<Map<string, string>> {
  const out = new Map<string, string>();
  for (const f of (await readdir(dir)).sort()) out.set(f, await readFile(join(dir, f), "utf8"));
  return out;
}

const at = (l: { file: string; line: number; col: number }) => `${l.file}:${l.line}:${l.col}`;

describe("v5 → v6 on the fixture project", () => {
  let tmp: string;
  let copy: string;
  let dryPlan: MigratePlan;
  before(async () => {
    // The fixture's relative paths reach generated/ five levels up: mirror that layout.
    tmp = await mkdtemp(join(tmpdir(), "fuse-uapi-migrate-"));
    copy = join(tmp, "test", "fixtures", "migrate", "consumer");
    await mkdir(join(tmp, "test", "fixtures", "migrate"), { recursive: true });
    await cp(FIXTURE, copy, { recursive: true });
    await symlink(join(repoRoot(), "generated"), join(tmp, "generated"));
  });
  after(async () => {
    if (tmp) await rm(tmp, { recursive: true, force: true });
  });

  test("the fixture compiles against v5", () => {
    assert.deepEqual(compile(join(FIXTURE, "tsconfig.json"), FIXTURE), []);
  });

  test("dry run: the plan, exit 1 for what cannot be fixed, nothing written", async () => {
    const before = await readSources(join(FIXTURE, "src"));
    const r = await cli(FIXTURE, "migrate", "--from", "v5", "--to", "v6", "--format", "json");
    assert.equal(r.code, 1, r.stderr);
    assert.equal(r.stderr, "");
    const plan = (dryPlan = JSON.parse(r.stdout) as MigratePlan);
    assert.equal(plan.project, "tsconfig.json");
    assert.deepEqual(plan.files, [
      "src/client.mts",
      "src/codecs.mts",
      "src/header.mts",
      "src/server.mts",
    ]);
    assert.deepEqual(
      plan.rewrites.map((w) => `${at(w)} ${w.from} → ${w.to}`),
      [
        "src/client.mts:11:8 fuse-uapi/revisions/v5 → fuse-uapi/revisions/v6",
        "src/codecs.mts:2:95 fuse-uapi/revisions/v5 → fuse-uapi/revisions/v6",
        "src/header.mts:2:76 fuse-uapi/revisions/v5 → fuse-uapi/revisions/v6",
        "src/server.mts:2:83 ../../../../../generated/v5/index.js → ../../../../../generated/v6/index.js",
      ],
    );
    assert.deepEqual(
      plan.renames,
      [],
      "v6 renames nothing: FUSE_COMPOUND_ATOMIC moved to bit 2 and CONTINUE took bit 1",
    );
    // Every use of FUSE_MAX_COMPOUND_OPS: the import and both uses in the bound check.
    assert.deepEqual(
      plan.cannotFix.map((f) => `${at(f)} ${f.symbol}`),
      [
        "src/client.mts:7:3 FUSE_MAX_COMPOUND_OPS",
        "src/client.mts:19:18 FUSE_MAX_COMPOUND_OPS",
        "src/client.mts:19:68 FUSE_MAX_COMPOUND_OPS",
      ],
    );
    assert.match(
      plan.cannotFix[0].why,
      /^removed in v6 \(const FUSE_MAX_COMPOUND_OPS: 16\); C ABI: constant-removed FUSE_MAX_COMPOUND_OPS: removed \(was 16\); no provable rename$/,
    );
    // Uses that still resolve but whose value or shape changed.
    const review = new Map<string, string[]>();
    for (const f of plan.review) review.set(f.symbol!, [...(review.get(f.symbol!) ?? []), at(f)]);
    assert.deepEqual(review.get("FUSE_COMPOUND_ATOMIC"), [
      "src/client.mts:5:3",
      "src/client.mts:25:46",
      "src/server.mts:2:33",
      "src/server.mts:6:41",
    ]);
    assert.match(
      plan.review.find((f) => f.symbol === "FUSE_COMPOUND_ATOMIC")!.why,
      /const: 2 → 4; C ABI: flag-renumbered FUSE_COMPOUND_ATOMIC: bit 1 → bit 2/,
    );
    assert.deepEqual([...review.keys()].sort(), [
      "DecodedCompound",
      "FUSE_COMPOUND_ATOMIC",
      "FuseCompoundIn",
      "FuseCompoundOut",
      "decodeCompoundRequest",
      "encodeFuseCompoundIn",
    ]);
    assert.ok(
      !review.has("CompoundBuilder") && !review.has("CompoundFlagName"),
      "unchanged or compatibly widened",
    );
    // What the rewritten text no longer compiles: the count fields.
    assert.deepEqual(
      plan.compileErrors.map((f) => `${at(f)} TS${f.code}`),
      ["src/header.mts:5:35 TS2353", "src/header.mts:12:14 TS2339", "src/server.mts:7:66 TS2339"],
    );
    assert.match(
      plan.compileErrors[2].why,
      /Property 'count' does not exist on type 'FuseCompoundIn'\. \(FuseCompoundIn: interface: count removed\)/,
    );
    assert.deepEqual(plan.written, []);
    assert.deepEqual(await readSources(join(FIXTURE, "src")), before, "a dry run writes nothing");
  });

  test("--write: imports rewritten, and the project fails to compile exactly where the plan said", async () => {
    const original = await readSources(join(copy, "src"));
    const r = await cli(copy, "migrate", "--from", "v5", "--to", "v6", "--write");
    assert.equal(r.code, 1, r.stderr);
    assert.match(r.stdout, /^migrate v5 → v6 \(tsconfig\.json\): 4 file\(s\) import v5\n/);
    assert.match(
      r.stdout,
      /\ncannot fix \(3 use\(s\) of 1 symbol\(s\)\):\n {2}FUSE_MAX_COMPOUND_OPS: removed in v6/,
    );
    assert.match(
      r.stdout,
      /\nresult: 3 use\(s\) of removed symbols and 3 compile error\(s\) to fix by hand\nwrote 4 file\(s\): src\/client\.mts, src\/codecs\.mts, src\/header\.mts, src\/server\.mts\n$/,
    );
    const migrated = await readSources(join(copy, "src"));
    for (const [file, text] of original) {
      // The only textual change: the revision in the import specifiers.
      assert.equal(
        migrated.get(file),
        text
          .replace('"fuse-uapi/revisions/v5"', '"fuse-uapi/revisions/v6"')
          .replace("/generated/v5/", "/generated/v6/"),
        file,
      );
    }
    const plan = dryPlan; // the same project in place: same locations
    const listed = [
      ...plan.cannotFix.filter((f) => f.line === 7).map((f) => `${at(f)}`),
      ...plan.compileErrors.map((f) => `${at(f)}`),
    ];
    const errors = compile(join(copy, "tsconfig.json"), copy);
    // Each compiler error sits at a listed place (the import of FUSE_MAX_COMPOUND_OPS stands for its uses).
    assert.deepEqual(errors.map((e) => e.split(" ")[0]).sort(), listed.sort());
    assert.ok(
      !errors.some((e) => e.startsWith("src/codecs.mts")),
      "API shared by v5 and v6 migrates cleanly",
    );
    // Run again on the migrated project: it no longer imports v5.
    const again = await cli(copy, "migrate", "--from", "v5", "--to", "v6");
    assert.equal(again.code, 0, again.stderr);
    assert.match(again.stdout, /: 0 file\(s\) import v5\n/);
  });
});

describe("renames, on an invented revision pair", () => {
  let tmp: string;
  const PRE = "#include <linux/types.h>\n";
  // demo-b renames DEMO_LIMIT_OLD (a plain constant, same value, no other candidate) and gives
  // DEMO_FLAG_X's bit to DEMO_FLAG_Y: the C ABI calls that flag-bit-reused, a new meaning.
  const A = `${PRE}#define DEMO_KERNEL_VERSION 7\n#define DEMO_LIMIT_OLD 9\n#define DEMO_FLAG_X (1 << 0)\n#define DEMO_FLAG_Z (1 << 1)\nstruct demo_in { __u32 a; __u32 b; };\n`;
  const B = `${PRE}#define DEMO_KERNEL_VERSION 7\n#define DEMO_LIMIT 9\n#define DEMO_FLAG_Y (1 << 0)\n#define DEMO_FLAG_Z (1 << 1)\nstruct demo_in { __u32 a; __u32 b; };\n`;
  const SOURCE = `import { DEMO_LIMIT_OLD, DEMO_FLAG_X, DEMO_FLAG_Z, DEMO_KERNEL_VERSION } from "fuse-uapi/revisions/demo-a";
import { DEMO_LIMIT_OLD as limit } from "fuse-uapi/revisions/demo-a";
import * as demo from "fuse-uapi/revisions/demo-a";
export const twice = DEMO_LIMIT_OLD * 2 + limit + DEMO_KERNEL_VERSION;
export const table = { DEMO_LIMIT_OLD };
export const both = DEMO_FLAG_X | DEMO_FLAG_Z;
export const viaNamespace: number = demo.DEMO_LIMIT_OLD;
export { DEMO_LIMIT_OLD };
export type T = typeof import("fuse-uapi/revisions/demo-a").DEMO_LIMIT_OLD;
`;
  const REEXPORT = `export { DEMO_LIMIT_OLD, DEMO_FLAG_Z as z } from "fuse-uapi/revisions/demo-a";\n`;

  before(async () => {
    tmp = await mkdtemp(join(tmpdir(), "fuse-uapi-migrate-rename-"));
    await writeFile(
      join(tmp, "demo-a.json"),
      jsonText(await buildSchema(A, { file: "demo.h", revision: "demo-a" })),
    );
    await writeFile(
      join(tmp, "demo-b.json"),
      jsonText(await buildSchema(B, { file: "demo.h", revision: "demo-b" })),
    );
    const gen = await cli(tmp, "generate", "demo-a.json", "demo-b.json", "-o", "gen");
    assert.equal(gen.code, 0, gen.stderr);
    await mkdir(join(tmp, "app", "src"), { recursive: true });
    await writeFile(join(tmp, "app", "package.json"), '{ "type": "module" }\n');
    await writeFile(
      join(tmp, "app", "tsconfig.json"),
      JSON.stringify({
        compilerOptions: {
          target: "ES2022",
          module: "NodeNext",
          moduleResolution: "NodeNext",
          lib: ["ES2022"],
          types: [],
          strict: true,
          noEmit: true,
          paths: { "fuse-uapi/revisions/*": ["../gen/*/index.ts"] },
        },
        include: ["src/**/*.ts"],
      }),
    );
    await writeFile(join(tmp, "app", "src", "a.ts"), SOURCE);
    await writeFile(join(tmp, "app", "src", "b.ts"), REEXPORT);
  });
  after(async () => {
    if (tmp) await rm(tmp, { recursive: true, force: true });
  });

  test("the provable rename is applied everywhere; the flag is listed, not renamed", async () => {
    const app = join(tmp, "app");
    assert.deepEqual(compile(join(app, "tsconfig.json"), app), []);
    const r = await cli(
      app,
      "migrate",
      "--from",
      "../demo-a.json",
      "--to",
      "../demo-b.json",
      "--project",
      "tsconfig.json",
      "--write",
      "--format",
      "json",
    );
    assert.equal(r.code, 1, r.stderr);
    const plan = JSON.parse(r.stdout) as MigratePlan;
    assert.equal(plan.from, "demo-a");
    assert.equal(plan.to, "demo-b");
    assert.equal(plan.renames.length, 8);
    assert.ok(
      plan.renames.every(
        (x) =>
          x.from === "DEMO_LIMIT_OLD" &&
          x.to === "DEMO_LIMIT" &&
          /^const: 9, identical type/.test(x.proof),
      ),
    );
    assert.deepEqual(
      plan.cannotFix.map((f) => `${at(f)} ${f.symbol}`),
      ["src/a.ts:1:22 DEMO_FLAG_X", "src/a.ts:6:21 DEMO_FLAG_X"],
    );
    assert.match(plan.cannotFix[0].why, /C ABI: flag-removed DEMO_FLAG_X/);
    assert.deepEqual(plan.compileErrors, []);
    assert.equal(
      await readFile(join(app, "src", "a.ts"), "utf8"),
      `import { DEMO_LIMIT, DEMO_FLAG_X, DEMO_FLAG_Z, DEMO_KERNEL_VERSION } from "fuse-uapi/revisions/demo-b";
import { DEMO_LIMIT as limit } from "fuse-uapi/revisions/demo-b";
import * as demo from "fuse-uapi/revisions/demo-b";
export const twice = DEMO_LIMIT * 2 + limit + DEMO_KERNEL_VERSION;
export const table = { DEMO_LIMIT_OLD: DEMO_LIMIT };
export const both = DEMO_FLAG_X | DEMO_FLAG_Z;
export const viaNamespace: number = demo.DEMO_LIMIT;
export { DEMO_LIMIT as DEMO_LIMIT_OLD };
export type T = typeof import("fuse-uapi/revisions/demo-b").DEMO_LIMIT;
`,
    );
    assert.equal(
      await readFile(join(app, "src", "b.ts"), "utf8"),
      `export { DEMO_LIMIT as DEMO_LIMIT_OLD, DEMO_FLAG_Z as z } from "fuse-uapi/revisions/demo-b";\n`,
    );
    // The module keeps exporting the names it exported; only the unfixable import fails.
    assert.deepEqual(compile(join(app, "tsconfig.json"), app), ["src/a.ts:1:22 TS2724"]);
  });
});

describe("input", () => {
  test("import specifiers: the package subpath and relative paths through generated/<name>/", () => {
    assert.equal(rewriteSpecifier("fuse-uapi/revisions/v5", "v5", "v6"), "fuse-uapi/revisions/v6");
    assert.equal(rewriteSpecifier("@fuse-uapi/bindings/v5", "v5", "v6"), "@fuse-uapi/bindings/v6");
    assert.equal(
      rewriteSpecifier("../generated/v5/index.js", "v5", "v6"),
      "../generated/v6/index.js",
    );
    assert.equal(
      rewriteSpecifier("./generated/v5/compound.js", "v5", "v6"),
      "./generated/v6/compound.js",
    );
    assert.equal(rewriteSpecifier("fuse-uapi/revisions/v55", "v5", "v6"), undefined);
    assert.equal(
      rewriteSpecifier("other/generated/v5/index.js", "v5", "v6"),
      undefined,
      "not relative: another package",
    );
    assert.equal(rewriteSpecifier("./v5/index.js", "v5", "v6"), undefined);
  });

  test("a missing tsconfig, an unknown revision, a bad format: exit 2 with one line, before any work", async () => {
    for (const [args, message] of [
      [
        ["migrate", "--from", "v5", "--to", "v6", "nowhere/tsconfig.json"],
        /^fuse-uapi: nowhere\/tsconfig\.json: no such tsconfig file\n$/,
      ],
      [
        ["migrate", "--from", "v5", "--to", "v99", "tsconfig.json"],
        /^fuse-uapi: unknown revision 'v99' /,
      ],
      [
        ["migrate", "--from", "v5", "--to", "v6", "--format", "yaml", "tsconfig.json"],
        /^fuse-uapi: unknown format 'yaml' \(known: text, json\)\n$/,
      ],
      [["migrate", "--to", "v6"], /required option '--from <revision>' not specified/],
    ] as const) {
      const r = await cli(FIXTURE, ...args);
      assert.equal(r.code, 2, `${args.join(" ")}: ${r.stderr}`);
      assert.equal(r.stdout, "");
      assert.match(r.stderr, message);
    }
  });
});
