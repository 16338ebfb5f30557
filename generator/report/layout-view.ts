/**
 * One struct's layout on one target, as pictures of it need it: members with
 * their declarators, the holes between them and the tail padding, nested
 * anonymous records kept as blocks. Shared by `fuse-uapi layout` (pahole-style
 * text) and `fuse-uapi report` (HTML byte maps), so both show the same facts.
 *
 * Holes are computed from the member offsets and sizes the schema records per
 * target (the proven facts), not copied from `layout.padding`: that list only
 * covers the top level, while a hole inside an anonymous struct member is a
 * hole too. test/layout.test.ts checks that the top-level result equals the
 * schema's `padding` for every struct of every committed revision.
 */
import type { Field, StructDef, Target, TypeRef } from "../model.js";

/** Bytes no member covers. `tail`: after the last member, up to the record's size (padding, not a hole). */
export interface Gap {
  offset: number;
  size: number;
  /** The member before it (null at the start of a record, which C never produces). */
  after: string | null;
  tail: boolean;
}

export interface MemberView {
  /** null for an anonymous struct/union member. */
  name: string | null;
  /** Type as written (`uint32_t`, `struct fuse_attr`); `struct`/`union` for an anonymous record. */
  ctype: string;
  /** Name with its pointer and array parts: `*next`, `name[16]`, `entries[]`. */
  declarator: string;
  /** Absolute offset in the outermost struct, bytes. */
  offset: number;
  size: number;
  align: number;
  flexible: boolean;
  /** Set for an anonymous struct/union member: its own members and gaps. */
  record?: RecordView;
}

export interface RecordView {
  union: boolean;
  members: MemberView[];
  /** Holes between members and the tail padding, in offset order (absolute offsets). */
  gaps: Gap[];
}

export interface StructView extends RecordView {
  name: string;
  target: Target;
  size: number;
  align: number;
}

/** `*name`, `name[16]`, `name[]` from the type; the base type is Field.ctype. */
export function declarator(type: TypeRef, name: string): string {
  switch (type.kind) {
    case "array":
      return declarator(type.of, `${name}[${type.lengthExpr}]`);
    case "pointer":
      return declarator(type.to, `*${name}`);
    default:
      return name;
  }
}

function memberView(f: Field, target: Target, base: number): MemberView {
  const l = f.layout[target];
  const offset = base + l.offset;
  const view: MemberView = {
    name: f.name,
    ctype: f.ctype,
    declarator: declarator(f.type, f.name ?? ""),
    offset,
    size: l.size,
    align: l.align,
    flexible: f.flexible === true,
  };
  if (f.type.kind === "record")
    view.record = recordView(f.type.fields, f.type.union, target, offset, l.size);
  return view;
}

function recordView(
  fields: readonly Field[],
  union: boolean,
  target: Target,
  base: number,
  size: number,
): RecordView {
  const members = fields.map((f) => memberView(f, target, base));
  const gaps: Gap[] = [];
  let end = base;
  let last: string | null = null;
  for (const m of members) {
    if (!union && m.offset > end)
      gaps.push({ offset: end, size: m.offset - end, after: last, tail: false });
    end = Math.max(end, m.offset + m.size);
    last = m.name ?? last;
  }
  if (base + size > end)
    gaps.push({ offset: end, size: base + size - end, after: union ? null : last, tail: true });
  return { union, members, gaps };
}

export function structView(def: StructDef, target: Target): StructView {
  const l = def.layout[target];
  return {
    name: def.name,
    target,
    size: l.size,
    align: l.align,
    ...recordView(def.fields, def.union, target, 0, l.size),
  };
}

/** Every gap of the record and of its anonymous members, in offset order. */
export function allGaps(r: RecordView): Gap[] {
  const nested = r.members.flatMap((m) => (m.record ? allGaps(m.record) : []));
  return [...r.gaps, ...nested].sort((a, b) => a.offset - b.offset);
}

/**
 * Two targets place every member and gap at the same offset with the same size.
 * Alignment is left out on purpose, as the ABI lint does: i386 aligns structs
 * with 8-byte members to 4, which changes no byte of the struct itself.
 */
export function sameLayout(a: StructView, b: StructView): boolean {
  const bytes = (r: RecordView): unknown => ({
    m: r.members.map((m) => [m.name, m.offset, m.size, m.record ? bytes(m.record) : null]),
    g: r.gaps.map((g) => [g.offset, g.size, g.tail]),
  });
  return a.size === b.size && JSON.stringify(bytes(a)) === JSON.stringify(bytes(b));
}
