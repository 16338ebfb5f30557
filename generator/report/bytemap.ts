/**
 * A struct's bytes on one target as a grid: 8 bytes a row (one 64-bit word, so
 * alignment holes stand out), one coloured block per member, hatched blocks for
 * holes and tail padding. A member crossing rows is cut into at most three
 * grid items (head of a row, whole rows, tail of a row). The data-* attributes
 * name what each block is, so tests (and anyone scripting the page) read the
 * same facts the picture shows.
 */
import type { StructDef, Target } from "../model.js";
import { esc, PALETTE } from "./html.js";
import {
  allGaps,
  type MemberView,
  type RecordView,
  type StructView,
  structView,
} from "./layout-view.js";

export const BYTES_PER_ROW = 8;

/** One thing occupying bytes in the map. */
interface Item {
  kind: "field" | "union" | "hole" | "pad";
  /** Shown in the block and in data-name: a member name, `a | b` for a union, or empty for gaps. */
  name: string;
  title: string;
  offset: number;
  size: number;
  colour?: number;
}

function memberTitle(m: MemberView): string {
  return `${m.ctype} ${m.declarator}: offset ${m.offset}, size ${m.size}, align ${m.align}`;
}

/** Member names of a union, nested anonymous records spelled out. */
function unionNames(r: RecordView): string {
  return r.members
    .map((m) =>
      m.record
        ? `${m.record.union ? "union" : "struct"} {${unionNames(m.record)}}`
        : (m.name ?? "?"),
    )
    .join(" | ");
}

/** Leaves of a record: members of anonymous structs are the struct's own; a union is one block. */
function items(r: RecordView, colourOf: (name: string) => number, flex: MemberView[]): Item[] {
  const out: Item[] = [];
  for (const m of r.members) {
    if (m.flexible || m.size === 0) {
      flex.push(m);
      continue;
    }
    if (m.record && !m.record.union) {
      out.push(...items(m.record, colourOf, flex));
      continue;
    }
    if (m.record) {
      const names = unionNames(m.record);
      out.push({
        kind: "union",
        name: m.name ?? names,
        title: `union { ${names} }: offset ${m.offset}, size ${m.size}`,
        offset: m.offset,
        size: m.size,
      });
      continue;
    }
    out.push({
      kind: "field",
      name: m.name ?? "",
      title: memberTitle(m),
      offset: m.offset,
      size: m.size,
      colour: colourOf(m.name ?? ""),
    });
  }
  return out;
}

function gapItems(v: StructView): Item[] {
  return allGaps(v).map((g) => ({
    kind: g.tail ? ("pad" as const) : ("hole" as const),
    name: "",
    title: `${g.size} byte${g.size === 1 ? "" : "s"} ${g.tail ? "tail padding" : "hole"} at offset ${g.offset}${g.after ? ` after ${g.after}` : ""}`,
    offset: g.offset,
    size: g.size,
  }));
}

/** Grid pieces of [offset, offset+size): partial first row, whole rows, partial last row. */
function pieces(
  offset: number,
  size: number,
): { row: number; col: number; span: number; rows: number; offset: number; size: number }[] {
  const out = [];
  let at = offset;
  const end = offset + size;
  while (at < end) {
    const row = Math.floor(at / BYTES_PER_ROW);
    const col = at % BYTES_PER_ROW;
    if (col === 0 && end - at >= 2 * BYTES_PER_ROW) {
      const rows = Math.floor((end - at) / BYTES_PER_ROW);
      out.push({ row, col: 0, span: BYTES_PER_ROW, rows, offset: at, size: rows * BYTES_PER_ROW });
      at += rows * BYTES_PER_ROW;
      continue;
    }
    const span = Math.min(BYTES_PER_ROW - col, end - at);
    out.push({ row, col, span, rows: 1, offset: at, size: span });
    at += span;
  }
  return out;
}

/** Block text (escaped HTML): the member name, or a gap's size on a plain background so the hatching stays readable. */
function label(it: Item, first: boolean): string {
  if (it.kind === "hole" || it.kind === "pad")
    return first
      ? `<span class="gap">${it.kind === "hole" ? "hole" : "pad"} ${it.size}</span>`
      : "";
  return esc(first ? it.name : `…${it.name}`);
}

export interface ByteMapOptions {
  /** Colour index of a member name; defaults to member order. Diff pages share one so a member keeps its colour. */
  colourOf?: (name: string) => number;
  /** Extra text in the caption. */
  caption?: string;
}

/** Colour indices by first appearance across the given structs' members (all targets agree on the order). */
export function colourMap(defs: readonly StructDef[]): (name: string) => number {
  const order = new Map<string, number>();
  const visit = (r: RecordView) => {
    for (const m of r.members) {
      if (m.record && !m.record.union) visit(m.record);
      else if (m.name !== null && !order.has(m.name)) order.set(m.name, order.size);
    }
  };
  for (const d of defs) visit(structView(d, "x86_64"));
  return (name) => (order.get(name) ?? 0) % PALETTE.length;
}

export function holeBytes(v: StructView): number {
  return allGaps(v)
    .filter((g) => !g.tail)
    .reduce((n, g) => n + g.size, 0);
}

export function paddingBytes(v: StructView): number {
  return allGaps(v)
    .filter((g) => g.tail)
    .reduce((n, g) => n + g.size, 0);
}

/** The <figure> of one struct on one target. */
export function byteMap(def: StructDef, target: Target, opts: ByteMapOptions = {}): string {
  const v = structView(def, target);
  const colourOf = opts.colourOf ?? colourMap([def]);
  const flex: MemberView[] = [];
  // A union is one block: every member starts at 0 and shares the bytes.
  const members: Item[] = v.union
    ? [
        {
          kind: "union",
          name: unionNames(v),
          title: `union ${def.name} { ${unionNames(v)} }: size ${v.size}`,
          offset: 0,
          size: v.size - paddingBytes(v),
        },
      ]
    : items(v, colourOf, flex);
  const all = [...members, ...gapItems(v)].sort((a, b) => a.offset - b.offset);
  const rows = Math.ceil(v.size / BYTES_PER_ROW);
  const cells: string[] = [`<div class="off"></div>`];
  for (let c = 0; c < BYTES_PER_ROW; c++) cells.push(`<div class="col">+${c}</div>`);
  for (let r = 0; r < rows; r++)
    cells.push(
      `<div class="off" style="grid-row:${r + 2};grid-column:1">${r * BYTES_PER_ROW}</div>`,
    );
  for (const it of all) {
    pieces(it.offset, it.size).forEach((p, i) => {
      const cls = [
        "seg",
        it.kind,
        it.colour !== undefined ? `f${it.colour}` : "",
        i > 0 ? "cont" : "",
      ]
        .filter(Boolean)
        .join(" ");
      const style = `grid-row:${p.row + 2}${p.rows > 1 ? ` / span ${p.rows}` : ""};grid-column:${p.col + 2} / span ${p.span}`;
      cells.push(
        `<div class="${cls}" style="${style}" data-kind="${it.kind}" data-name="${esc(it.name)}" data-offset="${p.offset}" data-size="${p.size}" data-item-offset="${it.offset}" data-item-size="${it.size}" title="${esc(it.title)}">${label(it, i === 0)}</div>`,
      );
    });
  }
  const holes = holeBytes(v);
  const pad = paddingBytes(v);
  const notes = [`align ${v.align}`, holes ? `holes ${holes}` : "", pad ? `padding ${pad}` : ""]
    .filter(Boolean)
    .join(", ");
  const flexNote = flex
    .map(
      (m) =>
        `<div class="flex">+ <code>${esc(m.ctype)} ${esc(m.declarator)}</code> at ${m.offset}: ${m.flexible ? "flexible array, not counted in the size" : "0 bytes"}</div>`,
    )
    .join("");
  return `<figure class="bytemap" data-struct="${esc(def.name)}" data-target="${target}" data-size="${v.size}" data-align="${v.align}" data-hole-bytes="${holes}" data-padding-bytes="${pad}">
<figcaption>${target} <span class="note">${v.size} bytes (${notes})${opts.caption ? ` ${esc(opts.caption)}` : ""}</span></figcaption>
<div class="grid">${cells.join("")}</div>${flexNote}
</figure>`;
}
