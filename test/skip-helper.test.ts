/**
 * Under CI a proof that cannot run fails instead of skipping (a fresh machine
 * without the cross compilers' C libraries skipped all 8 cross-target proofs
 * and stayed green). One mechanism, test/helpers/skip.ts: no test skips on
 * its own.
 */
import assert from "node:assert/strict";
import { spawnSync } from "node:child_process";
import { mkdtempSync, readdirSync, readFileSync, rmSync, writeFileSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { pathToFileURL } from "node:url";
import { after, test } from "node:test";
import { repoRoot } from "../generator/revisions/registry.js";
import { underCI } from "./helpers/skip.js";

const work = mkdtempSync(join(tmpdir(), "fuse-uapi-skip-"));
after(() => rmSync(work, { recursive: true, force: true }));

test("no test skips except through test/helpers/skip.ts", () => {
  const dir = join(repoRoot(), "test");
  const offenders: string[] = [];
  const walk = (d: string) => {
    for (const e of readdirSync(d, { withFileTypes: true })) {
      const p = join(d, e.name);
      if (e.isDirectory()) walk(p);
      else if (
        e.name.endsWith(".ts") &&
        p !== join(dir, "helpers", "skip.ts") &&
        p !== join(dir, "skip-helper.test.ts")
      ) {
        readFileSync(p, "utf8")
          .split("\n")
          .forEach((line, i) => {
            if (/\.skip\(|\bskip:\s|\.todo\(/.test(line))
              offenders.push(`${p.slice(dir.length + 1)}:${i + 1}: ${line.trim()}`);
          });
      }
    }
  };
  walk(dir);
  assert.deepEqual(offenders, []);
});

test("CI is recognised the way CI systems set it", () => {
  assert.equal(underCI({ CI: "true" }), true);
  assert.equal(underCI({ CI: "1" }), true);
  assert.equal(underCI({}), false);
  for (const off of ["", "0", "false", "FALSE"])
    assert.equal(underCI({ CI: off }), false, JSON.stringify(off));
});

test("a missing proof skips outside CI and fails under CI", () => {
  const helper = pathToFileURL(join(repoRoot(), "dist", "test", "helpers", "skip.js")).href;
  const file = join(work, "missing.test.mjs");
  writeFileSync(
    file,
    `import { test } from "node:test";\nimport { skipOrFail, partialOrFail } from ${JSON.stringify(helper)};\n` +
      `test("needs a compiler", (t) => skipOrFail(t, "no aarch64 compiler (install gcc-aarch64-linux-gnu)"));\n` +
      `test("proves what it can", (t) => partialOrFail(t, "i386: no working compiler"));\n`,
  );
  const run = (ci: string | undefined) => {
    const env = { ...process.env };
    delete env["CI"];
    delete env["NODE_TEST_CONTEXT"]; // the child is a test run of its own, not a subtest of this one
    if (ci !== undefined) env["CI"] = ci;
    return spawnSync(process.execPath, ["--test", "--test-reporter=tap", file], {
      encoding: "utf8",
      env,
    });
  };
  const local = run(undefined);
  assert.equal(local.status, 0, local.stdout + local.stderr);
  assert.match(local.stdout, /# SKIP no aarch64 compiler \(install gcc-aarch64-linux-gnu\)/);
  assert.match(local.stdout, /# not proven here: i386: no working compiler/);
  const ci = run("true");
  assert.equal(ci.status, 1, "CI run fails");
  assert.match(ci.stdout, /# fail 2/);
  assert.match(ci.stdout, /cannot run this proof under CI: no aarch64 compiler/);
  assert.doesNotMatch(ci.stdout, /# SKIP/);
});
