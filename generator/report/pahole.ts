/**
 * `fuse-uapi layout`: a struct printed the way pahole(1) prints it from DWARF,
 * because that is the picture ABI people already read: one line per member
 * with its offset and size, `XXX n bytes hole` where the compiler pads between
 * members, cacheline boundaries, and the totals at the end.
 *
 * Targets: one block per distinct layout. Targets that place every member at
 * the same offset with the same size share one block whose header names them
 * all, with their alignments when those differ (`align 8 (i386: 4)`). Most
 * FUSE structs are the same on every target, so three copies would hide the
 * few that are not; a struct that differs gets one block per layout, one under
 * the other.
 * Side-by-side columns were the other choice: they triple the line width
 * (~200 columns), break `diff` and `grep` on the output, and no longer look
 * like pahole. Spaces, not pahole's tabs, so columns line up in any viewer.
 */
import type { StructDef, Target } from "../model.js";
import {
  allGaps,
  type Gap,
  type MemberView,
  type RecordView,
  sameLayout,
  type StructView,
  structView,
} from "./layout-view.js";

const CACHELINE = 64;
const INDENT = "        ";
/** pahole's minimum column widths: type then name. */
const TYPE_COLUMN = INDENT.length + 27;
const COMMENT_COLUMN = TYPE_COLUMN + 22;

export interface TargetGroup {
  targets: Target[];
  view: StructView;
}

/** The struct's layouts, targets with identical layouts grouped (in `targets` order). */
export function groupTargets(def: StructDef, targets: readonly Target[]): TargetGroup[] {
  const groups: TargetGroup[] = [];
  for (const t of targets) {
    const view = structView(def, t);
    const same = groups.find((g) => sameLayout(g.view, view));
    if (same) same.targets.push(t);
    else groups.push({ targets: [t], view });
  }
  return groups;
}

/** A line before layout into columns: member lines have a type, a name and a comment; others are verbatim. */
type Line =
  | { indent: number; type: string; name: string; comment: string }
  | { indent: number; text: string }
  | { blank: true };

function bytes(n: number): string {
  return `${n} ${n === 1 ? "byte" : "bytes"}`;
}

function offsetComment(offset: number, size: number): string {
  return `/* ${String(offset).padStart(5)} ${String(size).padStart(5)} */`;
}

/** Lines of a record's members and gaps, in offset order; tracks the cacheline of the last line printed. */
function recordLines(r: RecordView, depth: number, state: { cacheline: number }): Line[] {
  const lines: Line[] = [];
  const gapAfter = new Map<MemberView, Gap[]>();
  const holes = r.gaps.filter((g) => !g.tail || depth > 1);
  // A gap belongs after the last member that ends at or before it.
  for (const g of holes) {
    const before =
      [...r.members].reverse().find((m) => m.offset + m.size <= g.offset) ??
      r.members[r.members.length - 1];
    gapAfter.set(before, [...(gapAfter.get(before) ?? []), g]);
  }
  for (const m of r.members) {
    const line = Math.floor(m.offset / CACHELINE);
    // As pahole: one mark before the first member that starts in a later cacheline, naming that line.
    if (line > state.cacheline) {
      const ago = m.offset - line * CACHELINE;
      lines.push({
        indent: depth,
        text: `/* --- cacheline ${line} boundary (${line * CACHELINE} bytes)${ago ? ` was ${bytes(ago)} ago` : ""} --- */`,
      });
      state.cacheline = line;
    }
    if (m.record) {
      lines.push({ indent: depth, text: `${m.record.union ? "union" : "struct"} {` });
      lines.push(...recordLines(m.record, depth + 1, state));
      lines.push({
        indent: depth,
        type: m.name ? "}" : "};",
        name: m.name ? `${m.declarator};` : "",
        comment: offsetComment(m.offset, m.size),
      });
    } else {
      lines.push({
        indent: depth,
        type: m.ctype,
        name: `${m.declarator};`,
        comment: offsetComment(m.offset, m.size),
      });
    }
    for (const g of gapAfter.get(m) ?? []) {
      const what = g.tail
        ? `/* XXX ${bytes(g.size)} tail padding */`
        : `/* XXX ${bytes(g.size)} hole, try to pack */`;
      lines.push({ blank: true }, { indent: depth, text: what }, { blank: true });
    }
  }
  return lines;
}

/** The `/* size: … *\/` lines pahole closes a struct with. */
export function totals(v: StructView): string[] {
  const gaps = allGaps(v);
  const padding = v.gaps.filter((g) => g.tail).reduce((n, g) => n + g.size, 0);
  const holes = gaps.filter((g) => !(g.tail && v.gaps.includes(g)));
  const sumHoles = holes.reduce((n, g) => n + g.size, 0);
  const cachelines = Math.ceil(v.size / CACHELINE);
  const out = [`/* size: ${v.size}, cachelines: ${cachelines}, members: ${v.members.length} */`];
  if (holes.length)
    out.push(
      `/* sum members: ${v.size - sumHoles - padding}, holes: ${holes.length}, sum holes: ${sumHoles} */`,
    );
  if (padding) out.push(`/* padding: ${padding} */`);
  if (v.size % CACHELINE) out.push(`/* last cacheline: ${bytes(v.size % CACHELINE)} */`);
  return out;
}

/** `8`, or `8 (i386: 4)` when targets of one block align the struct differently. */
function alignText(def: StructDef, targets: readonly Target[]): string {
  const first = def.layout[targets[0]].align;
  const others = targets.filter((t) => def.layout[t].align !== first);
  return others.length
    ? `${first} (${others.map((t) => `${t}: ${def.layout[t].align}`).join(", ")})`
    : String(first);
}

/** One pahole-style block for one layout shared by `targets`. */
export function paholeBlock(def: StructDef, group: TargetGroup): string {
  const v = group.view;
  const body = recordLines(v, 1, { cacheline: 0 });
  const typeColumn = Math.max(
    TYPE_COLUMN,
    ...body.map((l) => ("type" in l ? l.indent * INDENT.length + l.type.length + 1 : 0)),
  );
  const commentColumn = Math.max(
    COMMENT_COLUMN,
    typeColumn + 1,
    ...body.map((l) => ("type" in l ? typeColumn + l.name.length + 1 : 0)),
  );
  const open = `${def.union ? "union" : "struct"} ${def.name} {`;
  const out = [
    `${open.padEnd(commentColumn)}/* ${group.targets.join(", ")}: size ${v.size}, align ${alignText(def, group.targets)} */`,
  ];
  for (const l of body) {
    if ("blank" in l) out.push("");
    else if ("text" in l) out.push(INDENT.repeat(l.indent) + l.text);
    else
      out.push(
        `${(INDENT.repeat(l.indent) + l.type).padEnd(typeColumn)}${l.name.padEnd(commentColumn - typeColumn)}${l.comment}`,
      );
  }
  out.push("", ...totals(v).map((t) => INDENT + t), "};");
  return out.map((l) => l.trimEnd()).join("\n") + "\n";
}

/** Every block of a struct on the given targets, separated by a blank line. */
export function paholeStruct(def: StructDef, targets: readonly Target[]): string {
  return groupTargets(def, targets)
    .map((g) => paholeBlock(def, g))
    .join("\n");
}

/** Totals over several structs, one line per target (printed after them when more than one is shown). */
export function targetTotals(defs: readonly StructDef[], targets: readonly Target[]): string[] {
  return targets.map((t) => {
    let holes = 0;
    let holeBytes = 0;
    let withHoles = 0;
    let padding = 0;
    for (const d of defs) {
      const v = structView(d, t);
      const inner = allGaps(v).filter((g) => !(g.tail && v.gaps.includes(g)));
      holes += inner.length;
      holeBytes += inner.reduce((n, g) => n + g.size, 0);
      if (inner.length) withHoles++;
      padding += v.gaps.filter((g) => g.tail).reduce((n, g) => n + g.size, 0);
    }
    return `/* ${t}: ${defs.length} ${defs.length === 1 ? "struct" : "structs"}, ${withHoles} with holes, holes: ${holes}, sum holes: ${holeBytes}, sum padding: ${padding} */`;
  });
}
