/**
 * The HTML frame of every report page: escaping, one inline stylesheet, no
 * script and no external resource (the report opens from file:// offline and
 * is archived as is). The generator meta tag marks files the report wrote, so
 * `fuse-uapi report` only ever replaces its own output.
 */
import { TOOL_VERSION } from "../version.js";

export const GENERATOR_MARK = '<meta name="generator" content="fuse-uapi report';

export function esc(s: string | number): string {
  return String(s).replace(/[&<>"']/g, (c) => `&#${c.charCodeAt(0)};`);
}

/** Tagged template that leaves its literal parts as they are: callers escape values with esc(). */
export function html(parts: TemplateStringsArray, ...values: (string | number)[]): string {
  return parts.reduce((out, p, i) => out + p + (i < values.length ? String(values[i]) : ""), "");
}

/** Field colours: pale enough for black text, distinct for neighbours (a member's index picks one, cycling). */
export const PALETTE = [
  "#a5d8ff",
  "#b2f2bb",
  "#ffec99",
  "#d0bfff",
  "#ffc9c9",
  "#99e9f2",
  "#ffd8a8",
  "#eebefa",
  "#c0eb75",
  "#bac8ff",
] as const;

const CSS = `
:root { --cell: 34px; --row: 24px; }
* { box-sizing: border-box; }
body { margin: 24px 32px; font: 14px/1.45 "DejaVu Sans", "Liberation Sans", Arial, sans-serif; color: #1c2330; background: #fff; }
h1 { font-size: 24px; margin: 0 0 4px; }
h2 { font-size: 17px; margin: 0 0 4px; font-family: "DejaVu Sans Mono", monospace; }
h2 a { color: inherit; text-decoration: none; }
a { color: #1864ab; }
code, pre, .mono { font-family: "DejaVu Sans Mono", "Liberation Mono", monospace; }
pre { font-size: 12px; background: #f8f9fa; border: 1px solid #dee2e6; padding: 8px 12px; overflow-x: auto; }
nav { margin: 6px 0 18px; color: #495057; }
nav a { margin-right: 14px; }
.sub { color: #495057; margin: 0 0 12px; }
table { border-collapse: collapse; margin: 8px 0 20px; }
th, td { border: 1px solid #ced4da; padding: 3px 8px; text-align: left; vertical-align: top; font-size: 13px; }
th { background: #f1f3f5; }
td.num { text-align: right; font-variant-numeric: tabular-nums; }
tr.differs td:first-child, tr.breaking td:first-child { border-left: 4px solid #e03131; }
tr.holes td:first-child { border-left: 4px solid #f08c00; }
tr.compatible td:first-child { border-left: 4px solid #2f9e44; }
.sev-breaking { color: #c92a2a; font-weight: bold; }
.sev-compatible { color: #2b8a3e; }
section.struct { border-top: 1px solid #dee2e6; padding: 14px 0 8px; }
.facts { margin: 0 0 6px; color: #343a40; }
.doc { margin: 0 0 6px; color: #495057; font-style: italic; }
ul.lint { margin: 0 0 8px; padding-left: 20px; color: #c92a2a; }
.maps { display: flex; flex-wrap: wrap; gap: 16px 36px; align-items: flex-start; margin: 6px 0; }
.pair { margin: 8px 0 14px; }
.pair > h3 { font-size: 14px; margin: 6px 0; }
figure.bytemap { margin: 0; }
figure.bytemap figcaption { font-weight: bold; margin-bottom: 4px; font-size: 13px; }
figure.bytemap figcaption .note { font-weight: normal; color: #495057; }
.grid { display: grid; grid-template-columns: 3.2em repeat(8, var(--cell)); grid-auto-rows: var(--row); }
.grid .off, .grid .col { font: 11px/var(--row) "DejaVu Sans Mono", monospace; color: #868e96; }
.grid .off { text-align: right; padding-right: 6px; }
.grid .col { text-align: center; }
.seg { border: 1px solid #343a40; margin: 0 -1px -1px 0; padding: 0 4px; overflow: hidden; white-space: nowrap; text-overflow: ellipsis;
  font: 11px/calc(var(--row) - 2px) "DejaVu Sans Mono", monospace; color: #1c2330;
  background-image: linear-gradient(to right, rgba(0, 0, 0, 0.16) 1px, transparent 1px); background-size: var(--cell) 100%; background-position: -1px 0; }
.seg.cont { color: #6c757d; }
.seg.hole { background: repeating-linear-gradient(135deg, #e03131 0 3px, #fff0f0 3px 8px); color: #a61e1e; font-weight: bold; }
.seg.pad { background: repeating-linear-gradient(135deg, #868e96 0 2px, #f1f3f5 2px 7px); color: #343a40; }
.seg.union { background-color: #e9ecef; }
.seg .gap { background: #fff; padding: 0 3px; border-radius: 2px; }
.flex { font-size: 12px; color: #495057; margin-top: 4px; }
.legend { display: flex; flex-wrap: wrap; gap: 6px 18px; align-items: center; margin: 6px 0 16px; font-size: 13px; }
.legend .seg { display: inline-block; width: calc(var(--cell) * 2); height: var(--row); margin: 0; vertical-align: middle; }
details { margin: 4px 0 6px; }
summary { cursor: pointer; color: #1864ab; }
footer { margin-top: 28px; color: #868e96; font-size: 12px; }
${PALETTE.map((c, i) => `.f${i} { background-color: ${c}; }`).join("\n")}
`;

/** A whole page. `root` is the relative path to the site root ("" or "../"). */
export function page(title: string, body: string, root: string): string {
  return `<!DOCTYPE html>
<html lang="en">
<head>
<meta charset="utf-8">
${GENERATOR_MARK} ${esc(TOOL_VERSION)}">
<meta name="viewport" content="width=device-width, initial-scale=1">
<title>${esc(title)}</title>
<style>${CSS}</style>
</head>
<body>
${body}
<footer>Generated by <code>fuse-uapi report</code> ${esc(TOOL_VERSION)} from the committed schemas. <a href="${root}index.html">Index</a></footer>
</body>
</html>
`;
}

/** The colour legend shown on every page with byte maps. */
export function legend(): string {
  return `<div class="legend">
<span><span class="seg f0"></span> <span class="seg f1"></span> <span class="seg f2"></span> a member (one colour each; faint lines every byte)</span>
<span><span class="seg hole"></span> hole between members</span>
<span><span class="seg pad"></span> tail padding</span>
<span><span class="seg union"></span> union: its members share the bytes</span>
<span>8 bytes per row; offsets in decimal</span>
</div>`;
}
