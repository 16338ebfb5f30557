/**
 * ABI lint: what makes a struct fragile across the kernel/userspace boundary.
 * Implicit padding is uninitialised memory on the wire and a trap for 32-bit
 * servers on 64-bit kernels; a size or offset that differs between targets
 * breaks exactly those servers (FUSE's own rule is "pad to 64-bit boundary").
 */
import { type LintEntry, type StructDef, type Target, TARGETS } from "./model.js";

export function abiLint(structs: readonly StructDef[]): LintEntry[] {
  const out: LintEntry[] = [];
  for (const s of structs) {
    const kind = s.union ? "union" : "struct";
    for (const t of TARGETS) {
      for (const hole of s.layout[t].padding) {
        const where =
          hole.after === null
            ? s.union
              ? "at the tail"
              : "before the first member"
            : `after ${hole.after}`;
        out.push({
          kind: "implicit-padding",
          struct: s.name,
          ...(hole.after ? { field: hole.after } : {}),
          message: `${kind} ${s.name}: ${hole.size} byte(s) of implicit padding at offset ${hole.offset} ${where} on ${t}`,
          detail: { [t]: hole.size },
        });
      }
    }
    const sizes = perTarget((t) => s.layout[t].size);
    if (new Set(Object.values(sizes)).size > 1)
      out.push({
        kind: "size-differs",
        struct: s.name,
        message: `${kind} ${s.name}: size differs between targets (${fmt(sizes)})`,
        detail: sizes,
      });
    for (const f of s.fields) {
      const offsets = perTarget((t) => f.layout[t].offset);
      if (new Set(Object.values(offsets)).size > 1)
        out.push({
          kind: "offset-differs",
          struct: s.name,
          ...(f.name ? { field: f.name } : {}),
          message: `${kind} ${s.name}: offset of ${f.name ?? "(anonymous member)"} differs between targets (${fmt(offsets)})`,
          detail: offsets,
        });
    }
  }
  return out;
}

function perTarget(f: (t: Target) => number): Record<Target, number> {
  return Object.fromEntries(TARGETS.map((t) => [t, f(t)])) as Record<Target, number>;
}

function fmt(r: Record<Target, number>): string {
  return TARGETS.map((t) => `${t} ${r[t]}`).join(", ");
}
