/** Integer literals in generated TypeScript, from the schema's decimal strings. */

/**
 * `value` as a `number` or `bigint` literal. `hex` prints non-negative values in
 * hex (for bit masks written as shifts or hex in the header), which reads better
 * than 9223372036854775808n.
 */
export function tsIntLiteral(value: string, kind: "number" | "bigint", hex: boolean): string {
  const v = BigInt(value);
  if (
    kind === "number" &&
    (v > BigInt(Number.MAX_SAFE_INTEGER) || v < BigInt(Number.MIN_SAFE_INTEGER))
  ) {
    throw new RangeError(`${value} does not fit in a JavaScript number`);
  }
  const digits = hex && v >= 0n ? `0x${v.toString(16)}` : v.toString();
  return kind === "bigint" ? `${digits}n` : digits;
}
