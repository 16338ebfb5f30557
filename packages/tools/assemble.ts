/**
 * Assembles the publishable packages under packages/ from the repository's own folders, so
 * generator/, templates/, runtime/, generated/ and server/ stay where they are (and where the
 * other tools and tests expect them):
 *
 * - @fuse-uapi/bindings: a copy of generated/ (every revision + the one shared _runtime) as
 *   `src/`, compiled by packages/bindings/tsconfig.json. Its "exports" name every revision
 *   explicitly (an unknown revision fails at resolve time); this script checks them against
 *   generated/ and, with `--write`, rewrites them.
 * - @fuse-uapi/server: server/*.ts and the memfs example as `src/`, with every import of
 *   `generated/<rev>/index.js` rewritten to `@fuse-uapi/bindings/<rev>` (so a server and its
 *   user share one copy of the codecs and their error classes).
 * - @fuse-uapi/generator: the CLI is compiled straight from generator/ (tsconfig with rootDir at
 *   the repository root); its data folders (templates/, runtime/, schema/, generated/) and the
 *   C grammar's wasm are copied beside it, where the generator's walk-up lookups find them.
 *
 * Copies are gitignored; running this again replaces them. Usage:
 *   node dist/packages/tools/assemble.js [--write]
 */
import {
  copyFileSync,
  cpSync,
  existsSync,
  mkdirSync,
  readFileSync,
  readdirSync,
  rmSync,
  writeFileSync,
} from "node:fs";
import { createRequire } from "node:module";
import { dirname, join, relative, resolve, sep } from "node:path";
import { fileURLToPath } from "node:url";

/** The repository root: packages/tools/assemble.ts sits two folders below it (three when compiled to dist/). */
export function repositoryRoot(): string {
  let dir = dirname(fileURLToPath(import.meta.url));
  while (!existsSync(join(dir, "packages", "bindings", "package.json"))) {
    const up = dirname(dir);
    if (up === dir)
      throw new Error("assemble: cannot find packages/bindings/package.json above this script");
    dir = up;
  }
  return dir;
}

const BINDINGS = "@fuse-uapi/bindings";
const SHARED_RUNTIME = "_runtime";

/** Revision folders of generated/ (each has an index.ts); `_runtime` is not one. */
export function generatedRevisions(root: string): string[] {
  const dir = join(root, "generated");
  return readdirSync(dir, { withFileTypes: true })
    .filter(
      (d) =>
        d.isDirectory() && /^[A-Za-z0-9]/.test(d.name) && existsSync(join(dir, d.name, "index.ts")),
    )
    .map((d) => d.name)
    .sort();
}

/** The newest base revision (`base-<major>.<minor>` with the highest version): the bindings' root export. */
export function newestBase(revisions: readonly string[]): string {
  const bases = revisions
    .map((name) => ({ name, m: /^base-(\d+)\.(\d+)$/.exec(name) }))
    .filter((b): b is { name: string; m: RegExpExecArray } => b.m !== null)
    .sort((a, b) => Number(a.m[1]) - Number(b.m[1]) || Number(a.m[2]) - Number(b.m[2]));
  const newest = bases.at(-1);
  if (!newest)
    throw new Error(`assemble: no base-<major>.<minor> revision among ${revisions.join(", ")}`);
  return newest.name;
}

type Conditions = { types: string; default: string };
const entry = (path: string): Conditions => ({
  types: `./dist/${path}.d.ts`,
  default: `./dist/${path}.js`,
});

/** The bindings' "exports": root = newest base, one subpath per revision, the shared runtime. */
export function bindingsExports(revisions: readonly string[]): Record<string, Conditions | string> {
  const exports: Record<string, Conditions | string> = {
    ".": entry(`${newestBase(revisions)}/index`),
  };
  for (const rev of revisions) exports[`./${rev}`] = entry(`${rev}/index`);
  // The shared runtime (error classes, helpers) and the JSON form of decoded values.
  exports["./runtime"] = entry(`${SHARED_RUNTIME}/runtime`);
  exports["./json"] = entry(`${SHARED_RUNTIME}/json`);
  exports["./package.json"] = "./package.json";
  return exports;
}

interface PackageJson {
  types?: string;
  exports?: unknown;
  [key: string]: unknown;
}

/** Checks (or with `write`, updates) packages/bindings/package.json against generated/. */
function syncBindingsManifest(root: string, write: boolean): void {
  const path = join(root, "packages", "bindings", "package.json");
  const pkg = JSON.parse(readFileSync(path, "utf8")) as PackageJson;
  const revisions = generatedRevisions(root);
  const want = bindingsExports(revisions);
  const types = (want["."] as Conditions).types;
  if (JSON.stringify(pkg.exports) === JSON.stringify(want) && pkg.types === types) return;
  if (!write) {
    throw new Error(
      `assemble: packages/bindings/package.json "exports" do not list generated/ (${revisions.join(", ")}); ` +
        "run `node dist/packages/tools/assemble.js --write` and commit it",
    );
  }
  pkg.types = types;
  pkg.exports = want;
  writeFileSync(path, `${JSON.stringify(pkg, null, 2)}\n`);
  console.log(`assemble: updated ${relative(root, path)} exports (${revisions.length} revisions)`);
}

/**
 * One version for the repository and its packages: the generator prints its package's version
 * in every generated banner, and the server pins the bindings it was compiled against.
 */
function checkVersions(root: string): void {
  const read = (path: string) =>
    JSON.parse(readFileSync(join(root, path), "utf8")) as {
      version: string;
      dependencies?: Record<string, string>;
    };
  const version = read("package.json").version;
  for (const dir of ["bindings", "server", "generator"]) {
    const pkg = read(join("packages", dir, "package.json"));
    if (pkg.version !== version)
      throw new Error(
        `assemble: packages/${dir} is version ${pkg.version}, the repository ${version}`,
      );
  }
  const pinned = read(join("packages", "server", "package.json")).dependencies?.[BINDINGS];
  if (pinned !== version)
    throw new Error(
      `assemble: packages/server depends on ${BINDINGS}@${String(pinned)}, not ${version}`,
    );
}

function freshDir(dir: string): void {
  rmSync(dir, { recursive: true, force: true });
  mkdirSync(dir, { recursive: true });
}

function tsFiles(dir: string): string[] {
  return readdirSync(dir, { recursive: true, withFileTypes: true })
    .filter((d) => d.isFile() && d.name.endsWith(".ts") && !d.name.endsWith(".d.ts"))
    .map((d) => join(d.parentPath, d.name));
}

function assembleBindings(root: string): void {
  const src = join(root, "packages", "bindings", "src");
  freshDir(src);
  cpSync(join(root, "generated"), src, {
    recursive: true,
    filter: (p) => !p.split(sep).some((part) => part.startsWith(".")),
  });
}

/**
 * The server sources and where they go in the package. Test-only and CLI files stay out:
 * the package is the library (mount, Session, handlers, memfs).
 */
function serverSources(root: string): Map<string, string> {
  const dest = join(root, "packages", "server", "src");
  const files = new Map<string, string>();
  for (const f of tsFiles(join(root, "server")))
    files.set(f, join(dest, relative(join(root, "server"), f)));
  for (const f of tsFiles(join(root, "examples", "memfs"))) {
    if (f.endsWith(`${sep}main.ts`)) continue; // the memfs CLI stays a repository example
    files.set(f, join(dest, "memfs", relative(join(root, "examples", "memfs"), f)));
  }
  return files;
}

/** Where `../generated/` is found at run time: the installed bindings package's dist/. */
const GENERATED_URL_IN_REPO = 'new URL("../generated/", import.meta.url)';
const GENERATED_URL_IN_PACKAGE = `new URL("./dist/", import.meta.resolve("${BINDINGS}/package.json"))`;

/**
 * Rewrites one server source for the package: relative imports of copied files keep pointing at
 * their copies, imports of generated/<rev>/index.js become the bindings' subpath, and the one
 * run-time lookup of the generated folder points at the bindings package. Anything else that
 * leaves the copied set is an error, so a new dependency of server/ cannot ship broken.
 */
export function rewriteServerSource(
  root: string,
  from: string,
  to: string,
  text: string,
  files: Map<string, string>,
): string {
  const generated = join(root, "generated") + sep;
  const rewritten = text.replace(
    /(\bfrom\s+|\bimport\s*\(\s*)"(\.{1,2}\/[^"]+)"/g,
    (_all, lead: string, spec: string) => {
      const target = resolve(dirname(from), spec).replace(/\.js$/, ".ts");
      const copied = files.get(target);
      if (copied) {
        let rel = relative(dirname(to), copied).split(sep).join("/").replace(/\.ts$/, ".js");
        if (!rel.startsWith(".")) rel = `./${rel}`;
        return `${lead}"${rel}"`;
      }
      if (target.startsWith(generated)) {
        const [rev, file, ...rest] = target.slice(generated.length).split(sep);
        if (file === "index.ts" && rest.length === 0 && rev !== SHARED_RUNTIME)
          return `${lead}"${BINDINGS}/${rev}"`;
      }
      throw new Error(
        `assemble: ${relative(root, from)} imports ${spec}, which the server package cannot ship`,
      );
    },
  );
  const located = rewritten.split(GENERATED_URL_IN_REPO).join(GENERATED_URL_IN_PACKAGE);
  // Any other way of reaching ../generated at run time would break once installed.
  const stray = /["'`](\.\.\/)+generated\//.exec(located);
  if (stray)
    throw new Error(
      `assemble: ${relative(root, from)} reaches generated/ as ${stray[0]}…; teach packages/tools/assemble.ts about it`,
    );
  return located;
}

function assembleServer(root: string): void {
  freshDir(join(root, "packages", "server", "src"));
  const files = serverSources(root);
  for (const [from, to] of files) {
    mkdirSync(dirname(to), { recursive: true });
    writeFileSync(to, rewriteServerSource(root, from, to, readFileSync(from, "utf8"), files));
  }
}

/** The generator's data beside its compiled code, and the C grammar as WebAssembly (with its licence). */
function assembleGenerator(root: string): void {
  const pkg = join(root, "packages", "generator");
  for (const folder of ["templates", "runtime", "schema", "generated"]) {
    freshDir(join(pkg, folder));
    cpSync(join(root, folder), join(pkg, folder), {
      recursive: true,
      filter: (p) => !p.split(sep).some((part) => part.startsWith(".")),
    });
  }
  const grammar = join(pkg, "grammar");
  freshDir(grammar);
  const treeSitterC = dirname(createRequire(import.meta.url).resolve("tree-sitter-c/package.json"));
  copyFileSync(join(treeSitterC, "tree-sitter-c.wasm"), join(grammar, "tree-sitter-c.wasm"));
  copyFileSync(join(treeSitterC, "LICENSE"), join(grammar, "LICENSE.tree-sitter-c"));
}

function main(argv: readonly string[]): void {
  const root = repositoryRoot();
  checkVersions(root);
  syncBindingsManifest(root, argv.includes("--write"));
  assembleBindings(root);
  assembleServer(root);
  assembleGenerator(root);
  console.log(
    "assemble: packages/bindings/src, packages/server/src, packages/generator data ready",
  );
}

if (process.argv[1] && resolve(process.argv[1]) === fileURLToPath(import.meta.url)) {
  try {
    main(process.argv.slice(2));
  } catch (e) {
    console.error((e as Error).message);
    process.exitCode = 1;
  }
}
