/**
 * `fuse-uapi layout` against pahole itself: each header is compiled with -g by
 * the real compiler of every target, pahole(1) (Debian's dwarves) reads the
 * DWARF, and every struct's block must say what ours says: the same members at
 * the same offsets with the same sizes, the same `XXX n bytes hole` lines,
 * cacheline marks and totals. Types are not compared: DWARF names the typedef
 * it resolved through, and arrays by their number where we keep the header's
 * spelling (`name[FUSE_NAME_MAX]`). Unions: members only (pahole prints no
 * totals for them).
 *
 * Headers: our golden fixtures, and every known revision of fuse.h (from the
 * corpus), or /usr/include/linux/fuse.h without it. Under CI a missing pahole
 * or compiler fails; elsewhere the test skips and says why.
 */
import assert from "node:assert/strict";
import { partialOrFail, skipOrFail } from "./helpers/skip.js";
import { execFile } from "node:child_process";
import { existsSync, mkdtempSync, readFileSync, rmSync, writeFileSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { after, test, type TestContext } from "node:test";
import { promisify } from "node:util";
import { resolveCompiler } from "../generator/check/compile.js";
import { resolveSchemaArg } from "../generator/diff/resolve.js";
import { type Schema, type StructDef, type Target, TARGETS } from "../generator/model.js";
import { groupTargets, paholeBlock } from "../generator/report/pahole.js";
import {
  corpusAvailable,
  corpusDir,
  loadKnownRevisions,
  loadRevisionHeader,
  repoRoot,
} from "../generator/revisions/registry.js";
import { buildSchema } from "../generator/schema-builder.js";
import { loadSchemaFile } from "../generator/schema-file.js";

const run = promisify(execFile);
const GOLDEN = join(repoRoot(), "test", "fixtures", "golden");
const FIXTURES = [
  "padding",
  "anonymous-members",
  "nested-struct",
  "named-union",
  "arrays",
  "flexible-arrays",
  "pointers-long",
];
const SYSTEM_HEADER = "/usr/include/linux/fuse.h";

const work = mkdtempSync(join(tmpdir(), "fuse-uapi-pahole-"));
after(() => rmSync(work, { recursive: true, force: true }));

function unavailable(t: TestContext, reason: string): void {
  skipOrFail(t, reason);
}

async function paholeMissing(): Promise<string | null> {
  try {
    await run("pahole", ["--version"]);
    return null;
  } catch {
    return "pahole not installed (Debian package dwarves; .ci/run installs it)";
  }
}

/** The facts of a block, one string per line, whitespace folded; types dropped from member lines. */
function facts(block: string, union: boolean): string[] {
  const out: string[] = [];
  for (const raw of block.split("\n").slice(1)) {
    const line = raw.replace(/\s+/g, " ").trim();
    const member = /([A-Za-z_]\w*)(?:\[[^\]]*\])*;\s*\/\*\s*(\d+)\s+(\d+)\s*\*\/$/.exec(line);
    const anon = /^\};\s*\/\*\s*(\d+)\s+(\d+)\s*\*\/$/.exec(line);
    if (anon) out.push(`(anonymous) ${anon[1]} ${anon[2]}`);
    else if (member) out.push(`${member[1]} ${member[2]} ${member[3]}`);
    else if (/^\/\* (XXX|---)/.test(line)) out.push(line);
    else if (!union && /^\/\* (size|sum members|padding|last cacheline):/.test(line))
      out.push(line);
  }
  return out;
}

/** pahole's output split into blocks by struct/union name. */
function paholeBlocks(text: string): Map<string, string> {
  const blocks = new Map<string, string>();
  // The closing line may carry an attribute pahole infers (`} __attribute__((__packed__));`).
  for (const m of text.matchAll(/^(?:struct|union) (\w+) \{\n[\s\S]*?^\}[^\n]*;$/gm))
    blocks.set(m[1], m[0]);
  return blocks;
}

/** Compiles `header` for `target` with debug info, every struct of the schema referenced, and returns pahole's blocks. */
async function paholeOf(
  header: string,
  schema: Schema,
  target: Target,
  cc: string[],
  tag: string,
): Promise<Map<string, string>> {
  const src = join(work, `${tag}-${target}.c`);
  const obj = join(work, `${tag}-${target}.o`);
  const uses = schema.structs.map(
    (s) => `${s.union ? "union" : "struct"} ${s.name} *use_${s.name};`,
  );
  writeFileSync(src, [`#include "${header}"`, ...uses, ""].join("\n"));
  await run(cc[0], [...cc.slice(1), "-g", "-std=gnu11", "-c", src, "-o", obj]);
  const { stdout } = await run("pahole", [obj], { maxBuffer: 64 << 20 });
  return paholeBlocks(stdout);
}

async function compare(t: TestContext, header: string, schema: Schema, tag: string): Promise<void> {
  let compared = 0;
  for (const target of TARGETS) {
    const { argv, reason } = await resolveCompiler(target);
    if (!argv)
      return unavailable(
        t,
        `no ${target} compiler (.ci/run installs it): ${reason.split("\n")[0]}`,
      );
    const theirs = await paholeOf(header, schema, target, argv, tag);
    for (const def of schema.structs) {
      const group = groupTargets(def, TARGETS).find((g) => g.targets.includes(target))!;
      const ours = paholeBlock(def, group);
      const block = theirs.get(def.name);
      assert.ok(block, `${tag} ${target}: pahole printed no ${def.name}`);
      const ourFacts = facts(ours, def.union);
      assert.ok(
        ourFacts.length >= def.fields.length,
        `${def.name}: every member is a line of facts`,
      );
      assert.deepEqual(
        ourFacts,
        facts(block, def.union),
        `${tag} ${target} ${def.name}:\n--- ours\n${ours}--- pahole\n${block}`,
      );
      compared++;
    }
  }
  t.diagnostic(
    `${tag}: ${compared} struct layouts equal pahole's (${schema.structs.length} structs x ${TARGETS.length} targets)`,
  );
}

test("golden fixtures: our layout view equals pahole's on every target", async (t) => {
  const missing = await paholeMissing();
  if (missing) return unavailable(t, missing);
  for (const name of FIXTURES) {
    await compare(
      t,
      join(GOLDEN, `${name}.h`),
      loadSchemaFile(join(GOLDEN, `${name}.schema.json`)),
      name,
    );
  }
});

test("every revision of fuse.h: our layout view equals pahole's on every target (rfc-v1 fuse_compound_in: the hole on x86_64 only)", async (t) => {
  const missing = await paholeMissing();
  if (missing) return unavailable(t, missing);
  if (!corpusAvailable()) {
    partialOrFail(t, `corpus not found at ${corpusDir()}`);
    if (!existsSync(SYSTEM_HEADER))
      return skipOrFail(t, `neither the corpus (${corpusDir()}) nor ${SYSTEM_HEADER} exists`);
    t.diagnostic(`no corpus at ${corpusDir()}; comparing ${SYSTEM_HEADER} only`);
    const text = readFileSync(SYSTEM_HEADER, "utf8");
    return compare(t, SYSTEM_HEADER, await buildSchema(text, { file: "fuse.h" }), "system-fuse.h");
  }
  for (const rev of await loadKnownRevisions()) {
    const h = await loadRevisionHeader(rev.name);
    const path = join(work, `${rev.name}.h`);
    writeFileSync(path, h.text);
    const schema = resolveSchemaArg(rev.name).schema;
    await compare(t, path, schema, rev.name);
    if (rev.name === "rfc-v1") {
      // The example, proven: pahole itself sees the hole on x86_64 and none on i386.
      const def = schema.structs.find((s) => s.name === "fuse_compound_in") as StructDef;
      const [x86, i386] = (["x86_64", "i386"] as const).map((tg) =>
        paholeBlock(def, groupTargets(def, [tg])[0]),
      );
      assert.match(
        x86,
        /result_size;\s+\/\*\s+8\s+4 \*\/\n\n\s+\/\* XXX 4 bytes hole, try to pack \*\/\n\n\s+uint64_t\s+reserved;\s+\/\*\s+16\s+8 \*\//,
      );
      assert.doesNotMatch(i386, /XXX/);
      assert.match(i386, /reserved;\s+\/\*\s+12\s+8 \*\//);
    }
  }
});
