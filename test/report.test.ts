/**
 * `fuse-uapi report`: the site's files (every revision, every consecutive
 * diff, links that resolve, nothing fetched from outside, deterministic), and
 * how the CLI writes them (atomically, inside -o only, never over files it did
 * not write). Rendering in a browser is test/report-chromium.test.ts.
 */
import assert from "node:assert/strict";
import { spawnSync } from "node:child_process";
import {
  existsSync,
  mkdirSync,
  mkdtempSync,
  readdirSync,
  readFileSync,
  rmSync,
  statSync,
  writeFileSync,
} from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { after, before, test } from "node:test";
import { buildReport } from "../generator/commands/report.js";
import { diffSchemas } from "../generator/diff/index.js";
import { resolveSchemaArg } from "../generator/diff/resolve.js";
import { TARGETS } from "../generator/model.js";
import { PAGES_DIR, type Site } from "../generator/report/site.js";
import { loadKnownRevisions, repoRoot } from "../generator/revisions/registry.js";

const CLI = join(repoRoot(), "dist", "generator", "cli.js");
const GOLDEN = join(repoRoot(), "test", "fixtures", "golden");
const work = mkdtempSync(join(tmpdir(), "fuse-uapi-report-"));
after(() => rmSync(work, { recursive: true, force: true }));

function cli(args: string[]) {
  const r = spawnSync(process.execPath, [CLI, ...args], { encoding: "utf8", cwd: work });
  return { code: r.status, out: r.stdout, err: r.stderr };
}

/** Every file below `dir`, relative, sorted. */
function tree(dir: string): string[] {
  if (!existsSync(dir)) return [];
  return readdirSync(dir, { recursive: true, withFileTypes: true })
    .filter((e) => e.isFile())
    .map((e) => join(e.parentPath, e.name).slice(dir.length + 1))
    .sort();
}

function unescape(s: string): string {
  return s.replace(/&#(\d+);/g, (_, n: string) => String.fromCharCode(Number(n)));
}

let site: Site;
let names: string[];
before(async () => {
  site = await buildReport([]);
  names = (await loadKnownRevisions()).map((r) => r.name);
});

test("one page per revision and per consecutive pair, and an index linking them all", () => {
  const expected = [
    ...names.map((n) => `${n}.html`),
    ...names.slice(1).map((n, i) => `diff-${names[i]}-to-${n}.html`),
  ].sort();
  assert.deepEqual([...site.pages.keys()].sort(), expected);
  for (const file of expected)
    assert.ok(site.index.includes(`href="${PAGES_DIR}/${file}"`), `index links ${file}`);
  // Each revision page draws every struct on every target.
  for (const n of names) {
    const html = site.pages.get(`${n}.html`)!;
    const schema = resolveSchemaArg(n).schema;
    for (const s of schema.structs) {
      for (const t of TARGETS) {
        const fig = new RegExp(
          `<figure class="bytemap" data-struct="${s.name}" data-target="${t}" data-size="${s.layout[t].size}" data-align="${s.layout[t].align}"`,
        );
        assert.match(html, fig, `${n}: ${s.name} on ${t}`);
      }
    }
    assert.equal(
      html.match(/<figure class="bytemap"/g)?.length,
      schema.structs.length * TARGETS.length,
    );
  }
});

test("byte maps: rfc-v1 fuse_compound_in has a 4-byte hole at 12 on x86_64 and aarch64, none on i386", () => {
  const html = site.pages.get("rfc-v1.html")!;
  const figure = (t: string) => {
    const m = new RegExp(
      `<figure class="bytemap" data-struct="fuse_compound_in" data-target="${t}"[\\s\\S]*?</figure>`,
    ).exec(html);
    assert.ok(m, t);
    return m[0];
  };
  for (const t of ["x86_64", "aarch64"]) {
    const f = figure(t);
    assert.match(f, /data-hole-bytes="4"/);
    assert.match(
      f,
      /<div class="seg hole" style="grid-row:3;grid-column:6 \/ span 4" data-kind="hole" data-name="" data-offset="12" data-size="4"/,
    );
    assert.match(f, /data-kind="field" data-name="reserved" data-offset="16" data-size="8"/);
  }
  const i386 = figure("i386");
  assert.match(i386, /data-hole-bytes="0"/);
  assert.doesNotMatch(i386, /seg hole/);
  // reserved is 8 bytes at 12: the rest of row 1 and the head of row 2.
  assert.match(
    i386,
    /data-name="reserved" data-offset="12" data-size="4" data-item-offset="12" data-item-size="8"/,
  );
  assert.match(
    i386,
    /data-name="reserved" data-offset="16" data-size="4" data-item-offset="12" data-item-size="8"/,
  );
});

test("byte maps: holes, tail padding and unions of the padding fixture, per target", async () => {
  const page = (await buildReport([join(GOLDEN, "padding.schema.json")])).pages.get(
    "padding.schema.json.html",
  )!;
  const gaps = (struct: string, target: string) => {
    const fig = new RegExp(
      `<figure class="bytemap" data-struct="${struct}" data-target="${target}"[\\s\\S]*?</figure>`,
    ).exec(page)![0];
    return [
      ...fig.matchAll(/data-kind="(hole|pad)" data-name="" data-offset="(\d+)" data-size="(\d+)"/g),
    ].map((m) => `${m[1]} ${m[2]}+${m[3]}`);
  };
  assert.deepEqual(gaps("demo_holes", "x86_64"), ["hole 1+3", "hole 10+6", "pad 25+7"]);
  assert.deepEqual(gaps("demo_holes", "i386"), ["hole 1+3", "hole 10+2", "pad 21+3"]);
  assert.deepEqual(gaps("demo_padded_union", "x86_64"), ["pad 12+4"]);
  assert.deepEqual(gaps("demo_padded_union", "i386"), []);
  assert.match(page, /data-kind="union" data-name="x \| b" data-offset="0" data-size="8"/);
  assert.deepEqual(gaps("demo_clean", "x86_64"), []);
});

test("diff pages: the table has one row per change of generator/diff, and changed structs are drawn before and after", () => {
  for (let i = 1; i < names.length; i++) {
    const html = site.pages.get(`diff-${names[i - 1]}-to-${names[i]}.html`)!;
    const changes = diffSchemas(
      resolveSchemaArg(names[i - 1]).schema,
      resolveSchemaArg(names[i]).schema,
    );
    assert.equal(
      html.match(/<tr class="(breaking|compatible)" data-kind=/g)?.length ?? 0,
      changes.length,
      names[i],
    );
    for (const c of changes) assert.ok(html.includes(`data-kind="${c.kind}"`));
  }
  const v6 = site.pages.get("diff-v5-to-v6.html")!;
  assert.match(v6, /<div class="pair" data-struct="fuse_compound_in">/);
  const start = v6.indexOf('<div class="pair" data-struct="fuse_compound_in">');
  const pair = v6.slice(start, v6.indexOf('<div class="pair"', start + 1));
  assert.match(
    pair,
    /data-side="before"[\s\S]*data-target="x86_64" data-size="24"[\s\S]*data-side="after"[\s\S]*data-target="x86_64" data-size="16"/,
  );
});

test("self-contained: no script, no external resource, every link and anchor resolves", () => {
  const files = new Map<string, string>([
    ["index.html", site.index],
    ...[...site.pages].map(([f, h]): [string, string] => [`${PAGES_DIR}/${f}`, h]),
  ]);
  let links = 0;
  for (const [file, html] of files) {
    assert.doesNotMatch(html, /<script|<link |<img |<iframe|@import|url\(/i, file);
    assert.doesNotMatch(
      html,
      /(src|href)="(https?:)?\/\//i,
      `${file}: nothing fetched from the network`,
    );
    for (const m of html.matchAll(/href="([^"]*)"/g)) {
      const [path, frag] = unescape(m[1]).split("#");
      const dir = file.includes("/") ? file.slice(0, file.lastIndexOf("/") + 1) : "";
      const target = path === "" ? file : join(dir, path).replace(/\\/g, "/");
      const html2 = files.get(target);
      assert.ok(html2 !== undefined, `${file}: link to ${m[1]} resolves`);
      if (frag) assert.ok(html2.includes(`id="${frag}"`), `${file}: anchor ${m[1]} exists`);
      links++;
    }
  }
  assert.ok(links > 1000, `${links} links checked`);
});

test("deterministic: the same schemas give the same bytes", async () => {
  const again = await buildReport([]);
  assert.equal(again.index, site.index);
  assert.deepEqual([...again.pages], [...site.pages]);
});

test("CLI: report -o writes index.html and pages/, atomically and only there; a second run changes nothing", () => {
  const parent = join(work, "site-parent");
  mkdirSync(parent);
  const out = join(parent, "site");
  let r = cli(["report", "rfc-v1", "v6", join(GOLDEN, "padding.schema.json"), "-o", out]);
  assert.equal(r.code, 0, r.err);
  assert.match(r.out, /^wrote .*site\/ \(index\.html, 5 pages in pages\/\)\n$/);
  assert.deepEqual(readdirSync(parent), ["site"], "nothing beside the folder named");
  assert.deepEqual(tree(out), [
    "index.html",
    "pages/diff-rfc-v1-to-v6.html",
    "pages/diff-v6-to-padding.schema.json.html",
    "pages/padding.schema.json.html",
    "pages/rfc-v1.html",
    "pages/v6.html",
  ]);
  const mtime = statSync(join(out, "pages", "v6.html")).mtimeMs;
  r = cli(["report", "rfc-v1", "v6", join(GOLDEN, "padding.schema.json"), "-o", out]);
  assert.equal(r.code, 0, r.err);
  assert.match(r.out, /^unchanged /);
  assert.equal(statSync(join(out, "pages", "v6.html")).mtimeMs, mtime);
  // A new run with other schemas replaces the pages: stale ones disappear.
  r = cli(["report", "v6", "v7", "-o", out]);
  assert.equal(r.code, 0, r.err);
  assert.deepEqual(tree(out), [
    "index.html",
    "pages/diff-v6-to-v7.html",
    "pages/v6.html",
    "pages/v7.html",
  ]);
  assert.deepEqual(readdirSync(parent), ["site"]);
  assert.ok(readFileSync(join(out, "index.html"), "utf8").includes('href="pages/v7.html"'));
});

test("CLI: never replaces files it did not write; bad input is one line, exit 2, nothing written", () => {
  const foreign = join(work, "foreign");
  mkdirSync(foreign);
  writeFileSync(join(foreign, "index.html"), "<p>my own page</p>\n");
  let r = cli(["report", "v6", "-o", foreign]);
  assert.equal(r.code, 2);
  assert.match(
    r.err,
    /^fuse-uapi: .*foreign\/index\.html: exists and was not written by fuse-uapi report; not replacing it \(choose another -o\)\n$/,
  );
  assert.deepEqual(tree(foreign), ["index.html"]);
  assert.equal(readFileSync(join(foreign, "index.html"), "utf8"), "<p>my own page</p>\n");

  // Other files beside the report are fine and kept; a foreign file in pages/ is not replaced.
  const shared = join(work, "shared");
  mkdirSync(join(shared, "pages"), { recursive: true });
  writeFileSync(join(shared, "notes.txt"), "keep\n");
  writeFileSync(join(shared, "pages", "mine.html"), "<p>mine</p>\n");
  r = cli(["report", "v6", "-o", shared]);
  assert.equal(r.code, 2);
  assert.match(
    r.err,
    /pages\/mine\.html: not written by fuse-uapi report; not replacing .*pages\/ \(choose another -o\)/,
  );
  assert.deepEqual(tree(shared), ["notes.txt", "pages/mine.html"]);
  rmSync(join(shared, "pages"), { recursive: true });
  r = cli(["report", "v6", "-o", shared]);
  assert.equal(r.code, 0, r.err);
  assert.deepEqual(tree(shared), ["index.html", "notes.txt", "pages/v6.html"]);

  const file = join(work, "a-file");
  writeFileSync(file, "x");
  const cases: [string[], RegExp][] = [
    [["report", "v6", "-o", file], /a-file: exists and is not a folder/],
    [["report", "v99", "-o", join(work, "none1")], /unknown revision 'v99'/],
    [["report", join(GOLDEN, "padding.h"), "-o", join(work, "none2")], /padding\.h: not JSON/],
  ];
  for (const [args, message] of cases) {
    r = cli(args);
    assert.equal(r.code, 2, args.join(" "));
    assert.match(r.err, message);
    assert.equal(r.err.trim().split("\n").length, 1, r.err);
  }
  r = cli(["report", "v6"]);
  assert.equal(r.code, 2);
  assert.match(
    r.err,
    /^error: required option '-o, --output <dir>' not specified\n/,
    "usage errors: commander's message, then the usage",
  );
  assert.equal(existsSync(join(work, "none1")), false);
  assert.equal(existsSync(join(work, "none2")), false);
});
