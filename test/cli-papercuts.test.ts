/**
 * CLI papercuts: the README's CLI table lists every option of every command
 * (compared with what commander declares), and output piped into a reader
 * that stops early ends quietly (no EPIPE stack trace).
 */
import assert from "node:assert/strict";
import { spawnSync } from "node:child_process";
import { readFileSync } from "node:fs";
import { join } from "node:path";
import { test } from "node:test";
import type { Command } from "commander";
import { program } from "../generator/cli-program.js";
import { repoRoot } from "../generator/revisions/registry.js";

const CLI = join(repoRoot(), "dist", "generator", "cli.js");

/** Every command with its full name (`compound decode`), depth first. */
function commands(cmd: Command, prefix: string[] = []): [string, Command][] {
  return cmd.commands.flatMap((c) => {
    const path = [...prefix, c.name()];
    return [
      ...(c.commands.length ? [] : [[path.join(" "), c] as [string, Command]]),
      ...commands(c, path),
    ];
  });
}

test("the README's CLI table lists every option of every command", () => {
  const readme = readFileSync(join(repoRoot(), "README.md"), "utf8");
  const missing: string[] = [];
  const all = commands(program());
  assert.ok(all.length >= 11, `commands: ${all.map(([n]) => n).join(", ")}`);
  for (const [name, cmd] of all) {
    const row = readme
      .split("\n")
      .find(
        (line) =>
          line.startsWith(`| \`fuse-uapi ${name} `) || line.startsWith(`| \`fuse-uapi ${name}\``),
      );
    if (row === undefined) {
      missing.push(`${name}: no row`);
      continue;
    }
    for (const option of cmd.options) {
      const forms = [option.long, option.short].filter((f): f is string => f !== undefined);
      const listed = forms.some((f) =>
        new RegExp(`${f.replace(/[-]/g, "\\-")}(?![\\w-])`).test(row),
      );
      if (!listed) missing.push(`${name}: ${forms.join(", ")}`);
    }
  }
  assert.deepEqual(missing, [], "options missing from the README's CLI table");
});

test("`fuse-uapi … | head -1` ends quietly: no EPIPE trace", () => {
  // layout of every struct of a revision prints far more than a pipe holds.
  const r = spawnSync(
    "sh",
    ["-c", `"${process.execPath}" "${CLI}" layout v6 | head -1 >/dev/null; echo "status $?" >&2`],
    { encoding: "utf8" },
  );
  assert.doesNotMatch(r.stderr, /EPIPE|Error|\n\s+at /, r.stderr);
  assert.match(r.stderr, /^status 0$/m);
  // The same with `set -o pipefail` semantics: the CLI's own exit status is 0.
  const own = spawnSync(
    "bash",
    ["-c", `set -o pipefail; "${process.execPath}" "${CLI}" layout v6 | head -1 >/dev/null`],
    { encoding: "utf8" },
  );
  assert.equal(own.stderr, "");
  assert.equal(own.status, 0);
});
