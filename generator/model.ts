/**
 * The fuse-uapi schema: the one model (IR) of a FUSE header.
 *
 * The parser builds it once; the layout engine fills in sizes and offsets; every
 * other stage (C checks, TypeScript generation, diffs) only reads it. The JSON form
 * of `Schema` is what `schema/revisions/*.json` holds and what
 * `schema/fuse-uapi.schema.json` (JSON Schema) documents. Bump SCHEMA_VERSION on
 * any incompatible change of these types.
 */

import type { CompoundSemantics } from "./revisions/registry.js";

export const SCHEMA_VERSION = 2;

/** ABI targets the layout engine knows. x86_64 is the primary one. */
export const TARGETS = ["x86_64", "i386", "aarch64"] as const;
export type Target = (typeof TARGETS)[number];
export const PRIMARY_TARGET: Target = "x86_64";

/** Where something came from in the header (1-based line and column). */
export interface SourcePos {
  line: number;
  column: number;
}

/** Fixed-width integer kinds, by canonical <stdint.h> name. */
export type IntName =
  | "uint8_t"
  | "int8_t"
  | "uint16_t"
  | "int16_t"
  | "uint32_t"
  | "int32_t"
  | "uint64_t"
  | "int64_t";

/**
 * A C type as the schema records it. `spelled` keeps the header's own spelling
 * (`__u64`, `unsigned int`, ...) so checks and docs can quote it.
 */
export type TypeRef =
  | { kind: "int"; name: IntName; spelled: string }
  /** `char`: an 8-bit byte; arrays of it are byte strings/buffers. */
  | { kind: "char"; spelled: string }
  /** `long`/`unsigned long`: size depends on the target (LP64 vs ILP32). */
  | { kind: "long"; signed: boolean; spelled: string }
  | { kind: "pointer"; to: TypeRef; spelled: string }
  | { kind: "struct"; name: string }
  | { kind: "union"; name: string }
  /** A struct or union defined in place without a tag (C11 anonymous member or unnamed type). */
  | { kind: "record"; union: boolean; fields: Field[] }
  | { kind: "enum"; name: string }
  | {
      kind: "array";
      of: TypeRef;
      /** Element count; null for a flexible array member (`x[]` or the old `x[0]`). */
      length: number | null;
      /** The length as written (`6`, `FUSE_URING_OP_IN_OUT_SZ`, `` for `[]`). */
      lengthExpr: string;
    };

/** Size/alignment/offset facts of one field on one target. */
export interface FieldLayout {
  offset: number;
  size: number;
  align: number;
}

export interface Field {
  /** null for an anonymous struct/union member. */
  name: string | null;
  type: TypeRef;
  /** The declaration's type as written (`uint32_t`, `struct fuse_attr`, `char`). */
  ctype: string;
  /** Offset on the primary target (x86_64), bytes. */
  offset: number;
  /** Size on the primary target; 0 for a flexible array. */
  size: number;
  align: number;
  /** Array element count; 1 for scalars; 0 for flexible arrays. */
  count: number;
  flexible?: true;
  /** Per-target layout, for every target. */
  layout: Record<Target, FieldLayout>;
  doc?: string;
  pos: SourcePos;
}

export interface PaddingHole {
  /** Field after which the hole sits (null: before the first field - never in C). */
  after: string | null;
  offset: number;
  size: number;
}

export interface RecordLayout {
  size: number;
  align: number;
  /** Implicit padding the compiler inserts (between fields and at the tail). */
  padding: PaddingHole[];
}

export interface StructDef {
  name: string;
  union: boolean;
  size: number;
  align: number;
  fields: Field[];
  layout: Record<Target, RecordLayout>;
  /** Ends in a flexible array member (directly or via its last member). */
  flexible?: true;
  doc?: string;
  pos: SourcePos;
}

export interface EnumMember {
  name: string;
  /** Decimal string: values may exceed 2^53. */
  value: string;
  /** The initializer as written; absent for implicit (previous + 1) values. */
  expression?: string;
  doc?: string;
  pos: SourcePos;
}

export interface EnumDef {
  name: string;
  members: EnumMember[];
  doc?: string;
  pos: SourcePos;
}

/** The C type of an integer constant expression's value (C's usual rules, LP64). */
export type ConstType =
  | "int"
  | "unsigned int"
  | "long"
  | "unsigned long"
  | "long long"
  | "unsigned long long";

export interface ConstantDef {
  name: string;
  /**
   * Decimal string of the value on the primary target; null when the expression
   * cannot be evaluated in userspace (e.g. it uses PAGE_SIZE). See `unresolved`.
   */
  value: string | null;
  type: ConstType | null;
  /**
   * Targets where the value differs from the primary one (sizeof-based
   * expressions), or is null because the expression is not valid there
   * (e.g. `1UL << 40` on ILP32).
   */
  targetValues?: Partial<Record<Target, string | null>>;
  /** Targets where the C type differs (e.g. sizeof is `unsigned int` on i386). */
  targetTypes?: Partial<Record<Target, ConstType | null>>;
  /** Replacement text as written, whitespace folded. */
  expression: string;
  /**
   * Why the value is null: the identifier with no definition in Linux userspace
   * (e.g. `PAGE_SIZE`), or what keeps the body from being an integer.
   */
  unresolved?: string;
  /** Another macro this one is a plain alias of. */
  aliasOf?: string;
  doc?: string;
  pos: SourcePos;
}

export interface MacroDef {
  name: string;
  params: string[];
  body: string;
  /**
   * Recognised helper: `align` means body(x) == round x up to a multiple of
   * `alignment` (checked by evaluation, not by name).
   */
  helper?: { kind: "align"; alignment: number };
  doc?: string;
  pos: SourcePos;
}

/** `typedef T name;` or an object-like macro whose body is a type (`#define __u64 uint64_t`). */
export interface TypedefDef {
  name: string;
  type: TypeRef;
  viaMacro: boolean;
  pos: SourcePos;
}

export interface IncludeDef {
  path: string;
  system: boolean;
  pos: SourcePos;
}

export type LintKind = "implicit-padding" | "size-differs" | "offset-differs";

export interface LintEntry {
  kind: LintKind;
  struct: string;
  field?: string;
  message: string;
  /** Per-target figures backing the message. */
  detail: Partial<Record<Target, number>>;
}

export interface SourceInfo {
  /** Base name of the header file. */
  file: string;
  sha256: string;
  /** `git hash-object` of the final text: matches `index` lines of kernel patches. */
  gitBlob: string;
  kernelVersion: number | null;
  minorVersion: number | null;
  /** Revision name (a registry entry's `name`), null for a plain header. */
  revision: string | null;
  /** Patch mails applied in memory on top of `file`, in order. */
  patches: { file: string; sha256: string }[];
}

/** One piece of a message body after its header (see schema/protocol.json). */
export type MessagePart =
  /** A struct of the header; `field` is the property name (struct name without `fuse_`). */
  | { kind: "struct"; struct: string; field: string }
  /** A NUL-terminated string. */
  | { kind: "name"; field: string }
  /** The rest of the message, raw. */
  | { kind: "data"; field: string }
  /** The rest of the message as records; `count` names the field of the first struct part holding their number. */
  | { kind: "array"; struct: string; count: string; field: string };

/** An error reply the kernel still takes for an opcode that gets no reply (e.g. EAGAIN to an INTERRUPT). */
export interface ReplyAnswer {
  name: string;
  /** The negative errno in fuse_out_header.error. */
  error: number;
  means: string;
}

/**
 * The request member that bounds a reply's variable part: the out-arg size the kernel
 * expects for it (for an xattr reply, a size of 0 asks for fuse_getxattr_out instead).
 */
export interface ReplySizedBy {
  struct: string;
  /** The request part's property name (struct name without `fuse_`). */
  field: string;
  member: string;
}

export type ReplyInfo = (
  | { kind: "none"; answers?: ReplyAnswer[] }
  | { kind: "empty" | "dirents" | "direntplus" }
  | { kind: "parts"; parts: MessagePart[] }
  | { kind: "data" | "xattr"; what: string }
) & {
  /** Only on a reply with a variable part, and only where the request holds its bound. */
  sizedBy?: ReplySizedBy;
};

export interface OpcodeInfo {
  name: string;
  /** Decimal string, from the header's enum fuse_opcode. */
  value: string;
  request: MessagePart[];
  reply: ReplyInfo;
  /** The request may end in extension records (fuse_in_header.total_extlen * 8 bytes). */
  extensions: boolean;
  note?: string;
}

export interface NotificationInfo {
  name: string;
  value: string;
  parts: MessagePart[];
}

/** A struct sent shorter than its full size: to old minors, or without an INIT flag. */
export interface CompatSize {
  struct: string;
  size: number;
  /** The constant that gives the size, when the header names one. */
  sizeName?: string;
  minorBelow?: number;
  flagAbsent?: string;
  /** Only for these opcodes (default: wherever the struct travels). */
  opcodes?: string[];
  why: string;
}

/** schema/protocol.json resolved against one header: only its opcodes, sizes as numbers. */
export interface ProtocolInfo {
  opcodes: OpcodeInfo[];
  notifications: NotificationInfo[];
  compatSizes: CompatSize[];
  /** Enumerators reserved by the header that are never sent. */
  reserved: string[];
  /** The most negative error a reply may carry (the kernel refuses -512 and below). */
  replyErrorMin: number;
  /** The longest directory entry name, in bytes, the kernel takes in a READDIR(PLUS) reply. */
  direntNameMax: number;
}

/**
 * What the kernel of one revision does with FUSE_COMPOUND beyond what the header states
 * (framing, sub-header filling, checks, limits, flags, fallback), copied verbatim from the
 * revision's `compound` entry in schema/known-revisions.json by `revisionSchema()`, so that
 * renderers read only the schema. Field meanings: schema/fuse-uapi.schema.json#/$defs/compound
 * (the same text as schema/known-revisions.schema.json#/$defs/compound); prose per revision:
 * docs/compound-revisions.md. One type: the registry's, documented field by field there.
 */
export type CompoundInfo = CompoundSemantics;

export interface Schema {
  schemaVersion: typeof SCHEMA_VERSION;
  source: SourceInfo;
  includes: IncludeDef[];
  typedefs: TypedefDef[];
  structs: StructDef[];
  enums: EnumDef[];
  constants: ConstantDef[];
  macros: MacroDef[];
  lint: LintEntry[];
  /** Protocol facts for this header's opcodes; absent when the table does not fit the header (very old minors). */
  protocol?: ProtocolInfo;
  /** FUSE_COMPOUND semantics of this revision (from schema/known-revisions.json); absent for headers without FUSE_COMPOUND and for plain headers. */
  compound?: CompoundInfo;
}
