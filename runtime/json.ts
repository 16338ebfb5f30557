/**
 * JSON for decoded values. `JSON.stringify` throws on a bigint, and every 64-bit field of FUSE
 * (unique, nodeid, offsets, sizes) decodes as one; byte strings would print as `{"0":…}`
 * objects. This is the JSON form `fuse-uapi decode` prints: bigints as decimal strings,
 * `Uint8Array`s (data parts, extensions, char arrays) as lowercase hex, other typed arrays as
 * arrays, names as their text (or `{ "hex": … }` when their bytes are not UTF-8, via
 * FuseName's own `toJSON`). Plain ES: no Buffer, no DOM.
 */

function hex(bytes: Uint8Array): string {
  let out = "";
  for (const b of bytes) out += b.toString(16).padStart(2, "0");
  return out;
}

/**
 * A replacer for `JSON.stringify(value, jsonReplacer)`: bigint → decimal string, Uint8Array →
 * hex, other typed arrays → arrays (their bigints as strings). Values with `toJSON` have
 * already been converted by JSON.stringify when the replacer sees them.
 */
export function jsonReplacer(_key: string, value: unknown): unknown {
  if (typeof value === "bigint") return value.toString();
  if (value instanceof Uint8Array) return hex(value);
  if (ArrayBuffer.isView(value) && !(value instanceof DataView)) {
    return Array.from(value as unknown as ArrayLike<number | bigint>, (x) =>
      typeof x === "bigint" ? x.toString() : x,
    );
  }
  return value;
}

/** `JSON.stringify` of a decoded value (a request, a reply, a struct) with {@link jsonReplacer}. */
export function stringifyJson(value: unknown, space?: string | number): string {
  return JSON.stringify(value, jsonReplacer, space);
}
