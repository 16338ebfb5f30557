/**
 * The protocol table (schema/protocol.json): what travels with each opcode,
 * written once, as data. `resolveProtocol` fits it to one header: keeps the
 * header's opcodes, turns size constants into numbers, and reports every
 * opcode without an entry or entry naming a struct the header lacks.
 */
import { readFileSync } from "node:fs";
import { join } from "node:path";
import { InputError } from "./errors.js";
import type {
  CompatSize,
  ConstantDef,
  EnumDef,
  MessagePart,
  NotificationInfo,
  OpcodeInfo,
  ProtocolInfo,
  ReplyInfo,
  ReplySizedBy,
  StructDef,
} from "./model.js";
import { repoRoot } from "./revisions/registry.js";
import { jsonSchemaValidator } from "./schema-file.js";

type RawPart =
  | { struct: string }
  | { name: string }
  | { data: string }
  | { array: string; count: string };
type RawReply = (
  | { kind: "none"; answers?: { name: string; error: number; means: string }[] }
  | { kind: "empty" | "dirents" | "direntplus" }
  | { kind: "parts"; parts: RawPart[] }
  | { kind: "data" | "xattr"; what: string }
) & { sizedBy?: { struct: string; member: string } };
type RawOpcode =
  | { request: RawPart[]; reply: RawReply; extensions?: boolean; note?: string }
  | { reserved: true; note: string };
type RawNotification = { parts: RawPart[] } | { reserved: true; note: string };

export interface ProtocolTable {
  opcodes: Record<string, RawOpcode>;
  notifications: Record<string, RawNotification>;
  compatSizes: {
    struct: string;
    size: string | number;
    minorBelow?: number;
    flagAbsent?: string;
    opcodes?: string[];
    why: string;
  }[];
  replyErrors: { min: number; why: string };
  direntNames: { maxBytes: number; why: string };
}

const tableProblem = jsonSchemaValidator("protocol.schema.json");
const loaded = new Map<string, ProtocolTable>();

/** Load and validate a protocol table (default schema/protocol.json) against protocol.schema.json; once per path. */
export function loadProtocolTable(
  path = join(repoRoot(), "schema", "protocol.json"),
): ProtocolTable {
  const known = loaded.get(path);
  if (known) return known;
  const data: unknown = JSON.parse(readFileSync(path, "utf8"));
  const problem = tableProblem(data);
  if (problem) throw new InputError(`${path}: ${problem}`);
  loaded.set(path, data as ProtocolTable);
  return data as ProtocolTable;
}

export interface ResolvedProtocol {
  protocol: ProtocolInfo | null;
  /** Why it does not fit: opcodes without an entry, structs the header lacks, unknown constants. */
  problems: string[];
  /**
   * The opcodes and notification codes of the header the table has no entry for
   * (`FUSE_FOO (99)`), also listed in `problems` unless `rawUnknown` gave them raw entries.
   */
  unknown: { kind: "opcode" | "notification"; name: string; value: string }[];
}

/**
 * Entries given, with `rawUnknown`, to what the table does not describe: the
 * arguments travel as raw bytes both ways, so the message codecs stay complete
 * (never a silently missing module) while the caller is warned.
 */
const rawOpcode = (name: string): RawOpcode => ({
  request: [{ data: "data" }],
  reply: { kind: "data", what: `the raw reply arguments (${name} is not in the protocol table)` },
  note: `raw: ${name} is not in the protocol table, so its arguments are raw bytes; describe it in a protocol-table overlay to get typed arguments`,
});
const RAW_NOTIFICATION: RawNotification = { parts: [{ data: "data" }] };

export function resolveProtocol(
  table: ProtocolTable,
  header: { enums: EnumDef[]; structs: StructDef[]; constants: ConstantDef[] },
  opts: { rawUnknown?: boolean } = {},
): ResolvedProtocol {
  const problems: string[] = [];
  const unknown: ResolvedProtocol["unknown"] = [];
  const opcodeEnum = header.enums.find((e) => e.name === "fuse_opcode");
  if (!opcodeEnum)
    return { protocol: null, problems: ["the header has no enum fuse_opcode"], unknown };
  const structs = new Map(header.structs.map((s) => [s.name, s]));
  const reserved: string[] = [];

  const part = (where: string, p: RawPart, first: StructDef | undefined): MessagePart | null => {
    if ("struct" in p) {
      if (!structs.has(p.struct))
        return (problems.push(`${where}: struct ${p.struct} is not in the header`), null);
      return { kind: "struct", struct: p.struct, field: p.struct.replace(/^fuse_/, "") };
    }
    if ("array" in p) {
      if (!structs.has(p.array))
        return (problems.push(`${where}: struct ${p.array} is not in the header`), null);
      if (!first?.fields.some((f) => f.name === p.count))
        return (
          problems.push(`${where}: the count field ${p.count} is not in the request's struct`), null
        );
      return { kind: "array", struct: p.array, count: p.count, field: "entries" };
    }
    if ("name" in p) return { kind: "name", field: p.name };
    return { kind: "data", field: p.data };
  };
  const parts = (where: string, raw: RawPart[]): MessagePart[] => {
    const firstStruct = raw.find((p): p is { struct: string } => "struct" in p);
    const first = firstStruct ? structs.get(firstStruct.struct) : undefined;
    return raw.map((p) => part(where, p, first)).filter((p): p is MessagePart => p !== null);
  };

  /** `sizedBy` checked: a reply with a variable part, bounded by a member of one of the request's structs. */
  const replySizedBy = (
    where: string,
    raw: { struct: string; member: string },
    reply: ReplyInfo,
    request: MessagePart[],
  ): ReplySizedBy | null => {
    const variable =
      reply.kind === "data" ||
      reply.kind === "xattr" ||
      reply.kind === "dirents" ||
      reply.kind === "direntplus" ||
      (reply.kind === "parts" && reply.parts.some((p) => p.kind === "data"));
    if (!variable)
      return (problems.push(`${where}: sizedBy on a reply without a variable part`), null);
    const part = request.find(
      (p): p is MessagePart & { kind: "struct" } => p.kind === "struct" && p.struct === raw.struct,
    );
    if (!part)
      return (
        problems.push(`${where}: sizedBy names struct ${raw.struct}, not a part of the request`),
        null
      );
    if (!structs.get(raw.struct)?.fields.some((f) => f.name === raw.member))
      return (
        problems.push(`${where}: sizedBy names ${raw.struct}.${raw.member}, not a member`), null
      );
    return { struct: raw.struct, field: part.field, member: raw.member };
  };

  const opcodes: OpcodeInfo[] = [];
  for (const m of opcodeEnum.members) {
    let entry = table.opcodes[m.name];
    if (!entry) {
      unknown.push({ kind: "opcode", name: m.name, value: String(m.value) });
      if (!opts.rawUnknown) {
        problems.push(`opcode ${m.name} (${m.value}) has no entry in the protocol table`);
        continue;
      }
      entry = rawOpcode(m.name);
    }
    if ("reserved" in entry) {
      reserved.push(m.name);
      continue;
    }
    const request = parts(`${m.name} request`, entry.request);
    const { sizedBy: rawSizedBy, ...rawReply } = entry.reply;
    const reply: ReplyInfo =
      rawReply.kind === "parts"
        ? { kind: "parts", parts: parts(`${m.name} reply`, rawReply.parts) }
        : rawReply;
    if (rawSizedBy) {
      const sizedBy = replySizedBy(`${m.name} reply`, rawSizedBy, reply, request);
      if (sizedBy) reply.sizedBy = sizedBy;
    }
    opcodes.push({
      name: m.name,
      value: m.value,
      request,
      reply,
      extensions: entry.extensions ?? false,
      ...(entry.note ? { note: entry.note } : {}),
    });
  }

  const notifications: NotificationInfo[] = [];
  for (const m of header.enums.find((e) => e.name === "fuse_notify_code")?.members ?? []) {
    let entry = table.notifications[m.name];
    if (!entry) {
      unknown.push({ kind: "notification", name: m.name, value: String(m.value) });
      if (!opts.rawUnknown) {
        problems.push(`notification ${m.name} (${m.value}) has no entry in the protocol table`);
        continue;
      }
      entry = RAW_NOTIFICATION;
    }
    if ("reserved" in entry) {
      reserved.push(m.name);
      continue;
    }
    notifications.push({ name: m.name, value: m.value, parts: parts(`${m.name}`, entry.parts) });
  }

  const compatSizes: CompatSize[] = [];
  for (const c of table.compatSizes) {
    if (!structs.has(c.struct)) continue; // a struct this header does not have cannot be shortened
    let size: number;
    if (typeof c.size === "number") size = c.size;
    else {
      const v = header.constants.find((k) => k.name === c.size)?.value;
      if (v == null) {
        problems.push(`compat size of ${c.struct}: constant ${c.size} is not in the header`);
        continue;
      }
      size = Number(v);
    }
    compatSizes.push({
      struct: c.struct,
      size,
      ...(typeof c.size === "string" ? { sizeName: c.size } : {}),
      ...(c.minorBelow !== undefined ? { minorBelow: c.minorBelow } : {}),
      ...(c.flagAbsent ? { flagAbsent: c.flagAbsent } : {}),
      ...(c.opcodes ? { opcodes: c.opcodes } : {}),
      why: c.why,
    });
  }
  return {
    protocol: problems.length
      ? null
      : {
          opcodes,
          notifications,
          compatSizes,
          reserved,
          replyErrorMin: table.replyErrors.min,
          direntNameMax: table.direntNames.maxBytes,
        },
    problems,
    unknown,
  };
}
