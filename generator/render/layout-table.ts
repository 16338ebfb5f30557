/**
 * View model of `layout.ts`: the schema's per-target sizes, alignments and
 * member offsets as a frozen table, so users can check at runtime whether the
 * x86_64 codecs fit their machine (bindgen emits such facts beside bindings).
 */
import { PRIMARY_TARGET, TARGETS } from "../model.js";
import type { Schema, StructDef, Target, TypeRef } from "../model.js";
import { propertyKey } from "./naming.js";
import type { StructView } from "./structs.js";

export interface LayoutModel {
  targets: string[];
  primary: string;
  structNames: string[];
  structs: {
    cName: string;
    /** cName as a key of STRUCT_LAYOUT (a tag may be `__proto__`). */
    cKey: string;
    targets: {
      target: string;
      size: number;
      align: number;
      offsets: { name: string; key: string; expr: string }[];
    }[];
  }[];
  differs: { target: string; names: string[] }[];
}

function usedRecords(t: TypeRef, out: string[]): void {
  if (t.kind === "struct" || t.kind === "union") out.push(t.name);
  else if (t.kind === "array") usedRecords(t.of, out);
  else if (t.kind === "record") for (const f of t.fields) usedRecords(f.type, out);
}

/**
 * Structs whose bytes the codecs would get wrong on `target`: the size or a
 * member offset differs, or a member struct differs. Alignment alone does not
 * change the bytes of a struct on its own, so it does not count.
 */
function differing(schema: Schema, views: StructView[], target: Target): string[] {
  const byName = new Map<string, StructDef>(schema.structs.map((s) => [s.name, s]));
  const viewOf = new Map(views.map((v) => [v.cName, v]));
  const memo = new Map<string, boolean>();
  const differs = (name: string): boolean => {
    const known = memo.get(name);
    if (known !== undefined) return known;
    memo.set(name, false); // C has no recursive by-value members; this only guards bad input
    const def = byName.get(name);
    const view = viewOf.get(name);
    let result = false;
    if (def && view) {
      const p = view.targetOffsets[PRIMARY_TARGET];
      const t = view.targetOffsets[target];
      result =
        p.size !== t.size ||
        p.offsets.some((o, i) => o.expr !== t.offsets[i]!.expr) ||
        def.fields.some((f) => {
          const used: string[] = [];
          usedRecords(f.type, used);
          return used.some(differs);
        });
    }
    memo.set(name, result);
    return result;
  };
  return schema.structs.map((s) => s.name).filter(differs);
}

export function buildLayout(schema: Schema, views: StructView[]): LayoutModel {
  return {
    targets: [...TARGETS],
    primary: PRIMARY_TARGET,
    structNames: views.map((v) => v.cName),
    structs: views.map((v) => ({
      cName: v.cName,
      cKey: propertyKey(v.cName),
      targets: TARGETS.map((t) => ({ target: t, ...v.targetOffsets[t] })),
    })),
    differs: TARGETS.map((t) => ({ target: t, names: differing(schema, views, t) })),
  };
}
