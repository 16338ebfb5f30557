/**
 * C integer types of constant expressions and the usual arithmetic
 * conversions, per target data model (LP64 or ILP32). Values are BigInt and are
 * wrapped to the type's width after every operation, as gcc does (so `1 << 31`
 * is INT_MIN, exactly what the compiler sees).
 */
import type { ConstType } from "../model.js";
import type { TargetInfo } from "../layout/targets.js";

export interface CIntType {
  name: ConstType;
  bits: number;
  signed: boolean;
  /** Conversion rank: int < long < long long. */
  rank: 1 | 2 | 3;
}

export function intType(name: ConstType, target: TargetInfo): CIntType {
  switch (name) {
    case "int":
      return { name, bits: 32, signed: true, rank: 1 };
    case "unsigned int":
      return { name, bits: 32, signed: false, rank: 1 };
    case "long":
      return { name, bits: target.longBits, signed: true, rank: 2 };
    case "unsigned long":
      return { name, bits: target.longBits, signed: false, rank: 2 };
    case "long long":
      return { name, bits: 64, signed: true, rank: 3 };
    case "unsigned long long":
      return { name, bits: 64, signed: false, rank: 3 };
  }
}

export interface CValue {
  v: bigint;
  t: CIntType;
}

export function wrap(v: bigint, t: CIntType): bigint {
  return t.signed ? BigInt.asIntN(t.bits, v) : BigInt.asUintN(t.bits, v);
}

export function make(v: bigint, t: CIntType): CValue {
  return { v: wrap(v, t), t };
}

function unsignedOf(t: CIntType, target: TargetInfo): CIntType {
  const map: Record<number, ConstType> = {
    1: "unsigned int",
    2: "unsigned long",
    3: "unsigned long long",
  };
  return intType(map[t.rank], target);
}

/** C11 6.3.1.8 usual arithmetic conversions for two integer operands. */
export function common(a: CIntType, b: CIntType, target: TargetInfo): CIntType {
  if (a.name === b.name) return a;
  if (a.signed === b.signed) return a.rank >= b.rank ? a : b;
  const [u, s] = a.signed ? [b, a] : [a, b];
  if (u.rank >= s.rank) return u;
  if (s.bits > u.bits) return s;
  return unsignedOf(s, target);
}

/** The type of an integer literal per C11 6.4.4.1 (suffix and base decide). */
export function literalType(
  value: bigint,
  suffix: string,
  decimal: boolean,
  target: TargetInfo,
): CIntType {
  const s = suffix.toLowerCase();
  const unsigned = s.includes("u");
  const longs = (s.match(/l/g) ?? []).length;
  const candidates: ConstType[] = [];
  if (longs === 0)
    candidates.push(
      ...((unsigned
        ? ["unsigned int"]
        : decimal
          ? ["int"]
          : ["int", "unsigned int"]) as ConstType[]),
    );
  if (longs <= 1)
    candidates.push(
      ...((unsigned
        ? ["unsigned long"]
        : decimal
          ? ["long"]
          : ["long", "unsigned long"]) as ConstType[]),
    );
  candidates.push(
    ...((unsigned
      ? ["unsigned long long"]
      : decimal
        ? ["long long"]
        : ["long long", "unsigned long long"]) as ConstType[]),
  );
  for (const name of candidates) {
    const t = intType(name, target);
    const max = t.signed ? (1n << BigInt(t.bits - 1)) - 1n : (1n << BigInt(t.bits)) - 1n;
    if (value <= max) return t;
  }
  // gcc gives such literals an extended type; fuse.h never needs it.
  return intType(unsigned || !decimal ? "unsigned long long" : "long long", target);
}
