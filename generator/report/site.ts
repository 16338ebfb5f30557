/**
 * The static ABI report as files (name → HTML), a pure function of the
 * schemas: index.html, one page per revision with every struct drawn as byte
 * maps (targets side by side), and one page per consecutive pair with the ABI
 * diff (generator/diff) as a table and the changed structs drawn before and
 * after. No dates, no absolute paths: the same schemas give the same bytes.
 */
import { type Change, sectionOf } from "../diff/change.js";
import { formatDiff } from "../diff/format.js";
import { diffSchemas, summary } from "../diff/index.js";
import { type Schema, type StructDef, TARGETS } from "../model.js";
import { byteMap, colourMap, holeBytes, paddingBytes } from "./bytemap.js";
import { esc, legend, page } from "./html.js";
import { groupTargets, paholeStruct } from "./pahole.js";
import { structView } from "./layout-view.js";

export interface ReportRevision {
  /** How pages name it: the revision name, or the schema's label. */
  label: string;
  schema: Schema;
  /** From schema/known-revisions.json, when it is a known revision. */
  title?: string;
  date?: string;
}

export interface Site {
  index: string;
  /** File name in pages/ → HTML. */
  pages: Map<string, string>;
}

/** Folder (under the output folder) holding every page but index.html. */
export const PAGES_DIR = "pages";

function fileStem(label: string, taken: Set<string>): string {
  const base = label.replace(/[^A-Za-z0-9._-]/g, "_").replace(/^[.-]/, "_") || "schema";
  let stem = base;
  for (let i = 2; taken.has(stem.toLowerCase()) || stem.toLowerCase() === "index"; i++)
    stem = `${base}-${i}`;
  taken.add(stem.toLowerCase());
  return stem;
}

function anchor(name: string): string {
  return `struct-${name}`;
}

/** Targets lay the struct out differently (any offset, size or alignment). */
function differs(def: StructDef): boolean {
  return groupTargets(def, TARGETS).length > 1;
}

function targetFacts(def: StructDef): string {
  return TARGETS.map((t) => {
    const v = structView(def, t);
    const h = holeBytes(v);
    const p = paddingBytes(v);
    return `<b>${t}</b> ${v.size} bytes, align ${v.align}${h ? `, <span class="sev-breaking">hole ${h}</span>` : ""}${p ? `, padding ${p}` : ""}`;
  }).join(" · ");
}

function structSection(schema: Schema, def: StructDef): string {
  const kind = def.union ? "union" : "struct";
  const lint = schema.lint.filter((l) => l.struct === def.name);
  const doc = def.doc?.split("\n")[0];
  return `<section class="struct" id="${anchor(def.name)}" data-struct="${esc(def.name)}">
<h2><a href="#${anchor(def.name)}">${kind} ${esc(def.name)}</a></h2>
<p class="facts">${targetFacts(def)}${differs(def) ? ' · <span class="sev-breaking">differs between targets</span>' : " · same on every target"}</p>
${doc ? `<p class="doc">${esc(doc)}</p>` : ""}${lint.length ? `<ul class="lint">${lint.map((l) => `<li>${esc(l.message)}</li>`).join("")}</ul>` : ""}
<div class="maps">${TARGETS.map((t) => byteMap(def, t)).join("\n")}</div>
<details><summary>pahole view</summary><pre>${esc(paholeStruct(def, TARGETS))}</pre></details>
</section>`;
}

function structTable(defs: readonly StructDef[]): string {
  const rows = defs.map((d) => {
    const views = TARGETS.map((t) => structView(d, t));
    const holes = views.some((v) => holeBytes(v) > 0);
    const cls = differs(d) ? "differs" : holes ? "holes" : "";
    const note = [differs(d) ? "differs between targets" : "", holes ? "holes" : ""]
      .filter(Boolean)
      .join(", ");
    return `<tr class="${cls}"><td><a href="#${anchor(d.name)}"><code>${esc(d.name)}</code></a></td>${views
      .map(
        (v) =>
          `<td class="num">${v.size} / ${v.align}${holeBytes(v) ? ` (hole ${holeBytes(v)})` : ""}</td>`,
      )
      .join("")}<td>${note}</td></tr>`;
  });
  return `<table class="structs"><thead><tr><th>struct</th>${TARGETS.map((t) => `<th>${t} size / align</th>`).join("")}<th></th></tr></thead>
<tbody>${rows.join("\n")}</tbody></table>`;
}

interface Pair {
  from: ReportRevision;
  to: ReportRevision;
  fromFile: string;
  toFile: string;
  file: string;
  changes: Change[];
}

function nav(links: [string, string | undefined][]): string {
  return `<nav>${links
    .filter((l): l is [string, string] => l[1] !== undefined)
    .map(([text, href]) => `<a href="${esc(href)}">${esc(text)}</a>`)
    .join("")}</nav>`;
}

function revisionPage(r: ReportRevision, prev: Pair | undefined, next: Pair | undefined): string {
  const s = r.schema;
  const source = `${s.source.file} (sha256 ${s.source.sha256.slice(0, 12)}…)${s.source.patches.length ? ` + ${s.source.patches.length} patch mail(s)` : ""}`;
  const body = `<h1>${esc(r.label)}: struct layouts</h1>
<p class="sub">${r.title ? `${esc(r.title)}${r.date ? ` (${esc(r.date)})` : ""}. ` : ""}From ${esc(source)}; protocol ${s.source.kernelVersion ?? "?"}.${s.source.minorVersion ?? "?"}; ${s.structs.length} structs.</p>
${nav([
  ["← index", "../index.html"],
  [prev ? `← ${prev.from.label}` : "", prev ? `${prev.fromFile}.html` : undefined],
  [prev ? `diff ${prev.from.label} → ${r.label}` : "", prev ? `${prev.file}.html` : undefined],
  [next ? `diff ${r.label} → ${next.to.label}` : "", next ? `${next.file}.html` : undefined],
  [next ? `${next.to.label} →` : "", next ? `${next.toFile}.html` : undefined],
])}
${legend()}
${structTable(s.structs)}
${s.structs.map((d) => structSection(s, d)).join("\n")}`;
  return page(`${r.label}: struct layouts — fuse-uapi`, body, "../");
}

/** `struct fuse_x` or `struct fuse_x.field` → fuse_x. */
function structOf(c: Change): string | undefined {
  if (sectionOf(c.kind) !== "Structs") return undefined;
  return /^(?:struct|union) ([A-Za-z_]\w*)/.exec(c.subject)?.[1];
}

function diffPage(p: Pair): string {
  const s = summary(p.changes);
  const link = (c: Change): string => {
    const name = structOf(c);
    if (!name) return `<code>${esc(c.subject)}</code>`;
    const file = p.to.schema.structs.some((d) => d.name === name) ? p.toFile : p.fromFile;
    return `<a href="${file}.html#${anchor(name)}"><code>${esc(c.subject)}</code></a>`;
  };
  const rows = p.changes.map(
    (c) =>
      `<tr class="${c.severity}" data-kind="${c.kind}"><td class="sev-${c.severity}">${c.severity}</td><td><code>${c.kind}</code></td><td>${link(c)}</td><td>${esc(c.detail)}</td><td>${
        !c.targets ? "" : c.targets.length === TARGETS.length ? "all" : c.targets.join(", ")
      }</td><td>${esc(c.reason)}</td></tr>`,
  );
  const table = p.changes.length
    ? `<table class="changes"><thead><tr><th>severity</th><th>change</th><th>subject</th><th>detail</th><th>targets</th><th>why</th></tr></thead>
<tbody>${rows.join("\n")}</tbody></table>`
    : "<p>No ABI change.</p>";
  const names = [...new Set(p.changes.map(structOf).filter((n): n is string => n !== undefined))];
  const pairs = names.map((name) => {
    const a = p.from.schema.structs.find((d) => d.name === name);
    const b = p.to.schema.structs.find((d) => d.name === name);
    const colourOf = colourMap([b, a].filter((d): d is StructDef => d !== undefined));
    const row = (d: StructDef | undefined, r: ReportRevision, what: string) =>
      d
        ? `<div class="maps" data-side="${what}">${TARGETS.map((t) => byteMap(d, t, { colourOf, caption: `in ${r.label}` })).join("\n")}</div>`
        : `<p data-side="${what}">not in ${esc(r.label)}</p>`;
    return `<div class="pair" data-struct="${esc(name)}"><h3><code>struct ${esc(name)}</code></h3>
<p class="sub">before (${esc(p.from.label)})</p>${row(a, p.from, "before")}
<p class="sub">after (${esc(p.to.label)})</p>${row(b, p.to, "after")}</div>`;
  });
  const body = `<h1>${esc(p.from.label)} → ${esc(p.to.label)}</h1>
<p class="sub">${p.changes.length} ABI change(s): ${s.breaking} breaking, ${s.compatible} compatible. <b>breaking</b>: a peer built against ${esc(p.from.label)} may misread one built against ${esc(p.to.label)}.</p>
${nav([
  ["← index", "../index.html"],
  [p.from.label, `${p.fromFile}.html`],
  [p.to.label, `${p.toFile}.html`],
])}
${table}
<details><summary>as text (fuse-uapi diff ${esc(p.from.label)} ${esc(p.to.label)})</summary><pre>${esc(formatDiff(p.changes, { from: p.from.label, to: p.to.label }, "text"))}</pre></details>
${pairs.length ? `<h2>Structs changed</h2>\n${legend()}\n${pairs.join("\n")}` : ""}`;
  return page(`${p.from.label} → ${p.to.label}: ABI diff — fuse-uapi`, body, "../");
}

function indexPage(
  revs: readonly ReportRevision[],
  files: readonly string[],
  pairs: readonly Pair[],
): string {
  const revRows = revs.map((r, i) => {
    const defs = r.schema.structs;
    const withHoles = defs.filter((d) =>
      TARGETS.some((t) => holeBytes(structView(d, t)) > 0),
    ).length;
    const differing = defs.filter(differs).length;
    return `<tr class="${differing ? "differs" : ""}"><td><a href="${files[i]}"><code>${esc(r.label)}</code></a></td><td>${esc(r.title ?? "")}</td><td>${esc(r.date ?? "")}</td><td class="num">${defs.length}</td><td class="num">${withHoles}</td><td class="num">${differing}</td></tr>`;
  });
  const pairRows = pairs.map((p) => {
    const s = summary(p.changes);
    return `<tr class="${s.breaking ? "breaking" : "compatible"}"><td><a href="${PAGES_DIR}/${p.file}.html">${esc(p.from.label)} → ${esc(p.to.label)}</a></td><td class="num">${p.changes.length}</td><td class="num">${s.breaking}</td><td class="num">${s.compatible}</td></tr>`;
  });
  const body = `<h1>FUSE ABI report</h1>
<p class="sub">Every struct of each revision drawn byte by byte on x86_64, i386 and aarch64 (the layouts are proven with real compilers by <code>fuse-uapi check</code>), and the ABI changes between consecutive revisions. Generated by <code>fuse-uapi report</code>; <code>fuse-uapi layout &lt;revision&gt; [struct…]</code> prints the same layouts as text.</p>
${legend()}
<h2>Revisions</h2>
<table class="revisions"><thead><tr><th>revision</th><th>title</th><th>date</th><th>structs</th><th>with holes</th><th>differ between targets</th></tr></thead>
<tbody>${revRows.join("\n")}</tbody></table>
${
  pairs.length
    ? `<h2>Changes between consecutive revisions</h2>
<table class="diffs"><thead><tr><th>diff</th><th>changes</th><th>breaking</th><th>compatible</th></tr></thead>
<tbody>${pairRows.join("\n")}</tbody></table>`
    : ""
}`;
  return page("FUSE ABI report — fuse-uapi", body, "");
}

export function buildSite(revs: readonly ReportRevision[]): Site {
  const taken = new Set<string>();
  const stems = revs.map((r) => fileStem(r.label, taken));
  const pairs: Pair[] = revs.slice(1).map((to, i) => ({
    from: revs[i],
    to,
    fromFile: stems[i],
    toFile: stems[i + 1],
    file: fileStem(`diff-${stems[i]}-to-${stems[i + 1]}`, taken),
    changes: diffSchemas(revs[i].schema, to.schema),
  }));
  const pages = new Map<string, string>();
  revs.forEach((r, i) => pages.set(`${stems[i]}.html`, revisionPage(r, pairs[i - 1], pairs[i])));
  for (const p of pairs) pages.set(`${p.file}.html`, diffPage(p));
  const index = indexPage(
    revs,
    stems.map((s) => `${PAGES_DIR}/${s}.html`),
    pairs,
  );
  return { index, pages };
}
