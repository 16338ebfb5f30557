/**
 * Straight-line message code, printed per opcode from the protocol table: a decoder per
 * request (what `decodeRequest` dispatches to with a switch on the opcode) and, for replies
 * made of structs (and a trailing data part), a size function and a writer (what
 * `encodeReply`/`encodeReplyInto` dispatch to). Each reads or writes its parts at offsets
 * that follow from the previous parts, through the struct codecs' unchecked `read<Struct>At`/
 * `write<Struct>At` after one bounds test per part. The rare paths (compat sizes of older
 * minors, negotiation structs that take the size the message has, record arrays) call the
 * shared engine's helpers with the part's descriptor, so their rules live in one place.
 *
 * The emitted code refers to the engine's exports (runtime/messages.ts, imported by the
 * template as the generator's `engineImports` lists them: `Ctx`, `StructPart`, `ArrayPart`,
 * `partSize`, `truncatedStruct`, `nameEnd`, `readName`, `readArrayPart`, `countValue`,
 * `decodePrefix`, `trailingBytes`, `extensionsStart`, `missingPart`, `notBytes`,
 * `checkPadding`, `writePrefix`, `messageLength`) and to the template's `IN_HEADER_SIZE` and
 * `OUT_HEADER_SIZE`.
 */
import type { StructView } from "./structs.js";

/** One part of a message as the code emitters need it. */
export type PartInfo =
  | {
      kind: "struct";
      field: string;
      view: StructView;
      /** The part's size depends on the minor or an INIT flag (compat rules). */
      compat: boolean;
      /** The compat rules (option names for flags), for the straight-line size expression. */
      sizeRules: readonly SizeRuleInfo[];
      /** A negotiation struct ending its message: decoders take the size the message has. */
      selfSized: boolean;
      /** The struct has implicit padding, which decoders check is zero (encoders write zeros there). */
      padded: boolean;
    }
  | { kind: "name" | "data"; field: string }
  | { kind: "array"; field: string; view: StructView; countFrom: string; countField: string };

/** A compat size: sent when the minor is below `minorBelow` or the INIT flag option `flag` is not set. */
export interface SizeRuleInfo {
  size: number;
  minorBelow: number | null;
  flag: string | null;
}

const local = (field: string) => `p_${field}`;

/**
 * The size a struct part is sent with under `opts`, as an expression (what the engine's
 * `sentSize` computes from the descriptor): the smallest size whose rule applies, else the
 * full size. Inline, so a reply writer pays a comparison instead of a walk over the rules.
 */
export function sentSizeExpr(full: number, rules: readonly SizeRuleInfo[]): string {
  const smaller = rules.filter((r) => r.size < full).sort((a, b) => a.size - b.size);
  let expr = String(full);
  for (const r of [...smaller].reverse()) {
    const conds: string[] = [];
    if (r.minorBelow !== null) conds.push(`opts.minor < ${r.minorBelow}`);
    if (r.flag !== null) conds.push(`opts.${r.flag} !== true`);
    expr = conds.length === 0 ? String(r.size) : `${conds.join(" && ")} ? ${r.size} : ${expr}`;
  }
  return smaller.length > 0 ? `(${expr})` : expr;
}

/**
 * The body of a request decoder: `spec` and `ctx` are the opcode's descriptor and error
 * context, `end` where the parts end (before extensions); the parts' locals are `p_<field>`.
 */
export function requestDecoderBody(parts: readonly PartInfo[], specName: string): string[] {
  const lines: string[] = [];
  parts.forEach((p, i) => {
    const v = local(p.field);
    const part = `${specName}.parts[${i}]`;
    switch (p.kind) {
      case "struct": {
        const s = p.view;
        if (!p.compat && !p.selfSized) {
          lines.push(
            `if (end - at < ${s.size}) truncatedStruct(ctx, ${part} as StructPart, at, ${s.size}, end - at);`,
            `const ${v} = ${s.readName}(view, base + at, le);`,
            ...(p.padded
              ? [`checkPadding(ctx, ${part} as StructPart, bytes, at, ${s.size});`]
              : []),
            `at += ${s.size};`,
          );
        } else {
          const size = `s${i}`;
          lines.push(
            `const ${size} = partSize(ctx, ${part} as StructPart, at, end - at, ${p.selfSized}, opts);`,
            `const ${v} = ${size} >= ${s.size} ? ${s.readName}(view, base + at, le) : (decodePrefix(${s.codecName}, bytes, at, ${size}, opts) as ${s.tsName});`,
            ...(p.padded ? [`checkPadding(ctx, ${part} as StructPart, bytes, at, ${size});`] : []),
            `at += ${size};`,
          );
        }
        break;
      }
      case "name":
        lines.push(
          `const n${i} = nameEnd(ctx, ${JSON.stringify(p.field)}, bytes, at, end);`,
          `const ${v} = readName(bytes, at, n${i} - at);`,
          `at = n${i} + 1;`,
        );
        break;
      case "data":
        lines.push(`const ${v} = bytes.subarray(at, end);`, "at = end;");
        break;
      case "array":
        lines.push(
          `const ${v} = readArrayPart(ctx, ${part} as ArrayPart, bytes, at, end, countValue(${local(p.countFrom)}.${p.countField}), opts) as ${p.view.tsName}[];`,
          "at = end;",
        );
        break;
    }
  });
  return lines;
}

/** Whether a reply's parts get a straight-line writer: structs, then at most a data part. */
export function hasReplyWriter(parts: readonly PartInfo[]): boolean {
  return (
    parts.length > 0 &&
    parts.every((p, i) => p.kind === "struct" || (p.kind === "data" && i === parts.length - 1))
  );
}

/**
 * The size function of a struct-only reply: checks each part is there and returns the
 * message length. Locals: `body` (the reply object), `opts`, `ctx`.
 */
export function replySizeBody(parts: readonly PartInfo[]): string[] {
  const lines: string[] = ["let len = OUT_HEADER_SIZE;"];
  parts.forEach((p, i) => {
    const value = `body[${JSON.stringify(p.field)}]`;
    if (p.kind === "struct") {
      lines.push(
        `if (typeof ${value} !== "object" || ${value} === null) missingPart(ctx, ${JSON.stringify(p.field)}, len);`,
      );
      lines.push(`len += ${p.compat ? sentSizeExpr(p.view.size, p.sizeRules) : p.view.size};`);
    } else {
      lines.push(
        `const d${i} = ${value};`,
        `if (!(d${i} instanceof Uint8Array)) return notBytes(ctx, ${JSON.stringify(p.field)}, len);`,
        `len += d${i}.length;`,
      );
    }
  });
  lines.push("return messageLength(ctx, len);");
  return lines;
}

/** The writer of a struct-only reply (after the size function passed): parts from `at` on. */
export function replyWriterBody(parts: readonly PartInfo[]): string[] {
  const lines: string[] = [];
  parts.forEach((p, i) => {
    const value = `body[${JSON.stringify(p.field)}]`;
    if (p.kind === "struct") {
      const s = p.view;
      if (!p.compat) {
        lines.push(`${s.writeName}(view, at, ${value} as ${s.tsName}, le);`, `at += ${s.size};`);
      } else {
        lines.push(
          `const s${i} = ${sentSizeExpr(s.size, p.sizeRules)};`,
          `if (s${i} >= ${s.size}) ${s.writeName}(view, at, ${value} as ${s.tsName}, le);`,
          `else writePrefix(${s.codecName}, ${value}, view, at, s${i}, opts);`,
          `at += s${i};`,
        );
      }
    } else {
      lines.push(
        `const d${i} = ${value} as Uint8Array;`,
        `new Uint8Array(view.buffer, at, d${i}.length).set(d${i});`,
        `at += d${i}.length;`,
      );
    }
  });
  return lines;
}

/** A parameter list with `_` before each name `body` does not use (noUnusedParameters). */
export function paramList(
  params: readonly (readonly [string, string])[],
  body: readonly string[],
): string {
  const text = body.join("\n");
  return params
    .map(([name, type]) => `${new RegExp(`\\b${name}\\b`).test(text) ? "" : "_"}${name}: ${type}`)
    .join(", ");
}
