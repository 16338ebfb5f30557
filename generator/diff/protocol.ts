/**
 * The protocol table (schema `protocol`, fitted from schema/protocol.json):
 * compared only when both schemas have one. Opcodes and notifications that
 * exist on one side only are the enum diff's business (./enums.ts); here it is
 * what travels with the ones both sides know, and which struct sizes are
 * negotiated.
 */
import type { CompatSize, MessagePart, ReplyInfo, Schema } from "../model.js";
import type { Change } from "./change.js";

export function partsText(parts: readonly MessagePart[]): string {
  if (!parts.length) return "(nothing)";
  return parts
    .map((p) => {
      switch (p.kind) {
        case "struct":
          return p.struct;
        case "name":
          return `${p.field}: string`;
        case "data":
          return `${p.field}: data`;
        case "array":
          return `${p.field}: ${p.struct}[${p.count}]`;
      }
    })
    .join(" + ");
}

export function replyText(r: ReplyInfo): string {
  if (r.kind === "parts") return partsText(r.parts);
  if (r.kind === "data" || r.kind === "xattr") return `${r.kind} (${r.what})`;
  return r.kind;
}

const compatKey = (c: CompatSize) =>
  `${c.struct}|${c.minorBelow ?? ""}|${c.flagAbsent ?? ""}|${(c.opcodes ?? []).join(",")}`;
const compatWhen = (c: CompatSize) =>
  `${c.minorBelow !== undefined ? `below minor ${c.minorBelow}` : c.flagAbsent ? `without ${c.flagAbsent}` : "always"}${c.opcodes ? ` for ${c.opcodes.join(", ")}` : ""}`;

export function diffProtocol(a: Schema, b: Schema): Change[] {
  if (!a.protocol || !b.protocol) return [];
  const out: Change[] = [];
  const oldOps = new Map(a.protocol.opcodes.map((o) => [o.name, o]));
  for (const ob of b.protocol.opcodes) {
    const oa = oldOps.get(ob.name);
    if (!oa) continue;
    if (JSON.stringify(oa.request) !== JSON.stringify(ob.request))
      out.push({
        kind: "protocol-request-changed",
        subject: ob.name,
        detail: `request ${partsText(oa.request)} → ${partsText(ob.request)}`,
        severity: "breaking",
        reason: "old peers send or parse the old request body",
      });
    if (JSON.stringify(oa.reply) !== JSON.stringify(ob.reply))
      out.push({
        kind: "protocol-reply-changed",
        subject: ob.name,
        detail: `reply ${replyText(oa.reply)} → ${replyText(ob.reply)}`,
        severity: "breaking",
        reason: "old peers send or parse the old reply body",
      });
    if (oa.extensions !== ob.extensions)
      out.push({
        kind: "protocol-extensions-changed",
        subject: ob.name,
        detail: ob.extensions
          ? "the request may now end in extension records"
          : "the request no longer carries extension records",
        severity: ob.extensions ? "compatible" : "breaking",
        reason: ob.extensions
          ? "extension records are sent only to servers that negotiated them at FUSE_INIT"
          : "servers that negotiated extensions no longer get them",
      });
  }
  const oldNotes = new Map(a.protocol.notifications.map((n) => [n.name, n]));
  for (const nb of b.protocol.notifications) {
    const na = oldNotes.get(nb.name);
    if (na && JSON.stringify(na.parts) !== JSON.stringify(nb.parts))
      out.push({
        kind: "protocol-notification-changed",
        subject: nb.name,
        detail: `body ${partsText(na.parts)} → ${partsText(nb.parts)}`,
        severity: "breaking",
        reason: "the kernel parses the old notification body",
      });
  }
  const oldCompat = new Map(a.protocol.compatSizes.map((c) => [compatKey(c), c]));
  const newCompat = new Map(b.protocol.compatSizes.map((c) => [compatKey(c), c]));
  for (const [key, cb] of newCompat) {
    const ca = oldCompat.get(key);
    if (!ca)
      out.push({
        kind: "protocol-compat-size-added",
        subject: cb.struct,
        detail: `sent as ${cb.size} bytes ${compatWhen(cb)}`,
        severity: "compatible",
        reason: "a new negotiated short size: old peers keep getting what they expect",
      });
    else if (ca.size !== cb.size)
      out.push({
        kind: "protocol-compat-size-changed",
        subject: cb.struct,
        detail: `short size ${compatWhen(cb)}: ${ca.size} → ${cb.size} bytes`,
        severity: "breaking",
        reason: "old peers expect the old short size",
      });
  }
  for (const [key, ca] of oldCompat)
    if (!newCompat.has(key))
      out.push({
        kind: "protocol-compat-size-removed",
        subject: ca.struct,
        detail: `no longer sent as ${ca.size} bytes ${compatWhen(ca)}`,
        severity: "breaking",
        reason: "old peers that negotiated the short size get the full one",
      });
  return out;
}
