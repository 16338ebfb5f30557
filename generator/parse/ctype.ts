/**
 * Maps a C type as spelled in a declaration (`__u64`, `unsigned long`,
 * `uint32_t`) to the schema's TypeRef. Kernel (`__u32`, `__le32`) and <stdint.h>
 * spellings are both fixed-width; plain `long` stays target-dependent.
 */
import type { IntName, TypeRef } from "../model.js";

const FIXED: Record<string, IntName> = {
  uint8_t: "uint8_t",
  __u8: "uint8_t",
  int8_t: "int8_t",
  __s8: "int8_t",
  uint16_t: "uint16_t",
  __u16: "uint16_t",
  __le16: "uint16_t",
  __be16: "uint16_t",
  int16_t: "int16_t",
  __s16: "int16_t",
  uint32_t: "uint32_t",
  __u32: "uint32_t",
  __le32: "uint32_t",
  __be32: "uint32_t",
  int32_t: "int32_t",
  __s32: "int32_t",
  uint64_t: "uint64_t",
  __u64: "uint64_t",
  __le64: "uint64_t",
  __be64: "uint64_t",
  int64_t: "int64_t",
  __s64: "int64_t",
};

/** Keyword combinations, words sorted so `int unsigned` equals `unsigned int`. */
const KEYWORDS: Record<string, TypeRef extends infer T ? (spelled: string) => T : never> = {
  char: (spelled) => ({ kind: "char", spelled }),
  "char signed": (spelled) => ({ kind: "int", name: "int8_t", spelled }),
  "char unsigned": (spelled) => ({ kind: "int", name: "uint8_t", spelled }),
  short: (spelled) => ({ kind: "int", name: "int16_t", spelled }),
  "int short": (spelled) => ({ kind: "int", name: "int16_t", spelled }),
  "short signed": (spelled) => ({ kind: "int", name: "int16_t", spelled }),
  "int short signed": (spelled) => ({ kind: "int", name: "int16_t", spelled }),
  "short unsigned": (spelled) => ({ kind: "int", name: "uint16_t", spelled }),
  "int short unsigned": (spelled) => ({ kind: "int", name: "uint16_t", spelled }),
  int: (spelled) => ({ kind: "int", name: "int32_t", spelled }),
  signed: (spelled) => ({ kind: "int", name: "int32_t", spelled }),
  "int signed": (spelled) => ({ kind: "int", name: "int32_t", spelled }),
  unsigned: (spelled) => ({ kind: "int", name: "uint32_t", spelled }),
  "int unsigned": (spelled) => ({ kind: "int", name: "uint32_t", spelled }),
  long: (spelled) => ({ kind: "long", signed: true, spelled }),
  "int long": (spelled) => ({ kind: "long", signed: true, spelled }),
  "long signed": (spelled) => ({ kind: "long", signed: true, spelled }),
  "long unsigned": (spelled) => ({ kind: "long", signed: false, spelled }),
  "int long unsigned": (spelled) => ({ kind: "long", signed: false, spelled }),
  "long long": (spelled) => ({ kind: "int", name: "int64_t", spelled }),
  "int long long": (spelled) => ({ kind: "int", name: "int64_t", spelled }),
  "long long signed": (spelled) => ({ kind: "int", name: "int64_t", spelled }),
  "long long unsigned": (spelled) => ({ kind: "int", name: "uint64_t", spelled }),
  "int long long unsigned": (spelled) => ({ kind: "int", name: "uint64_t", spelled }),
  size_t: (spelled) => ({ kind: "long", signed: false, spelled }),
  ssize_t: (spelled) => ({ kind: "long", signed: true, spelled }),
  uintptr_t: (spelled) => ({ kind: "long", signed: false, spelled }),
  intptr_t: (spelled) => ({ kind: "long", signed: true, spelled }),
};

/** Resolve builtin spellings; null when the words name no builtin type (typedefs are the caller's). */
export function builtinType(words: readonly string[]): TypeRef | null {
  const spelled = words.join(" ");
  if (words.length === 1 && words[0] in FIXED)
    return { kind: "int", name: FIXED[words[0]], spelled };
  const key = [...words].sort().join(" ");
  const make = KEYWORDS[key];
  return make ? make(spelled) : null;
}

/** Words that may start a builtin type name (for casts in constant expressions). */
export function isBuiltinTypeWord(word: string): boolean {
  return (
    word in FIXED ||
    [
      "char",
      "short",
      "int",
      "long",
      "signed",
      "unsigned",
      "void",
      "size_t",
      "ssize_t",
      "uintptr_t",
      "intptr_t",
      "struct",
      "union",
      "enum",
      "const",
      "volatile",
    ].includes(word)
  );
}

/** The type as the header spells it (`__u64`, `struct fuse_attr`, `char[16]`), for positions and reports. */
export function typeText(t: TypeRef): string {
  switch (t.kind) {
    case "int":
    case "char":
    case "long":
    case "pointer":
      return t.spelled;
    case "struct":
    case "union":
    case "enum":
      return `${t.kind} ${t.name}`;
    case "record":
      return `${t.union ? "union" : "struct"} { ... }`;
    case "array":
      return `${typeText(t.of)}[${t.lengthExpr}]`;
  }
}
