/**
 * Builds the libfuse peers of ../shared/peers (third-party source snapshots; see the README
 * there) with meson and ninja, and compiles test/libfuse-peer/peer_fs.c against each.
 *
 * Nothing is written beside the tarballs: each is unpacked into a scratch directory under
 * os.tmpdir(), patched there where the snapshot needs it, built, and moved into place under
 * a name made of the tarball's sha256 and the build recipe, so later runs reuse the build.
 * A build that fails leaves nothing in the cache.
 */
import { spawnSync } from "node:child_process";
import { createHash } from "node:crypto";
import {
  existsSync,
  mkdirSync,
  mkdtempSync,
  readdirSync,
  readFileSync,
  renameSync,
  rmSync,
  writeFileSync,
} from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { repoRoot } from "../../generator/revisions/registry.js";

/** One libfuse snapshot and how to build it. */
export interface PeerSpec {
  /** Short commit, also the tarball's name: `libfuse-<name>.tar.gz`. */
  readonly name: string;
  /** sha256 of the tarball: another tarball would be another peer. */
  readonly sha256: string;
  /** What it speaks, for messages. */
  readonly speaks: string;
  /** The library meson builds (lib/lib<libName>.so). */
  readonly libName: string;
  readonly mesonOptions: readonly string[];
  /** One-line source fixes applied in the scratch copy: each `from` must occur exactly once. */
  readonly fixes: readonly {
    readonly file: string;
    readonly from: string;
    readonly to: string;
    readonly why: string;
  }[];
}

const COMMON_OPTIONS = ["-Dexamples=false", "-Dtests=false", "-Dutils=false", "-Duseroot=false"];

export const PEERS: readonly PeerSpec[] = [
  {
    name: "7cb226c",
    sha256: "96668e9c60379d9d6e933461edaab246d327f25a15a01026972f3a6b361e9725",
    speaks: "FUSE_COMPOUND of RFC v1-v3 (opcode 101), protocol 7.43",
    libName: "redfs",
    // This snapshot has no enable-io-uring option (it needs liburing-dev and libnuma-dev).
    mesonOptions: COMMON_OPTIONS,
    fixes: [
      {
        file: "lib/fuse_lowlevel.c",
        from: "\tvoid *in_payload = PARAM(inarg);\n",
        to: "\tvoid *in_payload = PARAM(arg);\n",
        why: "do_compound() steps over a `const void *` (1 byte) instead of fuse_compound_in: every compound crashes (../shared/peers/README.md)",
      },
    ],
  },
  {
    name: "7b231c23",
    sha256: "b8999cec38ec54ea7f106df24dae7f127bc947e1b11720d25a85a24b9306f3ec",
    speaks: "FUSE_COMPOUND v7 (opcode 54), protocol 7.45",
    libName: "fuse3",
    mesonOptions: [...COMMON_OPTIONS, "-Denable-io-uring=false"],
    fixes: [],
  },
];

/** Where the peers are: $FUSE_UAPI_PEERS, else ../shared/peers beside the checkout. */
export function peersDir(): string {
  return process.env["FUSE_UAPI_PEERS"] ?? join(repoRoot(), "..", "shared", "peers");
}

export function peerTarball(spec: PeerSpec): string {
  return join(peersDir(), `libfuse-${spec.name}.tar.gz`);
}

/** A reason the peers cannot be built here, or null. */
export function missingTools(): string | null {
  const tools: [string, string[], string][] = [
    ["meson", ["--version"], "meson"],
    ["ninja", ["--version"], "ninja-build"],
    ["cc", ["--version"], "gcc"],
    ["tar", ["--version"], "tar"],
  ];
  const missing = tools.filter(
    ([cmd, args]) => spawnSync(cmd, args, { stdio: "ignore" }).status !== 0,
  );
  if (missing.length === 0) return null;
  return `not on PATH: ${missing.map(([cmd, , pkg]) => `${cmd} (Debian package ${pkg})`).join(", ")}`;
}

/** A built libfuse: where its headers and library are. */
export interface LibfuseBuild {
  readonly spec: PeerSpec;
  readonly dir: string;
  readonly includeDirs: readonly string[];
  readonly libDir: string;
  /** Seconds the meson+ninja build took (when it was built), or null when it came from the cache. */
  readonly buildSeconds: number | null;
  /** Seconds the build took when it was made (recorded in the cache). */
  readonly recordedSeconds: number;
}

function run(cmd: string, args: readonly string[], cwd: string, what: string): void {
  const r = spawnSync(cmd, [...args], { cwd, encoding: "utf8", maxBuffer: 1 << 26 });
  if (r.status !== 0) {
    const out = `${r.stdout ?? ""}${r.stderr ?? ""}`.split("\n").slice(-40).join("\n");
    throw new Error(
      `${what}: \`${cmd} ${args.join(" ")}\` failed (${r.error?.message ?? `exit ${r.status}`}):\n${out}`,
    );
  }
}

/** Scratch builds of processes that are gone (killed mid-build) are removed. */
function removeAbandoned(cacheRoot: string): void {
  for (const name of readdirSync(cacheRoot)) {
    const m = /^\.building-(\d+)-/.exec(name);
    if (!m) continue;
    try {
      process.kill(Number(m[1]), 0);
    } catch (e) {
      if ((e as NodeJS.ErrnoException).code === "ESRCH")
        rmSync(join(cacheRoot, name), { recursive: true, force: true });
    }
  }
}

function sha256(bytes: Uint8Array | string): string {
  return createHash("sha256").update(bytes).digest("hex");
}

/**
 * Builds (or finds in the cache) one peer's libfuse. The cache key is the tarball's sha256
 * plus the recipe (meson options and fixes), under os.tmpdir()/fuse-uapi-libfuse-peers.
 *
 * @throws when the tarball is missing or is not the pinned one, a fix does not apply, or
 *   meson/ninja fail (the message carries the end of their output).
 */
export function buildLibfuse(spec: PeerSpec): LibfuseBuild {
  const tarball = peerTarball(spec);
  if (!existsSync(tarball)) throw new Error(`${spec.name}: ${tarball} not found`);
  const actual = sha256(readFileSync(tarball));
  if (actual !== spec.sha256) {
    throw new Error(
      `${spec.name}: ${tarball} has sha256 ${actual}, expected ${spec.sha256} (another snapshot)`,
    );
  }
  const recipe = sha256(JSON.stringify({ options: spec.mesonOptions, fixes: spec.fixes })).slice(
    0,
    12,
  );
  const cacheRoot = join(tmpdir(), "fuse-uapi-libfuse-peers");
  const dir = join(cacheRoot, `libfuse-${spec.name}-${actual.slice(0, 16)}-${recipe}`);
  const layout = (buildSeconds: number | null, recordedSeconds: number): LibfuseBuild => ({
    spec,
    dir,
    includeDirs: [join(dir, "src", "include"), join(dir, "build")],
    libDir: join(dir, "build", "lib"),
    buildSeconds,
    recordedSeconds,
  });
  const stamp = join(dir, "fuse-uapi-build.json");
  if (existsSync(stamp)) {
    const recorded = JSON.parse(readFileSync(stamp, "utf8")) as { seconds: number };
    return layout(null, recorded.seconds);
  }

  mkdirSync(cacheRoot, { recursive: true });
  removeAbandoned(cacheRoot);
  const scratch = mkdtempSync(join(cacheRoot, `.building-${process.pid}-${spec.name}-`));
  try {
    run("tar", ["-xzf", tarball, "-C", scratch], scratch, `${spec.name}: unpack`);
    // The tarball holds one top-level directory (libfuse-<name>/): that is the source.
    const top = join(scratch, `libfuse-${spec.name}`);
    if (!existsSync(join(top, "meson.build")))
      throw new Error(`${spec.name}: no libfuse-${spec.name}/meson.build in ${tarball}`);
    renameSync(top, join(scratch, "src"));
    for (const fix of spec.fixes) {
      const file = join(scratch, "src", fix.file);
      const text = readFileSync(file, "utf8");
      const count = text.split(fix.from).length - 1;
      if (count !== 1)
        throw new Error(
          `${spec.name}: the fix for ${fix.file} expects its line once, found it ${count} times`,
        );
      writeFileSync(file, text.replace(fix.from, fix.to));
    }
    const started = process.hrtime.bigint();
    run(
      "meson",
      ["setup", join(scratch, "build"), join(scratch, "src"), ...spec.mesonOptions],
      scratch,
      `${spec.name}: meson setup`,
    );
    run("ninja", ["-C", join(scratch, "build")], scratch, `${spec.name}: ninja`);
    const seconds = Number(process.hrtime.bigint() - started) / 1e9;
    if (!existsSync(join(scratch, "build", "lib", `lib${spec.libName}.so`))) {
      throw new Error(`${spec.name}: the build made no lib/lib${spec.libName}.so`);
    }
    writeFileSync(
      join(scratch, "fuse-uapi-build.json"),
      JSON.stringify({ tarball: actual, recipe, seconds }) + "\n",
    );
    try {
      renameSync(scratch, dir);
    } catch (e) {
      // Another test process finished the same build first: use theirs.
      if (!existsSync(stamp)) throw e;
      rmSync(scratch, { recursive: true, force: true });
      return layout(null, seconds);
    }
    return layout(seconds, seconds);
  } catch (e) {
    rmSync(scratch, { recursive: true, force: true });
    throw e;
  }
}

/** peer_fs.c of this checkout. */
export function peerSource(): string {
  return join(repoRoot(), "test", "libfuse-peer", "peer_fs.c");
}

/**
 * Compiles peer_fs.c against a built libfuse into `outDir`; returns the binary. Warnings are
 * errors: the peer must compile cleanly against both snapshots' headers.
 */
export function compilePeer(build: LibfuseBuild, outDir: string): string {
  const out = join(outDir, `peer_fs-${build.spec.name}`);
  run(
    "cc",
    [
      "-std=gnu11",
      "-O1",
      "-Wall",
      "-Wextra",
      "-Werror",
      ...build.includeDirs.map((d) => `-I${d}`),
      "-o",
      out,
      peerSource(),
      `-L${build.libDir}`,
      `-l${build.spec.libName}`,
      `-Wl,-rpath,${build.libDir}`,
      "-lpthread",
    ],
    outDir,
    `${build.spec.name}: compile peer_fs.c`,
  );
  return out;
}

/**
 * The opcodes this libfuse implements: the designated entries of its `fuse_ll_ops[]` table
 * (lib/fuse_lowlevel.c of the unpacked source), by C name.
 */
export function libfuseOpcodeNames(build: LibfuseBuild): string[] {
  const source = readFileSync(join(build.dir, "src", "lib", "fuse_lowlevel.c"), "utf8");
  const table = /\}\s*fuse_ll_ops\[\]\s*=\s*\{([\s\S]*?)\n\};/.exec(source);
  if (!table) throw new Error(`${build.spec.name}: no fuse_ll_ops[] table in lib/fuse_lowlevel.c`);
  return [...table[1]!.matchAll(/\[\s*([A-Z][A-Z0-9_]*)\s*\]\s*=/g)].map((m) => m[1]!);
}
