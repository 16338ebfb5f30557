/**
 * View model of `compound.ts`: builders, parsers and the fallback helper for
 * FUSE_COMPOUND, driven by `schema.compound` (the revision's semantics, copied
 * from schema/known-revisions.json into the schema) and `schema.protocol` (what
 * travels with each opcode). Nothing here tests a revision's name: every
 * difference between revisions is in the printed data (`COMPOUND_SEMANTICS`,
 * the op table) and the fixed engine in templates/compound.ts.hbs interprets it.
 *
 * Which opcodes get a builder method (all derived from data):
 * - not the compound opcode itself, and not an opcode whose reply kind is
 *   `none` (the compound expects one sub-reply per op);
 * - when `allowedOpcodes` is a list, only those;
 * - when `subRequestChecks.rejectInPages`, only opcodes whose request has no
 *   `data` part (the protocol table's raw payload, which the kernel keeps in pages).
 * An opcode whose reply ends in a variable-size part (`data`, `dirents`,
 * `direntplus`, `xattr`, or a `data` part) takes an extra `outSize` argument:
 * the size of that out argument as the kernel would expect it, which counts in
 * `result_size`. Such an out argument is taken to live in pages (what
 * `outPages` is about) except for the `xattr` kind, whose value the kernel
 * receives in a plain buffer.
 */
import { InputError } from "../errors.js";
import type { CompoundInfo, MessagePart, OpcodeInfo, Schema } from "../model.js";
import { code, jsdoc } from "./doc.js";
import { camelCase, isIdentifier, type ExportNames } from "./naming.js";
import { MAX_POSITIONAL_PARTS } from "../../runtime/compound.js";
import type { StructView } from "./structs.js";

/** Struct names of the protocol table's vocabulary (as in render/messages.ts). */
const IN_HEADER = "fuse_in_header";
const OUT_HEADER = "fuse_out_header";
const XATTR_SIZE_STRUCT = "fuse_getxattr_out";

/** Members of CompoundBuilder (and Object) that a generated method must not shadow. */
const RESERVED_METHODS = new Set([
  "add",
  "addRaw",
  "addOp",
  "addRawOp",
  "addArgs",
  "setFlags",
  "opRefs",
  "flags",
  "encode",
  "ops",
  "resultSize",
  "replyBudget",
  "length",
  "constructor",
  "toString",
  "valueOf",
]);

export interface CompoundParamView {
  name: string;
  type: string;
}

export interface CompoundOpView {
  doc: string;
  method: string;
  op: string;
  opLiteral: string;
  opcode: string;
  /** `nodeid: bigint, open_in: FuseOpenIn` */
  params: string;
  /** `nodeid, open_in` — the properties of the sub-request object. */
  props: string;
  /** The sub-request object type (a member of CompoundSubRequest). */
  subType: string;
  /** TypeScript expression of the op's descriptor in COMPOUND_OPS. */
  spec: string;
  /**
   * The positional arguments of `addArgs` before the dependency (`1, nodeid, name, undefined,
   * undefined, undefined`), or null for an op with more parts than the engine takes that way.
   */
  args: string | null;
}

export interface CompoundFlagView {
  name: string;
  value: number;
  doc: string;
}

export interface CompoundModel {
  moduleDoc: string;
  codecImports: string[];
  typeImports: string[];
  defaultMinor: number;
  inHeader: { codec: string; type: string; size: number };
  outHeader: { codec: string; type: string; size: number };
  compoundOpcode: string;
  compoundOpLiteral: string;
  compoundIn: { codec: string; type: string; field: string; dataField: string };
  compoundOut: { codec: string; type: string; field: string; dataField: string };
  semanticsDoc: string;
  semantics: string;
  revisionLiteral: string;
  /** Import path of the shared compound engine (the `_runtime` folder beside the revision folders). */
  runtimeImport: string;
  /** The per-sub-request prefix struct, or null. */
  requestPrefix: { codec: string; type: string; cName: string } | null;
  replyPrefix: { codec: string; type: string; cName: string } | null;
  hasDependencies: boolean;
  dependencyDoc: string;
  threadDoc: string;
  prefixDoc: string;
  /** Builder calls for the class's @example. */
  example: string;
  flags: CompoundFlagView[];
  flagNameType: string;
  ops: CompoundOpView[];
  opcodeType: string;
  inPagesOpcodes: string;
  noReplyOpcodes: string;
  /** `[value, "NAME"]` entries of every opcode of the protocol table. */
  opcodeNames: string;
  /** The binding's `headerLayout`: offset and C type of each integer member of fuse_in_header, fuse_out_header, the compound's request struct and the sub-request prefix. */
  headerLayout: string;
}

function replyIsVariable(op: OpcodeInfo): boolean {
  const r = op.reply;
  if (r.kind === "data" || r.kind === "xattr" || r.kind === "dirents" || r.kind === "direntplus")
    return true;
  return r.kind === "parts" && r.parts.some((p) => p.kind === "data");
}

function hasDataPart(parts: MessagePart[]): boolean {
  return parts.some((p) => p.kind === "data");
}

/** The struct part and the data part of the compound's own request or reply. */
function compoundParts(
  parts: MessagePart[],
  where: string,
): { struct: MessagePart & { kind: "struct" }; data: MessagePart & { kind: "data" } } {
  const struct = parts.find((p): p is MessagePart & { kind: "struct" } => p.kind === "struct");
  const data = parts.find((p): p is MessagePart & { kind: "data" } => p.kind === "data");
  if (parts.length !== 2 || !struct || !data || parts[0] !== struct) {
    throw new InputError(
      `compound: the ${where} must be one struct followed by a data part in the protocol table`,
    );
  }
  return { struct, data };
}

export function buildCompound(
  schema: Schema,
  structViews: StructView[],
  names: ExportNames,
  templateText: string,
): CompoundModel | null {
  const c: CompoundInfo | undefined = schema.compound;
  const protocol = schema.protocol;
  if (!c || !protocol) return null;
  for (const m of templateText.matchAll(
    /^export (?:const|function|async function|class|interface|type) ([A-Za-z_$][\w$]*)/gm,
  )) {
    names.claim(m[1]!, "compound.ts");
  }
  const views = new Map(structViews.map((v) => [v.cName, v]));
  const defs = new Map(schema.structs.map((s) => [s.name, s]));
  const codecs = new Set<string>();
  const types = new Set<string>();
  /** A struct the module uses: its codec is imported, and its interface unless `codecOnly`. */
  const use = (struct: string, where: string, codecOnly = false): StructView => {
    const v = views.get(struct);
    if (!v) throw new InputError(`compound: ${where}: struct ${struct} is not in the header`);
    codecs.add(v.codecName);
    if (!codecOnly) types.add(v.tsName);
    return v;
  };
  const intMember = (struct: string, member: string, where: string) => {
    if (!defs.get(struct)?.fields.some((f) => f.name === member && f.type.kind === "int")) {
      throw new InputError(
        `compound: ${where} names ${struct}.${member}, which is not an integer member of the header's struct`,
      );
    }
  };

  const inHeader = use(IN_HEADER, "sub-requests");
  const outHeader = use(OUT_HEADER, "sub-replies");
  for (const field of Object.keys(c.subHeader)) intMember(IN_HEADER, field, `subHeader.${field}`);
  for (const field of Object.keys(c.subReplyHeader))
    intMember(OUT_HEADER, field, `subReplyHeader.${field}`);

  const compoundOp = protocol.opcodes.find((o) => o.name === c.opcode);
  if (!compoundOp)
    throw new InputError(`compound: opcode ${c.opcode} is not in this header's protocol table`);
  if (compoundOp.reply.kind !== "parts")
    throw new InputError(`compound: the ${c.opcode} reply must have parts`);
  const req = compoundParts(compoundOp.request, `${c.opcode} request`);
  const rep = compoundParts(compoundOp.reply.parts, `${c.opcode} reply`);
  for (const [where, part, framing] of [
    ["request", req.struct, c.framing.request],
    ["reply", rep.struct, c.framing.reply],
  ] as const) {
    if (part.struct !== framing.struct) {
      throw new InputError(
        `compound: framing.${where}.struct is ${framing.struct}, but the protocol table's ${c.opcode} ${where} carries ${part.struct}`,
      );
    }
  }
  const inView = use(req.struct.struct, "compound request");
  const outView = use(rep.struct.struct, "compound reply");
  /** Every member of a framing struct has a role, and the roles that hold numbers name integer members. */
  const framingStruct = (
    f: { struct: string; members: Record<string, string> },
    where: string,
    withPrefix: boolean,
  ) => {
    const def = defs.get(f.struct);
    if (!def)
      throw new InputError(
        `compound: ${where} names struct ${f.struct}, which is not in the header`,
      );
    const actual = def.fields.map((x) => x.name).filter((x): x is string => x !== null);
    const listed = Object.keys(f.members);
    const missing = actual.filter((m) => !listed.includes(m));
    const extra = listed.filter((m) => !actual.includes(m));
    if (missing.length || extra.length) {
      throw new InputError(
        `compound: ${where} must give a role to every member of ${f.struct} (${actual.join(", ")})${missing.length ? `; missing ${missing.join(", ")}` : ""}${extra.length ? `; not in the header: ${extra.join(", ")}` : ""}`,
      );
    }
    for (const [m, role] of Object.entries(f.members))
      if (role !== "reserved") intMember(f.struct, m, `${where}.members.${m} (${role})`);
    return withPrefix ? use(f.struct, where) : null;
  };
  framingStruct(c.framing.request, "framing.request", false);
  framingStruct(c.framing.reply, "framing.reply", false);
  const prefixView = (f: typeof c.framing.subRequestPrefix, where: string) => {
    const v = f ? framingStruct(f, where, true)! : null;
    return v ? { codec: v.codecName, type: v.tsName, cName: `struct ${v.cName}` } : null;
  };
  const requestPrefix = prefixView(c.framing.subRequestPrefix, "framing.subRequestPrefix");
  const replyPrefix = prefixView(c.framing.subReplyPrefix, "framing.subReplyPrefix");
  const dep = c.dependencies;
  if (dep.noDependency?.constant) {
    const k = schema.constants.find((x) => x.name === dep.noDependency!.constant);
    if (!k || k.value === null || Number(k.value) !== dep.noDependency.value) {
      throw new InputError(
        `compound: dependencies.noDependency is ${dep.noDependency.value}, but the header's ${dep.noDependency.constant} is ${k ? String(k.value) : "not defined"}`,
      );
    }
  }
  for (const t of dep.threads) {
    for (const p of t.producers) {
      const op = protocol.opcodes.find((o) => o.name === p);
      if (!op) continue; // an opcode of the series that this header lacks (as allowedOpcodes)
      const part =
        op.reply.kind === "parts" ? op.reply.parts.find((x) => x.field === t.from.part) : undefined;
      if (!part || part.kind !== "struct")
        throw new InputError(
          `compound: dependencies.threads: the ${p} reply has no struct part ${t.from.part}`,
        );
      intMember(part.struct, t.from.member, `dependencies.threads (${p})`);
    }
  }

  const known = new Set(protocol.opcodes.map((o) => o.name));
  for (const name of c.allowedOpcodes ?? []) {
    if (!known.has(name))
      throw new InputError(
        `compound: allowedOpcodes names ${name}, which is not in this header's protocol table`,
      );
  }
  const flagConstants = new Map(schema.constants.map((k) => [k.name, k.value]));
  for (const f of c.flags.defined) {
    const v = flagConstants.get(f.name);
    if (v !== undefined && v !== null && Number(v) !== f.value) {
      throw new InputError(
        `compound: flag ${f.name} is ${f.value} in the registry but ${v} in the header`,
      );
    }
  }

  const ops: CompoundOpView[] = [];
  const methods = new Set<string>();
  for (const op of protocol.opcodes) {
    if (op.name === c.opcode || op.reply.kind === "none") continue;
    if (c.allowedOpcodes !== null && !c.allowedOpcodes.includes(op.name)) continue;
    if (c.subRequestChecks.rejectInPages && hasDataPart(op.request)) continue;
    const method = camelCase(op.name.replace(/^FUSE_/, ""));
    if (RESERVED_METHODS.has(method) || methods.has(method))
      throw new InputError(
        `compound: opcode ${op.name} gives the builder method ${method}, which is taken`,
      );
    methods.add(method);
    const params: CompoundParamView[] = [{ name: "nodeid", type: "bigint" }];
    const partSpecs: string[] = [];
    for (const p of op.request) {
      if (
        !isIdentifier(p.field) ||
        p.field === "nodeid" ||
        p.field === "outSize" ||
        p.field === "op" ||
        p.field === "options" ||
        p.field === "dependsOn"
      ) {
        throw new InputError(
          `compound: ${op.name} request part ${p.field} cannot be a parameter name`,
        );
      }
      switch (p.kind) {
        case "struct": {
          const v = use(p.struct, `${op.name} request`);
          codecs.add(v.writeName);
          params.push({ name: p.field, type: v.tsName });
          partSpecs.push(
            `{ kind: "struct", field: ${JSON.stringify(p.field)}, codec: ${v.codecName}, write: ${v.writeName} }`,
          );
          break;
        }
        case "name":
          params.push({ name: p.field, type: "string" });
          partSpecs.push(`{ kind: "name", field: ${JSON.stringify(p.field)} }`);
          break;
        case "array": {
          const v = use(p.struct, `${op.name} request`);
          params.push({ name: p.field, type: `${v.tsName}[]` });
          partSpecs.push(
            `{ kind: "array", field: ${JSON.stringify(p.field)}, codec: ${v.codecName} }`,
          );
          break;
        }
        case "data":
          params.push({ name: p.field, type: "Uint8Array" });
          partSpecs.push(`{ kind: "data", field: ${JSON.stringify(p.field)} }`);
          break;
      }
    }
    const variable = replyIsVariable(op);
    if (variable) params.push({ name: "outSize", type: "number" });
    const partNames = op.request.map((p) => p.field);
    const args =
      partNames.length <= MAX_POSITIONAL_PARTS
        ? [
            op.value,
            "nodeid",
            ...partNames,
            ...Array<string>(MAX_POSITIONAL_PARTS - partNames.length).fill("undefined"),
            variable ? "outSize" : "undefined",
          ].join(", ")
        : null;
    const replyStructs = replyStructList(op, (struct, where) => use(struct, where, true));
    const decodeInPlace = replyDecoder(op, (struct, where) => {
      const v = use(struct, where, true);
      codecs.add(v.readName);
      return v;
    });
    const zero = zeroReply(op, (struct, where) => use(struct, where, true));
    const sig = params.map((p) => `${p.name}: ${p.type}`).join(", ");
    const opLiteral = JSON.stringify(op.name);
    ops.push({
      method,
      op: op.name,
      opLiteral,
      opcode: op.value,
      params: sig,
      props: params.map((p) => p.name).join(", "),
      subType: `{ op: ${opLiteral}; ${params.map((p) => `${p.name}: ${p.type};`).join(" ")} }`,
      spec: `{ op: ${opLiteral}, opcode: ${op.value}, method: ${JSON.stringify(method)}, parts: [${partSpecs.join(", ")}], variable: ${variable ? JSON.stringify(op.reply.kind === "xattr" ? "xattr" : "data") : "null"}, outPages: ${variable && op.reply.kind !== "xattr"}, sizedBy: ${variable && op.reply.sizedBy ? `{ field: ${JSON.stringify(op.reply.sizedBy.field)}, member: ${JSON.stringify(op.reply.sizedBy.member)} }` : "null"}, zeroReply: ${zero}, replyStructs: ${replyStructs}, decodeInPlace: ${decodeInPlace} }`,
      args,
      doc: jsdoc(
        `Adds a ${code(op.name)} (${op.value}) sub-request for ${code("nodeid")}.`,
        variable &&
          `${code("outSize")}: bytes the variable part of the reply may take (the out argument's expected size${c.resultSize ? ", counted in the result size" : ""})${op.reply.kind === "xattr" ? `; 0 expects ${code(XATTR_SIZE_STRUCT)} (the answer to a request with size 0)` : ""}.`,
        `@throws {CompoundError} when this revision refuses the op (see the class).`,
      ),
    });
  }
  if (ops.length === 0)
    throw new InputError("compound: no opcode of this header may appear in a compound");

  const inPages = protocol.opcodes
    .filter((o) => hasDataPart(o.request) && o.name !== c.opcode)
    .map((o) => o.value);
  const noReply = protocol.opcodes.filter((o) => o.reply.kind === "none").map((o) => o.value);
  const { sources, ...semantics } = c;
  void sources;
  const minor = schema.source.minorVersion;
  if (minor === null) throw new InputError("compound: the header has no FUSE_KERNEL_MINOR_VERSION");
  const revision = schema.source.revision ?? schema.source.file;

  const flags = c.flags.defined.map((f) => ({
    name: f.name,
    value: f.value,
    doc: jsdoc(`${f.meaning}${f.setByKernel ? " The kernel of this revision sets it." : ""}`),
  }));
  return {
    moduleDoc: jsdoc(
      `${code(c.opcode)} (${compoundOp.value}) of revision ${code(revision)}: build, parse and split compound requests by this revision's rules, printed as data in ${code("COMPOUND_SEMANTICS")} (from schema/known-revisions.json via the schema; prose: docs/compound-revisions.md).`,
      `Client side (what the kernel sends): ${code("CompoundBuilder")} (one method per opcode that may appear in a compound, ${ops.length} here) and ${code("parseCompoundReply")} (the kernel's reply walk and checks). Server side: ${code("decodeCompoundRequest")} and ${code("encodeCompoundReply")}; ${code("runSeparately")} sends the ops as the separate requests the kernel falls back to${c.fallback.kernelSplits ? "" : " (this revision never does: it throws)"}. Sub-requests and sub-replies go through the message codecs of messages.ts. Every refusal is a ${code("CompoundError")}.`,
    ),
    codecImports: [...codecs].sort(),
    typeImports: [...types].sort(),
    defaultMinor: minor,
    inHeader: { codec: inHeader.codecName, type: inHeader.tsName, size: inHeader.size },
    outHeader: { codec: outHeader.codecName, type: outHeader.tsName, size: outHeader.size },
    compoundOpcode: compoundOp.value,
    compoundOpLiteral: JSON.stringify(c.opcode),
    compoundIn: {
      codec: inView.codecName,
      type: inView.tsName,
      field: req.struct.field,
      dataField: req.data.field,
    },
    compoundOut: {
      codec: outView.codecName,
      type: outView.tsName,
      field: rep.struct.field,
      dataField: rep.data.field,
    },
    semanticsDoc: jsdoc(
      `What the kernel of revision ${code(revision)} does with ${code(c.opcode)}: the ${code("compound")} entry of its schema without ${code("sources")} (field meanings: schema/known-revisions.schema.json#/$defs/compound). The engine below reads only this.`,
    ),
    semantics: JSON.stringify(semantics, null, 2),
    revisionLiteral: JSON.stringify(revision),
    runtimeImport: SHARED_RUNTIME_IMPORT,
    requestPrefix,
    replyPrefix,
    hasDependencies: dep.model !== "none",
    dependencyDoc: dependencyDoc(c),
    threadDoc: dep.threads.length
      ? dep.threads
          .map(
            (t) =>
              `${t.from.part}.${t.from.member} of ${t.producers.map(code).join(", ")} becomes its ${code(t.into)}`,
          )
          .join("; ")
      : "no value is passed",
    prefixDoc: requestPrefix
      ? `each sub-request's ${code(requestPrefix.cName)} (${dep.model !== "none" ? "its dependency" : "reserved"})`
      : "no prefix before the sub-requests",
    example: exampleCalls(ops, dep.model !== "none"),
    flags,
    flagNameType: flags.length ? flags.map((f) => JSON.stringify(f.name)).join(" | ") : "never",
    ops,
    opcodeType: ops.map((o) => o.opcode).join(" | "),
    inPagesOpcodes: inPages.join(", "),
    noReplyOpcodes: noReply.join(", "),
    opcodeNames: protocol.opcodes.map((o) => `[${o.value}, ${JSON.stringify(o.name)}]`).join(", "),
    headerLayout: `{ in: ${headerLayout(inHeader, defs.get(IN_HEADER))}, out: ${headerLayout(outHeader, defs.get(OUT_HEADER))}, compound: ${headerLayout(views.get(c.framing.request.struct)!, defs.get(c.framing.request.struct))}${
      c.framing.subRequestPrefix
        ? `, prefix: ${headerLayout(views.get(c.framing.subRequestPrefix.struct)!, defs.get(c.framing.subRequestPrefix.struct))}`
        : ""
    } }`,
  };
}

/** `{ member: { offset, type } }` of a header struct's integer members (the engine writes and reads them in place). */
function headerLayout(view: StructView, def: Schema["structs"][number] | undefined): string {
  const types = new Map(
    (def?.fields ?? []).flatMap((f) =>
      f.name !== null && f.type.kind === "int" ? [[f.name, f.type.name] as const] : [],
    ),
  );
  const members = view.offsets.flatMap((o) => {
    const type = types.get(o.name);
    return type ? [`${o.key}: { offset: ${o.offset}, type: ${JSON.stringify(type)} }`] : [];
  });
  return `{ ${members.join(", ")} }`;
}

/** Where a generated compound.ts finds the shared engine (written by `generate` as `<out>/_runtime/`). */
export const SHARED_RUNTIME_IMPORT = "../_runtime/compound.js";

function dependencyDoc(c: CompoundInfo): string {
  const d = c.dependencies;
  switch (d.model) {
    case "none":
      return "ops of this revision never depend on each other.";
    case "index":
      return `${code("dependsOn")} is written to the prefix's dep-index (absent: ${d.noDependency!.value}${d.noDependency!.constant ? `, ${code(d.noDependency!.constant)}` : ""}).`;
    default:
      return `${code("dependsOn")} is written to the prefix's dep-index with the per-op flag ${code(d.flag ?? "")} set.`;
  }
}

/** A two-op example for the builder's doc, from the ops this revision has. */
function exampleCalls(ops: CompoundOpView[], deps: boolean): string {
  const has = (m: string) => ops.some((o) => o.method === m);
  if (deps && has("lookup") && has("getattr"))
    return `lookup(1n, "file").getattr(0n, zeroFuseGetattrIn(), { dependsOn: 0 })`;
  if (has("open") && has("getattr"))
    return `open(5n, { flags: 0, open_flags: 0 }).getattr(5n, zeroFuseGetattrIn())`;
  const first = ops[0]!;
  return `${first.method}(/* ${first.params} */)`;
}

/** `[{ field, codec }, ...]` when every part of the op's reply is a struct (`[]`: an empty reply), else `null`. */
function replyStructList(
  op: OpcodeInfo,
  use: (struct: string, where: string) => StructView,
): string {
  const r = op.reply;
  if (r.kind === "empty") return "[]";
  if (r.kind !== "parts" || !r.parts.every((p) => p.kind === "struct")) return "null";
  return `[${r.parts.map((p) => `{ field: ${JSON.stringify(p.field)}, codec: ${use((p as MessagePart & { kind: "struct" }).struct, `${op.name} reply`).codecName} }`).join(", ")}]`;
}

/**
 * `(v, at, le) => ({ part: readPartAt(v, at, le), ... })`: the out args of an op whose reply is
 * all structs, read straight from the sub-reply at full size (the engine has checked the
 * bounds, so no codec checks them again); else `null`.
 */
function replyDecoder(op: OpcodeInfo, use: (struct: string, where: string) => StructView): string {
  const r = op.reply;
  if (r.kind === "empty") return "() => ({})";
  if (r.kind !== "parts" || !r.parts.every((p) => p.kind === "struct")) return "null";
  let at = 0;
  const props = r.parts.map((p) => {
    const v = use((p as MessagePart & { kind: "struct" }).struct, `${op.name} reply`);
    const expr = `${p.field}: ${v.readName}(v, ${at === 0 ? "at" : `at + ${at}`}, le)`;
    at += v.size;
    return expr;
  });
  return `(v, at, le) => ({ ${props.join(", ")} })`;
}

/** `(n) => reply object`: a zero reply of the op, with `n` bytes in its variable part. */
function zeroReply(op: OpcodeInfo, use: (struct: string, where: string) => StructView): string {
  const r = op.reply;
  const where = `${op.name} reply`;
  switch (r.kind) {
    case "none":
    case "empty":
      return "() => ({})";
    case "data":
    case "dirents":
    case "direntplus":
      return "(n) => ({ data: new Uint8Array(n) })";
    case "xattr": {
      const v = use(XATTR_SIZE_STRUCT, where);
      return `(n) => (n === 0 ? { ${XATTR_SIZE_STRUCT.replace(/^fuse_/, "")}: ${v.codecName}.zero() } : { data: new Uint8Array(n) })`;
    }
    case "parts": {
      const props = r.parts.map((p) => {
        switch (p.kind) {
          case "struct":
            return `${p.field}: ${use(p.struct, where).codecName}.zero()`;
          case "data":
            return `${p.field}: new Uint8Array(n)`;
          case "name":
            return `${p.field}: ""`;
          case "array":
            return `${p.field}: []`;
        }
      });
      const usesN = r.parts.some((p) => p.kind === "data");
      return `(${usesN ? "n" : ""}) => ({ ${props.join(", ")} })`;
    }
  }
}
