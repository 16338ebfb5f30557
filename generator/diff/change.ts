/**
 * What `fuse-uapi diff` reports: one `Change` per ABI fact that differs between
 * two schemas, each classified breaking or compatible with a one-line reason.
 * The classification rules are stated once, at the top of ./index.ts.
 *
 * The JSON output is exactly an array of these objects, so keep the field set
 * small and stable: kind (machine-readable), subject (the C name), detail (the
 * before → after facts), severity, reason, targets (only for target-dependent
 * facts: layouts and constants whose value depends on the target).
 */
import { TARGETS, type Target } from "../model.js";

export type Severity = "breaking" | "compatible";

export type ChangeKind =
  | "opcode-added"
  | "opcode-removed"
  | "opcode-moved"
  | "opcode-number-reused"
  | "enum-added"
  | "enum-removed"
  | "enum-member-added"
  | "enum-member-removed"
  | "enum-member-value-changed"
  | "enum-value-reused"
  | "constant-added"
  | "constant-removed"
  | "constant-value-changed"
  | "constant-type-changed"
  | "flag-added"
  | "flag-removed"
  | "flag-renumbered"
  | "flag-bit-reused"
  | "struct-added"
  | "struct-removed"
  | "struct-size-changed"
  | "struct-align-changed"
  | "struct-target-mismatch"
  | "struct-target-mismatch-fixed"
  | "field-added"
  | "field-appended"
  | "field-removed"
  | "field-moved"
  | "field-type-changed"
  | "field-resized"
  | "field-renamed"
  | "padding-appeared"
  | "padding-disappeared"
  | "padding-made-explicit"
  | "macro-added"
  | "macro-removed"
  | "macro-changed"
  | "protocol-request-changed"
  | "protocol-reply-changed"
  | "protocol-extensions-changed"
  | "protocol-notification-changed"
  | "protocol-compat-size-added"
  | "protocol-compat-size-removed"
  | "protocol-compat-size-changed"
  | "compound-prefix-added"
  | "compound-prefix-removed"
  | "compound-prefix-changed"
  | "compound-role-changed"
  | "compound-dependencies-changed"
  | "compound-decline-changed";

export interface Change {
  kind: ChangeKind;
  subject: string;
  detail: string;
  severity: Severity;
  reason: string;
  targets?: Target[];
}

/** Report sections, in output order; a change's section follows from its kind. */
export const SECTIONS = [
  "Opcodes",
  "Enums",
  "Constants and flags",
  "Structs",
  "Macros",
  "Protocol",
  "Compound semantics",
] as const;
export type Section = (typeof SECTIONS)[number];

export function sectionOf(kind: ChangeKind): Section {
  if (kind.startsWith("opcode-")) return "Opcodes";
  if (kind.startsWith("enum-")) return "Enums";
  if (kind.startsWith("constant-") || kind.startsWith("flag-")) return "Constants and flags";
  if (kind.startsWith("struct-") || kind.startsWith("field-") || kind.startsWith("padding-"))
    return "Structs";
  if (kind.startsWith("macro-")) return "Macros";
  if (kind.startsWith("compound-")) return "Compound semantics";
  return "Protocol";
}

export type PerTarget<T> = Record<Target, T>;

export function perTarget<T>(f: (t: Target) => T): PerTarget<T> {
  return Object.fromEntries(TARGETS.map((t) => [t, f(t)])) as PerTarget<T>;
}

/** Targets where `from` and `to` differ (compared as strings: values may be bigint decimals or null). */
export function changedTargets<T>(from: PerTarget<T>, to: PerTarget<T>): Target[] {
  return TARGETS.filter((t) => String(from[t]) !== String(to[t]));
}

/** "on all targets" or "on x86_64, aarch64". */
export function onTargets(targets: readonly Target[]): string {
  return targets.length === TARGETS.length ? "on all targets" : `on ${targets.join(", ")}`;
}

/**
 * "24 → 16 on x86_64, aarch64; 20 → 16 on i386": targets with the same
 * transition grouped, in TARGETS order, unchanged targets left out.
 */
export function transitions<T>(
  from: PerTarget<T>,
  to: PerTarget<T>,
  fmt: (v: T) => string = String,
): string {
  const groups = new Map<string, Target[]>();
  for (const t of changedTargets(from, to)) {
    const key = `${fmt(from[t])} → ${fmt(to[t])}`;
    groups.set(key, [...(groups.get(key) ?? []), t]);
  }
  return [...groups].map(([key, ts]) => `${key} ${onTargets(ts)}`).join("; ");
}

/** "x86_64 24, i386 20, aarch64 24", or just "16" when every target agrees. */
export function acrossTargets<T>(values: PerTarget<T>, fmt: (v: T) => string = String): string {
  const distinct = new Set(TARGETS.map((t) => fmt(values[t])));
  if (distinct.size === 1) return [...distinct][0];
  return TARGETS.map((t) => `${t} ${fmt(values[t])}`).join(", ");
}

export function summary(changes: readonly Change[]): { breaking: number; compatible: number } {
  const breaking = changes.filter((c) => c.severity === "breaking").length;
  return { breaking, compatible: changes.length - breaking };
}
