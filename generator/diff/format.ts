/**
 * The three renderings of a diff: `text` for a terminal, `md` for review
 * comments and docs/revisions.md, `json` for machines (one array: the ABI
 * Change objects, then the TypeScript API changes, whose kinds start with
 * `ts-` and which carry the same fields). Output is a pure function of the
 * changes and labels, so committed Markdown regenerates byte for byte.
 *
 * The TypeScript API part (./ts-api.ts) is optional: `undefined` when it was
 * not computed (`--no-ts`, docs/revisions.md), `[]` when it found nothing.
 */
import { TARGETS } from "../model.js";
import { type Change, SECTIONS, sectionOf, summary } from "./change.js";
import type { TsApiChange } from "./ts-api.js";

export const FORMATS = ["text", "md", "json"] as const;
export type Format = (typeof FORMATS)[number];

export interface DiffLabels {
  from: string;
  to: string;
}

function headline(changes: readonly Change[], labels: DiffLabels): string {
  if (!changes.length) return `${labels.from} → ${labels.to}: no ABI change`;
  const s = summary(changes);
  return `${labels.from} → ${labels.to}: ${changes.length} ABI change(s), ${s.breaking} breaking, ${s.compatible} compatible`;
}

/** The heading of the TypeScript API part. */
export const TS_SECTION = "TypeScript API";

/** `summary` for the TypeScript part (ts-api.ts loads ts-morph; this module must not). */
function tsSummary(ts: readonly TsApiChange[]): { breaking: number; compatible: number } {
  const breaking = ts.filter((c) => c.severity === "breaking").length;
  return { breaking, compatible: ts.length - breaking };
}

function tsHeadline(ts: readonly TsApiChange[]): string {
  if (!ts.length) return `${TS_SECTION}: no change to the exported symbols`;
  const s = tsSummary(ts);
  return `${TS_SECTION}: ${ts.length} change(s) to the exported symbols, ${s.breaking} breaking, ${s.compatible} compatible`;
}

function textLines(c: Change | TsApiChange): string[] {
  return [
    `  ${c.severity === "breaking" ? "BREAKING  " : "compatible"}  ${c.kind}  ${c.subject}: ${c.detail}`,
    `              why: ${c.reason}`,
  ];
}

export function formatText(
  changes: readonly Change[],
  labels: DiffLabels,
  ts?: readonly TsApiChange[],
): string {
  const lines = [headline(changes, labels)];
  for (const section of SECTIONS) {
    const inSection = changes.filter((c) => sectionOf(c.kind) === section);
    if (!inSection.length) continue;
    lines.push("", section);
    for (const c of inSection) lines.push(...textLines(c));
  }
  if (ts) {
    lines.push("", tsHeadline(ts));
    for (const c of ts) lines.push(...textLines(c));
  }
  return lines.join("\n") + "\n";
}

/** Markdown table cell: pipes escaped, newlines folded, code spans for C names. */
function cell(s: string): string {
  return s
    .replace(/\\/g, "\\\\")
    .replace(/\|/g, "\\|")
    .replace(/\s*\n\s*/g, " ");
}

/** The TypeScript API part: export name instead of C subject, no targets (the API is the same on every target). */
export function formatTsMarkdownTable(ts: readonly TsApiChange[]): string {
  const rows = [
    "| Severity | Change | Export | Detail | Why |",
    "| --- | --- | --- | --- | --- |",
    ...ts.map(
      (c) =>
        `| ${[c.severity === "breaking" ? "**breaking**" : "compatible", c.kind, `\`${cell(c.subject)}\``, cell(c.detail), cell(c.reason)].join(" | ")} |`,
    ),
  ];
  return rows.join("\n") + "\n";
}

export function formatMarkdownTable(changes: readonly Change[]): string {
  const rows = [
    "| Severity | Change | Subject | Detail | Targets | Why |",
    "| --- | --- | --- | --- | --- | --- |",
    ...changes
      .map((c) =>
        [
          c.severity === "breaking" ? "**breaking**" : "compatible",
          c.kind,
          `\`${cell(c.subject)}\``,
          cell(c.detail),
          !c.targets ? "" : c.targets.length === TARGETS.length ? "all" : c.targets.join(", "),
          cell(c.reason),
        ].join(" | "),
      )
      .map((r) => `| ${r} |`),
  ];
  return rows.join("\n") + "\n";
}

/** A standalone Markdown report; `heading` is the level of its title (docs nest it under a page title). */
export function formatMarkdown(
  changes: readonly Change[],
  labels: DiffLabels,
  heading = "##",
  ts?: readonly TsApiChange[],
): string {
  const title = `${heading} ${labels.from} → ${labels.to}\n\n`;
  const s = summary(changes);
  const abi = !changes.length
    ? `${title}No ABI change.\n`
    : `${title}${changes.length} ABI change(s): ${s.breaking} breaking, ${s.compatible} compatible.\n\n${formatMarkdownTable(changes)}`;
  if (!ts) return abi;
  const t = tsSummary(ts);
  const tsPart = !ts.length
    ? "No change to the exported symbols.\n"
    : `${ts.length} change(s) to the exported symbols: ${t.breaking} breaking, ${t.compatible} compatible.\n\n${formatTsMarkdownTable(ts)}`;
  return `${abi}\n${heading}# ${TS_SECTION}\n\n${tsPart}`;
}

export function formatJson(changes: readonly Change[], ts?: readonly TsApiChange[]): string {
  return JSON.stringify([...changes, ...(ts ?? [])], null, 2) + "\n";
}

export function formatDiff(
  changes: readonly Change[],
  labels: DiffLabels,
  format: Format,
  ts?: readonly TsApiChange[],
): string {
  switch (format) {
    case "text":
      return formatText(changes, labels, ts);
    case "md":
      return formatMarkdown(changes, labels, "##", ts);
    case "json":
      return formatJson(changes, ts);
  }
}
