/**
 * The C ABI layout rules (System V psABI for x86_64 and i386, AAPCS64 for
 * aarch64; they agree on everything but the facts in TargetInfo): each member
 * at the next multiple of its alignment, a record aligned to its strictest
 * member and padded to a multiple of that, unions overlaying all members at 0.
 */
import type { FieldLayout, PaddingHole, RecordLayout, Target, TypeRef } from "../model.js";
import { intAlign, intSize, type TargetInfo } from "./targets.js";

export interface SizeAlign {
  size: number;
  align: number;
}

/** Looks up already laid-out named records and enums. */
export interface LayoutScope {
  record(kind: "struct" | "union", name: string, target: Target): SizeAlign | undefined;
  enumLayout(name: string, target: Target): SizeAlign | undefined;
}

export class LayoutError extends Error {
  constructor(message: string) {
    super(message);
    this.name = "LayoutError";
  }
}

export function typeLayout(type: TypeRef, target: TargetInfo, scope: LayoutScope): SizeAlign {
  switch (type.kind) {
    case "int":
      return { size: intSize(type.name), align: intAlign(type.name, target) };
    case "char":
      return { size: 1, align: 1 };
    case "long":
      return { size: target.longBits / 8, align: target.longBits / 8 };
    case "pointer":
      return { size: target.pointerSize, align: target.pointerSize };
    case "enum": {
      const r = scope.enumLayout(type.name, target.name);
      if (r === undefined) throw new LayoutError(`enum ${type.name} is incomplete`);
      return r;
    }
    case "struct":
    case "union": {
      const r = scope.record(type.kind, type.name, target.name);
      if (!r)
        throw new LayoutError(
          `${type.kind} ${type.name} is incomplete (used before its definition)`,
        );
      return r;
    }
    case "record": {
      const r = layoutRecord(
        type.fields.map((f) => f.type),
        type.union,
        target,
        scope,
      );
      return { size: r.size, align: r.align };
    }
    case "array": {
      const el = typeLayout(type.of, target, scope);
      return { size: el.size * (type.length ?? 0), align: el.align };
    }
  }
}

export interface RecordResult extends RecordLayout {
  fields: FieldLayout[];
}

/** Lay out members in order; `names` only label padding holes. */
export function layoutRecord(
  members: readonly TypeRef[],
  union: boolean,
  target: TargetInfo,
  scope: LayoutScope,
  names: readonly (string | null)[] = [],
): RecordResult {
  let offset = 0;
  let size = 0;
  let align = 1;
  const fields: FieldLayout[] = [];
  const padding: PaddingHole[] = [];
  members.forEach((type, i) => {
    const m = typeLayout(type, target, scope);
    align = Math.max(align, m.align);
    if (union) {
      fields.push({ offset: 0, size: m.size, align: m.align });
      size = Math.max(size, m.size);
      return;
    }
    const at = roundUp(offset, m.align);
    if (at > offset)
      padding.push({ after: i > 0 ? (names[i - 1] ?? null) : null, offset, size: at - offset });
    fields.push({ offset: at, size: m.size, align: m.align });
    offset = at + m.size;
    size = offset;
  });
  const total = roundUp(size, align);
  if (total > size)
    padding.push({
      after: union ? null : (names[members.length - 1] ?? null),
      offset: size,
      size: total - size,
    });
  return { size: total, align, padding, fields };
}

export function roundUp(n: number, to: number): number {
  return Math.ceil(n / to) * to;
}
