/**
 * View model of `enums.ts`: each C enum becomes an `as const` object (keys are
 * the C enumerator names) plus a same-named union type that also admits unknown
 * values, because a newer kernel may send codes this revision does not know
 * (the protobuf-es/ts-proto approach to open enums).
 */
import type { EnumDef, Schema } from "../model.js";
import { code, jsdoc } from "./doc.js";
import { camelCase, pascalCase, propertyKey, type ExportNames } from "./naming.js";
import { tsIntLiteral } from "./literals.js";

export type ValueKind = "number" | "bigint";

const INT32_MIN = -(2n ** 31n);
const UINT32_MAX = 2n ** 32n - 1n;

/** `number` when every enumerator fits in 32 bits (what C enums normally are), else `bigint`. */
export function enumValueKind(def: EnumDef): ValueKind {
  return def.members.every((m) => BigInt(m.value) >= INT32_MIN && BigInt(m.value) <= UINT32_MAX)
    ? "number"
    : "bigint";
}

export interface EnumMemberView {
  doc: string;
  name: string;
  /** `name` as a key of the enum object (see propertyKey). */
  key: string;
  literal: string;
}

export interface EnumView {
  tsName: string;
  doc: string;
  typeDoc: string;
  members: EnumMemberView[];
  valueType: ValueKind;
  lookupName: string;
  lookupDoc: string;
  cases: { literal: string; nameLiteral: string }[];
}

export interface EnumsModel {
  enums: EnumView[];
  /** Enumerators of tagless enums: plain constants, as C puts them in file scope. */
  loose: EnumMemberView[];
}

function memberDoc(
  def: EnumDef,
  m: EnumDef["members"][number],
  firstWithValue: Map<string, string>,
): string {
  const first = firstWithValue.get(m.value);
  return jsdoc(
    m.doc,
    `C: ${code(m.expression !== undefined ? `${m.name} = ${m.expression}` : m.name)}` +
      (m.expression === undefined
        ? ` (previous + 1 = ${m.value})`
        : m.expression.trim() === m.value
          ? ""
          : ` (= ${m.value})`) +
      (def.name ? ` in ${code(`enum ${def.name}`)}` : "") +
      ".",
    first !== undefined &&
      first !== m.name &&
      `Same value as ${code(first)}; name lookups return ${code(first)}.`,
  );
}

function firstNames(def: EnumDef): Map<string, string> {
  const first = new Map<string, string>();
  for (const m of def.members) if (!first.has(m.value)) first.set(m.value, m.name);
  return first;
}

export function buildEnums(schema: Schema, names: ExportNames): EnumsModel {
  const enums: EnumView[] = [];
  const loose: EnumMemberView[] = [];
  for (const def of schema.enums) {
    const kind = enumValueKind(def);
    const first = firstNames(def);
    const members = def.members.map((m) => ({
      doc: memberDoc(def, m, first),
      name: m.name,
      key: propertyKey(m.name),
      literal: tsIntLiteral(m.value, kind, false),
    }));
    if (!def.name) {
      for (const m of members)
        loose.push({ ...m, name: names.claim(m.name, "enums.ts: enumerator of a tagless enum") });
      continue;
    }
    const tsName = names.claim(pascalCase(def.name), `enums.ts: enum ${def.name}`);
    const lookupName = names.claim(`${camelCase(def.name)}Name`, `enums.ts: enum ${def.name}`);
    const dupes = def.members.filter((m) => first.get(m.value) !== m.name).map((m) => code(m.name));
    enums.push({
      tsName,
      doc: jsdoc(def.doc, `C: ${code(`enum ${def.name}`)}. Keys are the C enumerator names.`),
      typeDoc: jsdoc(
        `A value of ${code(`enum ${def.name}`)}: one of {@link ${tsName}}, or any other ${kind} (a newer peer may send codes this revision does not know).`,
      ),
      members,
      valueType: kind,
      lookupName,
      lookupDoc: jsdoc(
        `The C name of a ${code(`enum ${def.name}`)} value, or undefined for a value this revision does not define.`,
        dupes.length > 0 &&
          `Aliases ${dupes.join(", ")} share a value with an earlier name; the first declared name is returned.`,
      ),
      cases: def.members
        .filter((m) => first.get(m.value) === m.name)
        .map((m) => ({
          literal: tsIntLiteral(m.value, kind, false),
          nameLiteral: JSON.stringify(m.name),
        })),
    });
  }
  return { enums, loose };
}
