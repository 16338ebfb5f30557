/**
 * View model of `messages.ts`: whole FUSE messages (requests, replies,
 * notifications, directory listings) built from `schema.protocol`, the protocol
 * table fitted to this header. Everything here comes from the schema; the
 * template prints the per-opcode types, one descriptor table per message
 * direction (a `MessageProtocol`) and the straight-line code per opcode; the
 * engine that walks the descriptors, the same for every revision, is
 * runtime/messages.ts (copied to `<out>/_runtime/`).
 *
 * Rules, all documented in the generated JSDoc:
 * - A request is `fuse_in_header` then its parts; a reply is `fuse_out_header`
 *   then its parts; a notification is `fuse_out_header` (unique 0, error = code)
 *   then its parts. Struct parts are properties named by `MessagePart.field`.
 * - Compat sizes: a struct is sent with the smallest size of the compat rules
 *   that apply (minor below `minorBelow`, or the INIT flag `flagAbsent` not
 *   negotiated; `opcodes` limits a rule to those opcodes). The flag becomes an
 *   option named after it (`FUSE_SETXATTR_EXT` -> `setxattrExt`).
 * - Negotiation structs (those with integer `major` and `minor` members, i.e.
 *   the INIT arguments) travel before a minor is agreed, so when such a struct
 *   has minor-dependent sizes and ends its message, the decoder takes the size
 *   the message has: any size its compat rules list, or the full size (longer:
 *   the extra bytes of a newer peer are ignored). Encoders always use the
 *   negotiated minor.
 * - The reply kinds `xattr`, `dirents` and `direntplus` are defined by the
 *   protocol table (schema/protocol.json) in terms of `fuse_getxattr_out`,
 *   `fuse_dirent`, `fuse_direntplus` and the `FUSE_DIRENT_ALIGN` helper macro;
 *   those definitions are looked up in the schema (alignment from the macro's
 *   recognised helper, name offsets from the struct layout).
 */
import { InputError } from "../errors.js";
import type {
  CompatSize,
  MessagePart,
  NotificationInfo,
  OpcodeInfo,
  ReplyInfo,
  Schema,
  StructDef,
} from "../model.js";
import { code, jsdoc } from "./doc.js";
import { camelCase, isIdentifier, isPlainKey, pascalCase, type ExportNames } from "./naming.js";
import type { StructView } from "./structs.js";
import {
  hasReplyWriter,
  paramList,
  replySizeBody,
  replyWriterBody,
  requestDecoderBody,
  type PartInfo,
} from "./message-code.js";

/** Struct names the protocol table's own vocabulary refers to (see its `$comment`). */
const IN_HEADER = "fuse_in_header";
const OUT_HEADER = "fuse_out_header";
const XATTR_SIZE_STRUCT = "fuse_getxattr_out";
const DIRENT_STRUCT = "fuse_dirent";
const DIRENTPLUS_STRUCT = "fuse_direntplus";
const DIRENT_ALIGN_MACRO = "FUSE_DIRENT_ALIGN";
/** The fuse_dirent member that holds the name's length (the header's FUSE_DIRENT_SIZE uses it). */
const DIRENT_NAMELEN = "namelen";

export interface MessagePropView {
  doc: string;
  name: string;
  type: string;
}

export interface RequestView {
  doc: string;
  tsName: string;
  op: string;
  opLiteral: string;
  opcode: string;
  props: MessagePropView[];
  /** TypeScript expression of the request descriptor. */
  spec: string;
  /** Module constant holding the descriptor, and the straight-line decoder's name and body. */
  specName: string;
  ctxLiteral: string;
  decoderName: string;
  decoderBody: string[];
  decoderParams: string;
  extensions: boolean;
  /** Locals the decoder returns, as `field: p_field`. */
  returnProps: string[];
}

export interface ReplyView {
  doc: string;
  tsName: string;
  opcode: string;
  /** The reply arguments' type (an object type, a union of two, or the empty record). */
  type: string;
}

export interface ReplySpecView {
  opcode: string;
  spec: string;
  specName: string;
  /** Straight-line size function and writer, for replies of structs (and a trailing data part). */
  writer: {
    ctxLiteral: string;
    sizeName: string;
    sizeParams: string;
    sizeBody: string[];
    writeName: string;
    writeParams: string;
    writeBody: string[];
  } | null;
}

export interface NotificationView {
  doc: string;
  tsName: string;
  name: string;
  nameLiteral: string;
  code: string;
  /** The argument object's type. */
  type: string;
  spec: string;
}

export interface DirentView {
  /** TypeScript name of the record struct's interface and codec. */
  structType: string;
  codec: string;
  /** Offset of the name after the record start (FUSE_NAME_OFFSET, FUSE_NAME_OFFSET_DIRENTPLUS). */
  nameOffset: number;
  /** C name of the record struct, for messages. */
  cNameLiteral: string;
  /** The struct's unchecked writer and zero value (the list encoders reuse one value per encoder). */
  writeName: string;
  zeroName: string;
}

export interface DirentsView {
  align: number;
  alignDoc: string;
  /** Longest directory entry name the kernel takes (protocol table `direntNames.maxBytes`). */
  nameMax: number;
  nameMaxDoc: string;
  dirent: DirentView;
  /** Members of fuse_dirent other than the name length, i.e. what a caller supplies. */
  entryKeys: string[];
  /** The fuse_direntplus member holding the fuse_dirent, and its other members. */
  plus:
    | (DirentView & {
        direntField: string;
        direntOffset: number;
        otherType: string;
        otherKeys: string[];
      })
    | null;
  plusEntryDoc: string;
  namelenField: string;
}

export interface FlagOptionView {
  name: string;
  nameLiteral: string;
  doc: string;
}

export interface MessagesModel {
  moduleDoc: string;
  codecImports: string[];
  typeImports: string[];
  defaultMinor: number;
  replyErrorMin: number;
  inHeader: { codec: string; type: string; size: number; readName: string };
  outHeader: { codec: string; type: string; size: number; writeName: string; writes: string[] };
  flagOptions: FlagOptionView[];
  requests: RequestView[];
  replies: ReplyView[];
  replySpecs: ReplySpecView[];
  notifications: NotificationView[];
  /** null when the protocol has no directory reply (then no list encoders are emitted). */
  dirents: DirentsView | null;
  /** Doc of FuseReplyMap (names the no-reply opcodes). */
  replyMapDoc: string;
  /**
   * What only some protocols need: the fast reply paths (when a reply has a straight-line
   * writer) and the out header's size (writers, list encoders). An unused local fails
   * `noUnusedLocals` in a small revision's messages.ts.
   */
  uses: { writers: boolean; outHeaderSize: boolean };
  /** Names the module imports from the shared engine (../_runtime/messages.js): only those it uses. */
  runtimeImports: string[];
}

class Builder {
  private readonly structs: Map<string, StructDef>;
  private readonly views: Map<string, StructView>;
  readonly codecs = new Set<string>();
  readonly types = new Set<string>();
  readonly flags = new Map<string, string>();

  constructor(
    private readonly schema: Schema,
    views: StructView[],
  ) {
    this.structs = new Map(schema.structs.map((s) => [s.name, s]));
    this.views = new Map(views.map((v) => [v.cName, v]));
  }

  struct(name: string, where: string): { def: StructDef; view: StructView } {
    const def = this.structs.get(name);
    const view = this.views.get(name);
    if (!def || !view)
      throw new InputError(`protocol: ${where}: struct ${name} is not in the header`);
    return { def, view };
  }

  /** A struct the messages use: its interface and codec get imported. */
  use(name: string, where: string): { def: StructDef; view: StructView } {
    const s = this.struct(name, where);
    this.codecs.add(s.view.codecName);
    this.types.add(s.view.tsName);
    return s;
  }

  flagOption(flag: string): string {
    let name = this.flags.get(flag);
    if (name === undefined) {
      name = camelCase(flag.replace(/^FUSE_/, ""));
      if (
        !isIdentifier(name) ||
        name === "minor" ||
        name === "littleEndian" ||
        name === "hostEndian" ||
        name === "xattr"
      ) {
        throw new InputError(`protocol: INIT flag ${flag} gives the unusable option name ${name}`);
      }
      if ([...this.flags.values()].includes(name))
        throw new InputError(`protocol: two INIT flags map to the option ${name}`);
      this.flags.set(flag, name);
    }
    return name;
  }

  /** Compat rules of `struct` that hold for `opcode` (undefined: a notification, rules without `opcodes` only). */
  rules(struct: string, opcode: string | undefined): CompatSize[] {
    return (this.schema.protocol?.compatSizes ?? []).filter(
      (c) =>
        c.struct === struct &&
        (c.opcodes === undefined || (opcode !== undefined && c.opcodes.includes(opcode))),
    );
  }

  /** Negotiation struct: integer `major` and `minor` members (the INIT arguments). */
  isNegotiation(def: StructDef): boolean {
    const isInt = (n: string) => def.fields.some((f) => f.name === n && f.type.kind === "int");
    return isInt("major") && isInt("minor");
  }

  parts(
    parts: MessagePart[],
    where: string,
    opcode: string | undefined,
  ): { props: MessagePropView[]; spec: string; notes: string[]; info: PartInfo[] } {
    const info: PartInfo[] = [];
    const props: MessagePropView[] = [];
    const specs: string[] = [];
    const notes: string[] = [];
    const seen = new Set<string>();
    parts.forEach((p, i) => {
      const last = i === parts.length - 1;
      if (seen.has(p.field))
        throw new InputError(`protocol: ${where}: two parts are named ${p.field}`);
      seen.add(p.field);
      if (!isIdentifier(p.field))
        throw new InputError(
          `protocol: ${where}: part name ${JSON.stringify(p.field)} is not an identifier`,
        );
      if ((p.kind === "data" || p.kind === "array") && !last) {
        throw new InputError(
          `protocol: ${where}: ${p.kind} part ${p.field} takes the rest of the message, so it must be last`,
        );
      }
      switch (p.kind) {
        case "struct": {
          const { def, view } = this.use(p.struct, where);
          const rules = this.rules(p.struct, opcode);
          for (const r of rules) {
            if (r.size < 0 || r.size > def.size) {
              throw new InputError(
                `protocol: compat size ${r.size} of ${p.struct} is outside 0..${def.size}`,
              );
            }
          }
          const sizeRules = rules.map((r) => ({
            size: r.size,
            minorBelow: r.minorBelow ?? null,
            flag: r.flagAbsent !== undefined ? this.flagOption(r.flagAbsent) : null,
          }));
          const sizes = sizeRules.map(
            (r) =>
              `{ size: ${r.size}, minorBelow: ${r.minorBelow ?? "null"}, flag: ${r.flag === null ? "null" : JSON.stringify(r.flag)} }`,
          );
          const selfSized =
            last && this.isNegotiation(def) && rules.some((r) => r.minorBelow !== undefined);
          const sent = rules.map((r) => {
            const size = r.sizeName ? `${r.size} bytes (${code(r.sizeName)})` : `${r.size} bytes`;
            const when =
              r.minorBelow !== undefined
                ? `when the minor is below ${r.minorBelow}`
                : `when ${code(r.flagAbsent ?? "")} was not negotiated`;
            return `Sent as ${size} ${when}: ${r.why}; the fields past it decode as zero.`;
          });
          props.push({
            name: p.field,
            type: view.tsName,
            doc: jsdoc(
              `${code(`struct ${p.struct}`)} (${def.size} bytes).`,
              ...sent,
              selfSized &&
                "A negotiation struct at the end of its message: decoders take the size the message has (any size above, or the full size; in a request a longer one's extra bytes are ignored, a reply longer than the full size is refused, as the kernel does).",
            ),
          });
          // Implicit padding, only where the struct has some (the codec ignores it; the decoder must not).
          const holes = def.layout.x86_64.padding.map((h) => `[${h.offset}, ${h.size}]`);
          const padding = holes.length ? `, padding: [${holes.join(", ")}]` : "";
          specs.push(
            `{ kind: "struct", field: ${JSON.stringify(p.field)}, codec: ${view.codecName}, sizes: [${sizes.join(", ")}], selfSized: ${selfSized}${padding} }`,
          );
          notes.push(`${code(`struct ${p.struct}`)} as ${code(p.field)}`);
          info.push({
            kind: "struct",
            field: p.field,
            view,
            compat: rules.length > 0,
            sizeRules,
            selfSized,
            padded: holes.length > 0,
          });
          break;
        }
        case "name":
          props.push({
            name: p.field,
            type: "FuseName",
            doc: jsdoc(
              "A NUL-terminated name: its bytes (the NUL not included), any bytes but NUL, with `text` when they are valid UTF-8. Encoders also take a string or a Uint8Array.",
            ),
          });
          specs.push(`{ kind: "name", field: ${JSON.stringify(p.field)} }`);
          notes.push(`a NUL-terminated name as ${code(p.field)}`);
          info.push({ kind: "name", field: p.field });
          break;
        case "data":
          props.push({
            name: p.field,
            type: "Uint8Array",
            doc: jsdoc(
              "The rest of the message, raw: decoders return a view of the message's bytes (no copy).",
            ),
          });
          specs.push(`{ kind: "data", field: ${JSON.stringify(p.field)} }`);
          notes.push(`the rest of the message as ${code(p.field)}`);
          info.push({ kind: "data", field: p.field });
          break;
        case "array": {
          const { view } = this.use(p.struct, where);
          const first = parts.find(
            (q): q is MessagePart & { kind: "struct" } => q.kind === "struct",
          );
          if (!first || parts.indexOf(first) > i) {
            throw new InputError(
              `protocol: ${where}: array ${p.field} needs an earlier struct part holding ${p.count}`,
            );
          }
          const firstDef = this.struct(first.struct, where).def;
          if (!firstDef.fields.some((f) => f.name === p.count && f.type.kind === "int")) {
            throw new InputError(
              `protocol: ${where}: ${first.struct} has no integer member ${p.count}`,
            );
          }
          props.push({
            name: p.field,
            type: `${view.tsName}[]`,
            doc: jsdoc(
              `The rest of the message as ${code(`struct ${p.struct}`)} records; there are exactly ${code(`${first.field}.${p.count}`)} of them (decoders and encoders check it).`,
            ),
          });
          specs.push(
            `{ kind: "array", field: ${JSON.stringify(p.field)}, codec: ${view.codecName}, countFrom: ${JSON.stringify(first.field)}, countField: ${JSON.stringify(p.count)} }`,
          );
          notes.push(
            `${code(`${first.field}.${p.count}`)} records of ${code(`struct ${p.struct}`)} as ${code(p.field)}`,
          );
          info.push({
            kind: "array",
            field: p.field,
            view,
            countFrom: first.field,
            countField: p.count,
          });
          break;
        }
      }
    });
    return { props, spec: `[${specs.join(", ")}]`, notes, info };
  }
}

function objectType(props: MessagePropView[]): string {
  if (props.length === 0) return "Record<string, never>";
  return `{\n${props.map((p) => `${p.doc ? `${p.doc}\n` : ""}${p.name}: ${p.type};`).join("\n")}\n}`;
}

function describeParts(notes: string[]): string {
  return notes.length === 0 ? "nothing else" : notes.join(", then ");
}

function replySummary(r: ReplyInfo, b: Builder, where: string): string {
  switch (r.kind) {
    case "none":
      return r.answers?.length
        ? `none: the kernel expects no reply, but takes a bare error header with ${r.answers.map((a) => `${a.name} (${a.means})`).join(" or ")}.`
        : "none: the kernel expects no reply.";
    case "empty":
      return "`fuse_out_header` only.";
    case "parts":
      return `${describeParts(b.parts(r.parts, where, undefined).notes)}.`;
    case "data":
      return `raw bytes as ${code("data")}: ${r.what}.`;
    case "xattr":
      return `${code(XATTR_SIZE_STRUCT)} as ${code(XATTR_SIZE_STRUCT.replace(/^fuse_/, ""))} when the request's size is 0, else ${r.what} as ${code("data")}.`;
    case "dirents":
    case "direntplus":
      return `${code(r.kind === "dirents" ? DIRENT_STRUCT : DIRENTPLUS_STRUCT)} records as ${code("data")} (see ${code(r.kind === "dirents" ? "DirentListEncoder" : "DirentplusListEncoder")}).`;
  }
}

export function buildMessages(
  schema: Schema,
  structViews: StructView[],
  names: ExportNames,
  templateText: string,
): MessagesModel | null {
  const protocol = schema.protocol;
  if (!protocol) return null;
  const b = new Builder(schema, structViews);
  // Names the template itself exports, and those it re-exports from the shared engine.
  for (const m of templateText.matchAll(
    /^export (?:const|function|class|interface|type) ([A-Za-z_$][\w$]*)/gm,
  )) {
    names.claim(m[1]!, "messages.ts");
  }
  for (const m of templateText.matchAll(/^export \{([^}]*)\} from/gm)) {
    for (const item of m[1]!.split(",")) {
      const name = item.trim().replace(/^type\s+/, "");
      if (name) names.claim(name, "messages.ts");
    }
  }
  const inHeader = b.use(IN_HEADER, "requests").view;
  const outHeader = b.use(OUT_HEADER, "replies").view;
  // The engine reads and writes these header members (the protocol table's vocabulary).
  for (const [struct, members] of [
    [IN_HEADER, ["len", "opcode", "unique", "total_extlen"]],
    [OUT_HEADER, ["len", "error", "unique"]],
  ] as const) {
    const def = b.struct(struct, "headers").def;
    for (const m of members) {
      if (!def.fields.some((f) => f.name === m && f.type.kind === "int"))
        throw new InputError(`protocol: ${struct} has no integer member ${m}`);
    }
  }
  const minor = schema.source.minorVersion;
  if (minor === null)
    throw new InputError(
      "protocol: the header has no FUSE_KERNEL_MINOR_VERSION, so messages have no default minor",
    );

  const requests: RequestView[] = [];
  const replies: ReplyView[] = [];
  const replySpecs: ReplySpecView[] = [];
  const noReply: string[] = [];
  let usesDirents = false;
  let usesDirentplus = false;
  const opcodeValues = new Set<string>();

  for (const op of protocol.opcodes) {
    if (opcodeValues.has(op.value))
      throw new InputError(`protocol: opcode value ${op.value} is used twice`);
    opcodeValues.add(op.value);
    const base = pascalCase(op.name);
    const where = `${op.name} request`;
    const req = b.parts(op.request, where, op.name);
    const props: MessagePropView[] = [...req.props];
    if (op.extensions) {
      if (req.props.some((p) => p.name === "extensions"))
        throw new InputError(`protocol: ${where}: a part is named extensions`);
      props.push({
        name: "extensions",
        type: "Uint8Array",
        doc: jsdoc(
          "Extension records after the parts: the last `header.total_extlen * 8` bytes, raw (empty when there are none). Decoders return a view (no copy); encoders set `total_extlen` from its length, which must be a multiple of 8.",
        ),
      });
    }
    for (const p of props) {
      if (["op", "opcode", "header"].includes(p.name))
        throw new InputError(`protocol: ${where}: a part is named ${p.name}`);
    }
    const tsName = names.claim(`${base}Request`, `messages.ts: ${op.name} request`);
    const reply = replySummary(op.reply, b, `${op.name} reply`);
    requests.push({
      tsName,
      op: op.name,
      opLiteral: JSON.stringify(op.name),
      opcode: op.value,
      props,
      doc: jsdoc(
        `${code(op.name)} (${op.value}): ${code("fuse_in_header")}, then ${describeParts(req.notes)}${op.extensions ? ", then extension records" : ""}.`,
        `Reply: ${reply}`,
        op.note,
      ),
      spec: `{ op: ${JSON.stringify(op.name)}, parts: ${req.spec}, extensions: ${op.extensions} }`,
      specName: `REQUEST_${op.value}`,
      ctxLiteral: `{ what: ${JSON.stringify(`${op.name} request`)}, opcode: ${op.value} }`,
      decoderName: `decode${base}Request`,
      decoderBody: requestDecoderBody(req.info, `REQUEST_${op.value}`),
      decoderParams: "",
      extensions: op.extensions,
      returnProps: req.info.map((p) => `${p.field}: p_${p.field}`),
    });
    const decoder = requests[requests.length - 1]!;
    decoder.decoderParams = paramList(
      [
        ["bytes", "Uint8Array"],
        ["view", "DataView"],
        ["base", "number"],
        ["header", inHeader.tsName],
        ["opts", "FuseMessageOptions"],
        ["le", "boolean"],
      ],
      // checkMinor(ctx, opts), the length of `bytes` and the header are always used.
      ["bytes header opts", ...decoder.decoderBody],
    );
    const rs = replySpec(op, b, (k) =>
      k === "dirents" ? (usesDirents = true) : (usesDirentplus = true),
    );
    const specName = `REPLY_${op.value}`;
    const sizeBody = rs.info ? replySizeBody(rs.info) : [];
    const writeBody = rs.info ? replyWriterBody(rs.info) : [];
    replySpecs.push({
      opcode: op.value,
      spec: rs.spec,
      specName,
      writer:
        rs.info && hasReplyWriter(rs.info)
          ? {
              ctxLiteral: `{ what: ${JSON.stringify(`${op.name} reply`)}, opcode: ${op.value} }`,
              sizeName: `size${base}Reply`,
              sizeParams: paramList(
                [
                  ["body", "Record<string, unknown>"],
                  ["opts", "FuseMessageOptions"],
                ],
                sizeBody,
              ),
              sizeBody,
              writeName: `write${base}Reply`,
              writeParams: paramList(
                [
                  ["view", "DataView"],
                  ["at", "number"],
                  ["body", "Record<string, unknown>"],
                  ["opts", "FuseMessageOptions"],
                  ["le", "boolean"],
                ],
                writeBody,
              ),
              writeBody,
            }
          : null,
    });
    if (op.reply.kind === "none") {
      noReply.push(op.name);
      continue;
    }
    replies.push({
      tsName: names.claim(`${base}Reply`, `messages.ts: ${op.name} reply`),
      opcode: op.value,
      type: rs.type,
      doc: jsdoc(
        `What a server answers to ${code(op.name)} (${op.value}) on success: ${reply}`,
        "An error is `FuseErrorReply` instead.",
      ),
    });
  }

  const notifications: NotificationView[] = protocol.notifications.map((n: NotificationInfo) => {
    const parts = b.parts(n.parts, n.name, undefined);
    return {
      tsName: names.claim(`${pascalCase(n.name)}Args`, `messages.ts: ${n.name}`),
      name: n.name,
      nameLiteral: JSON.stringify(n.name),
      code: n.value,
      type: objectType(parts.props),
      doc: jsdoc(
        `Arguments of the notification ${code(n.name)} (${n.value}): ${describeParts(parts.notes)}.`,
      ),
      spec: `{ name: ${JSON.stringify(n.name)}, parts: ${parts.spec} }`,
    };
  });

  const dirents =
    usesDirents || usesDirentplus
      ? direntsView(schema, b, usesDirentplus, protocol.direntNameMax)
      : null;
  const writers = replySpecs.some((r) => r.writer !== null);
  const flagOptions = [...b.flags].map(([flag, name]) => ({
    name,
    nameLiteral: JSON.stringify(name),
    doc: jsdoc(
      `${code(flag)} was negotiated at INIT: structs that are sent shorter without it (see the request types) have their full size. Default false.`,
    ),
  }));

  return {
    moduleDoc: jsdoc(
      `Whole FUSE messages of this revision, from the protocol table (schema/protocol.json) fitted to ${code(schema.source.file)}: requests (${protocol.opcodes.length} opcodes), replies and notifications (${protocol.notifications.length}), with the struct sizes of older minors.`,
      '`decodeRequest`/`encodeRequest` read and write one request, discriminated on `op` (the opcode\'s C name, or `"unknown"` for an opcode this revision does not know, so a server can answer ENOSYS). `encodeReply`/`decodeReply` write and read one reply, typed per opcode by `FuseReplyMap` (opcode value -> reply arguments) or `FuseErrorReply`; `encodeErrorReply` writes an error for any opcode. `encodeNotify`/`decodeNotify` do the same for notifications (unique 0, error = the code).' +
        (dirents
          ? " `DirentListEncoder`, `DirentplusListEncoder`, `decodeDirents` and `decodeDirentplus` handle directory listings."
          : ""),
      "Names are bytes, as Linux has them: decoders give each name (and directory entry name) as a `FuseName` (`bytes`, and `text` when they are valid UTF-8), encoders take a string, bytes or a `FuseName` (`EncodeInput<T>`), so a decoded message always re-encodes to the same bytes. Raw data parts are views of the message (no copy). Every malformed message is a `FuseMessageError` naming the opcode, part, offset and byte counts.",
      `No reply: ${noReply.map(code).join(", ") || "none"}.`,
    ),
    codecImports: [
      ...new Set([
        ...b.codecs,
        ...usedAccessors(structViews, requests, replySpecs, [inHeader.readName]),
        ...(outHeaderWrites(b.struct(OUT_HEADER, "headers").def, outHeader.writeName).some((w) =>
          w.startsWith(`${outHeader.writeName}(`),
        )
          ? [outHeader.writeName]
          : []),
        ...(dirents ? [dirents.dirent.writeName, dirents.dirent.zeroName] : []),
        ...(dirents?.plus ? [dirents.plus.writeName, dirents.plus.zeroName] : []),
      ]),
    ].sort(),
    typeImports: [...b.types].sort(),
    defaultMinor: minor,
    replyErrorMin: protocol.replyErrorMin,
    inHeader: {
      codec: inHeader.codecName,
      type: inHeader.tsName,
      size: inHeader.size,
      readName: inHeader.readName,
    },
    outHeader: {
      codec: outHeader.codecName,
      type: outHeader.tsName,
      size: outHeader.size,
      writeName: outHeader.writeName,
      writes: outHeaderWrites(b.struct(OUT_HEADER, "headers").def, outHeader.writeName),
    },
    flagOptions,
    requests,
    replies,
    replySpecs,
    notifications,
    dirents,
    uses: { writers, outHeaderSize: writers || dirents !== null },
    runtimeImports: engineImports({
      requests,
      replySpecs,
      replies,
      notifications,
      dirents: dirents !== null,
      writers,
    }),
    replyMapDoc: jsdoc(
      `Reply arguments per opcode value, for opcodes that get a reply (${code("FuseReplyMap[typeof FuseOpcode.<NAME>]")}). Opcodes without a reply (${noReply.map(code).join(", ") || "none"}) are not keys.`,
    ),
  };
}

/**
 * The body of `writeOutHeader(view, at, len, error, unique, le)`: one write per member (the
 * header's members are the protocol table's `len`, `error`, `unique`), so a reply's header
 * needs no object; a header with other members goes through its struct writer.
 */
function outHeaderWrites(def: StructDef, writeName: string): string[] {
  const params = new Set(["len", "error", "unique"]);
  const writes: string[] = [];
  for (const f of def.fields) {
    const width = f.type.kind === "int" ? Number(f.type.name.replace(/\D/g, "")) : 0;
    if (
      f.name === null ||
      !params.has(f.name) ||
      f.type.kind !== "int" ||
      ![32, 64].includes(width)
    ) {
      return [`${writeName}(view, at, { len, error, unique }, le);`];
    }
    const acc = `${width === 64 ? "Big" : ""}${f.type.name.startsWith("u") ? "Uint" : "Int"}${width}`;
    writes.push(`view.set${acc}(at${f.offset ? ` + ${f.offset}` : ""}, ${f.name}, le);`);
  }
  return writes;
}

/** The struct readers and writers the straight-line code calls (codecs.ts exports them). */
function usedAccessors(
  views: StructView[],
  requests: RequestView[],
  replies: ReplySpecView[],
  always: string[],
): string[] {
  const text = [
    ...requests.flatMap((r) => r.decoderBody),
    ...replies.flatMap((r) => (r.writer ? r.writer.writeBody : [])),
  ].join("\n");
  const used = new Set(always);
  for (const v of views) {
    for (const name of [v.readName, v.writeName]) if (text.includes(`${name}(`)) used.add(name);
  }
  return [...used];
}

function replySpec(
  op: OpcodeInfo,
  b: Builder,
  uses: (k: "dirents" | "direntplus") => void,
): { spec: string; type: string; info?: PartInfo[] } {
  const r = op.reply;
  const opLit = JSON.stringify(op.name);
  switch (r.kind) {
    case "none":
      // Error replies the kernel still takes (protocol table `answers`), e.g. EAGAIN to an INTERRUPT.
      return {
        spec: `{ op: ${opLit}, kind: "none", answers: [${(r.answers ?? []).map((a) => a.error).join(", ")}] }`,
        type: "Record<string, never>",
      };
    case "empty":
      return { spec: `{ op: ${opLit}, kind: "${r.kind}" }`, type: "Record<string, never>" };
    case "data":
      return {
        spec: `{ op: ${opLit}, kind: "data" }`,
        type: `{\n${jsdoc(`${r.what}; decoders return a view (no copy).`)}\ndata: Uint8Array;\n}`,
      };
    case "dirents":
    case "direntplus":
      uses(r.kind);
      return {
        spec: `{ op: ${opLit}, kind: "${r.kind}" }`,
        type: `{\n${jsdoc(`Packed ${code(r.kind === "dirents" ? DIRENT_STRUCT : DIRENTPLUS_STRUCT)} records, e.g. from ${code(r.kind === "dirents" ? "DirentListEncoder" : "DirentplusListEncoder")}; ${code(r.kind === "dirents" ? "decodeDirents" : "decodeDirentplus")} reads them.`)}\ndata: Uint8Array;\n}`,
      };
    case "xattr": {
      const { view } = b.use(XATTR_SIZE_STRUCT, `${op.name} reply`);
      const field = XATTR_SIZE_STRUCT.replace(/^fuse_/, "");
      return {
        spec: `{ op: ${opLit}, kind: "xattr", size: { kind: "struct", field: ${JSON.stringify(field)}, codec: ${view.codecName}, sizes: [], selfSized: false } }`,
        type: `{\n${jsdoc("The size the value needs (the answer to a request with size 0).")}\n${field}: ${view.tsName};\n} | {\n${jsdoc(`${r.what}; decoders return a view (no copy).`)}\ndata: Uint8Array;\n}`,
      };
    }
    case "parts": {
      const p = b.parts(r.parts, `${op.name} reply`, op.name);
      return {
        spec: `{ op: ${opLit}, kind: "parts", parts: ${p.spec} }`,
        type: objectType(p.props),
        info: p.info,
      };
    }
  }
}

function plainKey(name: string): string {
  if (!isPlainKey(name))
    throw new InputError(
      `protocol: directory entry member ${JSON.stringify(name)} cannot be a plain property name`,
    );
  return name;
}

function direntsView(schema: Schema, b: Builder, plus: boolean, nameMax: number): DirentsView {
  const macro = schema.macros.find((m) => m.name === DIRENT_ALIGN_MACRO);
  if (!macro || macro.helper?.kind !== "align") {
    throw new InputError(
      `protocol: directory replies need the align helper macro ${DIRENT_ALIGN_MACRO}`,
    );
  }
  const d = b.use(DIRENT_STRUCT, "dirents");
  const nameField = d.def.fields.find((f) => f.flexible);
  if (!nameField || nameField.name === null)
    throw new InputError(`protocol: ${DIRENT_STRUCT} has no flexible name member`);
  if (!d.def.fields.some((f) => f.name === DIRENT_NAMELEN))
    throw new InputError(`protocol: ${DIRENT_STRUCT} has no ${DIRENT_NAMELEN}`);
  // The list encoders copy these members by name (`d.ino = entry.ino`): they must be plain keys.
  const entryKeys = d.def.fields
    .filter((f) => !f.flexible && f.name !== DIRENT_NAMELEN)
    .map((f) => plainKey(f.name ?? ""));
  let plusView: DirentsView["plus"] = null;
  if (plus) {
    const p = b.use(DIRENTPLUS_STRUCT, "direntplus");
    const df = p.def.fields.find((f) => f.type.kind === "struct" && f.type.name === DIRENT_STRUCT);
    if (!df || df.name === null || p.def.fields[p.def.fields.length - 1] !== df) {
      throw new InputError(
        `protocol: ${DIRENTPLUS_STRUCT} must end in a struct ${DIRENT_STRUCT} member`,
      );
    }
    // The template spreads records with this member name as a bare key: `__proto__` there would vanish.
    if (!isPlainKey(df.name))
      throw new InputError(
        `protocol: ${DIRENTPLUS_STRUCT} member ${JSON.stringify(df.name)} cannot be a plain property name`,
      );
    for (const f of p.def.fields) {
      if (f !== df && (f.name === null || entryKeys.includes(f.name) || f.name === "name")) {
        throw new InputError(
          `protocol: ${DIRENTPLUS_STRUCT} member ${f.name ?? "(anonymous)"} clashes with the flattened entry`,
        );
      }
    }
    plusView = {
      structType: p.view.tsName,
      writeName: p.view.writeName,
      zeroName: p.view.zeroName,
      otherKeys: p.def.fields.filter((f) => f !== df).map((f) => plainKey(f.name ?? "")),
      codec: p.view.codecName,
      nameOffset: df.offset + nameField.offset,
      cNameLiteral: JSON.stringify(DIRENTPLUS_STRUCT),
      direntField: df.name,
      direntOffset: df.offset,
      otherType: `Omit<${p.view.tsName}, ${JSON.stringify(df.name)}>`,
    };
  }
  return {
    align: macro.helper.alignment,
    alignDoc: jsdoc(
      `Records are padded to a multiple of ${macro.helper.alignment} bytes (${code(`${DIRENT_ALIGN_MACRO}`)}).`,
    ),
    nameMax,
    nameMaxDoc: jsdoc(
      `The longest directory entry name, in bytes, the kernel takes (protocol table ${code("direntNames")}): a longer name, an empty one, or one holding ${code("/")} fails the whole listing with EIO, so encoders refuse them and decoders too.`,
    ),
    dirent: {
      structType: d.view.tsName,
      codec: d.view.codecName,
      nameOffset: nameField.offset,
      cNameLiteral: JSON.stringify(DIRENT_STRUCT),
      writeName: d.view.writeName,
      zeroName: d.view.zeroName,
    },
    entryKeys,
    plus: plusView,
    plusEntryDoc: plusView
      ? jsdoc(
          `One ${code(DIRENTPLUS_STRUCT)} record: its members except ${code(plusView.direntField)}, plus the ${code(DIRENT_STRUCT)} members flattened (without ${code(DIRENT_NAMELEN)}) and the name.`,
        )
      : "",
    namelenField: DIRENT_NAMELEN,
  };
}

/** What every messages.ts takes from the engine (the template calls them whatever the protocol). */
const ENGINE_ALWAYS = [
  "decodeNotifyWith",
  "decodeReplyWith",
  "encodeErrorReplyWith",
  "encodeNotifyWith",
  "encodeReplyIntoWith",
  "encodeReplyWith",
  "encodeRequestWith",
  "noReplyOpcodes",
  "requestLengthError",
  "requestTooShort",
  "type EncodeInput",
  "type FuseErrorReply",
  "type MessageProtocol",
  "type NotifySpec",
  "type ReplySpec",
  "type RequestSpec",
];

/** Engine pieces the straight-line code may call (see message-code.ts), imported when it does. */
const ENGINE_BODY = [
  "checkPadding",
  "countValue",
  "decodePrefix",
  "messageLength",
  "missingPart",
  "nameEnd",
  "notBytes",
  "partSize",
  "readArrayPart",
  "readName",
  "truncatedStruct",
  "writePrefix",
  "type ArrayPart",
  "type StructPart",
];

/** The engine names a revision's messages.ts uses: an unused import fails `noUnusedLocals`. */
function engineImports(m: {
  requests: RequestView[];
  replySpecs: ReplySpecView[];
  replies: ReplyView[];
  notifications: NotificationView[];
  dirents: boolean;
  writers: boolean;
}): string[] {
  const body = [
    ...m.requests.flatMap((r) => r.decoderBody),
    ...m.replySpecs.flatMap((r) => (r.writer ? [...r.writer.sizeBody, ...r.writer.writeBody] : [])),
  ].join("\n");
  const types = [
    ...m.requests.flatMap((r) => r.props.map((p) => p.type)),
    ...m.replies.map((r) => r.type),
    ...m.notifications.map((n) => n.type),
  ].join("\n");
  const named = (text: string, name: string) => new RegExp(`\\b${name}\\b`).test(text);
  const out = [...ENGINE_ALWAYS];
  out.push(...ENGINE_BODY.filter((n) => named(body, n.replace(/^type /, ""))));
  if (m.requests.length > 0) out.push("checkMinor", "trailingBytes");
  if (m.requests.length > 0 || m.writers) out.push("type Ctx");
  if (m.requests.some((r) => r.extensions)) out.push("extensionsStart");
  if (m.writers) out.push("structReplyCandidate", "littleEndianOf", "roomAt", "roomView");
  if (m.dirents)
    // The list encoders are runtime/dirents.ts's (the template imports it); the decoders walk records here.
    out.push("decodeRecords");
  if (m.dirents || named(types, "FuseName")) out.push("type FuseName");
  const key = (n: string) => n.replace(/^type /, "");
  return [...new Set(out)].sort((a, b) => (key(a) < key(b) ? -1 : key(a) > key(b) ? 1 : 0));
}
