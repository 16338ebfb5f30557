/**
 * Object-like constants and flags, matched by name, compared per target.
 *
 * A *flag* is a constant written with `<<` whose value is a single bit (and
 * not a plain alias of another macro). Flags come in families — FATTR_*,
 * the INIT flags, FUSE_COMPOUND_* — that the header writes as one run of
 * increasing bits. Names alone do not give the family (the INIT flags are just
 * FUSE_*), so a family here is such a run in header order: it ends at any
 * non-flag constant or where the bit stops increasing. Two flags of different
 * revisions are in the same family when their runs share a name. That is what
 * lets "FUSE_COMPOUND_CONTINUE takes bit 1, which FUSE_COMPOUND_ATOMIC had"
 * be told apart from FUSE_RELEASE_FLUSH and FOPEN_DIRECT_IO both being bit 0.
 */
import {
  type ConstantDef,
  type ConstType,
  PRIMARY_TARGET,
  type Schema,
  type Target,
} from "../model.js";
import {
  type Change,
  changedTargets,
  onTargets,
  type PerTarget,
  perTarget,
  transitions,
} from "./change.js";

/** The minor version is negotiated at FUSE_INIT: raising it is how FUSE adds features. */
const NEGOTIATED_MINOR = "FUSE_KERNEL_MINOR_VERSION";

export function valueOn(c: ConstantDef, t: Target): string | null {
  if (t !== PRIMARY_TARGET && c.targetValues && t in c.targetValues)
    return c.targetValues[t] ?? null;
  return c.value;
}

export function typeOn(c: ConstantDef, t: Target): ConstType | null {
  if (t !== PRIMARY_TARGET && c.targetTypes && t in c.targetTypes) return c.targetTypes[t] ?? null;
  return c.type;
}

/** Bit number of a single-bit value; `1 << 31` as an int (negative) counts as bit 31. */
export function bitOf(value: string | null): number | null {
  if (value === null) return null;
  let v = BigInt(value);
  if (v < 0n) v = -v;
  if (v === 0n || (v & (v - 1n)) !== 0n) return null;
  return v.toString(2).length - 1;
}

export function isFlag(c: ConstantDef): boolean {
  return !c.aliasOf && c.expression.includes("<<") && bitOf(c.value) !== null;
}

/** name → the names of its flag run (see the module comment); non-flags are absent. */
export function flagFamilies(constants: readonly ConstantDef[]): Map<string, Set<string>> {
  const families = new Map<string, Set<string>>();
  let run = new Set<string>();
  let lastBit = -1;
  for (const c of constants) {
    if (c.aliasOf) continue; // `#define FUSE_DIRECT_IO_RELAX FUSE_DIRECT_IO_ALLOW_MMAP` sits inside a run
    const bit = isFlag(c) ? bitOf(c.value) : null;
    if (bit === null || bit <= lastBit) {
      run = new Set();
      lastBit = -1;
    }
    if (bit === null) continue;
    run.add(c.name);
    families.set(c.name, run);
    lastBit = bit;
  }
  return families;
}

export function diffConstants(a: Schema, b: Schema): Change[] {
  const out: Change[] = [];
  const oldByName = new Map(a.constants.map((c) => [c.name, c]));
  const newByName = new Map(b.constants.map((c) => [c.name, c]));
  const oldFamilies = flagFamilies(a.constants);
  const newFamilies = flagFamilies(b.constants);
  const sameFamily = (oldName: string, newName: string) => {
    const of = oldFamilies.get(oldName);
    const nf = newFamilies.get(newName);
    return !!of && !!nf && [...of].some((n) => nf.has(n));
  };
  /** Old flags that held `bit` and no longer do (gone, or renumbered away), in `newName`'s family. */
  const previousOwners = (bit: number, newName: string) =>
    a.constants.filter((o) => {
      if (
        o.name === newName ||
        !isFlag(o) ||
        bitOf(o.value) !== bit ||
        !sameFamily(o.name, newName)
      )
        return false;
      const now = newByName.get(o.name);
      return !now || bitOf(now.value) !== bit;
    });
  const ownerNote = (owners: ConstantDef[]) =>
    owners.map((o) => {
      const now = newByName.get(o.name);
      return `${o.name}'s${now ? ` (now ${bitText(now.value)})` : " (removed)"}`;
    });

  for (const cb of b.constants) {
    const ca = oldByName.get(cb.name);
    if (!ca) {
      out.push(added(cb, isFlag(cb) ? previousOwners(bitOf(cb.value)!, cb.name) : [], ownerNote));
      continue;
    }
    out.push(...changed(ca, cb, previousOwners, ownerNote));
  }
  for (const ca of a.constants)
    if (!newByName.has(ca.name))
      out.push(
        isFlag(ca)
          ? {
              kind: "flag-removed",
              subject: ca.name,
              detail: `removed (was ${bitText(ca.value)})`,
              severity: "breaking",
              reason: "old peers still set or test the bit; code using it no longer compiles",
            }
          : {
              kind: "constant-removed",
              subject: ca.name,
              detail: `removed (was ${ca.value ?? ca.expression})`,
              severity: "breaking",
              reason:
                "code using it no longer compiles, and peers built with it still rely on its value",
            },
      );
  return out;
}

function added(
  c: ConstantDef,
  owners: ConstantDef[],
  ownerNote: (o: ConstantDef[]) => string[],
): Change {
  if (!isFlag(c))
    return {
      kind: "constant-added",
      subject: c.name,
      detail: `added = ${c.value ?? c.expression}`,
      severity: "compatible",
      reason: "a new name: nothing existing on the wire changes",
    };
  const bit = bitText(c.value);
  if (owners.length)
    return {
      kind: "flag-bit-reused",
      subject: c.name,
      detail: `added at ${bit}, which was ${ownerNote(owners).join(" and ")}`,
      severity: "breaking",
      reason: `old peers read ${bit} as ${owners.map((o) => o.name).join("/")}`,
    };
  return {
    kind: "flag-added",
    subject: c.name,
    detail: `added at ${bit}`,
    severity: "compatible",
    reason: "a new bit: old peers never set it and ignore it",
  };
}

function changed(
  ca: ConstantDef,
  cb: ConstantDef,
  previousOwners: (bit: number, newName: string) => ConstantDef[],
  ownerNote: (o: ConstantDef[]) => string[],
): Change[] {
  const out: Change[] = [];
  const va: PerTarget<string | null> = perTarget((t) => valueOn(ca, t));
  const vb: PerTarget<string | null> = perTarget((t) => valueOn(cb, t));
  const diff = changedTargets(va, vb);
  const unevaluable = ca.value === null && cb.value === null;
  if (unevaluable && ca.expression !== cb.expression) {
    out.push({
      kind: "constant-value-changed",
      subject: cb.name,
      detail: `${ca.expression} → ${cb.expression} (not computable in userspace: ${cb.unresolved ?? "unresolved"})`,
      severity: "breaking",
      reason: "the expression of its value changed",
    });
  } else if (diff.length && isFlag(ca) && isFlag(cb)) {
    const owners = previousOwners(bitOf(cb.value)!, cb.name);
    out.push({
      kind: "flag-renumbered",
      subject: cb.name,
      detail: `${bitText(ca.value)} → ${bitText(cb.value)}${owners.length ? ` (${bitText(cb.value)} was ${ownerNote(owners).join(" and ")})` : ""}`,
      severity: "breaking",
      reason: `a flag's bit is the wire protocol: old peers still use ${bitText(ca.value)}`,
      targets: diff,
    });
  } else if (diff.length) {
    const minorUp =
      cb.name === NEGOTIATED_MINOR &&
      ca.value !== null &&
      cb.value !== null &&
      BigInt(cb.value) > BigInt(ca.value);
    out.push({
      kind: "constant-value-changed",
      subject: cb.name,
      detail: transitions(va, vb, (v) => v ?? "(not valid)"),
      severity: minorUp ? "compatible" : "breaking",
      reason: minorUp
        ? "the minor version is negotiated at FUSE_INIT: each side uses the lower one"
        : "peers built against the old header use the old value",
      targets: diff,
    });
  }
  const ta = perTarget((t) => typeOn(ca, t));
  const tb = perTarget((t) => typeOn(cb, t));
  const typeDiff = changedTargets(ta, tb);
  if (typeDiff.length && !unevaluable)
    out.push({
      kind: "constant-type-changed",
      subject: cb.name,
      detail: `C type ${transitions(ta, tb, (v) => v ?? "(none)")}`,
      severity: diff.length ? "breaking" : "compatible",
      reason: diff.length
        ? "its value changed too"
        : `same value ${onTargets(typeDiff)}; only C arithmetic on it (~, shifts, mixing with wider types) can differ`,
      targets: typeDiff,
    });
  return out;
}

function bitText(value: string | null): string {
  const bit = bitOf(value);
  return bit === null ? `value ${value ?? "(none)"}` : `bit ${bit}`;
}
