/**
 * The compound semantics (schema `compound`, the revision's entry of known-revisions.json):
 * what the header alone does not show but changes every compound on the wire. Compared only
 * when both schemas have one. A struct the new revision sends before every sub-request (or
 * sub-reply) is breaking although the header only *adds* it: old peers would read its bytes
 * as the sub-request's fuse_in_header.
 */
import type { CompoundInfo, Schema } from "../model.js";
import type { Change } from "./change.js";

type Framing = CompoundInfo["framing"];
type FramingStruct = NonNullable<Framing["subRequestPrefix"]>;

const rolesText = (f: FramingStruct | null): string =>
  f === null
    ? "none"
    : `struct ${f.struct} { ${Object.entries(f.members)
        .map(([m, r]) => `${m}: ${r}`)
        .join(", ")} }`;

export function diffCompound(a: Schema, b: Schema): Change[] {
  const x = a.compound;
  const y = b.compound;
  if (!x || !y) return [];
  const out: Change[] = [];
  for (const [where, what] of [
    ["subRequestPrefix", "sub-request"],
    ["subReplyPrefix", "sub-reply"],
  ] as const) {
    const from = x.framing[where];
    const to = y.framing[where];
    if (rolesText(from) === rolesText(to)) continue;
    out.push({
      kind:
        from === null
          ? "compound-prefix-added"
          : to === null
            ? "compound-prefix-removed"
            : "compound-prefix-changed",
      subject: `compound ${what} prefix`,
      detail: `${rolesText(from)} → ${rolesText(to)}`,
      severity: "breaking",
      reason: `it stands before every ${what}'s header: every compound's layout changes, and old peers read it as that header`,
    });
  }
  for (const [where, label] of [
    ["request", "compound request"],
    ["reply", "compound reply"],
  ] as const) {
    const from = x.framing[where];
    const to = y.framing[where];
    for (const role of new Set([...Object.values(from.members), ...Object.values(to.members)])) {
      if (role === "reserved") continue;
      const had = Object.keys(from.members).find((m) => from.members[m] === role) ?? null;
      const has = Object.keys(to.members).find((m) => to.members[m] === role) ?? null;
      if (had === has) continue;
      out.push({
        kind: "compound-role-changed",
        subject: `${label} ${role}`,
        detail: `${had === null ? "none" : `${from.struct}.${had}`} → ${has === null ? "none" : `${to.struct}.${has}`}`,
        severity: "breaking",
        reason:
          has === null
            ? `old peers still send or expect the ${role}`
            : `old peers do not fill or read the ${role} there`,
      });
    }
  }
  const dep = (c: CompoundInfo) =>
    `${c.dependencies.model}${c.dependencies.noDependency ? ` (none = ${c.dependencies.noDependency.value})` : ""}${c.dependencies.threads.length ? `; threads ${c.dependencies.threads.map((t) => `${t.from.part}.${t.from.member} → ${t.into}`).join(", ")}` : ""}`;
  if (dep(x) !== dep(y)) {
    out.push({
      kind: "compound-dependencies-changed",
      subject: "compound dependencies",
      detail: `${dep(x)} → ${dep(y)}`,
      severity: "breaking",
      reason: "a server that ignores dependencies runs dependent ops on the wrong node",
    });
  }
  const decline = (c: CompoundInfo) =>
    c.decline.map((d) => `${d.errno}: ${d.effect}`).join(", ") || "none";
  if (decline(x) !== decline(y)) {
    out.push({
      kind: "compound-decline-changed",
      subject: "compound decline",
      detail: `${decline(x)} → ${decline(y)}`,
      severity: "breaking",
      reason: "a server declining as before gets another kernel reaction",
    });
  }
  return out;
}
