/**
 * `generate` never writes or removes anything outside the folder named by -o,
 * and never replaces what it did not generate: revision names are checked where
 * they enter (schema --name, schema files, the registry) and again before they
 * become paths; symbolic links are not followed out of -o; bad arguments are
 * one-line errors with exit 2, and nothing is written when a run fails.
 */
import assert from "node:assert/strict";
import { spawnSync } from "node:child_process";
import {
  lstatSync,
  mkdirSync,
  mkdtempSync,
  readdirSync,
  readFileSync,
  readlinkSync,
  rmSync,
  symlinkSync,
  writeFileSync,
} from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { after, describe, test } from "node:test";
import {
  isSafeRevisionName,
  REVISION_NAME_MAX,
  REVISION_NAME_PATTERN,
} from "../generator/revision-name.js";
import { parseKnownRevisions, repoRoot } from "../generator/revisions/registry.js";

const CLI = join(repoRoot(), "dist", "generator", "cli.js");
const work = mkdtempSync(join(tmpdir(), "fuse-uapi-gensafe-"));
after(() => rmSync(work, { recursive: true, force: true }));

function run(args: string[], cwd = work) {
  const r = spawnSync(process.execPath, [CLI, ...args], { encoding: "utf8", cwd });
  return { code: r.status, out: r.stdout, err: r.stderr };
}

/** Exit 2 with exactly one line on stderr (no stack trace). */
function assertUsageError(r: ReturnType<typeof run>, message: RegExp): void {
  assert.equal(r.code, 2, `exit code; stderr: ${r.err}`);
  assert.match(r.err, message);
  assert.equal(r.err.trim().split("\n").length, 1, `one line, got: ${r.err}`);
  assert.doesNotMatch(r.err, /\n\s+at /, "no stack trace");
}

/** Every path under `dir` (not following links) with its content or link target: a before/after fingerprint. */
function snapshot(dir: string): Record<string, string> {
  const out: Record<string, string> = {};
  const walk = (d: string, rel: string) => {
    for (const name of readdirSync(d).sort()) {
      const p = join(d, name);
      const r = rel ? `${rel}/${name}` : name;
      const st = lstatSync(p);
      if (st.isSymbolicLink()) out[r] = `-> ${readlinkSync(p)}`;
      else if (st.isDirectory()) {
        out[r] = "dir";
        walk(p, r);
      } else out[r] = readFileSync(p, "utf8");
    }
  };
  walk(dir, "");
  return out;
}

/** A small schema (no protocol section, so generate is quick) with `revision` set to anything, as a hand-edited file would. */
const baseSchema = (() => {
  const h = join(work, "tiny.h");
  writeFileSync(
    h,
    "#include <stdint.h>\nstruct tiny { uint32_t a; uint64_t b; };\n#define TINY_MAX 4\n",
  );
  const r = run(["schema", h, "--name", "tiny"]);
  assert.equal(r.code, 0, r.err);
  return JSON.parse(r.out) as { source: Record<string, unknown> };
})();

function schemaFile(name: string, source: Record<string, unknown>): string {
  const path = join(work, name);
  writeFileSync(
    path,
    JSON.stringify({ ...baseSchema, source: { ...baseSchema.source, ...source } }),
  );
  return path;
}

/** A folder `parent/` with a file and a sibling revision folder in it, to prove nothing there moves. */
function parentWithContent(name: string): string {
  const parent = join(work, name);
  mkdirSync(join(parent, "other"), { recursive: true });
  writeFileSync(join(parent, "precious.txt"), "user data\n");
  writeFileSync(join(parent, "other", "notes.md"), "more user data\n");
  return parent;
}

describe("revision names", () => {
  test("one pattern: the JSON Schema of schema files repeats generator/revision-name.ts", () => {
    const schema = JSON.parse(
      readFileSync(join(repoRoot(), "schema", "fuse-uapi.schema.json"), "utf8"),
    );
    const revision = schema.properties.source.properties.revision;
    assert.equal(revision.pattern, REVISION_NAME_PATTERN);
    assert.equal(revision.maxLength, REVISION_NAME_MAX);
  });

  test("unsafe names are refused by the check, the registry and its JSON Schema", () => {
    const unsafe = [
      "",
      ".",
      "..",
      "../x",
      "a/b",
      "/abs",
      "a\\b",
      ".hidden",
      "-o",
      "a b",
      "x\0y",
      "é",
      "a".repeat(REVISION_NAME_MAX + 1),
    ];
    const registrySchema = JSON.parse(
      readFileSync(join(repoRoot(), "schema", "known-revisions.schema.json"), "utf8"),
    );
    const registryPattern = new RegExp(registrySchema.$defs.revision.properties.name.pattern);
    for (const name of unsafe) {
      assert.equal(isSafeRevisionName(name), false, JSON.stringify(name));
      assert.equal(
        registryPattern.test(name),
        false,
        `known-revisions.schema.json accepts ${JSON.stringify(name)}`,
      );
      const entry = {
        name,
        title: "t",
        date: "2025-01-01",
        base: { path: "a.h", sha256: "0".repeat(64) },
        mails: [],
      };
      assert.throws(
        () => parseKnownRevisions({ revisions: [entry] }, "test"),
        /\.name: must match/,
        JSON.stringify(name),
      );
    }
    for (const name of ["v6", "base-7.45", "rfc-v1", "7.45", "fuse.h", "a+b_c"])
      assert.equal(isSafeRevisionName(name), true, name);
  });

  test("schema --name refuses names that are not one plain folder name (exit 2, one line, no output)", () => {
    const h = join(work, "tiny.h");
    for (const name of ["..", "", "../x", ".", "a/b", "/tmp/x"]) {
      const out = join(work, "named.json");
      const r = run(["schema", h, "--name", name, "-o", out]);
      assertUsageError(r, /--name: .* is not a usable revision name/);
      assert.throws(() => lstatSync(out), "no output file");
    }
  });
});

describe("generate -o stays inside -o", () => {
  test("a schema whose revision is '..', '' or '../x' touches nothing (the parent of -o keeps every file)", () => {
    for (const [i, revision] of ["..", "", "../x", ".", "a/b"].entries()) {
      const parent = parentWithContent(`parent-${i}`);
      const bad = schemaFile(`bad-${i}.json`, { revision });
      const before = snapshot(work);
      const r = run(["generate", bad, "-o", join(parent, "out")]);
      assertUsageError(r, /not a fuse-uapi schema: \/source\/revision/);
      assert.deepEqual(
        snapshot(work),
        before,
        `revision ${JSON.stringify(revision)} changed files`,
      );
    }
  });

  test("a folder name from the header's file name is checked too", () => {
    const parent = parentWithContent("parent-file");
    const before = snapshot(parent);
    const bad = schemaFile("by-file.json", {
      revision: null,
      kernelVersion: null,
      minorVersion: null,
      file: "../x",
    });
    assertUsageError(
      run(["generate", bad, "-o", join(parent, "out")]),
      /"\.\.\/x" is not a usable revision name/,
    );
    assert.deepEqual(snapshot(parent), before);
  });

  test("two schemas of the same revision: one-line error, exit 2, nothing written", () => {
    const a = schemaFile("dup.json", {});
    const out = join(work, "dup-out");
    assertUsageError(run(["generate", a, a, "-o", out]), /both render revision tiny/);
    assert.throws(() => lstatSync(out), "nothing written");
  });

  test("-o naming a regular file (or a path through one): one-line error, exit 2, the file unchanged", () => {
    const file = join(work, "plain.txt");
    writeFileSync(file, "not a folder\n");
    assertUsageError(
      run(["generate", schemaFile("f.json", {}), "-o", file]),
      /plain\.txt: is not a folder/,
    );
    assertUsageError(
      run(["generate", schemaFile("f.json", {}), "-o", join(file, "sub")]),
      /plain\.txt is not a folder/,
    );
    assert.equal(readFileSync(file, "utf8"), "not a folder\n");
  });

  test("a symbolic link where the revision folder goes is refused, and what it points at is untouched", () => {
    const out = join(work, "link-out");
    const outside = parentWithContent("link-target");
    mkdirSync(out);
    symlinkSync(outside, join(out, "tiny"));
    const schema = schemaFile("l.json", {});
    const before = snapshot(work);
    assertUsageError(run(["generate", schema, "-o", out]), /tiny\/ is a symbolic link/);
    assert.deepEqual(snapshot(work), before);
  });

  test("a folder that fuse-uapi did not generate is never replaced", () => {
    const out = join(work, "foreign-out");
    mkdirSync(join(out, "tiny"), { recursive: true });
    writeFileSync(join(out, "tiny", "mine.ts"), "export const mine = 1;\n");
    const before = snapshot(out);
    assertUsageError(
      run(["generate", schemaFile("g.json", {}), "-o", out]),
      /holds "mine\.ts", which fuse-uapi did not generate/,
    );
    assert.deepEqual(snapshot(out), before);
  });

  test("-o through a symbolic link writes into the real folder, and regenerating replaces only its own folder", () => {
    const real = join(work, "real-out");
    mkdirSync(real);
    writeFileSync(join(real, "keep.txt"), "keep\n");
    symlinkSync(real, join(work, "out-link"));
    const schema = schemaFile("ok.json", {});
    let r = run(["generate", schema, "-o", "out-link"]);
    assert.equal(r.code, 0, r.err);
    assert.deepEqual(readdirSync(real).sort(), ["_runtime", "keep.txt", "tiny"]);
    assert.match(
      readFileSync(join(real, "tiny", "structs.ts"), "utf8"),
      /^\/\/ @generated by fuse-uapi /,
    );
    r = run(["generate", schemaFile("ok2.json", { sha256: "1".repeat(64) }), "-o", "out-link"]);
    assert.equal(r.code, 0, r.err);
    assert.match(r.out, /wrote out-link\/tiny\//);
    assert.match(readFileSync(join(real, "tiny", "structs.ts"), "utf8"), /sha256 1{64}/);
    assert.deepEqual(
      readdirSync(real).sort(),
      ["_runtime", "keep.txt", "tiny"],
      "no temporary folder left",
    );
    assert.equal(
      lstatSync(join(work, "out-link")).isSymbolicLink(),
      true,
      "the link itself is kept",
    );
  });

  test("mirror mode removes only stale folders it generated; files, links and foreign folders stay", () => {
    const out = join(work, "mirror-out");
    const schema = schemaFile("stale.json", { revision: "stale-rev" });
    assert.equal(run(["generate", schema, "-o", out]).code, 0);
    mkdirSync(join(out, "user-folder"));
    writeFileSync(join(out, "user-folder", "a.txt"), "a\n");
    writeFileSync(join(out, "README"), "mine\n");
    const outside = parentWithContent("mirror-link-target");
    symlinkSync(outside, join(out, "linked"));
    const beforeOutside = snapshot(outside);
    // The repository's config (inputs: schema/revisions/, prune on), into -o instead of generated/.
    const r = run(["generate", "--config", join(repoRoot(), "fuse-uapi.config.json"), "-o", out]);
    assert.equal(r.code, 0, r.err);
    assert.match(r.out, /removed stale .*stale-rev\//);
    assert.match(
      r.err,
      /kept .*user-folder\/: it holds "a\.txt", which fuse-uapi did not generate/,
    );
    const names = readdirSync(out).sort();
    assert.ok(!names.includes("stale-rev"), "stale generated folder removed");
    for (const kept of ["README", "linked", "user-folder"]) assert.ok(names.includes(kept), kept);
    assert.equal(readFileSync(join(out, "user-folder", "a.txt"), "utf8"), "a\n");
    assert.deepEqual(snapshot(outside), beforeOutside);
    const revisions = readdirSync(join(repoRoot(), "schema", "revisions")).map((f) =>
      f.replace(/\.json$/, ""),
    );
    for (const rev of revisions) assert.ok(names.includes(rev), `mirror wrote ${rev}`);
  });
});
