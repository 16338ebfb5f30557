/**
 * View model of `constants.ts`: integer macros, align-helper macros and flag
 * tables, in header order.
 *
 * number or bigint: a constant is a `bigint` when its C type is `long long` or
 * `unsigned long long` (the header asked for 64 bits, e.g. `1ULL << 40`) or its
 * value does not fit in 32 bits (outside -2^31 .. 2^32-1). Everything else is a
 * `number`: `int`, `unsigned int` (0xffffffff stays a number, so it compares
 * with a decoded uint32_t field) and `long`/`size_t` results such as
 * offsetof/sizeof that fit (`long` is 32 bits on i386 anyway).
 *
 * Flag tables: a family is a run of at least two `#define`s that are single-bit
 * masks written as a shift or in hex, with rising bits, sharing a leading
 * `_`-separated name prefix, with nothing else (no other constant, struct, enum
 * or macro) defined in between. Aliases (`#define A B`) are skipped and do not
 * break a run. This finds FATTR_*, FOPEN_*, the INIT flags, ... without a list
 * of names; quantities such as `8192` (decimal) never qualify.
 */
import { PRIMARY_TARGET } from "../model.js";
import type { ConstantDef, MacroDef, Schema } from "../model.js";
import { code, commentSafe, jsdoc } from "./doc.js";
import { tsIntLiteral } from "./literals.js";
import { isIdentifier, propertyKey, type ExportNames } from "./naming.js";

export type ConstItem =
  | { value: { doc: string; name: string; literal: string } }
  | { comment: string }
  | { fn: { doc: string; name: string; param: string; body: string } };

export interface FlagFamilyView {
  doc: string;
  name: string;
  /** `key`: the name as a key of the flag table object (see propertyKey). */
  members: { name: string; key: string; literal: string }[];
}

export interface ConstantsModel {
  items: ConstItem[];
  families: FlagFamilyView[];
}

const INT32_MIN = -(2n ** 31n);
const UINT32_MAX = 2n ** 32n - 1n;

export function constKind(c: ConstantDef): "number" | "bigint" {
  const v = BigInt(c.value ?? "0");
  if (c.type === "long long" || c.type === "unsigned long long") return "bigint";
  return v < INT32_MIN || v > UINT32_MAX ? "bigint" : "number";
}

/** Written as a bit pattern (a shift or hex), so print it in hex. */
function looksLikeMask(expression: string): boolean {
  return /<<|\b0x[0-9a-f]/i.test(expression);
}

/** The value as the bits C stores: `1 << 31` is INT_MIN in an int, bit 31 as a mask. */
function maskBits(c: ConstantDef): bigint {
  const width = c.type === "int" || c.type === "unsigned int" ? 32 : 64;
  return BigInt.asUintN(width, BigInt(c.value ?? "0"));
}

function isFlag(c: ConstantDef): boolean {
  if (c.value === null || c.aliasOf !== undefined || !looksLikeMask(c.expression)) return false;
  const b = maskBits(c);
  return b !== 0n && (b & (b - 1n)) === 0n;
}

/** Leading `_`-separated segments all names share, leaving each name at least one more. */
function commonPrefix(names: string[]): string[] {
  const split = names.map((n) => n.split("_"));
  const prefix: string[] = [];
  for (let i = 0; ; i++) {
    const seg = split[0]![i];
    if (seg === undefined || split.some((s) => s.length <= i + 1 || s[i] !== seg)) break;
    prefix.push(seg);
  }
  return prefix.filter((s, i) => i > 0 || s !== "");
}

function firstParagraph(doc: string | undefined): string | undefined {
  return doc?.trim().split(/\n\s*\n/)[0];
}

function findFamilies(schema: Schema): ConstantDef[][] {
  type Ev = { line: number; flag: ConstantDef | null };
  const events: Ev[] = [];
  for (const c of schema.constants) {
    if (c.aliasOf !== undefined) continue;
    events.push({ line: c.pos.line, flag: isFlag(c) ? c : null });
  }
  for (const d of [...schema.structs, ...schema.enums, ...schema.macros])
    events.push({ line: d.pos.line, flag: null });
  events.sort((a, b) => a.line - b.line);
  const families: ConstantDef[][] = [];
  let run: ConstantDef[] = [];
  const close = () => {
    if (run.length >= 2) families.push(run);
    run = [];
  };
  for (const ev of events) {
    const c = ev.flag;
    if (c === null) {
      close();
      continue;
    }
    const last = run[run.length - 1];
    if (
      last &&
      (maskBits(c) <= maskBits(last) || commonPrefix([...run, c].map((m) => m.name)).length === 0)
    )
      close();
    run.push(c);
  }
  close();
  return families;
}

function familyName(members: ConstantDef[], names: ExportNames): string {
  const prefix = commonPrefix(members.map((m) => m.name));
  // FUSE_SETUPMAPPING_FLAG_* -> FUSE_SETUPMAPPING_FLAGS, not ..._FLAG_FLAGS.
  if (prefix.length > 1 && /^FLAGS?$/.test(prefix[prefix.length - 1]!)) prefix.pop();
  const name = `${prefix.join("_")}_FLAGS`;
  return names.has(name) ? `${members[0]!.name}_FLAG_FAMILY` : name;
}

function alignFunction(m: MacroDef, names: ExportNames): ConstItem {
  const a = m.helper!.alignment;
  const p = m.params[0]!;
  const param =
    isIdentifier(p) && !/^(?:this|new|delete|default|function|class|var|let)$/.test(p) ? p : "x";
  return {
    fn: {
      doc: jsdoc(
        m.doc,
        `Rounds \`${param}\` up to a multiple of ${a}. C: ${code(`#define ${m.name}(${m.params.join(", ")}) ${m.body}`)}.`,
        "Exact for integers up to 2^53 (the C macro works on unsigned long).",
      ),
      name: names.claim(m.name, "constants.ts: align macro"),
      param,
      body: `Math.ceil(${param} / ${a}) * ${a}`,
    },
  };
}

export function buildConstants(schema: Schema, names: ExportNames): ConstantsModel {
  const byName = new Map(schema.constants.map((c) => [c.name, c]));
  const constNames = new Set(byName.keys());
  // An alias prints like what it aliases (hex for a mask).
  const hexOf = (c: ConstantDef): boolean => {
    const target = c.aliasOf !== undefined ? byName.get(c.aliasOf) : undefined;
    return (
      looksLikeMask(c.expression) || (target !== undefined && looksLikeMask(target.expression))
    );
  };
  type Src = { line: number; item: () => ConstItem };
  const src: Src[] = [];
  for (const c of schema.constants) {
    if (c.value === null) {
      const why = c.unresolved ? `depends on ${c.unresolved}` : "no userspace value";
      const text = [`${c.name}: ${why}; C: ${c.expression}`, ...(c.doc ? ["", c.doc.trim()] : [])];
      src.push({ line: c.pos.line, item: () => ({ comment: blockComment(text) }) });
      continue;
    }
    src.push({
      line: c.pos.line,
      item: () => {
        const kind = constKind(c);
        const others = Object.entries(c.targetValues ?? {})
          .filter(([, v]) => v !== c.value)
          .map(([t, v]) => `${t}: ${v}`);
        return {
          value: {
            doc: jsdoc(
              c.doc,
              `C: ${code(`#define ${c.name} ${c.expression}`)}` +
                (c.type ? ` (${c.type})` : "") +
                ".",
              c.aliasOf !== undefined && `Alias of {@link ${c.aliasOf}}.`,
              others.length > 0 && `Value on ${PRIMARY_TARGET}; differs on ${others.join(", ")}.`,
            ),
            name: names.claim(c.name, "constants.ts: #define"),
            literal: tsIntLiteral(c.value!, kind, hexOf(c)),
          },
        };
      },
    });
  }
  for (const m of schema.macros) {
    if (constNames.has(m.name)) continue;
    if (m.helper?.kind === "align" && m.params.length === 1) {
      src.push({ line: m.pos.line, item: () => alignFunction(m, names) });
    } else {
      const sig =
        m.params.length > 0 || m.body.length === 0 ? `${m.name}(${m.params.join(", ")})` : m.name;
      src.push({
        line: m.pos.line,
        item: () => ({ comment: blockComment([`${sig}: macro not translated; C: ${m.body}`]) }),
      });
    }
  }
  // Header order; a stable sort keeps constants before macros on the same line.
  src.sort((a, b) => a.line - b.line);
  const items = src.map((s) => s.item());

  const families = findFamilies(schema).map((members) => {
    const kind = members.some((m) => constKind(m) === "bigint") ? "bigint" : "number";
    const name = names.claim(familyName(members, names), "constants.ts: flag table");
    const first = members[0]!;
    const last = members[members.length - 1]!;
    return {
      doc: jsdoc(
        firstParagraph(first.doc),
        `Flag table ${code(first.name)} … ${code(last.name)}: ${members.length} consecutive single-bit ${code("#define")}s (header lines ${first.pos.line}–${last.pos.line}). Use with {@link flagNames} / {@link unknownFlagBits}.`,
        kind === "bigint" &&
          "Values are bigint because some bits are 64-bit; masks are the unsigned bit patterns (`1 << 31` is 0x80000000n here).",
      ),
      name,
      members: members.map((m) => ({
        name: m.name,
        key: propertyKey(m.name),
        literal: tsIntLiteral(maskBits(m).toString(), kind, true),
      })),
    };
  });
  return { items, families };
}

/** A plain block comment (nothing follows it to document). */
function blockComment(lines: string[]): string {
  const safe = lines.flatMap((l) => commentSafe(l).split("\n"));
  if (safe.length === 1) return `/* ${safe[0]} */`;
  return ["/*", ...safe.map((l) => (l ? ` * ${l}` : " *")), " */"].join("\n");
}
