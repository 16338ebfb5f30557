/**
 * The published packages, as a downstream project gets them: build and `npm pack` each
 * workspace of packages/, lint the tarballs (publint, @arethetypeswrong/cli), install them
 * offline into a copy of test/fixtures/consumer (a strict project outside the repository),
 * compile it under NodeNext and Bundler, run it, bundle one codec import with esbuild, and run
 * the generator's CLI from its own tarball. Sizes go to the test's diagnostics.
 */
import assert from "node:assert/strict";
import { execFile, spawnSync } from "node:child_process";
import {
  cpSync,
  mkdirSync,
  mkdtempSync,
  readFileSync,
  readdirSync,
  rmSync,
  statSync,
  symlinkSync,
  writeFileSync,
} from "node:fs";
import { createRequire } from "node:module";
import { tmpdir } from "node:os";
import { dirname, join } from "node:path";
import { after, before, test } from "node:test";
import { promisify } from "node:util";
import * as esbuild from "esbuild";
import { repositoryRoot } from "../packages/tools/assemble.js";
import {
  buildPackages,
  devBin,
  packPackages,
  type PackageDir,
  type PackedTarball,
} from "../packages/tools/pack.js";
import { whyNoFuseMount } from "./helpers/fuse-env.js";
import { skipOrFail } from "./helpers/skip.js";

const run = promisify(execFile);
const root = repositoryRoot();
const work = mkdtempSync(join(tmpdir(), "fuse-uapi-packages-"));
const MAX_ONE_CODEC_BUNDLE = 2048;

let tarballs: Map<PackageDir, PackedTarball>;
function tarball(dir: PackageDir): PackedTarball {
  const t = tarballs.get(dir);
  assert.ok(t, `packages/${dir} was not packed`);
  return t;
}

function node(args: readonly string[], cwd: string) {
  return run(process.execPath, args, { cwd, maxBuffer: 16 << 20, timeout: 300_000 });
}

/** A fresh project outside the repository with `tgz` installed from the files alone (--offline: nothing fetched). */
async function installInto(project: string, files: readonly string[]): Promise<void> {
  await run(
    "npm",
    ["install", "--offline", "--no-audit", "--no-fund", "--ignore-scripts", ...files],
    { cwd: project, timeout: 300_000 },
  );
}

/** Bytes of every file under `dir` (symbolic links not followed). */
function treeBytes(dir: string): number {
  let total = 0;
  for (const e of readdirSync(dir, { recursive: true, withFileTypes: true })) {
    if (e.isFile()) total += statSync(join(e.parentPath, e.name)).size;
  }
  return total;
}

before(async () => {
  await buildPackages(root);
  tarballs = new Map((await packPackages(join(work, "tgz"), root)).map((p) => [p.dir, p]));
});

after(() => rmSync(work, { recursive: true, force: true }));

test("tarballs: sizes, and the bindings ship only their code (no test, bench, template or generator file)", (t) => {
  for (const p of tarballs.values()) {
    t.diagnostic(
      `${p.name}: ${p.size} B packed, ${p.unpackedSize} B unpacked, ${p.files.length} files`,
    );
  }
  const bindings = tarball("bindings");
  const stray = bindings.files.filter(
    (f) =>
      !/^(package\.json|README\.md|(dist|src)\/(_runtime|[A-Za-z0-9][\w.+-]*)\/[\w.-]+\.(ts|js|d\.ts|d\.ts\.map))$/.test(
        f,
      ),
  );
  assert.deepEqual(stray, [], "files the bindings must not ship");
  for (const p of tarballs.values()) {
    assert.ok(
      !p.files.some((f) => /(^|\/)(test|bench)\//.test(f)),
      `${p.name} ships tests or benchmarks`,
    );
  }
  const manifest = JSON.parse(
    readFileSync(join(root, "packages", "bindings", "package.json"), "utf8"),
  ) as Record<string, unknown>;
  assert.equal(manifest.dependencies, undefined, "the bindings have no runtime dependencies");
  assert.equal(manifest.sideEffects, false);
  assert.deepEqual(manifest.peerDependencies, { typescript: ">=5.4" });
});

test("publint and @arethetypeswrong/cli find no problem in any tarball", async (t) => {
  for (const p of tarballs.values()) {
    const lint = await node([devBin("publint", "publint"), "run", "--strict", p.file], work);
    t.diagnostic(
      `publint ${p.name}: ${lint.stdout
        .replace(/\x1b\[[0-9;]*m/g, "")
        .trim()
        .split("\n")
        .at(-1)}`,
    );
    // ESM-only packages: node10 and require() from CommonJS are out of scope by design.
    const attw = await node(
      [
        devBin("@arethetypeswrong/cli", "attw"),
        "--profile",
        "esm-only",
        "--format",
        "table-flipped",
        "--no-color",
        p.file,
      ],
      work,
    );
    // attw exits non-zero on a problem outside the ignored resolutions (execFile rejects then);
    // it lists each problem on a line of its own, prefixed "(ignored per resolution)" when ignored.
    const problems = attw.stdout
      .split("\n")
      .filter((line) => /^\p{Extended_Pictographic}/u.test(line.trim()));
    assert.deepEqual(problems, [], `${p.name}:\n${attw.stdout}`);
    assert.doesNotMatch(attw.stdout, /does not contain types/, p.name);
    t.diagnostic(
      `attw ${p.name}: exit 0, ${attw.stdout.includes("No problems found") ? "no problems found" : "only the ignored CommonJS notes"}`,
    );
  }
});

test("the bindings install alone: zero dependencies", async (t) => {
  const project = join(work, "bindings-only");
  mkdirSync(project);
  cpSync(join(root, "test", "fixtures", "consumer", "package.json"), join(project, "package.json"));
  await installInto(project, [tarball("bindings").file]);
  const installed = readdirSync(join(project, "node_modules"), {
    recursive: true,
    withFileTypes: true,
  })
    .filter(
      (e) =>
        e.isFile() &&
        e.name === "package.json" &&
        e.parentPath.endsWith(join("node_modules", "@fuse-uapi", "bindings")),
    )
    .map((e) => e.parentPath);
  const top = readdirSync(join(project, "node_modules")).filter((n) => !n.startsWith("."));
  assert.deepEqual(top, ["@fuse-uapi"]);
  assert.deepEqual(readdirSync(join(project, "node_modules", "@fuse-uapi")), ["bindings"]);
  assert.equal(installed.length, 1);
  t.diagnostic(
    `fresh project with @fuse-uapi/bindings: 1 package, ${treeBytes(join(project, "node_modules"))} B in node_modules`,
  );
});

let consumer: string;

test("the consumer fixture compiles (strict; NodeNext and Bundler) and runs against the installed tarballs", async () => {
  consumer = join(work, "consumer");
  cpSync(join(root, "test", "fixtures", "consumer"), consumer, {
    recursive: true,
    filter: (p) => !/[/\\](node_modules|out)$/.test(p),
  });
  await installInto(consumer, [tarball("bindings").file, tarball("server").file]);
  // Types of node for the fixture's own code and the server's declarations: the repository's copy
  // (a real project installs @types/node; npm's offline cache has its tarball but not its metadata).
  mkdirSync(join(consumer, "node_modules", "@types"), { recursive: true });
  symlinkSync(
    dirname(createRequire(import.meta.url).resolve("@types/node/package.json")),
    join(consumer, "node_modules", "@types", "node"),
  );
  const tsc = devBin("typescript", "tsc");
  for (const mode of ["nodenext", "bundler"]) {
    await node([tsc, "-p", `tsconfig.${mode}.json`], consumer).catch((e: { stdout?: string }) => {
      assert.fail(`tsc ${mode}:\n${e.stdout ?? String(e)}`);
    });
    const { stdout } = await node([join("out", mode, "main.js")], consumer);
    assert.match(stdout, /consumer ok/, `${mode} run`);
  }
});

test(`esbuild: one codec import bundles to at most ${MAX_ONE_CODEC_BUNDLE} bytes minified`, async (t) => {
  assert.ok(consumer, "the consumer fixture is installed and compiled");
  const result = await esbuild.build({
    entryPoints: [join(consumer, "out", "nodenext", "one-codec.js")],
    absWorkingDir: consumer,
    bundle: true,
    minify: true,
    format: "esm",
    platform: "neutral",
    write: false,
  });
  const [bundle] = result.outputFiles;
  assert.ok(bundle);
  t.diagnostic(
    `import { decodeFuseInHeader } from "@fuse-uapi/bindings": ${bundle.contents.length} B minified`,
  );
  assert.ok(
    bundle.contents.length <= MAX_ONE_CODEC_BUNDLE,
    `bundle is ${bundle.contents.length} B`,
  );
});

test("the README's filesystem in 40 lines mounts from the installed packages", async (t) => {
  assert.ok(consumer, "the consumer fixture is installed and compiled");
  const reason = whyNoFuseMount();
  if (reason) return skipOrFail(t, reason);
  const mnt = mkdtempSync(join(tmpdir(), "fuse-uapi-consumer-mnt-"));
  try {
    const { stdout } = await node([join("out", "nodenext", "hello.js"), mnt], consumer);
    assert.deepEqual(JSON.parse(stdout), { ls: "hello\n", cat: "hello, world\n" });
  } finally {
    // The program unmounts itself; this is for a run that died before it could.
    spawnSync("umount", ["-l", mnt]);
    rmSync(mnt, { recursive: true, force: true });
  }
});

test("the generator's tarball runs its CLI: parse a header with the bundled wasm grammar, generate", async () => {
  // Unpacked as npm would install it; its declared dependencies linked from the repository, and
  // nothing else: an undeclared import, or a need for tree-sitter-c itself, fails here.
  const project = join(work, "generator");
  const pkgDir = join(project, "node_modules", "@fuse-uapi", "generator");
  mkdirSync(pkgDir, { recursive: true });
  await run("tar", ["-xzf", tarball("generator").file, "-C", pkgDir, "--strip-components=1"]);
  const manifest = JSON.parse(readFileSync(join(pkgDir, "package.json"), "utf8")) as {
    version: string;
    dependencies: Record<string, string>;
  };
  assert.ok(
    !("tree-sitter-c" in manifest.dependencies),
    "the grammar ships as wasm, not as the native package",
  );
  for (const dep of Object.keys(manifest.dependencies)) {
    const target = join(project, "node_modules", dep);
    mkdirSync(dirname(target), { recursive: true });
    symlinkSync(join(root, "node_modules", dep), target);
  }
  const cli = join(pkgDir, "dist", "generator", "cli.js");
  const header = join(root, "test", "fixtures", "golden", "arrays.h");
  await node(
    [cli, "schema", header, "--name", "consumer-rev", "-o", join(project, "rev.json")],
    project,
  );
  await node([cli, "generate", join(project, "rev.json"), "-o", join(project, "out")], project);
  assert.ok(readdirSync(join(project, "out", "consumer-rev")).includes("index.ts"));
  assert.ok(readdirSync(join(project, "out", "_runtime")).includes("json.ts"));
  // The same steps through the typed library entry.
  writeFileSync(
    join(project, "lib.mjs"),
    [
      'import { readFileSync } from "node:fs";',
      'import { buildSchema, diffSchemas, TOOL_VERSION } from "@fuse-uapi/generator";',
      `const text = readFileSync(${JSON.stringify(header)}, "utf8");`,
      'const schema = await buildSchema(text, { file: "arrays.h" });',
      "console.log(JSON.stringify({ version: TOOL_VERSION, structs: schema.structs.length, changes: diffSchemas(schema, schema).length }));",
    ].join("\n"),
  );
  const lib = JSON.parse((await node(["lib.mjs"], project)).stdout) as {
    version: string;
    structs: number;
    changes: number;
  };
  assert.equal(lib.version, manifest.version);
  assert.ok(lib.structs > 0);
  assert.equal(lib.changes, 0);
});

test("the README's filesystem in 40 lines is the fixture's code (what the test above mounts)", () => {
  const readme = readFileSync(join(root, "README.md"), "utf8");
  const section = readme.slice(readme.indexOf("### A filesystem in 40 lines"));
  const block = /```ts\n([\s\S]*?)```/.exec(section)?.[1];
  assert.ok(block, "the README has the example");
  const handlersEnd = (text: string) => text.slice(0, text.indexOf("\n};\n") + 4);
  const fixture = readFileSync(
    join(root, "test", "fixtures", "consumer", "src", "hello.ts"),
    "utf8",
  );
  const fromImports = fixture.slice(fixture.indexOf("import { zeroFuseAttr"));
  assert.equal(
    handlersEnd(fromImports).replace("export const hello", "const hello"),
    handlersEnd(block),
  );
});
