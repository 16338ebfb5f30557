/**
 * Turns a schema into a C11 file of `_Static_assert`s, one per fact, so a real
 * compiler for the target can confirm (or refute) every layout figure and
 * constant value the schema claims. The compiler is the oracle here: our own
 * layout engine and expression evaluator are what is under test.
 */

import type { ConstType, Field, Schema, StructDef, Target, TypeRef } from "../model.js";

export type FactKind =
  | "struct-size"
  | "struct-align"
  | "field-offset"
  | "field-size"
  | "constant"
  | "constant-type"
  | "enum-member"
  | "typedef";

/** One claim of the schema, checked by one `_Static_assert`. */
export interface Fact {
  kind: FactKind;
  /** What it is about: `fuse_attr`, `fuse_attr.size`, `FUSE_ROOT_ID`, `fuse_opcode.FUSE_LOOKUP`. */
  subject: string;
  target: Target;
  /** The C expression compared (or, for `constant-type`, the expression typed). */
  expr: string;
  /** What the schema says: a decimal value, or a C type name for `constant-type`. */
  expected: string;
  /** The assertion's message; unique within one file, so it also identifies the fact. */
  message: string;
  /** 1-based line of the assertion in the emitted source. */
  line: number;
}

export interface SkippedFact {
  name: string;
  reason: string;
}

export interface EmittedCheck {
  source: string;
  facts: Fact[];
  /** Constants the schema could not evaluate: nothing to check. */
  skipped: SkippedFact[];
  /** Line -> fact, to map compiler diagnostics back. */
  byLine: Map<number, Fact>;
}

/** Predefined macro that proves the compiler really targets `target`. */
export const TARGET_MACRO: Record<Target, string> = {
  x86_64: "__x86_64__",
  i386: "__i386__",
  aarch64: "__aarch64__",
};

const INT_MAX = 2n ** 31n - 1n;
const UINT_MAX = 2n ** 32n - 1n;
const LLONG_MAX = 2n ** 63n - 1n;
const ULLONG_MAX = 2n ** 64n - 1n;

/**
 * A C literal for `v` whose own type can hold it: no suffix while it fits `int`,
 * then U, LL, ULL. Negative values are written as a negated positive literal;
 * the two minimums need `(-MAX - 1)` because e.g. `2147483648` alone is not an int.
 */
export function cLiteral(v: bigint): string {
  if (v >= 0n) {
    if (v > ULLONG_MAX) throw new RangeError(`value ${v} does not fit in 64 bits`);
    if (v <= INT_MAX) return `${v}`;
    if (v <= UINT_MAX) return `${v}U`;
    if (v <= LLONG_MAX) return `${v}LL`;
    return `${v}ULL`;
  }
  if (v === -(INT_MAX + 1n)) return `(-${INT_MAX} - 1)`;
  if (v >= -INT_MAX) return `(${v})`;
  if (v === -(LLONG_MAX + 1n)) return `(-${LLONG_MAX}LL - 1)`;
  if (v >= -LLONG_MAX) return `(${v}LL)`;
  throw new RangeError(`value ${v} does not fit in 64 bits`);
}

/**
 * `expr == v`, exactly. `==` alone applies the usual arithmetic conversions, so
 * `-1 == 4294967295U` holds; the sign test beside it keeps a negative value from
 * passing as a large unsigned one (and the other way round).
 */
export function cValueTest(expr: string, v: bigint): string {
  const sign = v < 0n ? `(${expr}) < 0` : `(${expr}) >= 0`;
  return `${sign} && (${expr}) == ${cLiteral(v)}`;
}

/** `_Static_assert` message text: a C string literal body. */
function cString(s: string): string {
  return s.replace(/\\/g, "\\\\").replace(/"/g, '\\"');
}

function tagOf(s: StructDef): string {
  return `${s.union ? "union" : "struct"} ${s.name}`;
}

/** A member reachable by name from the outer struct, with its absolute layout. */
interface ReachableField {
  /** C member designator: `a`, or `a.b` through a named member of unnamed type. */
  path: string;
  field: Field;
  offset: number;
  size: number;
}

/**
 * Flattens anonymous struct/union members (C11: their fields are members of the
 * parent) and named members of an unnamed record type (`struct { ... } x;` ->
 * `x.a`). Record fields' offsets are relative to their record, so add the parent's.
 */
function reachableFields(
  fields: Field[],
  target: Target,
  base: number,
  prefix: string,
): ReachableField[] {
  const out: ReachableField[] = [];
  for (const f of fields) {
    const l = f.layout[target];
    const offset = base + l.offset;
    if (f.name !== null) out.push({ path: prefix + f.name, field: f, offset, size: l.size });
    if (f.type.kind === "record") {
      const nextPrefix = f.name === null ? prefix : `${prefix}${f.name}.`;
      out.push(...reachableFields(f.type.fields, target, offset, nextPrefix));
    }
  }
  return out;
}

class Emitter {
  readonly lines: string[] = [];
  readonly facts: Fact[] = [];
  readonly byLine = new Map<number, Fact>();
  private readonly messages = new Set<string>();

  constructor(readonly target: Target) {}

  line(text = ""): void {
    this.lines.push(text);
  }

  /** Emits `_Static_assert(test, message)` and records the fact at its line. */
  fact(
    kind: FactKind,
    subject: string,
    expr: string,
    expected: string,
    test: string,
    describe: string,
  ): Fact {
    let message = `${describe} ${this.target} == ${expected}`;
    // Keep messages unique (a header may repeat a name); the line table is primary anyway.
    for (let i = 2; this.messages.has(message); i++)
      message = `${describe} ${this.target} == ${expected} (#${i})`;
    this.messages.add(message);
    const fact: Fact = { kind, subject, target: this.target, expr, expected, message, line: 0 };
    this.assertFor(fact, test, message);
    this.facts.push(fact);
    return fact;
  }

  /** Another assertion line standing for an existing fact (e.g. its "not defined" branch). */
  assertFor(fact: Fact, test: string, message: string): void {
    this.lines.push(`_Static_assert(${test}, "${cString(message)}");`);
    if (fact.line === 0) fact.line = this.lines.length;
    this.byLine.set(this.lines.length, fact);
  }
}

function emitStruct(e: Emitter, s: StructDef): void {
  const t = e.target;
  const tag = tagOf(s);
  const rl = s.layout[t];
  e.line(`/* ${tag} */`);
  const sizeExpr = `sizeof(${tag})`;
  e.fact("struct-size", s.name, sizeExpr, `${rl.size}`, `${sizeExpr} == ${rl.size}`, sizeExpr);
  const alignExpr = `_Alignof(${tag})`;
  e.fact(
    "struct-align",
    s.name,
    alignExpr,
    `${rl.align}`,
    `${alignExpr} == ${rl.align}`,
    alignExpr,
  );
  for (const r of reachableFields(s.fields, t, 0, "")) {
    const subject = `${s.name}.${r.path}`;
    // offsetof of a flexible array member is valid C; its sizeof is not (incomplete type).
    const offExpr = `offsetof(${tag}, ${r.path})`;
    e.fact("field-offset", subject, offExpr, `${r.offset}`, `${offExpr} == ${r.offset}`, offExpr);
    if (!r.field.flexible) {
      const sizeOf = `sizeof(((${tag} *)0)->${r.path})`;
      e.fact(
        "field-size",
        subject,
        sizeOf,
        `${r.size}`,
        `${sizeOf} == ${r.size}`,
        `sizeof(${tag}.${r.path})`,
      );
    }
  }
  e.line();
}

/**
 * Constants may come from a branch the compiler does not take (`#ifndef linux`):
 * guard each with #ifdef so "not defined" is that one fact failing, not a compile error.
 */
function emitConstant(e: Emitter, name: string, v: bigint, type: ConstType | null): void {
  e.line(`#ifdef ${name}`);
  const facts = [e.fact("constant", name, name, `${v}`, cValueTest(name, v), name)];
  // The schema records each target's own C type (targetTypes), so types are facts on every target.
  if (type !== null) {
    facts.push(
      e.fact(
        "constant-type",
        name,
        name,
        type,
        `_Generic((${name}), ${type}: 1, default: 0)`,
        `type of ${name}`,
      ),
    );
  }
  e.line(`#else`);
  // Only one branch compiles, so these lines stand for the same facts: no double counting.
  for (const f of facts) e.assertFor(f, `0`, `${f.message} (${name} is not defined)`);
  e.line(`#endif`);
}

/** The C type name of `t`, or null where `_Generic` cannot name it (arrays, unnamed records). */
export function cTypeName(t: TypeRef): string | null {
  switch (t.kind) {
    case "int":
      return t.name;
    case "char":
      return t.spelled || "char";
    case "long":
      return t.signed ? "long" : "unsigned long";
    case "pointer": {
      const to = cTypeName(t.to);
      return to === null ? null : `${to} *`;
    }
    case "struct":
    case "union":
    case "enum":
      return `${t.kind} ${t.name}`;
    case "record":
    case "array":
      return null;
  }
}

/**
 * Builds the check file for one target. `headerPath` is what `#include "..."`
 * names: the header text must be saved there (relative to the C file) to compile.
 */
export function emitAssertions(schema: Schema, target: Target, headerPath: string): EmittedCheck {
  const e = new Emitter(target);
  const macro = TARGET_MACRO[target];
  e.line(
    `/* fuse-uapi check: ${cString(schema.source.file)} on ${target}. Generated; do not edit. */`,
  );
  e.line(`#include <stddef.h>`);
  e.line(`#include <stdint.h>`);
  // FUSE headers use _IOR/_IOW without including it themselves.
  e.line(`#include <linux/ioctl.h>`);
  e.line(`#include "${cString(headerPath)}"`);
  e.line();
  // A compiler for the wrong target would "prove" the wrong ABI.
  e.line(`#ifndef ${macro}`);
  e.line(
    `#error "fuse-uapi check: this compiler does not target ${target} (${macro} is not defined)"`,
  );
  e.line(`#endif`);
  e.line();

  // Typedefs (and `#define __u64 uint64_t` type macros) name exactly the type the schema says:
  // _Generic matches types exactly, where a sizeof test would let int32_t pass for uint32_t.
  if (schema.typedefs?.length) e.line(`/* typedefs */`);
  for (const td of schema.typedefs ?? []) {
    const ctype = cTypeName(td.type);
    if (ctype === null) continue;
    e.fact(
      "typedef",
      td.name,
      td.name,
      ctype,
      `_Generic(*(${td.name} *)0, ${ctype}: 1, default: 0)`,
      `typedef ${td.name}`,
    );
  }
  e.line();

  for (const s of schema.structs) emitStruct(e, s);

  const skipped: SkippedFact[] = [];
  e.line(`/* constants */`);
  for (const c of schema.constants) {
    const value = c.targetValues && target in c.targetValues ? c.targetValues[target]! : c.value;
    const type = c.targetTypes && target in c.targetTypes ? c.targetTypes[target]! : c.type;
    if (value === null) {
      skipped.push({
        name: c.name,
        reason: c.unresolved ? `unresolved: ${c.unresolved}` : "no value",
      });
      continue;
    }
    emitConstant(e, c.name, BigInt(value), type);
  }
  e.line();

  for (const en of schema.enums) {
    e.line(`/* enum ${en.name} */`);
    for (const m of en.members) {
      const v = BigInt(m.value);
      e.fact(
        "enum-member",
        `${en.name}.${m.name}`,
        m.name,
        `${v}`,
        cValueTest(m.name, v),
        `enum ${en.name} ${m.name}`,
      );
    }
    e.line();
  }

  return { source: e.lines.join("\n") + "\n", facts: e.facts, skipped, byLine: e.byLine };
}
