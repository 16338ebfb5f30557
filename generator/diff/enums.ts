/**
 * Enum members, matched by name (enumerators share C's one ordinary namespace,
 * so a name is unique across the header). `enum fuse_opcode` gets its own
 * change kinds because opcodes are the protocol's first dispatch key; every
 * other enum (fuse_notify_code, fuse_ext_type, ...) is diffed the same way.
 */
import type { EnumDef, Schema } from "../model.js";
import type { Change } from "./change.js";

export const OPCODE_ENUM = "fuse_opcode";

export function diffEnums(a: Schema, b: Schema): Change[] {
  const out: Change[] = [];
  const oldEnums = new Map(a.enums.map((e) => [e.name, e]));
  const newNames = new Set(b.enums.map((e) => e.name));
  for (const eb of b.enums) {
    const ea = oldEnums.get(eb.name);
    if (!ea) {
      out.push({
        kind: "enum-added",
        subject: `enum ${eb.name}`,
        detail: `added with ${eb.members.length} member(s): ${eb.members.map((m) => `${m.name} = ${m.value}`).join(", ")}`,
        severity: "compatible",
        reason: "a new enum: nothing existing on the wire changes",
      });
      continue;
    }
    out.push(...diffMembers(ea, eb));
  }
  for (const ea of a.enums)
    if (!newNames.has(ea.name))
      out.push({
        kind: "enum-removed",
        subject: `enum ${ea.name}`,
        detail: `removed with its ${ea.members.length} member(s)`,
        severity: "breaking",
        reason: "old peers still send or expect its values; code using it no longer compiles",
      });
  return out;
}

function diffMembers(ea: EnumDef, eb: EnumDef): Change[] {
  const out: Change[] = [];
  const opcode = eb.name === OPCODE_ENUM;
  const where = opcode ? "" : `enum ${eb.name}: `;
  const oldByName = new Map(ea.members.map((m) => [m.name, m.value]));
  const newByName = new Map(eb.members.map((m) => [m.name, m.value]));
  // A value is "freed" when its old owner is gone or moved away; a new owner of it is a reuse.
  const freed = new Map<string, string>();
  for (const m of ea.members) if (newByName.get(m.name) !== m.value) freed.set(m.value, m.name);

  for (const m of eb.members) {
    const old = oldByName.get(m.name);
    const prevOwner = freed.get(m.value);
    if (old === undefined) {
      if (prevOwner !== undefined)
        out.push({
          kind: opcode ? "opcode-number-reused" : "enum-value-reused",
          subject: m.name,
          detail: `${where}added as ${m.value}, which was ${prevOwner}'s${movedNote(prevOwner, newByName)}`,
          severity: "breaking",
          reason: `old peers read ${m.value} as ${prevOwner}`,
        });
      else
        out.push({
          kind: opcode ? "opcode-added" : "enum-member-added",
          subject: m.name,
          detail: `${where}added as ${m.value}`,
          severity: "compatible",
          reason: opcode
            ? "a new opcode: old kernels never send it and old servers answer ENOSYS, which the kernel handles"
            : "a new value: old peers never send it",
        });
    } else if (old !== m.value) {
      out.push({
        kind: opcode ? "opcode-moved" : "enum-member-value-changed",
        subject: m.name,
        detail: `${where}${old} → ${m.value}${prevOwner !== undefined ? ` (${m.value} was ${prevOwner}'s)` : ""}`,
        severity: "breaking",
        reason: opcode
          ? `the number is the wire protocol: old and new peers disagree on what ${old} and ${m.value} mean`
          : `the value is the wire protocol: old peers still use ${old}`,
      });
    }
  }
  for (const m of ea.members)
    if (!newByName.has(m.name))
      out.push({
        kind: opcode ? "opcode-removed" : "enum-member-removed",
        subject: m.name,
        detail: `${where}removed (was ${m.value})`,
        severity: "breaking",
        reason: opcode
          ? "old peers still send it and get no handler"
          : "old peers may still send it; code using it no longer compiles",
      });
  return out;
}

function movedNote(name: string, newByName: Map<string, string>): string {
  const now = newByName.get(name);
  return now === undefined ? ", removed" : `, now ${now}`;
}
