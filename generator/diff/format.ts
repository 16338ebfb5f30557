/**
 * The three renderings of a diff: `text` for a terminal, `md` for review
 * comments and docs/revisions.md, `json` for machines (exactly the Change
 * array). Output is a pure function of the changes and labels, so committed
 * Markdown regenerates byte for byte.
 */
import { TARGETS } from "../model.js";
import { type Change, SECTIONS, sectionOf, summary } from "./change.js";

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

export function formatText(changes: readonly Change[], labels: DiffLabels): string {
  const lines = [headline(changes, labels)];
  for (const section of SECTIONS) {
    const inSection = changes.filter((c) => sectionOf(c.kind) === section);
    if (!inSection.length) continue;
    lines.push("", section);
    for (const c of inSection) {
      lines.push(`  ${c.severity === "breaking" ? "BREAKING  " : "compatible"}  ${c.kind}  ${c.subject}: ${c.detail}`);
      lines.push(`              why: ${c.reason}`);
    }
  }
  return lines.join("\n") + "\n";
}

/** Markdown table cell: pipes escaped, newlines folded, code spans for C names. */
function cell(s: string): string {
  return s.replace(/\\/g, "\\\\").replace(/\|/g, "\\|").replace(/\s*\n\s*/g, " ");
}

export function formatMarkdownTable(changes: readonly Change[]): string {
  const rows = [
    "| Severity | Change | Subject | Detail | Targets | Why |",
    "| --- | --- | --- | --- | --- | --- |",
    ...changes.map((c) =>
      [
        c.severity === "breaking" ? "**breaking**" : "compatible",
        c.kind,
        `\`${cell(c.subject)}\``,
        cell(c.detail),
        !c.targets ? "" : c.targets.length === TARGETS.length ? "all" : c.targets.join(", "),
        cell(c.reason),
      ].join(" | "),
    ).map((r) => `| ${r} |`),
  ];
  return rows.join("\n") + "\n";
}

/** A standalone Markdown report; `heading` is the level of its title (docs nest it under a page title). */
export function formatMarkdown(changes: readonly Change[], labels: DiffLabels, heading = "##"): string {
  const title = `${heading} ${labels.from} → ${labels.to}\n\n`;
  if (!changes.length) return `${title}No ABI change.\n`;
  const s = summary(changes);
  return `${title}${changes.length} ABI change(s): ${s.breaking} breaking, ${s.compatible} compatible.\n\n${formatMarkdownTable(changes)}`;
}

export function formatJson(changes: readonly Change[]): string {
  return JSON.stringify(changes, null, 2) + "\n";
}

export function formatDiff(changes: readonly Change[], labels: DiffLabels, format: Format): string {
  switch (format) {
    case "text":
      return formatText(changes, labels);
    case "md":
      return formatMarkdown(changes, labels);
    case "json":
      return formatJson(changes);
  }
}
