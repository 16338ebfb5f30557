/**
 * Builds and packs the publishable packages the way a release would (`npm pack` of each
 * workspace), for test/packages.test.ts and for measuring them:
 *   npm run build:packages && node dist/packages/tools/pack.js <out-dir>   # one JSON line per tarball
 */
import { execFile } from "node:child_process";
import { existsSync, mkdirSync, readFileSync } from "node:fs";
import { createRequire } from "node:module";
import { join, resolve } from "node:path";
import { fileURLToPath } from "node:url";
import { promisify } from "node:util";
import { repositoryRoot } from "./assemble.js";

const run = promisify(execFile);

/** Build order: the server compiles against the bindings' declarations. */
export const PACKAGES = ["bindings", "server", "generator"] as const;
export type PackageDir = (typeof PACKAGES)[number];

export interface PackedTarball {
  dir: PackageDir;
  name: string;
  /** Absolute path of the .tgz. */
  file: string;
  /** Compressed bytes. */
  size: number;
  unpackedSize: number;
  files: string[];
}

/**
 * A bin script of a dev dependency, run with this node (no npx, no PATH lookups). Found through
 * node's lookup folders rather than `require.resolve("<pkg>/package.json")`, which a package's
 * "exports" may refuse (publint's does).
 */
export function devBin(pkg: string, bin: string): string {
  const require = createRequire(import.meta.url);
  const manifestPath = (require.resolve.paths(pkg) ?? [])
    .map((dir) => join(dir, pkg, "package.json"))
    .find((p) => existsSync(p));
  if (!manifestPath) throw new Error(`cannot find the dev dependency ${pkg}`);
  const manifest = JSON.parse(readFileSync(manifestPath, "utf8")) as {
    bin: string | Record<string, string>;
  };
  const rel = typeof manifest.bin === "string" ? manifest.bin : manifest.bin[bin];
  if (!rel) throw new Error(`${pkg} has no bin ${bin}`);
  return resolve(manifestPath, "..", rel);
}

/** Assembles (checking the bindings' "exports" against generated/) and compiles every package. */
export async function buildPackages(root = repositoryRoot()): Promise<void> {
  await run(process.execPath, [join(root, "dist", "packages", "tools", "assemble.js")], {
    cwd: root,
  });
  const tsc = devBin("typescript", "tsc");
  for (const dir of PACKAGES) {
    await run(process.execPath, [tsc, "-p", join(root, "packages", dir)], {
      cwd: root,
      maxBuffer: 16 << 20,
    });
  }
}

interface NpmPackJson {
  name: string;
  filename: string;
  size: number;
  unpackedSize: number;
  files: { path: string }[];
}

/** `npm pack` of each package into `outDir` (no lifecycle scripts: the packages are built already). */
export async function packPackages(
  outDir: string,
  root = repositoryRoot(),
): Promise<PackedTarball[]> {
  mkdirSync(outDir, { recursive: true });
  const packed: PackedTarball[] = [];
  for (const dir of PACKAGES) {
    const { stdout } = await run(
      "npm",
      ["pack", "--json", "--ignore-scripts", "--pack-destination", outDir],
      {
        cwd: join(root, "packages", dir),
        maxBuffer: 64 << 20,
      },
    );
    const [info] = JSON.parse(stdout) as NpmPackJson[];
    if (!info) throw new Error(`npm pack of packages/${dir} printed nothing`);
    packed.push({
      dir,
      name: info.name,
      file: join(outDir, info.filename),
      size: info.size,
      unpackedSize: info.unpackedSize,
      files: info.files.map((f) => f.path).sort(),
    });
  }
  return packed;
}

if (process.argv[1] && resolve(process.argv[1]) === fileURLToPath(import.meta.url)) {
  const out = resolve(process.argv[2] ?? "packed");
  for (const p of await packPackages(out)) {
    console.log(
      JSON.stringify({
        name: p.name,
        file: p.file,
        size: p.size,
        unpackedSize: p.unpackedSize,
        files: p.files.length,
      }),
    );
  }
}
