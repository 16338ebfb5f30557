/**
 * View model of `structs.ts` and `codecs.ts`: per C struct/union an interface,
 * its layout constants and straight-line DataView code at the exact primary
 * target offsets (no runtime reflection, like bindgen's layout-exact bindings).
 *
 * Rules, all documented in the generated JSDoc:
 * - C field names stay property names, so the header is the reference.
 * - Anonymous struct/union members are flattened into the parent (as C11 does).
 * - Members that overlay each other in a union are optional: decode fills every
 *   one (each is a view of the same bytes); encode writes every member that is
 *   not undefined, last to first, so where they overlap the first declared one
 *   wins. A decoded value re-encodes to the same bytes, and setting one member
 *   (the others undefined) writes just that one.
 * - A flexible array member is not part of the fixed part: it gets an offset
 *   constant and a note, no property.
 */
import { InputError } from "../errors.js";
import { PRIMARY_TARGET, TARGETS } from "../model.js";
import type { EnumDef, Field, Schema, StructDef, Target, TypeRef } from "../model.js";
import { code, jsdoc } from "./doc.js";
import { enumValueKind } from "./enums.js";
import { pascalCase, propertyAccess, propertyKey, type ExportNames } from "./naming.js";

export interface PropView {
  doc: string;
  name: string;
  /** `name` as a key (see propertyKey): what templates print. */
  key: string;
  optional: boolean;
  type: string;
}

export interface Entry {
  name: string;
  /** `name` as a key (see propertyKey): what templates print. */
  key: string;
  expr: string;
}

export interface OffsetView {
  name: string;
  key: string;
  offset: number;
  doc: string;
}

export interface StructView {
  cName: string;
  tsName: string;
  doc: string;
  layoutDoc: string;
  props: PropView[];
  size: number;
  align: number;
  offsets: OffsetView[];
  /** Absolute field offsets per target, for layout.ts. */
  targetOffsets: Record<Target, { size: number; align: number; offsets: Entry[] }>;
  /** JSON string literal of the C name (error messages, codec objects). */
  cNameLiteral: string;
  readName: string;
  writeName: string;
  /** Parameter lists; unused ones get a leading underscore (noUnusedParameters). */
  readParams: string;
  writeParams: string;
  decodeName: string;
  encodeName: string;
  zeroName: string;
  codecName: string;
  readEntries: Entry[];
  writeStmts: string[];
  zeroEntries: Entry[];
  decodeDoc: string;
  encodeDoc: string;
  zeroDoc: string;
  codecDoc: string;
}

export interface StructsModel {
  structs: StructView[];
  /** Enum types the interfaces use (structs.ts imports them). */
  enumImports: string[];
  /** Runtime helpers the codecs use (codecs.ts imports them). */
  runtimeImports: string[];
  runtimeTypeImports: string[];
}

/** How one scalar C type is read and written with a DataView. */
interface Scalar {
  bits: 8 | 16 | 32 | 64;
  signed: boolean;
  /** TypeScript type of a single value (an enum type name for enums). */
  ts: string;
}

const ACCESSOR: Record<string, string> = {
  "8u": "Uint8",
  "8s": "Int8",
  "16u": "Uint16",
  "16s": "Int16",
  "32u": "Uint32",
  "32s": "Int32",
  "64u": "BigUint64",
  "64s": "BigInt64",
};

function accessor(s: Scalar): string {
  return ACCESSOR[`${s.bits}${s.signed ? "s" : "u"}`]!;
}

/** Typed array class of a scalar's elements. */
function typedArray(s: Scalar): string {
  return `${accessor(s)}Array`;
}

function zeroOf(s: Scalar): string {
  return s.bits === 64 ? "0n" : "0";
}

/** One field's write: statements guarded by `cond` when the member is optional. */
interface WriteUnit {
  cond: string | null;
  stmts: string[];
}

interface MembersOut {
  props: PropView[];
  read: Entry[];
  units: WriteUnit[];
  zero: Entry[];
  offsets: { name: string; at: Record<Target, number>; doc: string }[];
  notes: string[];
}

interface Scope {
  /** Offsets of the enclosing record's start, per target, from the struct's start. */
  base: Record<Target, number>;
  /** Expression of the enclosing value (`v`, `v.pair`). */
  path: string;
  /** Members here are union alternatives (or inside one): optional properties. */
  optional: boolean;
  union: boolean;
  /** Note added to each member's doc (e.g. "In an anonymous union at offset 8"). */
  note: string | null;
  /** Dotted C path prefix for error messages (`demo_msg.`). */
  where: string;
}

class StructBuilder {
  private readonly structs = new Map<string, StructDef>();
  private readonly enums = new Map<string, EnumDef>();
  readonly enumImports = new Set<string>();
  readonly runtime = new Set<string>([
    "decodeBoundsError",
    "encodeBoundsError",
    "isLittleEndian",
    "viewOfBuffer",
  ]);
  /** Set while building one struct: its code passes the byte order flag somewhere. */
  private usesLe = false;
  private depth = 0;
  /** TypeScript name of the struct being built, for notes that point at its constants. */
  private current = "";

  constructor(private readonly schema: Schema) {
    for (const s of schema.structs) this.structs.set(s.name, s);
    for (const e of schema.enums) if (e.name) this.enums.set(e.name, e);
  }

  build(def: StructDef, names: ExportNames): StructView {
    const tsName = names.claim(pascalCase(def.name), `structs.ts: ${kw(def)} ${def.name}`);
    const what = `codecs.ts: ${kw(def)} ${def.name}`;
    const view: Partial<StructView> = {
      cName: def.name,
      tsName,
      decodeName: names.claim(`decode${tsName}`, what),
      encodeName: names.claim(`encode${tsName}`, what),
      zeroName: names.claim(`zero${tsName}`, what),
      codecName: names.claim(`${tsName}Codec`, what),
      readName: names.claim(readFn(def.name), what),
      writeName: names.claim(writeFn(def.name), what),
    };
    this.usesLe = false;
    this.depth = 0;
    this.current = tsName;
    const zeroBase = Object.fromEntries(TARGETS.map((t) => [t, 0])) as Record<Target, number>;
    const out = this.members(def.fields, {
      base: zeroBase,
      path: "v",
      optional: def.union,
      union: def.union,
      note: null,
      where: `${def.name}.`,
    });
    // writeAt writes every byte of the struct (so encoders need no zero-fill pass): a union
    // starts from zero (members may be undefined), implicit padding is written as zero.
    const stmts = def.union
      ? [`zeroFill(view, o, ${def.size});`, ...emitUnits(out.units, true)]
      : [...emitUnits(out.units, false), ...zeroGaps(def)];
    const cRef = `${kw(def)} ${def.name}`;
    const primary = def.layout[PRIMARY_TARGET];
    const sizeDiffs = TARGETS.filter((t) => t !== PRIMARY_TARGET)
      .filter((t) => def.layout[t].size !== primary.size || def.layout[t].align !== primary.align)
      .map((t) => `${t}: ${def.layout[t].size} bytes, align ${def.layout[t].align}`);
    const holes = primary.padding.map(
      (h) =>
        `${h.size} byte${h.size === 1 ? "" : "s"} at offset ${h.offset}${h.after ? ` after ${code(h.after)}` : ""}`,
    );
    return {
      ...(view as StructView),
      doc: jsdoc(
        def.doc,
        `C: ${code(cRef)}, ${def.size} bytes, align ${def.align} (${PRIMARY_TARGET})` +
          (sizeDiffs.length > 0 ? `; ${sizeDiffs.join("; ")}.` : "."),
        holes.length > 0 &&
          `Implicit padding (${PRIMARY_TARGET}): ${holes.join("; ")}. Encoders write it as zero.`,
        ...(def.union && !out.notes.includes(UNION_RULE) ? [UNION_RULE] : []),
        ...out.notes,
      ),
      layoutDoc: jsdoc(
        `Size, alignment and field offsets of ${code(cRef)} on ${PRIMARY_TARGET} (what the codecs use); other targets: see \`STRUCT_LAYOUT\` in layout.ts.`,
      ),
      props: out.props,
      size: def.size,
      align: def.align,
      offsets: out.offsets.map((o) => ({
        name: o.name,
        key: propertyKey(o.name),
        offset: o.at[PRIMARY_TARGET],
        doc: o.doc,
      })),
      targetOffsets: Object.fromEntries(
        TARGETS.map((t) => [
          t,
          {
            size: def.layout[t].size,
            align: def.layout[t].align,
            offsets: out.offsets.map((o) => ({
              name: o.name,
              key: propertyKey(o.name),
              expr: String(o.at[t]),
            })),
          },
        ]),
      ) as StructView["targetOffsets"],
      readEntries: out.read,
      writeStmts: stmts,
      zeroEntries: out.zero,
      cNameLiteral: JSON.stringify(def.name),
      readParams: params(out.read.length > 0, this.usesLe, null),
      writeParams: params(stmts.length > 0, this.usesLe, tsName),
      decodeDoc: jsdoc(
        `Decodes ${code(cRef)} (${def.size} bytes, ${PRIMARY_TARGET} layout) from \`buf\` at \`offset\`.`,
        `@throws {FuseDecodeError} when fewer than ${def.size} bytes are available at \`offset\`.`,
      ),
      encodeDoc: jsdoc(
        `Encodes ${code(cRef)} into \`buf\` at \`offset\` and returns the bytes written (${def.size}). Padding and array elements the value does not supply are written as zero; integers wrap like a C assignment.`,
        `@throws {FuseEncodeError} when fewer than ${def.size} bytes are available, or an array is longer than its C array.`,
      ),
      zeroDoc: jsdoc(`A ${code(cRef)} with every member zero (what \`memset(0)\` gives).`),
      codecDoc: jsdoc(
        `${code(cRef)} as a value, for \`Cursor.read\`/\`Cursor.write\` and generic code.`,
      ),
    };
  }

  private members(fields: Field[], scope: Scope): MembersOut {
    const out: MembersOut = { props: [], read: [], units: [], zero: [], offsets: [], notes: [] };
    let zeroDone = false;
    for (const f of fields) {
      const at = Object.fromEntries(
        TARGETS.map((t) => [t, scope.base[t] + f.layout[t].offset]),
      ) as Record<Target, number>;
      const o = at[PRIMARY_TARGET];
      if (f.flexible || (f.type.kind === "array" && f.type.length === null)) {
        const decl = cDecl(f);
        out.offsets.push({
          name: f.name ?? "",
          at,
          doc: jsdoc(`Flexible array member ${code(decl)}.`),
        });
        out.notes.push(
          `Ends in the flexible array member ${code(decl)} at offset ${o}: it is not part of the fixed part and has no property; decode it from \`offset + ${propertyAccess(`${this.current}.OFFSETS`, f.name ?? "")}\`.`,
        );
        continue;
      }
      if (f.name === null) {
        if (f.type.kind !== "record")
          throw new InputError(`${scope.where}: unnamed member that is not a struct or union`);
        const inner = this.members(f.type.fields, {
          base: at,
          path: scope.path,
          optional: scope.optional || f.type.union,
          union: f.type.union,
          note:
            `In an anonymous ${f.type.union ? "union" : "struct"} at offset ${o}, ${f.size} bytes (${PRIMARY_TARGET})` +
            (f.type.union ? ": members overlay, see the union rule above." : "."),
          where: scope.where,
        });
        if (f.type.union && !out.notes.includes(UNION_RULE)) out.notes.push(UNION_RULE);
        out.props.push(...inner.props);
        out.read.push(...inner.read);
        out.offsets.push(...inner.offsets);
        for (const n of inner.notes) if (!out.notes.includes(n)) out.notes.push(n);
        const stmts = unionStart(
          f.type.union,
          offExprAt(o),
          f.size,
          emitUnits(inner.units, f.type.union),
        );
        const conds = inner.units.map((u) => u.cond).filter((c): c is string => c !== null);
        out.units.push({
          cond: scope.union && conds.length > 0 ? conds.join(" || ") : null,
          stmts,
        });
        if (!zeroDone) out.zero.push(...inner.zero);
        else out.zero.push(...inheritedUndefined(inner.props));
        if (scope.union) zeroDone = true;
        continue;
      }
      const name = f.name;
      // Keys and accesses go through propertyKey/propertyAccess: a C member may be named `__proto__`.
      const key = propertyKey(name);
      const value = propertyAccess(scope.path, name);
      const offExpr = offsetExpr("o", o);
      const where = `${scope.where}${name}`;
      const diffs = TARGETS.filter((t) => t !== PRIMARY_TARGET)
        .filter((t) => at[t] !== o || f.layout[t].size !== f.size)
        .map(
          (t) =>
            `${t}: offset ${at[t]}${f.layout[t].size !== f.size ? `, ${f.layout[t].size} bytes` : ""}`,
        );
      const sizeNote =
        f.type.kind === "int" || f.type.kind === "char" || f.type.kind === "enum"
          ? ""
          : `, ${f.size} bytes`;
      const doc = jsdoc(
        f.doc,
        `C: ${code(cDecl(f))} at offset ${o}${sizeNote} (${PRIMARY_TARGET})` +
          (diffs.length > 0 ? `; ${diffs.join("; ")}.` : "."),
        scope.note,
      );
      let type: string;
      let readExpr: string;
      let stmts: string[];
      let zeroExpr: string;
      if (f.type.kind === "record") {
        const inner = this.members(f.type.fields, {
          base: at,
          path: value,
          optional: f.type.union,
          union: f.type.union,
          note: null,
          where: `${where}.`,
        });
        type = `{\n${inner.props.map(propLine).join("\n")}\n}`;
        readExpr = `{ ${inner.read.map((e) => `${e.key}: ${e.expr}`).join(", ")} }`;
        stmts = unionStart(f.type.union, offExpr, f.size, emitUnits(inner.units, f.type.union));
        zeroExpr = `{ ${inner.zero.map((e) => `${e.key}: ${e.expr}`).join(", ")} }`;
        if (f.type.union && !out.notes.includes(UNION_RULE)) out.notes.push(UNION_RULE);
        for (const n of inner.notes) if (!out.notes.includes(n)) out.notes.push(n);
      } else {
        type = this.tsType(f.type, f.size, where);
        readExpr = this.readExpr(f.type, offExpr, f.size, where);
        stmts = this.writeStmts(f.type, offExpr, f.size, value, where);
        zeroExpr = this.zeroExpr(f.type, f.size, where);
      }
      out.props.push({
        doc,
        name,
        key,
        optional: scope.optional,
        type: scope.optional ? optionalType(type) : type,
      });
      out.read.push({ name, key, expr: readExpr });
      out.units.push({ cond: scope.optional ? presentCond(scope.path, name) : null, stmts });
      out.offsets.push({ name, at, doc: jsdoc(`${code(cDecl(f))}`) });
      if (!zeroDone) out.zero.push({ name, key, expr: zeroExpr });
      else out.zero.push(...inheritedUndefined([{ name, key }]));
      if (scope.union) zeroDone = true;
    }
    return out;
  }

  /** The scalar behind an int-like type of `size` bytes on the primary target; null for aggregates. */
  private scalar(type: TypeRef, size: number, where: string): Scalar | null {
    const bits = (n: number): Scalar["bits"] => {
      if (n === 1 || n === 2 || n === 4 || n === 8) return (n * 8) as Scalar["bits"];
      throw new InputError(`${where}: unsupported scalar size ${n}`);
    };
    const tsOf = (b: number) => (b === 64 ? "bigint" : "number");
    switch (type.kind) {
      case "int": {
        const b = bits(Number(type.name.replace(/\D/g, "")) / 8);
        return { bits: b, signed: !type.name.startsWith("u"), ts: tsOf(b) };
      }
      case "char":
        // char's signedness differs between x86_64 and aarch64; a byte is a byte.
        return { bits: 8, signed: false, ts: "number" };
      case "long": {
        const b = bits(size);
        return { bits: b, signed: type.signed, ts: tsOf(b) };
      }
      case "pointer": {
        const b = bits(size);
        return { bits: b, signed: false, ts: tsOf(b) };
      }
      case "enum": {
        const b = bits(size);
        const def = this.enums.get(type.name);
        const kind = def ? enumValueKind(def) : null;
        // An enum whose values exceed INT_MAX has an unsigned underlying type (gcc).
        const signed = !(def && def.members.some((m) => BigInt(m.value) > 2147483647n));
        let ts = tsOf(b);
        if (def && ((kind === "number" && b <= 32) || (kind === "bigint" && b === 64))) {
          ts = pascalCase(def.name);
        }
        return { bits: b, signed, ts };
      }
      default:
        return null;
    }
  }

  private record(name: string, where: string): StructDef {
    const def = this.structs.get(name);
    if (!def) throw new InputError(`${where}: struct/union ${name} is not defined in the schema`);
    return def;
  }

  private tsType(type: TypeRef, size: number, where: string): string {
    const s = this.scalar(type, size, where);
    if (s) {
      // Only a scalar enum member is typed by its enum; arrays of enums are Int32Array & co.
      if (type.kind === "enum" && s.ts !== "number" && s.ts !== "bigint")
        this.enumImports.add(s.ts);
      return s.ts;
    }
    switch (type.kind) {
      case "struct":
      case "union":
        return pascalCase(this.record(type.name, where).name);
      case "array": {
        const n = arrayLength(type, where);
        const el = size / n;
        const es = this.scalar(type.of, el, where);
        if (es) return typedArray(es);
        const inner = this.tsType(type.of, el, where);
        return /^[A-Za-z0-9_]+$/.test(inner) ? `${inner}[]` : `Array<${inner}>`;
      }
      default:
        throw new InputError(`${where}: cannot map C type ${type.kind} to TypeScript`);
    }
  }

  private readExpr(type: TypeRef, off: string, size: number, where: string): string {
    const s = this.scalar(type, size, where);
    if (s) {
      if (s.bits === 8) return `view.get${accessor(s)}(${off})`;
      this.usesLe = true;
      return `view.get${accessor(s)}(${off}, le)`;
    }
    switch (type.kind) {
      case "struct":
      case "union":
        this.usesLe = true;
        return `${readFn(this.record(type.name, where).name)}(view, ${off}, le)`;
      case "array": {
        const n = arrayLength(type, where);
        const el = size / n;
        const es = this.scalar(type.of, el, where);
        if (es && es.bits === 8) {
          this.runtime.add(es.signed ? "readInt8Array" : "readBytes");
          return `${es.signed ? "readInt8Array" : "readBytes"}(view, ${off}, ${n})`;
        }
        if (es) {
          const fn = `read${typedArray(es)}`;
          this.runtime.add(fn);
          this.usesLe = true;
          return `${fn}(view, ${off}, ${n}, le)`;
        }
        this.runtime.add("readEach");
        const at = `at${this.depth++}`;
        const inner = this.readExpr(type.of, at, el, where);
        this.depth--;
        return `readEach(${n}, ${off}, ${el}, (${at}) => ${inner})`;
      }
      default:
        throw new InputError(`${where}: cannot decode C type ${type.kind}`);
    }
  }

  private writeStmts(
    type: TypeRef,
    off: string,
    size: number,
    value: string,
    where: string,
  ): string[] {
    const s = this.scalar(type, size, where);
    if (s) {
      if (s.bits === 8) return [`view.set${accessor(s)}(${off}, ${value});`];
      this.usesLe = true;
      return [`view.set${accessor(s)}(${off}, ${value}, le);`];
    }
    switch (type.kind) {
      case "struct":
      case "union":
        this.usesLe = true;
        return [`${writeFn(this.record(type.name, where).name)}(view, ${off}, ${value}, le);`];
      case "array": {
        const n = arrayLength(type, where);
        const el = size / n;
        const es = this.scalar(type.of, el, where);
        const label = JSON.stringify(where);
        if (es && es.bits === 8) {
          const fn = es.signed ? "writeInt8Array" : "writeBytes";
          this.runtime.add(fn);
          return [`${fn}(view, ${off}, ${n}, ${value}, ${label});`];
        }
        if (es) {
          const fn = `write${typedArray(es)}`;
          this.runtime.add(fn);
          this.usesLe = true;
          return [`${fn}(view, ${off}, ${n}, ${value}, le, ${label});`];
        }
        this.runtime.add("writeEach");
        this.runtime.add("zeroFill");
        const d = this.depth++;
        const inner = this.writeStmts(type.of, `at${d}`, el, `e${d}`, where);
        this.depth--;
        const body = inner.length === 1 ? inner[0]!.replace(/;$/, "") : `{ ${inner.join(" ")} }`;
        // Elements the value does not supply are zero: the array starts from zero.
        return [
          `zeroFill(view, ${off}, ${size});`,
          `writeEach(${value}, ${n}, ${off}, ${el}, ${label}, (e${d}, at${d}) => ${body});`,
        ];
      }
      default:
        throw new InputError(`${where}: cannot encode C type ${type.kind}`);
    }
  }

  private zeroExpr(type: TypeRef, size: number, where: string): string {
    const s = this.scalar(type, size, where);
    if (s) return zeroOf(s);
    switch (type.kind) {
      case "struct":
      case "union":
        return `zero${pascalCase(this.record(type.name, where).name)}()`;
      case "array": {
        const n = arrayLength(type, where);
        const el = size / n;
        const es = this.scalar(type.of, el, where);
        if (es) return `new ${typedArray(es)}(${n})`;
        return `Array.from({ length: ${n} }, () => ${this.zeroExpr(type.of, el, where)})`;
      }
      default:
        throw new InputError(`${where}: cannot build a zero value of C type ${type.kind}`);
    }
  }
}

/**
 * Names every object inherits from Object.prototype (`toString`, `constructor`,
 * `__proto__`, ...). An optional (union) member with such a name must not be
 * read as "present" when only the inherited one is there.
 */
const INHERITED = new Set(Object.getOwnPropertyNames(Object.prototype));

/** The encoder's test that an optional member is set: an own property for inherited names. */
function presentCond(object: string, name: string): string {
  const value = propertyAccess(object, name);
  return INHERITED.has(name)
    ? `Object.hasOwn(${object}, ${JSON.stringify(name)}) && ${value} !== undefined`
    : `${value} !== undefined`;
}

/**
 * Explicit `undefined` for the optional members a zero value leaves out whose
 * names are inherited: TypeScript checks an absent optional property against
 * the inherited one (`toString: () => string` is no `number`).
 */
function inheritedUndefined(members: readonly { name: string; key: string }[]): Entry[] {
  return members
    .filter((m) => INHERITED.has(m.name))
    .map((m) => ({ name: m.name, key: m.key, expr: "undefined" }));
}

function params(used: boolean, le: boolean, valueType: string | null): string {
  const u = used ? "" : "_";
  const value = valueType === null ? [] : [`${u}v: ${valueType}`];
  return [
    `${u}view: DataView`,
    `${u}o: number`,
    ...value,
    `${le && used ? "" : "_"}le = true`,
  ].join(", ");
}

function kw(def: StructDef): string {
  return def.union ? "union" : "struct";
}

/** Unchecked reader/writer names (exported for callers that keep a DataView); `At` keeps them apart from runtime helpers. */
function readFn(cName: string): string {
  return `read${pascalCase(cName)}At`;
}

function writeFn(cName: string): string {
  return `write${pascalCase(cName)}At`;
}

function offExprAt(add: number): string {
  return offsetExpr("o", add);
}

/** A union's writes start from zero: its members may be undefined, and they overlap. */
function unionStart(union: boolean, off: string, size: number, stmts: string[]): string[] {
  return union && stmts.length > 0 ? [`zeroFill(view, ${off}, ${size});`, ...stmts] : stmts;
}

/** Byte ranges [start, end) of `fields` that their writes cover (primary target). */
function coveredRanges(fields: Field[], base: number, out: [number, number][]): void {
  for (const f of fields) {
    if (f.flexible || (f.type.kind === "array" && f.type.length === null)) continue;
    const at = base + f.layout[PRIMARY_TARGET].offset;
    // A struct member written inline is covered member by member; everything else (scalars,
    // arrays, unions, struct types with their own writer) writes all its bytes.
    if (f.type.kind === "record" && !f.type.union) coveredRanges(f.type.fields, at, out);
    else out.push([at, at + f.size]);
  }
}

/** Zero writes for the bytes no member covers (implicit padding), widest first. */
function zeroGaps(def: StructDef): string[] {
  const ranges: [number, number][] = [];
  coveredRanges(def.fields, 0, ranges);
  ranges.sort((a, b) => a[0] - b[0]);
  const stmts: string[] = [];
  let at = 0;
  const fill = (from: number, to: number) => {
    let k = from;
    for (const [w, acc] of [
      [4, "setUint32"],
      [2, "setUint16"],
      [1, "setUint8"],
    ] as const) {
      for (; to - k >= w; k += w) stmts.push(`view.${acc}(${offsetExpr("o", k)}, 0);`);
    }
  };
  for (const [s, e] of ranges) {
    if (s > at) fill(at, s);
    at = Math.max(at, e);
  }
  if (at < def.size) fill(at, def.size);
  return stmts;
}

function offsetExpr(base: string, add: number): string {
  return add === 0 ? base : `${base} + ${add}`;
}

function arrayLength(type: TypeRef & { kind: "array" }, where: string): number {
  if (type.length === null || type.length <= 0) {
    throw new InputError(`${where}: a flexible or empty array can only be the last member`);
  }
  return type.length;
}

/** The member's declaration as C spells it: `uint32_t grid[2][3]`, `struct { ... } pair`. */
export function cDecl(f: Field): string {
  let suffix = "";
  let t: TypeRef = f.type;
  while (t.kind === "array") {
    suffix += `[${t.lengthExpr}]`;
    t = t.of;
  }
  const base = t.kind === "record" ? `${t.union ? "union" : "struct"} { … }` : f.ctype;
  return `${base}${f.name === null ? "" : ` ${f.name}`}${suffix}`;
}

function propLine(p: PropView): string {
  return `${p.doc ? `${p.doc}\n` : ""}${p.key}${p.optional ? "?" : ""}: ${p.type};`;
}

/** Union members also admit an explicit undefined, so `{ ...v, first: undefined }` works under exactOptionalPropertyTypes. */
function optionalType(type: string): string {
  return `${type} | undefined`;
}

const UNION_RULE =
  "Union members are optional. Decoding fills all of them (each reads the same bytes). Encoding writes every member that is not undefined, last to first, so where members overlap the first declared one wins: a decoded value re-encodes to the same bytes; to write another member, leave the ones before it undefined.";

/**
 * Writes of sibling members, each guarded when optional. A union's members are
 * written last to first so the first declared one wins where they overlap.
 */
function emitUnits(units: WriteUnit[], union: boolean): string[] {
  const block = (stmts: string[]) => `{\n${stmts.join("\n")}\n}`;
  const ordered = union ? [...units].reverse() : units;
  return ordered.flatMap((u) =>
    u.stmts.length === 0 ? [] : u.cond ? [`if (${u.cond}) ${block(u.stmts)}`] : u.stmts,
  );
}

export function buildStructs(schema: Schema, names: ExportNames): StructsModel {
  const b = new StructBuilder(schema);
  const structs = schema.structs.map((s) => b.build(s, names));
  if (structs.some((s) => s.writeStmts.some((w) => w.includes("zeroFill("))))
    b.runtime.add("zeroFill");
  // A header without structs gets an empty codecs.ts: no imports (noUnusedLocals).
  const none = structs.length === 0;
  return {
    structs,
    enumImports: [...b.enumImports].sort(),
    runtimeImports: none ? [] : [...b.runtime].sort(),
    runtimeTypeImports: none ? [] : ["Bytes", "CodecOptions", "StructCodec"],
  };
}
