/**
 * Names for the numbers `fuse-uapi decode` prints: the INIT flags a
 * FUSE_INIT request or reply carries (from the schema's own constants, so a
 * revision's new flags are named without a table here) and reply errors
 * (negative errno values; FUSE is Linux, so Linux's errno names).
 */
import { constants } from "node:os";
import type { Schema } from "./model.js";

/** The constants the header documents as INIT request/reply flags, with their bit (as a 64-bit value: flags | flags2 << 32). */
export function initFlagBits(schema: Schema): [string, bigint][] {
  const single = (c: { value: string | null }) => c.value !== null && /^-?\d+$/.test(c.value);
  const bit = (value: string) => {
    const v = BigInt(value);
    return v < 0n ? BigInt.asUintN(32, v) : v; // (1 << 31) is a negative int
  };
  const isBit = (v: bigint) => v > 0n && (v & (v - 1n)) === 0n;
  // The header lists them in the doc comment of the first one ("INIT request/reply flags ... FUSE_X: what").
  const listing = schema.constants.find((c) => c.doc?.startsWith("INIT request/reply flags"));
  const listed = new Set(
    [...(listing?.doc ?? "").matchAll(/^(FUSE_[A-Z0-9_]+):/gm)].map((m) => m[1]!),
  );
  const out: [string, bigint][] = [];
  for (const c of schema.constants) {
    if (!listed.has(c.name) || !single(c)) continue;
    const v = bit(c.value!);
    if (isBit(v)) out.push([c.name, v]);
  }
  return out;
}

/** Names of the bits set in `flags | flags2 << 32`; bits no constant names print as hex. */
export function flagNames(bits: [string, bigint][], flags: bigint): string[] {
  const names: string[] = [];
  let rest = flags;
  for (const [name, v] of bits) {
    if ((flags & v) !== 0n) {
      names.push(name);
      rest &= ~v;
    }
  }
  for (let b = 0n; rest !== 0n; b++) {
    if (rest & (1n << b)) {
      names.push(`0x${(1n << b).toString(16)}`);
      rest &= ~(1n << b);
    }
  }
  return names;
}

const ERRNO_NAMES = new Map<number, string>();
for (const [name, value] of Object.entries(constants.errno))
  if (!ERRNO_NAMES.has(value)) ERRNO_NAMES.set(value, name);

/** `-2` → `ENOENT`; undefined for 0 or a value without a name. */
export function errnoName(error: number): string | undefined {
  return error < 0 ? ERRNO_NAMES.get(-error) : undefined;
}
