/**
 * What the header has declared so far: macros, typedefs, records and enums, in
 * C's own scope rules (tags are file-scope, even when defined inside another
 * struct). It answers the layout engine and the constant-expression evaluator,
 * for any target.
 */
import {
  EvalError,
  type ExprEnv,
  type MacroEntry,
  type ResolvedType,
  type TypeName,
} from "../cexpr/evaluate.js";
import { type CIntType, intType, literalType, make } from "../cexpr/ctypes.js";
import { tokenize } from "../cexpr/tokens.js";
import { type LayoutScope, type SizeAlign, typeLayout } from "../layout/layout.js";
import { TARGET_INFO, type TargetInfo } from "../layout/targets.js";
import type { EnumDef, Field, StructDef, Target, TypedefDef, TypeRef } from "../model.js";
import { builtinType, isBuiltinTypeWord } from "./ctype.js";

/**
 * Macros a Linux userspace compile of the header sees without the header
 * defining them: the compiler's predefines that FUSE headers test, and the few
 * macros of headers they include (`<linux/ioctl.h>`, `<linux/major.h>`) that
 * their constants use. Written from the documented Linux ioctl encoding.
 */
const ENVIRONMENT_MACROS: Record<string, string | { params: string[]; body: string }> = {
  __linux__: "1",
  __linux: "1",
  linux: "1",
  __unix__: "1",
  unix: "1",
  __GNUC__: "12",
  __STDC__: "1",
  __STDC_VERSION__: "201710L",
  __CHAR_BIT__: "8",
  MISC_MAJOR: "10",
  _IOC_NRSHIFT: "0",
  _IOC_TYPESHIFT: "8",
  _IOC_SIZESHIFT: "16",
  _IOC_DIRSHIFT: "30",
  _IOC_NONE: "0U",
  _IOC_WRITE: "1U",
  _IOC_READ: "2U",
  _IOC: {
    params: ["dir", "type", "nr", "size"],
    body: "(((dir) << _IOC_DIRSHIFT) | ((type) << _IOC_TYPESHIFT) | ((nr) << _IOC_NRSHIFT) | ((size) << _IOC_SIZESHIFT))",
  },
  _IO: { params: ["type", "nr"], body: "_IOC(_IOC_NONE, (type), (nr), 0)" },
  _IOR: { params: ["type", "nr", "size"], body: "_IOC(_IOC_READ, (type), (nr), (sizeof(size)))" },
  _IOW: { params: ["type", "nr", "size"], body: "_IOC(_IOC_WRITE, (type), (nr), (sizeof(size)))" },
  _IOWR: {
    params: ["type", "nr", "size"],
    body: "_IOC(_IOC_READ | _IOC_WRITE, (type), (nr), (sizeof(size)))",
  },
};

export function environmentMacros(): Map<string, MacroEntry> {
  const map = new Map<string, MacroEntry>();
  for (const [name, def] of Object.entries(ENVIRONMENT_MACROS)) {
    if (typeof def === "string") map.set(name, { name, params: null, tokens: tokenize(def) });
    else map.set(name, { name, params: def.params, tokens: tokenize(def.body) });
  }
  return map;
}

export class DeclScope implements LayoutScope {
  readonly macros = environmentMacros();
  readonly typedefs = new Map<string, TypedefDef>();
  /** Key: `struct name` / `union name`. */
  readonly records = new Map<string, StructDef>();
  readonly enums = new Map<string, EnumDef>();
  /** Enumeration constants: value and the enum that defines them (its type decides theirs). */
  readonly enumConstants = new Map<string, { value: bigint; enumName: string | null }>();

  record(kind: "struct" | "union", name: string, target: Target): SizeAlign | undefined {
    const r = this.records.get(`${kind} ${name}`);
    return r ? { size: r.layout[target].size, align: r.layout[target].align } : undefined;
  }

  enumLayout(name: string, target: Target): SizeAlign | undefined {
    const e = this.enums.get(name);
    if (!e) return undefined;
    const t = enumType(
      e.members.map((m) => BigInt(m.value)),
      TARGET_INFO[target],
    );
    const size = t.bits / 8;
    return { size, align: size === 8 ? TARGET_INFO[target].int64Align : size };
  }

  /** Resolve type words (`__u64`, `unsigned long`, `struct x`) to a TypeRef, or null. */
  typeFromWords(words: readonly string[]): TypeRef | null {
    if (words.length === 2 && (words[0] === "struct" || words[0] === "union"))
      return { kind: words[0], name: words[1] };
    if (words.length === 2 && words[0] === "enum") return { kind: "enum", name: words[1] };
    if (words.length === 1 && this.typedefs.has(words[0])) return this.typedefs.get(words[0])!.type;
    return builtinType(words);
  }

  env(targetName: Target): ExprEnv {
    const target = TARGET_INFO[targetName];
    return {
      target,
      macros: this.macros,
      enumConstant: (name) => {
        const c = this.enumConstants.get(name);
        if (!c) return undefined;
        if (c.value >= -0x80000000n && c.value <= 0x7fffffffn)
          return make(c.value, intType("int", target));
        // C23/GNU: a constant that does not fit int has its enum's type.
        const e = c.enumName ? this.enums.get(c.enumName) : undefined;
        const t = e
          ? enumType(
              e.members.map((m) => BigInt(m.value)),
              target,
            )
          : literalType(c.value, "", true, target);
        return make(c.value, t);
      },
      isTypeWord: (w) => isBuiltinTypeWord(w) || this.typedefs.has(w),
      resolveType: (t) => this.resolveType(t, target),
      offsetOf: (record, path) => this.offsetOf(record, path, targetName),
    };
  }

  private resolveType(t: TypeName, target: TargetInfo): ResolvedType | null {
    if (t.pointer > 0) return { size: target.pointerSize, align: target.pointerSize };
    if (t.words.length === 1 && t.words[0] === "void") return null;
    const ref = this.typeFromWords(t.words);
    if (!ref) return null;
    const { size, align } = typeLayout(ref, target, this);
    const cType = castType(ref, target, this);
    if (!cType) return { size, align };
    return {
      size,
      align,
      int: {
        type: cType,
        bits: size * 8,
        signed:
          ref.kind === "int"
            ? ref.name.startsWith("int")
            : ref.kind === "long"
              ? ref.signed
              : ref.kind === "char" || cType.signed,
      },
    };
  }

  /** offsetof(record, a.b.c), looking through anonymous members as C11 does. */
  offsetOf(record: string, path: readonly string[], target: Target): number {
    const def = this.records.get(record);
    if (!def) throw new EvalError(`offsetof: ${record} is not defined`);
    let fields: Field[] = def.fields;
    let offset = 0;
    for (let i = 0; i < path.length; i++) {
      const hit = findMember(fields, path[i], target);
      if (!hit)
        throw new EvalError(`offsetof: ${record} has no member ${path.slice(0, i + 1).join(".")}`);
      offset += hit.offset;
      if (i < path.length - 1) {
        const t = hit.field.type;
        if (t.kind === "record") fields = t.fields;
        else if (t.kind === "struct" || t.kind === "union")
          fields = this.records.get(`${t.kind} ${t.name}`)?.fields ?? [];
        else throw new EvalError(`offsetof: ${path[i]} is not a record`);
      }
    }
    return offset;
  }
}

/**
 * The C type a value has after a cast to `ref` and integer promotion. The
 * spelling matters, not only the width: `<linux/types.h>` makes `__u64`
 * `unsigned long long`, glibc makes `uint64_t` `unsigned long` on LP64.
 */
function castType(ref: TypeRef, target: TargetInfo, scope: DeclScope): CIntType | null {
  switch (ref.kind) {
    case "char":
      return intType("int", target);
    case "long":
      // glibc's size_t/ssize_t/uintptr_t/intptr_t are int-ranked on ILP32, long on LP64.
      if (target.longBits === 32 && /^(s?size_t|u?intptr_t)$/.test(ref.spelled))
        return intType(ref.signed ? "int" : "unsigned int", target);
      return intType(ref.signed ? "long" : "unsigned long", target);
    case "enum": {
      const e = scope.enums.get(ref.name);
      return e
        ? enumType(
            e.members.map((m) => BigInt(m.value)),
            target,
          )
        : null;
    }
    case "int": {
      const bits = Number(ref.name.replace(/\D/g, ""));
      const signed = ref.name.startsWith("int");
      if (bits < 32) return intType("int", target);
      if (bits === 32) return intType(signed ? "int" : "unsigned int", target);
      const longLong =
        /long long|^__[us]64$|^__(le|be)64$/.test(ref.spelled) || target.longBits === 32;
      return intType(
        longLong
          ? signed
            ? "long long"
            : "unsigned long long"
          : signed
            ? "long"
            : "unsigned long",
        target,
      );
    }
    default:
      return null;
  }
}

/**
 * gcc's choice of an enum's underlying type: int when every value fits, else
 * unsigned int when none is negative and all fit 32 bits, else the first of
 * long / unsigned long / long long / unsigned long long that holds them all.
 */
export function enumType(values: readonly bigint[], target: TargetInfo): CIntType {
  const fits = (t: CIntType) => {
    const min = t.signed ? -(1n << BigInt(t.bits - 1)) : 0n;
    const max = t.signed ? (1n << BigInt(t.bits - 1)) - 1n : (1n << BigInt(t.bits)) - 1n;
    return values.every((v) => v >= min && v <= max);
  };
  for (const name of [
    "int",
    "unsigned int",
    "long",
    "unsigned long",
    "long long",
    "unsigned long long",
  ] as const) {
    const t = intType(name, target);
    if (fits(t)) return t;
  }
  return intType("unsigned long long", target);
}

function findMember(
  fields: readonly Field[],
  name: string,
  target: Target,
): { field: Field; offset: number } | undefined {
  for (const f of fields) {
    if (f.name === name) return { field: f, offset: f.layout[target].offset };
    if (f.name === null && f.type.kind === "record") {
      const inner = findMember(f.type.fields, name, target);
      if (inner) return { field: inner.field, offset: f.layout[target].offset + inner.offset };
    }
  }
  return undefined;
}
