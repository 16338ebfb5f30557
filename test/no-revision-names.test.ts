/**
 * A new revision of the compound series is data: the generator and the templates must not
 * name any revision (issue D). Every revision of schema/known-revisions.json is looked for,
 * as a whole word, in every file under generator/ and templates/ but data files (.json).
 */
import assert from "node:assert/strict";
import { readdirSync, readFileSync } from "node:fs";
import { join, relative } from "node:path";
import { test } from "node:test";
import { repoRoot } from "../generator/revisions/registry.js";

const ROOT = repoRoot();

function filesUnder(dir: string): string[] {
  return readdirSync(dir, { withFileTypes: true }).flatMap((e) =>
    e.isDirectory() ? filesUnder(join(dir, e.name)) : [join(dir, e.name)],
  );
}

test("no revision name in generator/ or templates/ outside data files", () => {
  const known = JSON.parse(readFileSync(join(ROOT, "schema", "known-revisions.json"), "utf8")) as {
    revisions: { name: string }[];
  };
  const names = known.revisions.map((r) => r.name);
  assert.ok(names.includes("v7") && names.length >= 8, `revisions: ${names.join(", ")}`);
  const escape = (s: string) => s.replace(/[.*+?^${}()|[\]\\]/g, "\\$&");
  // Whole words: "v7" but not "uv7" or "v70"; base-7.45 as written.
  const word = new RegExp(`(?<![\\w.-])(${names.map(escape).join("|")})(?![\\w-]|\\.\\d)`);
  const found: string[] = [];
  for (const dir of ["generator", "templates"])
    for (const file of filesUnder(join(ROOT, dir))) {
      if (file.endsWith(".json")) continue;
      readFileSync(file, "utf8")
        .split("\n")
        .forEach((line, i) => {
          const m = word.exec(line);
          if (m) found.push(`${relative(ROOT, file)}:${i + 1}: ${m[1]}: ${line.trim()}`);
        });
    }
  assert.deepEqual(found, []);
});
