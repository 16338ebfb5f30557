/**
 * The HTML report as a person sees it: `fuse-uapi report` writes the site,
 * Debian's headless Chromium (driven by playwright-core through its
 * executablePath: no browser download) opens it from file://, and the test
 * reads the rendered page: the boxes the browser laid out for rfc-v1's
 * fuse_compound_in (a 4-byte hatched hole after result_size on x86_64, none on
 * i386), then a screenshot of that struct, decoded with pngjs and checked
 * pixel by pixel (size, colours, the hole's hatching where the DOM says it is).
 *
 * Under CI (.ci/run installs `chromium`) a missing browser fails the test;
 * elsewhere it skips and says why. Set REPORT_SCREENSHOT_DIR to keep the PNGs.
 */
import assert from "node:assert/strict";
import { skipOrFail } from "./helpers/skip.js";
import { execFile } from "node:child_process";
import { accessSync, constants, mkdirSync, mkdtempSync, rmSync, writeFileSync } from "node:fs";
import { tmpdir } from "node:os";
import { delimiter, join } from "node:path";
import { pathToFileURL } from "node:url";
import { after, before, test, type TestContext } from "node:test";
import { promisify } from "node:util";
import type { Browser, Page } from "playwright-core";
import { PNG } from "pngjs";
import { diffSchemas } from "../generator/diff/index.js";
import { resolveSchemaArg } from "../generator/diff/resolve.js";
import { PALETTE } from "../generator/report/html.js";
import { repoRoot } from "../generator/revisions/registry.js";

const run = promisify(execFile);
const CLI = join(repoRoot(), "dist", "generator", "cli.js");
const work = mkdtempSync(join(tmpdir(), "fuse-uapi-report-chromium-"));
const site = join(work, "site");

/** $CHROMIUM_PATH, else Debian's `chromium` (or `chromium-browser`) on PATH. */
function findChromium(): string | null {
  const candidates = process.env["CHROMIUM_PATH"]
    ? [process.env["CHROMIUM_PATH"]]
    : (process.env["PATH"] ?? "")
        .split(delimiter)
        .flatMap((d) => [join(d, "chromium"), join(d, "chromium-browser")]);
  for (const c of candidates) {
    try {
      accessSync(c, constants.X_OK);
      return c;
    } catch {
      // next candidate
    }
  }
  return null;
}

let browser: Browser | undefined;
let unavailable: string | null = null;

before(async () => {
  await run(process.execPath, [CLI, "report", "-o", site]);
  const chromium = findChromium();
  if (!chromium) {
    unavailable =
      "no chromium on PATH (Debian package chromium; .ci/run installs it; or set CHROMIUM_PATH)";
    return;
  }
  const pw = await import("playwright-core");
  // --no-sandbox: tests run as root, where Chromium's sandbox refuses to start.
  browser = await pw.chromium.launch({ executablePath: chromium, args: ["--no-sandbox"] });
});

after(async () => {
  await browser?.close();
  rmSync(work, { recursive: true, force: true });
});

function need(t: TestContext): Browser | undefined {
  if (browser) return browser;
  skipOrFail(t, unavailable ?? "no browser");
  return undefined;
}

/** Opens a page of the site; fails on any request that is not a file:// URL of the site, and on page errors. */
async function open(b: Browser, file: string): Promise<{ page: Page; requests: string[] }> {
  const page = await b.newPage({ viewport: { width: 1280, height: 900 }, deviceScaleFactor: 1 });
  const requests: string[] = [];
  const errors: string[] = [];
  page.on("request", (r) => requests.push(r.url()));
  page.on("pageerror", (e) => errors.push(e.message));
  page.on("console", (m) => {
    if (m.type() === "error") errors.push(m.text());
  });
  const url = pathToFileURL(join(site, file)).href;
  const response = await page.goto(url);
  assert.ok(response?.ok(), `${file} loads`);
  assert.deepEqual(errors, [], `${file}: no console or page errors`);
  const outside = requests.filter((u) => !u.startsWith(pathToFileURL(site).href));
  assert.deepEqual(outside, [], `${file}: nothing fetched outside the site`);
  return { page, requests };
}

interface Box {
  x: number;
  y: number;
  width: number;
  height: number;
}

async function box(page: Page, selector: string): Promise<Box> {
  const b = await page.locator(selector).boundingBox();
  assert.ok(b, `${selector} is rendered`);
  return b;
}

function hex(c: string): [number, number, number] {
  return [1, 3, 5].map((i) => parseInt(c.slice(i, i + 2), 16)) as [number, number, number];
}

test("rfc-v1 in Chromium: fuse_compound_in laid out with a 4-byte hatched hole on x86_64, none on i386; the screenshot shows it", async (t) => {
  const b = need(t);
  if (!b) return;
  const { page } = await open(b, "pages/rfc-v1.html");
  const section = "#struct-fuse_compound_in";
  await page.locator(section).scrollIntoViewIfNeeded();
  const fig = (target: string) => `${section} figure[data-target="${target}"]`;

  // The DOM as rendered: hole blocks, their bytes, and where the browser put them.
  const holes = await page.$$eval(`${fig("x86_64")} .seg.hole`, (els) =>
    els.map((e) => ({
      offset: Number(e.getAttribute("data-offset")),
      size: Number(e.getAttribute("data-size")),
      bg: getComputedStyle(e).backgroundImage,
    })),
  );
  assert.deepEqual(
    holes.map((h) => [h.offset, h.size]),
    [[12, 4]],
  );
  assert.match(holes[0].bg, /repeating-linear-gradient/, "the hole is hatched");
  assert.equal(await page.locator(`${fig("i386")} .seg.hole`).count(), 0, "no hole on i386");
  assert.equal(await page.locator(`${fig("aarch64")} .seg.hole`).count(), 1);

  const seg = (target: string, name: string) => `${fig(target)} .seg[data-name="${name}"]`;
  const count = await box(page, seg("x86_64", "count"));
  const resultSize = await box(page, seg("x86_64", "result_size"));
  const hole = await box(page, `${fig("x86_64")} .seg.hole`);
  const reserved = await box(page, seg("x86_64", "reserved"));
  const cell = count.width / 4;
  assert.ok(cell > 20, `a byte is ${cell}px wide`);
  assert.ok(
    Math.abs(hole.width - 4 * cell) <= 2,
    `hole is 4 bytes wide: ${hole.width}px vs ${cell}px a byte`,
  );
  assert.ok(
    Math.abs(hole.y - resultSize.y) <= 1 &&
      Math.abs(hole.x - (resultSize.x + resultSize.width)) <= 2,
    "hole right after result_size, same row",
  );
  assert.ok(
    reserved.y > hole.y && Math.abs(reserved.width - 8 * cell) <= 2,
    "reserved fills the next row",
  );
  // i386: reserved starts right after result_size (offset 12), cut over two rows.
  const i386Reserved = await page.$$eval(seg("i386", "reserved"), (els) =>
    els.map((e) => Number(e.getAttribute("data-offset"))),
  );
  assert.deepEqual(i386Reserved, [12, 16]);
  const i386Rs = await box(page, seg("i386", "result_size"));
  const i386Res = await box(page, `${seg("i386", "reserved")}[data-offset="12"]`);
  assert.ok(
    Math.abs(i386Res.x - (i386Rs.x + i386Rs.width)) <= 2 && Math.abs(i386Res.y - i386Rs.y) <= 1,
    "i386: reserved right after result_size",
  );

  // The screenshot of the struct's section, decoded and read.
  const sectionBox = await box(page, section);
  const shot = await page.locator(section).screenshot();
  const png = PNG.sync.read(shot);
  // The screenshot is the section's box, widened to whole pixels.
  const origin = { x: Math.floor(sectionBox.x), y: Math.floor(sectionBox.y) };
  assert.ok(
    Math.abs(png.width - sectionBox.width) <= 2 && Math.abs(png.height - sectionBox.height) <= 2,
    `${png.width}x${png.height} vs box ${sectionBox.width}x${sectionBox.height}`,
  );
  assert.ok(png.width >= 900 && png.height >= 150, `screenshot ${png.width}x${png.height}`);
  const pixel = (x: number, y: number): [number, number, number] => {
    const i = (Math.round(y) * png.width + Math.round(x)) * 4;
    return [png.data[i], png.data[i + 1], png.data[i + 2]];
  };
  const colours = new Set<number>();
  for (let i = 0; i < png.data.length; i += 4)
    colours.add((png.data[i] << 16) | (png.data[i + 1] << 8) | png.data[i + 2]);
  assert.ok(colours.size >= 20, `not blank: ${colours.size} distinct colours`);

  // Pixels where the DOM says the blocks are (relative to the section): a member's colour, the hatching.
  const at = (b: Box, fx: number, dy: number): [number, number, number] =>
    pixel(b.x - origin.x + b.width * fx, b.y - origin.y + dy);
  const countColour = await page.$eval(
    seg("x86_64", "count"),
    (e) => e.className.match(/\bf(\d+)\b/)?.[1],
  );
  assert.deepEqual(
    at(count, 0.625, 3),
    hex(PALETTE[Number(countColour)]),
    "count is drawn in its palette colour",
  );
  const hatch = hex("#e03131");
  const inHole = (b: Box) => {
    let red = 0;
    let all = 0;
    for (let y = b.y + 2; y < b.y + b.height - 2; y++)
      for (let x = b.x + 2; x < b.x + b.width - 2; x++) {
        const [r, g, bl] = pixel(x - origin.x, y - origin.y);
        all++;
        if (
          Math.abs(r - hatch[0]) < 40 &&
          Math.abs(g - hatch[1]) < 40 &&
          Math.abs(bl - hatch[2]) < 40
        )
          red++;
      }
    return red / all;
  };
  const holeRed = inHole(hole);
  assert.ok(holeRed > 0.15, `hole hatched red: ${(holeRed * 100).toFixed(0)}% of its pixels`);
  const i386Fig = await box(page, fig("i386"));
  assert.equal(inHole(i386Fig), 0, "no hatching anywhere in the i386 map");

  const dir = process.env["REPORT_SCREENSHOT_DIR"];
  const keep = join(dir ?? work, "rfc-v1-fuse_compound_in.png");
  if (dir) mkdirSync(dir, { recursive: true });
  writeFileSync(keep, shot);
  t.diagnostic(
    `screenshot ${png.width}x${png.height}, ${colours.size} colours, hole ${(holeRed * 100).toFixed(0)}% hatched${dir ? `, kept at ${keep}` : ""}`,
  );
  await page.close();
});

test("index and diff pages render in Chromium: every revision and change listed, links work", async (t) => {
  const b = need(t);
  if (!b) return;
  const { page } = await open(b, "index.html");
  const revisions = await page.$$eval("table.revisions tbody tr", (rows) =>
    rows.map((r) => r.querySelector("code")?.textContent),
  );
  assert.deepEqual(revisions, ["base-7.45", "rfc-v1", "rfc-v2", "rfc-v3", "v4", "v5", "v6", "v7"]);
  // Follow the v5 → v6 link as a reader would.
  // isVisible() and url() do not wait for a navigation: wait for the page, then its content.
  await page.getByRole("link", { name: "v5 → v6" }).click();
  await page.waitForURL(/pages\/diff-v5-to-v6\.html$/, { waitUntil: "load" });
  assert.match(page.url(), /pages\/diff-v5-to-v6\.html$/);
  const rows = await page.locator("table.changes tbody tr").count();
  assert.equal(
    rows,
    diffSchemas(resolveSchemaArg("v5").schema, resolveSchemaArg("v6").schema).length,
  );
  const before = await page.$$eval(
    '.pair[data-struct="fuse_compound_in"] [data-side="before"] figure',
    (f) => f.map((e) => e.getAttribute("data-size")),
  );
  const afterSizes = await page.$$eval(
    '.pair[data-struct="fuse_compound_in"] [data-side="after"] figure',
    (f) => f.map((e) => e.getAttribute("data-size")),
  );
  assert.deepEqual(before, ["24", "20", "24"]);
  assert.deepEqual(afterSizes, ["16", "16", "16"]);
  // A struct link lands on its section of the v6 page.
  await page.locator("table.changes a", { hasText: "struct fuse_compound_in" }).first().click();
  await page.waitForURL(/pages\/v6\.html#struct-fuse_compound_in$/, { waitUntil: "load" });
  assert.match(page.url(), /pages\/v6\.html#struct-fuse_compound_in$/);
  await page.locator("#struct-fuse_compound_in").waitFor({ state: "visible", timeout: 15_000 });
  assert.ok(await page.locator("#struct-fuse_compound_in").isVisible());
  const raw = await page.screenshot();
  const shot = PNG.sync.read(raw);
  assert.deepEqual([shot.width, shot.height], [1280, 900]);
  const dir = process.env["REPORT_SCREENSHOT_DIR"];
  if (dir) {
    mkdirSync(dir, { recursive: true });
    writeFileSync(join(dir, "v6-fuse_compound_in.png"), raw);
  }
  await page.close();
});
