/**
 * The FUSE_COMPOUND engine, the same for every revision: it builds, decodes, answers,
 * walks and splits compounds by the rules it is given (`CompoundRules`, a revision's
 * `compound` entry of schema/known-revisions.json as the schema carries it) and the
 * revision's message codecs (`CompoundBinding`). Nothing here knows a revision: every
 * difference is data. Each generated/<revision>/compound.ts is a thin typed face over
 * one engine; `generate` copies this module into `<out>/_runtime/`, so all revisions of
 * one output share it and `instanceof CompoundError` works across them.
 *
 * Self-contained on purpose (no imports): the copy must compile wherever it is written.
 */

// ---------------------------------------------------------------------------
// The rules (the vocabulary of schema/known-revisions.schema.json#/$defs/compound)

/** A struct of the compound framing and the role of each member. */
export interface FramingStructRules {
  readonly struct: string;
  readonly members: { readonly [member: string]: string };
}

/** A set of flag constants: the compound flags or the per-op flags. */
export interface FlagSetRules {
  readonly defined: readonly {
    readonly name: string;
    readonly value: number;
    readonly meaning: string;
    readonly setByKernel: boolean;
  }[];
}

/** A compound the kernel (or a related series) builds. */
export interface CompoundSequence {
  readonly ops: readonly string[];
  readonly flags: readonly string[];
  readonly caller: string;
  readonly source: string;
  readonly dependsOn?: readonly (number | null)[];
}

/**
 * What the engine reads of a revision's compound semantics. The generator's
 * `CompoundSemantics` (generator/revisions/registry.ts) is assignable to it: one vocabulary.
 */
export interface CompoundRules {
  readonly opcode: string;
  readonly framing: {
    readonly request: FramingStructRules;
    readonly reply: FramingStructRules;
    readonly subRequestPrefix: FramingStructRules | null;
    readonly subReplyPrefix: FramingStructRules | null;
  };
  readonly opCountFrom: string;
  readonly maxOps: number | null;
  readonly maxOpsSource: string;
  readonly emptyCompound: string;
  readonly outerNodeid: number;
  readonly subHeader: { readonly [field: string]: string };
  readonly subReplyHeader: { readonly [field: string]: string };
  readonly alignment: {
    readonly subRequests: number;
    readonly subReplies: number;
  };
  readonly subRequestChecks: {
    readonly validatedBeforeSend: boolean;
    readonly rejectOpcodeZero: boolean;
    readonly rejectNestedCompound: boolean;
    readonly rejectNodeidZero: boolean;
    readonly rejectInPages: boolean;
    readonly lengthsMustSumToPayload: boolean;
  };
  readonly allowedOpcodes: readonly string[] | null;
  readonly outPages: string;
  readonly resultSize: {
    readonly rule: string;
    readonly includesOutHeaders: boolean;
  } | null;
  readonly replyChecks: {
    readonly minOpLen: number;
    readonly opLenInBounds: boolean;
    readonly countMustMatch: boolean;
    readonly uniqueMustMatch: boolean;
    readonly opsParsed: string;
    readonly opsBound: string;
    readonly minPayload: number;
    readonly maxPayload: string;
    readonly advance: string;
    readonly copyWhen: string;
    readonly copySize: string;
    readonly readsReplyFlags: boolean;
    readonly badReplyErrno: string;
  };
  readonly onOpError: {
    readonly kernelParse: string;
    readonly missingReplies: string;
    readonly serverPolicy: string;
    readonly fallback: string | null;
  };
  readonly flags: FlagSetRules;
  readonly opFlags: FlagSetRules;
  readonly dependencies: {
    readonly model: string;
    readonly noDependency: {
      readonly value: number;
      readonly constant: string | null;
    } | null;
    readonly flag: string | null;
    readonly threads: readonly {
      readonly producers: readonly string[];
      readonly from: { readonly part: string; readonly member: string };
      readonly into: string;
    }[];
    readonly producerFailed: string | null;
    readonly invalidReference: string | null;
  };
  readonly fallback: {
    readonly kernelSplits: boolean;
    readonly trigger: string | null;
    readonly suppressedBy: string | null;
    readonly stopUnless: string | null;
    readonly remembersUnsupported: boolean;
    readonly negotiatedInInit: boolean;
    readonly callerFallbackErrno: string | null;
    readonly callerFallback: string | null;
  };
  readonly decline: readonly {
    readonly errno: string;
    readonly effect: string;
  }[];
  readonly kernelSequences: readonly CompoundSequence[];
  readonly relatedSequences: readonly CompoundSequence[];
  readonly kernelDefects: readonly {
    readonly id: string;
    readonly effect: string;
  }[];
}

// ---------------------------------------------------------------------------
// What a revision's generated code hands the engine

/** The options every message codec takes (a revision's FuseMessageOptions). */
export interface MessageOptions {
  readonly minor: number;
  readonly [option: string]: unknown;
}

/** A struct codec of the generated code (structural: any revision's StructCodec fits). */
export interface StructCodecLike {
  readonly struct: string;
  readonly size: number;
  /** `buf` may be a DataView: the engine hands one view of the whole message to every codec. */
  decode(buf: Uint8Array | DataView, offset?: number, opts?: object): object;
  encode(value: never, buf: Uint8Array | DataView, offset?: number, opts?: object): number;
  zero(): object;
}

/** A decoded request as the generated `decodeRequest` returns it. */
export interface AnyRequest {
  readonly op: string;
  readonly opcode: number;
  readonly header: InHeader;
  readonly [part: string]: unknown;
}

/** The fields of fuse_in_header the engine sets and reads. */
export interface InHeader {
  readonly len: number;
  readonly opcode: number;
  readonly unique: bigint;
  readonly nodeid: bigint;
  readonly uid: number;
  readonly gid: number;
  readonly pid: number;
  readonly [field: string]: unknown;
}

/** The fields of fuse_out_header. */
export interface OutHeader {
  readonly len: number;
  readonly error: number;
  readonly unique: bigint;
}

/** One part of a sub-request, for converters (e.g. the CLI's JSON input). */
export type CompoundPartSpec =
  | {
      readonly kind: "struct" | "array";
      readonly field: string;
      readonly codec: StructCodecLike;
      /**
       * A struct part's straight-line writer at `at` of a view, in the byte order `le` says,
       * without the codec's bounds check (the builder writes into a buffer it sized).
       */
      readonly write?:
        | ((view: DataView, at: number, value: never, le: boolean) => void)
        | undefined;
    }
  | { readonly kind: "name" | "data"; readonly field: string };

/** An op that may appear in a compound: its request parts and what its reply looks like. */
export interface CompoundOpSpec {
  readonly op: string;
  readonly opcode: number;
  /** The builder method. */
  readonly method: string;
  readonly parts: readonly CompoundPartSpec[];
  /** The reply ends in a variable-size part (`data`; `xattr`: data, or the size struct for 0): the op takes `outSize`. */
  readonly variable: "data" | "xattr" | null;
  /** The variable part goes to pages in the kernel (`outPages` applies to it). */
  readonly outPages: boolean;
  /**
   * The request member that bounds the variable part (the protocol table's `sizedBy`): part
   * `field`, member `member`. Null or absent for a fixed reply, or where the request does not
   * carry the bound (READLINK: the kernel's page).
   */
  readonly sizedBy?: { readonly field: string; readonly member: string } | null;
  /** A zero reply with `n` bytes in the variable part: its encoded size is the op's expected out-arg size. */
  readonly zeroReply: (n: number) => object;
  /**
   * The reply's parts when every one is a struct (an empty reply: none), in order; null for a
   * reply with a variable part. Lets the reply walk decode such out args in place, with the
   * struct codecs, instead of through `decodeReply` of a copy.
   */
  readonly replyStructs?:
    | readonly { readonly field: string; readonly codec: StructCodecLike }[]
    | null;
  /**
   * `replyStructs` decoded at `at` of one view of the sub-replies, straight-line, in the byte
   * order `le` says (the caller has checked the bounds); null where `replyStructs` is.
   */
  readonly decodeInPlace?: ((view: DataView, at: number, le: boolean) => object) | null;
}

/** Member name -> offset and C integer type of a header struct. */
export interface HeaderLayout {
  readonly [member: string]: { readonly offset: number; readonly type: string };
}

/** Offsets of the fuse_in_header members the in-place writer sets, when their types are as expected. */
interface InHeaderAt {
  readonly len: number;
  readonly opcode: number;
  readonly unique: number;
  readonly nodeid: number;
  readonly uid: number;
  readonly gid: number;
  readonly pid: number;
}

/** Offsets of fuse_out_header's members, when their types are as expected. */
interface OutHeaderAt {
  readonly len: number;
  readonly error: number;
  readonly unique: number;
}

/** The offsets of `members` when each has its expected C type, else null. */
function offsetsOf<K extends string>(
  layout: HeaderLayout | undefined,
  members: { readonly [M in K]: string },
): { readonly [M in K]: number } | null {
  if (!layout) return null;
  const out = {} as { [M in K]: number };
  for (const m in members) {
    const f = layout[m];
    if (!f || f.type !== members[m]) return null;
    out[m] = f.offset;
  }
  return out;
}

/** An unsigned member of a prefix the engine writes in place: offset and width in bytes. */
interface PrefixMemberAt {
  readonly offset: number;
  readonly width: 1 | 2 | 4;
}

const UNSIGNED_WIDTH: { readonly [type: string]: 1 | 2 | 4 } = {
  uint8_t: 1,
  uint16_t: 2,
  uint32_t: 4,
};

/** Where a prefix role's member lies, when it is an unsigned integer of up to 32 bits; undefined otherwise. */
function prefixMemberAt(
  layout: HeaderLayout | undefined,
  member: string | null,
): PrefixMemberAt | null | undefined {
  if (member === null) return null;
  const f = layout?.[member];
  const width = f ? UNSIGNED_WIDTH[f.type] : undefined;
  return f && width ? { offset: f.offset, width } : undefined;
}

/** Reads an unsigned member as `setUnsigned` wrote it. */
function getUnsigned(view: DataView, at: number, m: PrefixMemberAt, le = true): number {
  if (m.width === 1) return view.getUint8(at + m.offset);
  if (m.width === 2) return view.getUint16(at + m.offset, le);
  return view.getUint32(at + m.offset, le);
}

/** Writes an unsigned member as a codec does (DataView setters wrap like a C assignment). */
function setUnsigned(
  view: DataView,
  at: number,
  m: PrefixMemberAt,
  value: number,
  le = true,
): void {
  if (m.width === 1) view.setUint8(at + m.offset, value);
  else if (m.width === 2) view.setUint16(at + m.offset, value, le);
  else view.setUint32(at + m.offset, value, le);
}

/** The compound struct's members set per request, written in place (null: the struct has no such member). */
interface CompoundInAt {
  readonly flags: PrefixMemberAt | null;
  readonly resultSize: PrefixMemberAt | null;
  readonly count: PrefixMemberAt | null;
}

const HOST_LITTLE_ENDIAN = new Uint8Array(new Uint16Array([1]).buffer)[0] === 1;

/** The byte order the codecs use under these options (runtime.ts isLittleEndian). */
function littleEndian(o: MessageOptions): boolean {
  const le = o["littleEndian"];
  if (le !== undefined) return le === true;
  return o["hostEndian"] === true ? HOST_LITTLE_ENDIAN : true;
}

/** One revision's codecs and tables, as its generated compound.ts gives them. */
export interface CompoundBinding {
  readonly revision: string;
  readonly rules: CompoundRules;
  readonly opcode: number;
  readonly defaultMinor: number;
  readonly inHeader: StructCodecLike;
  readonly outHeader: StructCodecLike;
  /** fuse_compound_in and the request part names it and the sub-request area have in the protocol table. */
  readonly compoundIn: {
    readonly codec: StructCodecLike;
    readonly field: string;
    readonly dataField: string;
  };
  readonly compoundOut: {
    readonly codec: StructCodecLike;
    readonly field: string;
    readonly dataField: string;
  };
  readonly subRequestPrefix: StructCodecLike | null;
  readonly subReplyPrefix: StructCodecLike | null;
  readonly ops: ReadonlyMap<number, CompoundOpSpec>;
  /** Opcodes whose request carries a raw payload (page-backed input in the kernel). */
  readonly inPages: ReadonlySet<number>;
  /** Opcodes that get no reply. */
  readonly noReply: ReadonlySet<number>;
  readonly opcodeNames: ReadonlyMap<number, string>;
  /**
   * Where fuse_in_header's and fuse_out_header's members lie (offset and C type, from the
   * header's layout): the engine writes a sub-request's header and reads a sub-reply's header
   * in place. Absent, or in other types than the engine expects: it uses the header codecs.
   */
  readonly headerLayout?: {
    readonly in: HeaderLayout;
    readonly out: HeaderLayout;
    /** The compound's request struct (`framing.request`): its integer members. */
    readonly compound?: HeaderLayout;
    /** The sub-request prefix struct's integer members (where the revision has one). */
    readonly prefix?: HeaderLayout;
  };
  readonly messages: {
    encodeRequest(request: never, opts: never): Uint8Array;
    decodeRequest(bytes: Uint8Array, opts: never): AnyRequest;
    encodeReply(unique: bigint, reply: never, opts: never): Uint8Array;
    decodeReply(
      opcode: never,
      bytes: Uint8Array,
      opts: never,
    ): { readonly header: OutHeader; readonly reply: object };
  };
}

// ---------------------------------------------------------------------------
// Errors

/**
 * Why a compound was refused:
 * - builder (the kernel's limits and pre-send checks, only where the revision has them):
 *   `empty`, `too-many-ops`, `not-allowed` (not in `allowedOpcodes`), `opcode-zero`,
 *   `nested-compound`, `nodeid-zero`, `in-pages` (request with a page payload),
 *   `reply-budget` (the expected sub-replies exceed `maxPages` pages), `flag` (not a flag of
 *   the revision), `dependency` (a dependency the revision cannot express, or one that is not
 *   on an earlier op), `value` (a bad argument);
 * - reply walk (the kernel's reply checks): `min-payload`, `max-payload`, `op-len` (a
 *   sub-reply shorter than `minOpLen` or cut short), `op-bounds` (len reaches past the reply),
 *   `op-data` (the expected out args reach past the reply), `count` (count mismatch where the
 *   revision requires a match), `ops-bound` (the server's count exceeds the ops and the kernel
 *   would index past its per-op arrays), `capacity` (more sub-replies than the capacity),
 *   `extra-reply` (a sub-reply beyond the ops, within the capacity), `unique`;
 * - server side: `not-compound`, `trailing` (bytes after the sub-requests), `reserved` (a
 *   reserved member, or padding between sub-requests, that is not 0), `header` (a
 *   fuse_in_header member the kernel sets by rule differs from it: the compound's nodeid,
 *   total_extlen or padding, a sub-request's members by the `subHeader` rules), and the
 *   builder kinds for what the kernel never sends; `flag` (flag bits the revision does not
 *   define), `result-size` (result_size is not the kernel's sum of the expected out args);
 * - fallback: `no-fallback` (the revision's kernel never splits a compound),
 *   `fallback-suppressed` (a flag forbids splitting).
 */
export type CompoundErrorKind =
  | "empty"
  | "too-many-ops"
  | "not-allowed"
  | "opcode-zero"
  | "nested-compound"
  | "nodeid-zero"
  | "in-pages"
  | "reply-budget"
  | "flag"
  | "dependency"
  | "value"
  | "min-payload"
  | "max-payload"
  | "op-len"
  | "op-bounds"
  | "op-data"
  | "count"
  | "ops-bound"
  | "capacity"
  | "extra-reply"
  | "unique"
  | "not-compound"
  | "trailing"
  | "reserved"
  | "header"
  | "result-size"
  | "no-fallback"
  | "fallback-suppressed"
  | "length";

/** A compound a revision's kernel would refuse (or could not handle); `kind` says why. One class for every revision. */
export class CompoundError extends Error {
  readonly kind: CompoundErrorKind;
  /** The revision whose rules refused it. */
  readonly revision: string;
  /** The op (sub-request or sub-reply index) concerned, or null for the compound as a whole. */
  readonly index: number | null;
  /**
   * Byte offset in the sub-request/sub-reply area (after the compound's two headers), or null;
   * for kind `length` (`encodeInto`), the offset in the caller's buffer.
   */
  readonly offset: number | null;

  constructor(
    revision: string,
    kind: CompoundErrorKind,
    message: string,
    index: number | null = null,
    offset: number | null = null,
  ) {
    super(`${revision} compound: ${message}`);
    this.name = "CompoundError";
    this.revision = revision;
    this.kind = kind;
    this.index = index;
    this.offset = offset;
  }
}

// ---------------------------------------------------------------------------
// Public shapes (the generated faces narrow them per revision)

/** The compound's own fuse_in_header values; `nodeid`, `opcode`, `len`, `total_extlen` are set by the rules. */
export interface CompoundHeader {
  readonly unique: bigint;
  readonly uid: number;
  readonly gid: number;
  readonly pid: number;
}

/** Options of a builder: what sizes depend on, and the limits of the connection. */
export interface CompoundBuilderOptions {
  readonly minor?: number | undefined;
  /** The connection's max_pages: the reply budget (expected out args plus one fuse_out_header per op) must fit. Default 32. */
  readonly maxPages?: number | undefined;
  /** Page size, bytes. Default 4096. */
  readonly pageSize?: number | undefined;
  /** The caller's capacity (most ops this compound may hold), on top of the revision's `maxOps`. Default: none. */
  readonly capacity?: number | undefined;
  /**
   * The unique of sub-request `index` where the revision gives sub-requests fresh uniques
   * from the connection's counter. Default: the compound's unique + 2 * (index + 1).
   */
  readonly nextUnique?: ((index: number, compound: bigint) => bigint) | undefined;
  /**
   * Let `dependsOn` name the op itself or a later one (what no kernel sends; for testing how a
   * server answers it). Default false: such a dependency is a `dependency` error.
   */
  readonly allowInvalidDependencies?: boolean | undefined;
  readonly [message: string]: unknown;
}

/**
 * One op of a compound as the reply side needs it: its opcode, the expected size of its out
 * arguments (`outSize`) and, once encoded, the unique its sub-request carried.
 */
export interface CompoundOpRef<O extends number = number> {
  readonly opcode: O;
  readonly outSize: number;
  readonly nodeid?: bigint | undefined;
  readonly unique?: bigint | undefined;
  /** Added with `addRaw`: its out args are returned as raw bytes. */
  readonly raw?: boolean | undefined;
  /**
   * The `outSize` a variable-size reply was asked for (the builder's argument); for an xattr
   * reply, 0 means the size struct. Without it, the form is told by the sub-reply's length.
   */
  readonly requested?: number | undefined;
  /** The earlier op whose result this op takes, or absent. */
  readonly dependsOn?: number | undefined;
}

/** What the kernel makes of one op's sub-reply. */
export interface CompoundOpResultBase {
  readonly index: number;
  readonly opcode: number;
  /** The sub-reply's error (0 for success, and for a missing sub-reply: `onOpError.missingReplies`). */
  readonly error: number;
  /** The out args as the kernel copies them (`replyChecks.copyWhen`, `copySize`); null when it copies none. */
  readonly reply: unknown;
  /** The sub-reply's len, or null when the walk did not reach one for this op. */
  readonly len: number | null;
  readonly unique: bigint | null;
  /** No sub-reply was walked for this op (the kernel treats it as a success with untouched outputs). */
  readonly missing: boolean;
}

/** A parsed compound reply: the compound failed as a whole, or per-op results. */
export type CompoundReplyBase =
  | {
      readonly header: OutHeader;
      readonly error: number;
      readonly compound: null;
      readonly results: null;
      readonly trailing: 0;
    }
  | {
      readonly header: OutHeader;
      readonly error: 0;
      readonly compound: object;
      readonly results: readonly CompoundOpResultBase[];
      /** Bytes after the last sub-reply walked (ignored by the kernel). */
      readonly trailing: number;
    };

/** A decoded compound request. */
export interface DecodedCompoundBase {
  readonly header: InHeader;
  /** The defined compound flags that are set. */
  readonly flags: string[];
  /** Compound flag bits the revision does not define. */
  readonly unknownFlags: number;
  /** The count member's value where the revision has one, else null. */
  readonly count: number | null;
  /** The sub-requests, each decoded by `decodeRequest`. */
  readonly requests: AnyRequest[];
  /** Each sub-request's prefix struct (decoded), or null where the revision has none. */
  readonly prefixes: (object | null)[];
  /** Per sub-request, the op it depends on (as sent: may name itself or a later op), or null. */
  readonly dependsOn: (number | null)[];
  /** Where each sub-request (its prefix, if any) starts in the sub-request area. */
  readonly offsets: number[];
}

/** One sub-reply for `encodeCompoundReply`: the op's opcode, its reply (or `{ error }`), and the unique to echo. */
export interface CompoundReplyEntryBase {
  readonly opcode: number;
  readonly reply: object;
  readonly unique?: bigint | undefined;
  /**
   * The out args the kernel expects for this op (`CompoundOpRef.outSize`: a variable reply's
   * size asked for included). Where the revision's kernel walks the sub-replies by expected
   * out args rather than by `len` (`replyChecks.advance`), a success shorter than that is
   * followed by zeros up to it, so the next sub-reply lies where that kernel reads it.
   */
  readonly outSize?: number | undefined;
}

/** One separate request of the fallback. */
export interface SeparateRequest {
  readonly index: number;
  readonly request: AnyRequest;
  readonly bytes: Uint8Array;
}

/** Options of `separateRequests` and `runSeparately`. */
export interface SeparateOptions {
  readonly minor?: number | undefined;
  /** The unique of separate request `index`. Default: the compound's unique + 2 * (index + 1). */
  readonly nextUnique?: ((index: number, compound: bigint) => bigint) | undefined;
  readonly [message: string]: unknown;
}

/** The outcome of one op in `runSeparately` / `runCompound`. */
export type SeparateResult =
  | {
      readonly index: number;
      readonly skipped: false;
      /** The request as sent (a dependent's nodeid threaded from its producer). */
      readonly request: AnyRequest;
      readonly error: number;
      /** The decoded reply arguments on success (raw bytes for an opcode without a typed reply), else null. */
      readonly reply: unknown;
      /** Not sent: the error comes from the dependency rules (an invalid reference, or a failed producer). */
      readonly byRule: boolean;
    }
  | {
      readonly index: number;
      readonly skipped: true;
      readonly request: AnyRequest;
    };

/** What a declining server makes the kernel do (`decline` of the rules). */
export interface DeclineChoice {
  /** Positive errno name, e.g. "ENOSYS", or "any". */
  readonly errno: string;
  readonly effect: string;
}

// ---------------------------------------------------------------------------
// Helpers

const U64_MAX = 0xffffffffffffffffn;

/** The op indexes as bigints (the `op-index` unique), made once rather than per op of every compound. */
const INDEX_BIGINTS: readonly bigint[] = Array.from({ length: 256 }, (_, i) => BigInt(i));

function indexBigInt(index: number): bigint {
  return index < INDEX_BIGINTS.length ? INDEX_BIGINTS[index]! : BigInt(index);
}

function alignUp(n: number, to: number): number {
  return Math.ceil(n / to) * to;
}

function concat(chunks: readonly Uint8Array[]): Uint8Array {
  let len = 0;
  for (const c of chunks) len += c.length;
  const out = new Uint8Array(len);
  let at = 0;
  for (const c of chunks) {
    out.set(c, at);
    at += c.length;
  }
  return out;
}

function setMember(obj: object, member: string, value: number): void {
  const cur = (obj as Record<string, unknown>)[member];
  (obj as Record<string, unknown>)[member] = typeof cur === "bigint" ? BigInt(value) : value;
}

function getMember(obj: object, member: string): number {
  const v = (obj as Record<string, unknown>)[member];
  return typeof v === "bigint" ? Number(v) : typeof v === "number" ? v : 0;
}

/** True when every number, bigint and array element of a member is 0. */
function isZero(v: unknown): boolean {
  if (typeof v === "number") return v === 0;
  if (typeof v === "bigint") return v === 0n;
  if (Array.isArray(v) || ArrayBuffer.isView(v))
    return Array.from(v as ArrayLike<number | bigint>).every(isZero);
  if (typeof v === "object" && v !== null) return Object.values(v).every(isZero);
  return true;
}

/**
 * The UTF-8 length of a name a sub-request carries, or -1 when the in-place writer must leave
 * it to `encodeRequest` (a NUL, or a lone surrogate, which has no UTF-8 form): that path then
 * throws the message codecs' own error.
 */
function nameLength(s: string): number {
  const n = s.length;
  let bytes = n;
  for (let i = 0; i < n; i++) {
    const c = s.charCodeAt(i);
    if (c < 0x80) {
      if (c === 0) return -1;
    } else if (c < 0x800) bytes += 1;
    else if (c >= 0xd800 && c <= 0xdfff) {
      if (c > 0xdbff || i + 1 >= n) return -1;
      const d = s.charCodeAt(i + 1);
      if (d < 0xdc00 || d > 0xdfff) return -1;
      bytes += 2; // a surrogate pair: 2 UTF-16 units (counted), 4 bytes
      i++;
    } else bytes += 2;
  }
  return bytes;
}

/** Writes a well-formed string (checked by `nameLength`) as UTF-8 at `at`; returns the end. */
function writeUtf8(s: string, out: Uint8Array, at: number): number {
  const n = s.length;
  for (let i = 0; i < n; i++) {
    let c = s.charCodeAt(i);
    if (c < 0x80) out[at++] = c;
    else if (c < 0x800) {
      out[at++] = 0xc0 | (c >> 6);
      out[at++] = 0x80 | (c & 63);
    } else if (c >= 0xd800 && c <= 0xdbff) {
      c = 0x10000 + ((c - 0xd800) << 10) + (s.charCodeAt(++i) - 0xdc00);
      out[at++] = 0xf0 | (c >> 18);
      out[at++] = 0x80 | ((c >> 12) & 63);
      out[at++] = 0x80 | ((c >> 6) & 63);
      out[at++] = 0x80 | (c & 63);
    } else {
      out[at++] = 0xe0 | (c >> 12);
      out[at++] = 0x80 | ((c >> 6) & 63);
      out[at++] = 0x80 | (c & 63);
    }
  }
  return at;
}

/** The bytes of a name given as bytes or as a FuseName (of any revision), else null. */
function nameBytes(v: unknown): Uint8Array | null {
  if (v instanceof Uint8Array) return v;
  if (typeof v === "object" && v !== null) {
    const b = (v as { bytes?: unknown }).bytes;
    if (b instanceof Uint8Array) return b;
  }
  return null;
}

/** Argument `i` of an op added positionally. */

/** The most parts a sub-request may have to be added positionally (`addArgs`). */
export const MAX_POSITIONAL_PARTS = 3;

/** The members of a framing struct with a role. */
function membersWith(f: FramingStructRules | null, role: string): string[] {
  return f ? Object.keys(f.members).filter((m) => f.members[m] === role) : [];
}

/** The member of a framing struct with a role (count, flags, result-size, dep-index, op-flags), or null. */
export function memberWithRole(f: FramingStructRules | null, role: string): string | null {
  return membersWith(f, role)[0] ?? null;
}

// ---------------------------------------------------------------------------
// The engine

/**
 * What an op has in common with others of its kind: one object per opcode (kept in its
 * {@link OpLayout}) for ops whose reply has a fixed size, one per op otherwise (a variable-size
 * reply, raw bytes). A builder keeps only the latter: an op's own bytes say the rest.
 */
interface OpKind {
  readonly opcode: number;
  /** The op's table entry; null for an op added as raw bytes. */
  readonly spec: CompoundOpSpec | null;
  /** The op's layout where it may be written in place, else null. */
  readonly layout: OpLayout | null;
  readonly outSize: number;
  readonly raw: boolean;
  /** The outSize argument of an op with a variable-size reply, else null. */
  readonly requested: number | null;
}

/**
 * The op a builder is adding: what `writeSub` and `encodeSub` write. One object per builder,
 * filled per op and cleared after it (no object per op).
 */
interface SubRequestArgs {
  kind: OpKind;
  index: number;
  nodeid: bigint;
  /** The typed methods' arguments, by `spec.parts`. */
  a0: unknown;
  a1: unknown;
  a2: unknown;
  /** The request object `add` was given (without header), raw bytes after the header (`addRaw`), or null: `a0`..`a2`. */
  body: { readonly op: string; readonly [part: string]: unknown } | Uint8Array | null;
  dependsOn: number | null;
}

/** What bounds a compound's encode: the reply's room (max_pages of pageSize) and the fresh uniques. */
interface EncodeLimits {
  readonly maxPages: number;
  readonly pageSize: number;
  readonly nextUnique: (index: number, compound: bigint) => bigint;
}

/** A compound's bytes and its sub-requests' uniques; null: the op indexes (rule `op-index`). */
interface EncodedCompound {
  readonly bytes: Uint8Array;
  readonly uniques: readonly bigint[] | null;
}

/** Kinds of request parts, as the in-place writer tells them apart. */
const PART_STRUCT = 0;
const PART_NAME = 1;
const PART_DATA = 2;
const PART_OTHER = 3;

/** A request part as the in-place writer takes it: one shape for every kind (no polymorphic reads per op). */
interface PartWriter {
  readonly kind: number;
  readonly field: string;
  readonly codec: StructCodecLike | null;
  readonly write: ((view: DataView, at: number, value: never, le: boolean) => void) | null;
}

function partWriter(p: CompoundPartSpec): PartWriter {
  switch (p.kind) {
    case "struct":
      return { kind: PART_STRUCT, field: p.field, codec: p.codec, write: p.write ?? null };
    case "name":
      return { kind: PART_NAME, field: p.field, codec: null, write: null };
    case "data":
      return { kind: PART_DATA, field: p.field, codec: null, write: null };
    default:
      return { kind: PART_OTHER, field: p.field, codec: null, write: null };
  }
}

/** What the builder remembers of an opcode under one builder's options. */
interface OpLayout {
  /** The op's request parts, for the in-place writer. */
  readonly parts: readonly PartWriter[];
  /** The op's table entry. */
  readonly spec: CompoundOpSpec;
  /** The op passes the checks of its opcode alone (`CompoundEngine.admits`). */
  readonly admitted: boolean;
  /** fuse_in_header, full-size structs and one NUL per name; -1: encodeRequest writes the op. */
  readonly fixed: number;
  /** The expected out-arg size of an op with a fixed-size reply; -1 for a variable-size one. */
  readonly out: number;
  /** The kind the typed methods' ops of this opcode share (fixed-size reply), else null. */
  readonly kind: OpKind | null;
}

/** What the engine remembers of one of its shared options objects. */
interface SharedState {
  readonly o: MessageOptions;
  layout: OpcodeTable<OpLayout> | null;
  plans: ReplyPlans | null;
  frameFull: boolean | null;
}

/** How the reply walk decodes one opcode's out args under one set of options. */
interface ReplyPlan {
  /** The op's table entry; undefined: none (its out args stay raw bytes). */
  readonly spec: CompoundOpSpec | undefined;
  /** The size of its out args when they are its struct parts at full size (decoded where they lie), else -1. */
  readonly full: number;
  /** The op's straight-line decoder of those parts (`decodeInPlace`); null: the struct codecs. */
  readonly read: ((view: DataView, at: number, le: boolean) => object) | null;
}

/** The plan of an op added with `addRaw`: no table entry. */
const NO_PLAN: ReplyPlan = { spec: undefined, full: -1, read: null };

/** Opcodes below this are kept in an array (every FUSE opcode but CUSE_INIT), others in a map. */
const SMALL_OPCODES = 128;

/** Values per opcode, for lookups once per op: an array for the small opcodes, a map for the rest. */
class OpcodeTable<T> {
  readonly #small = new Array<T | undefined>(SMALL_OPCODES).fill(undefined);
  readonly #large = new Map<number, T>();

  get(opcode: number): T | undefined {
    return (opcode & (SMALL_OPCODES - 1)) === opcode
      ? this.#small[opcode]
      : this.#large.get(opcode);
  }

  set(opcode: number, value: T): void {
    if ((opcode & (SMALL_OPCODES - 1)) === opcode) this.#small[opcode] = value;
    else if (this.#large.size < 4096) this.#large.set(opcode, value);
  }
}

/** Per opcode, its reply plan (filled as replies are walked). */
interface ReplyPlans {
  /** Whether out args may be decoded in place under these options. */
  readonly inPlace: boolean;
  readonly table: OpcodeTable<ReplyPlan>;
}

/** Message options whose sizes a cache may share: only the minor and endianness set (sizes do not depend on endianness). */
function sizeKey(o: MessageOptions): string | null {
  for (const k in o) if (k !== "minor" && k !== "littleEndian" && k !== "hostEndian") return null;
  return Number.isInteger(o.minor) && o.minor >= 0 ? String(o.minor) : null;
}

/** A revision's compound rules bound to its codecs. */
export class CompoundEngine {
  readonly b: CompoundBinding;
  readonly rules: CompoundRules;
  readonly inHeaderSize: number;
  readonly outHeaderSize: number;
  readonly requestPrefixSize: number;
  readonly replyPrefixSize: number;
  readonly #byName: ReadonlyMap<string, CompoundOpSpec>;
  readonly #countIn: string | null;
  readonly #countOut: string | null;
  readonly #flagsIn: string | null;
  readonly #resultSizeIn: string | null;
  readonly #depIndex: string | null;
  readonly #opFlags: string | null;
  readonly #outSizes = new Map<string, number>();
  /** Per minor, per opcode: the out args of a zero reply with no variable bytes (`expectedReplySize`). */
  readonly #fixedOutSizes = new Map<number, OpcodeTable<number>>();
  /** `messageOptionsOf`'s shared options, per minor. */
  readonly #plainOptions = new Map<number, MessageOptions>();
  /** The caches of the shared options used last (`#sharedState`). */
  #lastShared: SharedState | null = null;
  /** The compound's own nodeid (`outerNodeid`). */
  readonly #outerNodeid: bigint;
  /** Flag name -> bit. */
  readonly #flagBits: ReadonlyMap<string, number>;
  /** The compound struct the builder fills per request (its members by role; never handed out). */
  readonly #compoundIn: object;
  /** Whether the builder sets a member of the compound struct (count, flags, result size) per request. */
  readonly #compoundInSetPerRequest: boolean;
  /** Those members written in place (into a fresh buffer); null: through the compound struct's codec. */
  readonly #compoundInAt: CompoundInAt | null;
  /** Per size key (`sizeKey`): per opcode, the in-place size of its fixed parts, -1 where encodeRequest must write it. */
  readonly #layouts = new Map<string, OpcodeTable<OpLayout>>();
  /** Per size key: per opcode, how the reply walk decodes its out args. */
  readonly #replyInPlace = new Map<string, ReplyPlans>();
  /** The plans under options no cache may share: table entries only, nothing decoded in place. */
  readonly #specOnlyPlans: ReplyPlans = { inPlace: false, table: new OpcodeTable() };
  /** Per size key: whether the compound reply's own struct travels at full size. */
  readonly #frames = new Map<string, boolean>();
  /** The sub-header rules are all ones the in-place writer knows (else every op goes through encodeRequest). */
  readonly #inPlaceHeader: boolean;
  readonly #allowed: ReadonlySet<string> | null;
  /** `inPages` as a table (a lookup per op added: an array index rather than a set's hash). */
  readonly #inPages = new OpcodeTable<boolean>();
  /** Direct header writes and reads (null: through the header codecs). */
  readonly #inAt: InHeaderAt | null;
  readonly #outAt: OutHeaderAt | null;
  /** The rules of the sub-header's unique and nodeid (the direct writer's per-op members). */
  readonly #uniqueRule: string;
  readonly #nodeidRule: string;
  /** The prefix's dep-index and op-flags members written in place (null: no such member); null: through the prefix codec. */
  readonly #prefixAt: {
    readonly depIndex: PrefixMemberAt | null;
    readonly opFlags: PrefixMemberAt | null;
  } | null;
  /** The per-op flag bit that marks a dependency (model flag-and-index), else 0. */
  readonly #depFlagBit: number;
  /** uid, gid and pid are copied from the compound's header (each separately, by its rule). */
  readonly #copyParent: readonly ("uid" | "gid" | "pid")[];
  /** Whether a sub-request's header takes members from the compound's header (written at encode, `#patchSub`). */
  readonly #patchedAtEncode: boolean;
  /** The dep-index value of an op without a dependency (model "index"), else null. */
  readonly #noDependency: number | null;
  /** The prefix object `#writePrefix` fills per op where the prefix goes through its codec. */
  #prefixScratch: object | null = null;
  /** Bytes of the compound's fuse_in_header and compound struct, before the first sub-request. */
  readonly #head: number;
  /** 2 to the dep-index member's bits where the prefix is written in place, else 0. */
  readonly #depIndexLimit: number;

  constructor(binding: CompoundBinding) {
    this.b = binding;
    const r = (this.rules = binding.rules);
    this.inHeaderSize = binding.inHeader.size;
    this.outHeaderSize = binding.outHeader.size;
    this.requestPrefixSize = binding.subRequestPrefix?.size ?? 0;
    this.replyPrefixSize = binding.subReplyPrefix?.size ?? 0;
    this.#byName = new Map([...binding.ops.values()].map((s) => [s.op, s]));
    this.#countIn = membersWith(r.framing.request, "count")[0] ?? null;
    this.#countOut = membersWith(r.framing.reply, "count")[0] ?? null;
    this.#flagsIn = membersWith(r.framing.request, "flags")[0] ?? null;
    this.#resultSizeIn = membersWith(r.framing.request, "result-size")[0] ?? null;
    this.#depIndex = membersWith(r.framing.subRequestPrefix, "dep-index")[0] ?? null;
    this.#opFlags = membersWith(r.framing.subRequestPrefix, "op-flags")[0] ?? null;
    if ((r.framing.subRequestPrefix === null) !== (binding.subRequestPrefix === null)) {
      throw new Error(`${binding.revision}: the sub-request prefix codec does not match the rules`);
    }
    this.#allowed = r.allowedOpcodes !== null ? new Set(r.allowedOpcodes) : null;
    this.#outerNodeid = BigInt(r.outerNodeid);
    this.#flagBits = new Map(r.flags.defined.map((d) => [d.name, d.value]));
    this.#compoundIn = binding.compoundIn.codec.zero();
    this.#compoundInSetPerRequest =
      this.#flagsIn !== null || this.#resultSizeIn !== null || this.#countIn !== null;
    const compoundLayout = binding.headerLayout?.compound;
    const flagsInAt = prefixMemberAt(compoundLayout, this.#flagsIn);
    const resultSizeAt = prefixMemberAt(compoundLayout, this.#resultSizeIn);
    const countAt = prefixMemberAt(compoundLayout, this.#countIn);
    this.#compoundInAt =
      compoundLayout &&
      flagsInAt !== undefined &&
      resultSizeAt !== undefined &&
      countAt !== undefined
        ? { flags: flagsInAt, resultSize: resultSizeAt, count: countAt }
        : null;
    for (let op = 0; op < SMALL_OPCODES; op++) this.#inPages.set(op, binding.inPages.has(op));
    for (const op of binding.inPages) this.#inPages.set(op, true);
    // encodeRequest sets len and opcode itself, and total_extlen of ops with extensions: the
    // in-place writer takes the rules it can reproduce exactly and leaves anything else to it.
    const perOp: { field: string; rule: string }[] = [];
    let known = true;
    for (const [field, rule] of Object.entries(r.subHeader)) {
      if (field === "len" || field === "opcode") continue;
      if (field === "total_extlen" && rule !== "zero") known = false;
      else if (rule === "fresh-unique" || rule === "op-index") perOp.push({ field, rule });
      else if (rule === "per-op") {
        if (field === "nodeid") perOp.push({ field, rule });
        else known = false;
      } else if (rule === "copy-parent") {
        if (field !== "uid" && field !== "gid" && field !== "pid") known = false;
      } else if (rule !== "zero" && rule !== "header-plus-args") known = false;
    }
    this.#inPlaceHeader = known;
    this.#uniqueRule = r.subHeader["unique"] ?? "zero";
    this.#nodeidRule = r.subHeader["nodeid"] ?? "zero";
    this.#copyParent = (["uid", "gid", "pid"] as const).filter(
      (f) => r.subHeader[f] === "copy-parent",
    );
    // The direct writer sets len, opcode, unique, nodeid and the copied credentials; every other
    // member stays 0 in the fresh buffer, which is what their rules ("zero") give.
    const inAt = offsetsOf(binding.headerLayout?.in, {
      len: "uint32_t",
      opcode: "uint32_t",
      unique: "uint64_t",
      nodeid: "uint64_t",
      uid: "uint32_t",
      gid: "uint32_t",
      pid: "uint32_t",
    });
    // The direct writer knows these rules of unique and nodeid; others go through the codec.
    const direct =
      perOp.every((f) => f.field === "unique" || f.field === "nodeid") &&
      ["op-index", "fresh-unique", "zero"].includes(this.#uniqueRule) &&
      ["per-op", "op-index", "fresh-unique", "zero"].includes(this.#nodeidRule);
    this.#inAt = direct ? inAt : null;
    this.#patchedAtEncode =
      this.#uniqueRule === "fresh-unique" ||
      this.#nodeidRule === "fresh-unique" ||
      this.#copyParent.length > 0;
    this.#noDependency =
      r.dependencies.model === "index" ? r.dependencies.noDependency!.value : null;
    this.#head = this.inHeaderSize + binding.compoundIn.codec.size;
    // The prefix: dep-index and op-flags in place when they are plain unsigned members; the
    // reserved members stay 0 in the fresh buffer, as the zero prefix has them.
    const depAt = prefixMemberAt(binding.headerLayout?.prefix, this.#depIndex);
    const flagsAt = prefixMemberAt(binding.headerLayout?.prefix, this.#opFlags);
    this.#prefixAt =
      binding.subRequestPrefix && depAt !== undefined && flagsAt !== undefined
        ? { depIndex: depAt, opFlags: flagsAt }
        : null;
    const depIndexAt = this.#prefixAt?.depIndex;
    this.#depIndexLimit = depIndexAt ? 2 ** (8 * depIndexAt.width) : 0;
    const dep = r.dependencies;
    this.#depFlagBit =
      dep.model === "flag-and-index"
        ? (r.opFlags.defined.find((f) => f.name === dep.flag)?.value ?? 0)
        : 0;
    this.#outAt = offsetsOf(binding.headerLayout?.out, {
      len: "uint32_t",
      error: "int32_t",
      unique: "uint64_t",
    });
  }

  /** Whether raw sub-requests are written in place (the header rules allow it). */
  get inPlaceRaw(): boolean {
    return this.#inPlaceHeader;
  }

  /** Per opcode, the in-place size of a sub-request's fixed parts under `o` (filled as ops are added). */
  requestLayout(o: MessageOptions): OpcodeTable<OpLayout> {
    const shared = this.#sharedState(o);
    if (shared?.layout) return shared.layout;
    const key = sizeKey(o);
    if (key === null) return new OpcodeTable();
    let m = this.#layouts.get(key);
    if (!m) {
      m = new OpcodeTable();
      if (this.#layouts.size < 64) this.#layouts.set(key, m);
    }
    if (shared) shared.layout = m;
    return m;
  }

  /**
   * The caches of `o` when it is one of `messageOptionsOf`'s shared (frozen) objects, found by
   * identity: no key made and looked up per builder or parse. Null for any other options.
   */
  #sharedState(o: MessageOptions): SharedState | null {
    const last = this.#lastShared;
    if (last !== null && last.o === o) return last;
    if (this.#plainOptions.get(o.minor) !== o) return null;
    const state: SharedState = { o, layout: null, plans: null, frameFull: null };
    this.#lastShared = state;
    return state;
  }

  /**
   * fuse_in_header plus every struct at its full size plus one NUL per name: the bytes of an op
   * before its names and data, when that is what encodeRequest writes under `o` (proven once by
   * encoding a zero request); -1 when it writes something else (a compat size, extensions, an
   * array part): such ops go through encodeRequest.
   */
  opLayout(layout: OpcodeTable<OpLayout>, spec: CompoundOpSpec, o: MessageOptions): OpLayout {
    const known = layout.get(spec.opcode);
    if (known !== undefined) return known;
    // Throws (uncached) where expectedOutSize always has for such an op.
    const out = spec.variable === null ? this.expectedOutSize(spec, 0, o) : -1;
    let size = -1;
    if (this.#inPlaceHeader && spec.parts.length <= MAX_POSITIONAL_PARTS) {
      let fixed = this.inHeaderSize;
      const body: Record<string, unknown> = {
        op: spec.op,
        opcode: spec.opcode,
        header: this.b.inHeader.zero(),
      };
      for (const p of spec.parts) {
        if (p.kind === "struct") {
          fixed += p.codec.size;
          body[p.field] = p.codec.zero();
        } else if (p.kind === "name") {
          fixed += 1;
          body[p.field] = "";
        } else if (p.kind === "data") body[p.field] = new Uint8Array(0);
        else fixed = -1;
        if (fixed < 0) break;
      }
      if (fixed >= 0) {
        try {
          if (this.b.messages.encodeRequest(body as never, o as never).length === fixed)
            size = fixed;
        } catch {
          size = -1;
        }
      }
    }
    const entry: { -readonly [K in keyof OpLayout]: OpLayout[K] } = {
      parts: spec.parts.map(partWriter),
      spec,
      admitted: this.admits(spec.opcode, spec.op),
      fixed: size,
      out,
      kind: null,
    };
    if (out >= 0) {
      const kind: OpKind = {
        opcode: spec.opcode,
        spec,
        layout: entry,
        outSize: out,
        raw: false,
        requested: null,
      };
      entry.kind = kind;
    }
    layout.set(spec.opcode, entry);
    return entry;
  }

  error(
    kind: CompoundErrorKind,
    message: string,
    index: number | null = null,
    offset: number | null = null,
  ): CompoundError {
    return new CompoundError(this.b.revision, kind, message, index, offset);
  }

  messageOptions(opts: {
    readonly minor?: number | undefined;
    readonly [k: string]: unknown;
  }): MessageOptions {
    return { ...opts, minor: opts.minor ?? this.b.defaultMinor };
  }

  /**
   * The message options in a builder's or parser's options: every member but those `own` names
   * (the builder's or parser's own), as `messageOptions` completes them. Options with nothing
   * else than `own` and a minor share one frozen object per minor: no copy per builder or parse.
   */
  messageOptionsOf(options: object, own: ReadonlySet<string>): MessageOptions {
    const opts = options as { readonly minor?: number | undefined; readonly [k: string]: unknown };
    let plain = true;
    for (const k in opts) {
      if (k !== "minor" && !own.has(k)) {
        plain = false;
        break;
      }
    }
    const minor = Object.hasOwn(opts, "minor") ? opts.minor : undefined;
    const m = minor ?? this.b.defaultMinor;
    if (plain && (m & 0xffff) === m) {
      let shared = this.#plainOptions.get(m);
      if (shared === undefined) {
        shared = Object.freeze({ minor: m });
        this.#plainOptions.set(m, shared);
      }
      return shared;
    }
    const message: { [k: string]: unknown } = {};
    for (const k of Object.keys(opts)) if (!own.has(k)) message[k] = opts[k];
    return this.messageOptions(message);
  }

  /** The expected out-arg bytes of an op of the table at these options. */
  expectedOutSize(spec: CompoundOpSpec, n: number, o: MessageOptions): number {
    // Sizes depend on the opcode, the variable part's size and the minor (compat sizes) only:
    // computed once by encoding a zero reply, then remembered (builders call this per op).
    const key = `${spec.opcode}/${n}/${o.minor}`;
    const known = this.#outSizes.get(key);
    if (known !== undefined) return known;
    const bytes = this.b.messages.encodeReply(
      0n,
      spec.zeroReply(n) as never,
      { ...o, opcode: spec.opcode } as never,
    );
    const size = bytes.length - this.outHeaderSize;
    if (this.#outSizes.size < 4096) this.#outSizes.set(key, size);
    return size;
  }

  /**
   * The out-arg bytes the kernel expects for a decoded sub-request (what a builder's op gets as
   * its `outSize`): a fixed reply's size, or for a variable one the bound its request carries
   * (`sizedBy`; an xattr request of size 0 expects the size struct). Undefined where the
   * request does not carry the bound or the op is not in the table.
   */
  expectedReplySize(
    request: AnyRequest,
    opts: { readonly minor?: number | undefined; readonly [k: string]: unknown },
  ): number | undefined {
    if (request.op === "unknown") return undefined;
    const spec = this.b.ops.get(request.opcode);
    if (spec === undefined) return undefined;
    let n = 0;
    if (spec.variable !== null) {
      const by = spec.sizedBy;
      if (!by) return undefined;
      const part = request[by.field] as Record<string, unknown> | null | undefined;
      const size = part?.[by.member];
      if (typeof size !== "number" || !Number.isInteger(size) || size < 0) return undefined;
      n = size;
    }
    // A server asks this for every op it answers: the fixed part per minor and opcode is one
    // table lookup (expectedOutSize's own cache builds a string key and copies the options).
    const minor = opts.minor ?? this.b.defaultMinor;
    let table = this.#fixedOutSizes.get(minor);
    if (table === undefined) {
      table = new OpcodeTable<number>();
      if (this.#fixedOutSizes.size < 64) this.#fixedOutSizes.set(minor, table);
    }
    let fixed = table.get(spec.opcode);
    if (fixed === undefined) {
      fixed = this.expectedOutSize(spec, 0, this.messageOptions(opts));
      table.set(spec.opcode, fixed);
    }
    // Added up rather than sized by a zero reply of n bytes: n comes off the wire (up to 4 GiB).
    if (spec.variable === "xattr") return n === 0 ? fixed : n;
    return fixed + n;
  }

  spec(op: string): CompoundOpSpec | undefined {
    return this.#byName.get(op);
  }

  // ---- flags

  flagBits(names: readonly string[]): number {
    let bits = 0;
    for (const name of names) {
      const f = this.#flagBits.get(name);
      if (f === undefined) {
        const known = this.rules.flags.defined.map((d) => d.name).join(", ") || "none";
        throw this.error(
          "flag",
          `${JSON.stringify(name)} is not a compound flag of this revision (flags: ${known})`,
        );
      }
      bits |= f;
    }
    return bits;
  }

  flagNamesOf(bits: number): string[] {
    return this.rules.flags.defined.filter((d) => (bits & d.value) !== 0).map((d) => d.name);
  }

  // ---- dependencies

  /** Whether ops of this revision can name a producer. */
  get hasDependencies(): boolean {
    return this.rules.dependencies.model !== "none";
  }

  /** The op a decoded prefix names as its producer (as sent), or null. */
  dependencyOf(prefix: object | null, index: number, offset: number): number | null {
    if (prefix === null) return null;
    const f = this.rules.framing.subRequestPrefix!;
    for (const m of membersWith(f, "reserved")) {
      if (!isZero((prefix as Record<string, unknown>)[m]))
        throw this.error(
          "reserved",
          `sub-request ${index}: ${f.struct}.${m} is reserved and must be 0`,
          index,
          offset,
        );
    }
    let opBits = 0;
    if (this.#opFlags !== null) {
      opBits = getMember(prefix, this.#opFlags);
      let known = 0;
      for (const d of this.rules.opFlags.defined) known |= d.value;
      if ((opBits & ~known) !== 0)
        throw this.error(
          "flag",
          `sub-request ${index}: per-op flag bits 0x${(opBits & ~known).toString(16)} are not defined by this revision`,
          index,
          offset,
        );
    }
    const dep = this.rules.dependencies;
    if (this.#depIndex === null) return null;
    const raw = getMember(prefix, this.#depIndex);
    if (dep.model === "index") return raw === dep.noDependency!.value ? null : raw;
    if (dep.model === "flag-and-index") {
      const bit = this.rules.opFlags.defined.find((d) => d.name === dep.flag)!.value;
      if ((opBits & bit) !== 0) return raw;
      if (raw !== 0)
        throw this.error(
          "dependency",
          `sub-request ${index}: dep-index ${raw} without ${dep.flag}`,
          index,
          offset,
        );
      return null;
    }
    return null;
  }

  /**
   * How a dependent is run: the error it fails with without running (an invalid reference,
   * or its producer's error), or its request with the producer's result threaded in.
   */
  resolveDependency(
    index: number,
    request: AnyRequest,
    dependsOn: number | null,
    done: readonly {
      readonly request: AnyRequest;
      readonly error: number;
      readonly reply: unknown;
    }[],
  ): { readonly error: number } | { readonly request: AnyRequest } {
    const dep = this.rules.dependencies;
    if (dependsOn === null || dep.model === "none") return { request };
    if (dependsOn >= index || dependsOn >= done.length)
      return { error: -errnoValue(dep.invalidReference ?? "EINVAL") };
    const producer = done[dependsOn]!;
    if (producer.error !== 0) {
      if (dep.producerFailed === "inherit-error") return { error: producer.error };
      return { request };
    }
    let header: Record<string, unknown> = { ...request.header };
    for (const t of dep.threads) {
      if (!t.producers.includes(this.b.opcodeNames.get(producer.request.opcode) ?? "")) continue;
      const part = (producer.reply as Record<string, unknown> | null)?.[t.from.part];
      const value =
        part && typeof part === "object"
          ? (part as Record<string, unknown>)[t.from.member]
          : undefined;
      if (value !== undefined) header = { ...header, [t.into]: value };
    }
    return { request: { ...request, header: header as unknown as InHeader } };
  }

  // ---- building (client side)

  /**
   * Throws the CompoundError this revision's kernel (or the builder's capacity) gives an op
   * added as op `index`: nodeid, op count, allowed opcodes, page payloads, its dependency.
   * `admitted`: the opcode's own checks are known to pass (`admits`).
   */
  checkOp(
    index: number,
    opcode: number,
    nodeid: bigint,
    dependsOn: number | null,
    name: string | null,
    capacity: number | null,
    allowInvalid: boolean,
    admitted = false,
  ): void {
    const r = this.rules;
    const what = name ?? `opcode ${opcode}`;
    if (typeof nodeid !== "bigint" || nodeid < 0n || nodeid > U64_MAX) {
      throw this.error("value", `${what}: nodeid must be a 64-bit unsigned bigint`, index);
    }
    if (r.maxOps !== null && index + 1 > r.maxOps) {
      throw this.error(
        "too-many-ops",
        `at most ${r.maxOps} ops per compound (${r.maxOpsSource}); ${what} would be op ${index + 1}`,
        index,
      );
    }
    if (capacity !== null && index + 1 > capacity) {
      throw this.error(
        "too-many-ops",
        `the compound's capacity is ${capacity} ops; ${what} would be op ${index + 1}`,
        index,
      );
    }
    // `admitted`: the opcode's own checks below are known to pass (`admits`).
    if (!admitted && this.#allowed !== null && (name === null || !this.#allowed.has(name))) {
      throw this.error(
        "not-allowed",
        `${what} is not one of the opcodes allowed in a compound (${r.allowedOpcodes!.join(", ")})`,
        index,
      );
    }
    const checks = r.subRequestChecks;
    if (!admitted && checks.rejectOpcodeZero && opcode === 0)
      throw this.error("opcode-zero", "the kernel refuses a sub-request with opcode 0", index);
    if (!admitted && checks.rejectNestedCompound && opcode === this.b.opcode)
      throw this.error("nested-compound", "the kernel refuses a compound inside a compound", index);
    if (checks.rejectNodeidZero && nodeid === 0n)
      throw this.error(
        "nodeid-zero",
        `${what}: the kernel refuses a sub-request with nodeid 0`,
        index,
      );
    if (!admitted && checks.rejectInPages && this.#inPages.get(opcode) === true)
      throw this.error(
        "in-pages",
        `${what} carries a page payload, which the kernel refuses in a compound`,
        index,
      );
    if (dependsOn !== null) {
      if (!this.hasDependencies)
        throw this.error(
          "dependency",
          `${what}: ops of this revision cannot depend on each other (dependencies.model "none")`,
          index,
        );
      if (!Number.isInteger(dependsOn) || dependsOn < 0)
        throw this.error(
          "dependency",
          `${what}: dependsOn must be an op index, got ${dependsOn}`,
          index,
        );
      if (dependsOn >= index && !allowInvalid) {
        throw this.error(
          "dependency",
          `${what} (op ${index}) may depend only on an earlier op, not on op ${dependsOn}`,
          index,
        );
      }
      const sentinel = this.rules.dependencies.noDependency?.value;
      if (sentinel !== undefined && dependsOn === sentinel)
        throw this.error(
          "dependency",
          `${what}: ${sentinel} means "no dependency" in this revision`,
          index,
        );
    }
  }

  /**
   * Whether the payload of this op's reply goes to pages that this revision's kernel does not
   * copy out of a compound (`outPages` "not-copied": rfc-v1..v4 step over the sub-reply's header
   * alone, so such a payload cannot travel in a compound; a server answers the op with an error).
   */
  pagePayloadDropped(opcode: number): boolean {
    return this.#dropsPages(this.b.ops.get(opcode));
  }

  /** {@link pagePayloadDropped} for an op's table entry (undefined: an op without one, e.g. raw). */
  #dropsPages(spec: CompoundOpSpec | undefined): boolean {
    return this.rules.outPages === "not-copied" && spec?.outPages === true;
  }

  /** Whether an op of this opcode and name passes the checks `checkOp` makes of the opcode alone. */
  admits(opcode: number, name: string | null): boolean {
    const checks = this.rules.subRequestChecks;
    return !(
      (this.#allowed !== null && (name === null || !this.#allowed.has(name))) ||
      (checks.rejectOpcodeZero && opcode === 0) ||
      (checks.rejectNestedCompound && opcode === this.b.opcode) ||
      (checks.rejectInPages && this.#inPages.get(opcode) === true)
    );
  }

  /**
   * The reply budget of `count` ops whose expected out args sum to `outSum` bytes: that sum plus
   * one fuse_out_header (and sub-reply prefix) per op.
   */
  replyBudget(count: number, outSum: number): number {
    return outSum + count * (this.outHeaderSize + this.replyPrefixSize);
  }

  /** The result size member of `count` ops whose expected out args sum to `outSum` bytes. */
  resultSize(count: number, outSum: number): number {
    return outSum + (this.rules.resultSize?.includesOutHeaders ? count * this.outHeaderSize : 0);
  }

  /**
   * The compound request from the sub-requests a builder wrote as its ops were added (`bytes`,
   * `end` bytes with room for the head at the start): the compound's fuse_in_header and
   * compound struct, the sub-request header members the compound's header gives (`#patchSub`),
   * then a copy of exactly the compound's bytes, fresh or in the caller's buffer (`into`).
   *
   * @throws {CompoundError} kind `empty` (where the kernel refuses an empty compound),
   *   `reply-budget`, or `length` (the caller's buffer too short; nothing written there).
   */
  encodeWritten(
    bytes: Uint8Array,
    view: DataView,
    count: number,
    outSum: number,
    end: number,
    flags: number,
    header: CompoundHeader,
    o: MessageOptions,
    limits: EncodeLimits,
    into: { readonly buf: Uint8Array; readonly offset: number } | null,
  ): EncodedCompound {
    if (count === 0 && this.rules.emptyCompound === "kernel-rejects")
      throw this.error("empty", "the kernel refuses a compound without ops");
    const budget = this.replyBudget(count, outSum);
    const limit = limits.maxPages * limits.pageSize;
    if (budget > limit) {
      throw this.error(
        "reply-budget",
        `the reply may take ${budget} bytes (expected out args plus ${count} headers), more than max_pages ${limits.maxPages} x ${limits.pageSize} = ${limit}`,
      );
    }
    // The room check first: a short buffer is refused before anything is written.
    const target = into === null ? null : this.#room(into.buf, into.offset, end);
    // Into the builder's own bytes, whose head members not written stay 0 (as a fresh buffer's).
    this.#writeHead(view, end, count, outSum, flags, header, o);
    // Op-index uniques need no array; a "zero" unique rule gives 0n for every op.
    const uniques = this.#uniqueRule === "op-index" ? null : new Array<bigint>(count).fill(0n);
    if (this.#patchedAtEncode) {
      // Walk the sub-requests by their len members, as the kernel does.
      const le = littleEndian(o);
      let at = this.#head;
      for (let i = 0; i < count; i++) {
        const sub = at + this.requestPrefixSize;
        this.#patchSub(bytes, view, sub, i, header, limits.nextUnique, uniques, o, le);
        at = this.subEnd(at, this.#lenAt(bytes, view, sub, o, le));
      }
    }
    // The builder's bytes themselves when they are exactly the compound (see CompoundBuilderCore).
    if (target === null)
      return { bytes: bytes.length === end ? bytes : bytes.slice(0, end), uniques };
    target.set(bytes.subarray(0, end));
    return { bytes: target, uniques };
  }

  /** Bytes of the last compound a builder of this engine encoded: a new builder's first room. */
  sizeHint = 0;

  /** Bytes before the first sub-request: the compound's fuse_in_header and compound struct. */
  get headSize(): number {
    return this.#head;
  }

  /**
   * Where the next sub-request starts, after one at `at` whose fuse_in_header and args take
   * `size` bytes: its prefix and those bytes, padded to `alignment.subRequests` from the first
   * sub-request.
   */
  subEnd(at: number, size: number): number {
    const next = at - this.#head + this.requestPrefixSize + size;
    const align = this.rules.alignment.subRequests;
    return this.#head + (align === 1 ? next : alignUp(next, align));
  }

  /** The len member of the sub-request header at `at`. */
  #lenAt(bytes: Uint8Array, view: DataView, at: number, o: MessageOptions, le: boolean): number {
    const inAt = this.#inAt;
    if (inAt !== null) return view.getUint32(at + inAt.len, le);
    return (this.b.inHeader.decode(bytes, at, o) as { len: number }).len;
  }

  /** `len` bytes of `buf` at `offset`; kind `length` (nothing written) when they are not there. */
  #room(buf: Uint8Array, offset: number, len: number): Uint8Array {
    if (!(buf instanceof Uint8Array))
      throw this.error("value", "encodeInto needs a Uint8Array to write into");
    if (!(Number.isInteger(offset) && offset >= 0 && offset + len <= buf.length)) {
      const available =
        Number.isInteger(offset) && offset >= 0 ? Math.max(0, buf.length - offset) : 0;
      throw this.error(
        "length",
        `the compound needs ${len} bytes at offset ${offset} of the buffer, ${available} available`,
        null,
        Number.isInteger(offset) ? offset : null,
      );
    }
    return buf.subarray(offset, offset + len);
  }

  /** The compound's fuse_in_header and compound struct, at the start of `bytes`. */
  #writeHead(
    bytes: Uint8Array | DataView,
    total: number,
    count: number,
    outSum: number,
    flags: number,
    header: CompoundHeader,
    o: MessageOptions,
  ): void {
    const inAt = this.#inAt;
    const fresh = bytes instanceof DataView;
    const compoundInAt = this.#compoundInAt;
    if (fresh && compoundInAt !== null) {
      // Member by member as the codec writes them; the reserved ones stay 0 in the fresh buffer.
      const le = littleEndian(o);
      const at = this.inHeaderSize;
      if (compoundInAt.flags !== null) setUnsigned(bytes, at, compoundInAt.flags, flags, le);
      if (compoundInAt.resultSize !== null)
        setUnsigned(bytes, at, compoundInAt.resultSize, this.resultSize(count, outSum), le);
      if (compoundInAt.count !== null) setUnsigned(bytes, at, compoundInAt.count, count, le);
    } else {
      // One object for every request: only the members set below change, the others stay 0.
      const compoundIn = this.#compoundIn;
      if (this.#flagsIn !== null) setMember(compoundIn, this.#flagsIn, flags);
      if (this.#resultSizeIn !== null)
        setMember(compoundIn, this.#resultSizeIn, this.resultSize(count, outSum));
      if (this.#countIn !== null) setMember(compoundIn, this.#countIn, count);
      // Into a fresh buffer, a compound struct with no member set per request (all reserved) is
      // already what its codec would write: zeros.
      if (!fresh || this.#compoundInSetPerRequest)
        this.b.compoundIn.codec.encode(compoundIn as never, bytes, this.inHeaderSize, o);
    }
    if (inAt !== null && fresh) {
      // Into a fresh buffer: the members not written stay 0, as the zero header has them.
      const le = littleEndian(o);
      bytes.setUint32(inAt.len, total, le);
      bytes.setUint32(inAt.opcode, this.b.opcode, le);
      bytes.setBigUint64(inAt.unique, header.unique, le);
      bytes.setBigUint64(inAt.nodeid, this.#outerNodeid, le);
      bytes.setUint32(inAt.uid, header.uid, le);
      bytes.setUint32(inAt.gid, header.gid, le);
      bytes.setUint32(inAt.pid, header.pid, le);
    } else {
      const outer = {
        ...this.b.inHeader.zero(),
        len: total,
        opcode: this.b.opcode,
        unique: header.unique,
        uid: header.uid,
        gid: header.gid,
        pid: header.pid,
        nodeid: BigInt(this.rules.outerNodeid),
      };
      this.b.inHeader.encode(outer as never, bytes, 0, o);
    }
  }

  /**
   * The size of the sub-request an op's arguments make when written in place (`writeSub`):
   * fuse_in_header and args, without prefix; -1 where encodeRequest must write it (a part the
   * in-place writer does not take, or a value it would refuse: `encodeSub` throws its error).
   */
  inPlaceSize(layout: OpLayout | null, a0: unknown, a1: unknown, a2: unknown): number {
    if (layout === null || layout.fixed < 0) return -1;
    let size = layout.fixed;
    const parts = layout.parts;
    for (let i = 0; i < parts.length; i++) {
      const v = i === 0 ? a0 : i === 1 ? a1 : a2;
      switch (parts[i]!.kind) {
        case PART_STRUCT:
          if (typeof v !== "object" || v === null) return -1;
          break;
        case PART_NAME: {
          if (typeof v === "string") {
            const n = nameLength(v);
            if (n < 0) return -1;
            size += n;
          } else {
            const b = nameBytes(v);
            if (b === null || b.includes(0)) return -1;
            size += b.length;
          }
          break;
        }
        case PART_DATA:
          if (!(v instanceof Uint8Array)) return -1;
          size += v.length;
          break;
        default:
          return -1;
      }
    }
    return size > 0xffffffff ? -1 : size;
  }

  /**
   * One sub-request written at `at` of zeroed bytes, `size` bytes after its prefix
   * (`inPlaceSize`): the prefix (dependency by the model), the members of its fuse_in_header
   * known when the op is added (len, opcode, an op-index unique, nodeid) and its args: struct
   * parts by their writers, names and data copied in; padding stays zero. What the compound's
   * header gives (a fresh unique, copied credentials) is `#patchSub`'s, at encode.
   * May throw for a value a struct writer refuses (the caller zeroes what was written).
   */
  writeSub(
    bytes: Uint8Array,
    view: DataView,
    at: number,
    op: SubRequestArgs,
    size: number,
    o: MessageOptions,
    le: boolean,
  ): void {
    at = this.#writePrefix(bytes, view, at, op.dependsOn);
    const kind = op.kind;
    const inAt = this.#inAt;
    if (inAt !== null) {
      view.setUint32(at + inAt.len, size, le);
      view.setUint32(at + inAt.opcode, kind.opcode, le);
      // An op index fits the low 32 bits, and the high ones are 0 in the zeroed bytes: the
      // same bytes as setBigUint64, which costs several times a setUint32 here.
      if (this.#uniqueRule === "op-index")
        view.setUint32(at + inAt.unique + (le ? 0 : 4), op.index, le);
      const nodeid = this.#nodeidAtAdd(op);
      // nodeid 0 (a dependent op's, or the rule "zero") is already there in the zeroed bytes.
      if (nodeid !== 0n) view.setBigUint64(at + inAt.nodeid, nodeid, le);
    } else {
      this.b.inHeader.encode(this.#subHeaderAtAdd(op, size) as never, bytes, at, o);
    }
    let p = at + this.inHeaderSize;
    if (kind.spec === null) {
      bytes.set(op.body as Uint8Array, p);
      return;
    }
    // Every op written here has its layout (its size was summed).
    const parts = kind.layout!.parts;
    const body = op.body as Record<string, unknown> | null;
    for (let k = 0; k < parts.length; k++) {
      const part = parts[k]!;
      const v = body !== null ? body[part.field] : k === 0 ? op.a0 : k === 1 ? op.a1 : op.a2;
      if (part.kind === PART_STRUCT) {
        if (part.write !== null) {
          part.write(view, p, v as never, le);
          p += part.codec!.size;
        } else p += part.codec!.encode(v as never, view, p, o);
      } else if (part.kind === PART_NAME) {
        if (typeof v === "string") p = writeUtf8(v, bytes, p) + 1;
        else {
          const b = nameBytes(v)!;
          bytes.set(b, p);
          p += b.length + 1;
        }
      } else {
        const b = v as Uint8Array;
        bytes.set(b, p);
        p += b.length;
      }
    }
  }

  /**
   * One sub-request (prefix, fuse_in_header, args) as encodeRequest writes it, for an op the
   * in-place writer does not take; the header members the compound's header gives are left 0
   * for `#patchSub`.
   *
   * @throws the revision's `FuseMessageError` (or a codec's error) for a part encodeRequest refuses.
   */
  encodeSub(op: SubRequestArgs, o: MessageOptions): Uint8Array {
    const encode = this.b.messages.encodeRequest;
    const kind = op.kind;
    const header = this.#subHeaderAtAdd(op, 0);
    const bytes =
      kind.spec === null
        ? encode({ op: "unknown", opcode: kind.opcode, header, body: op.body } as never, o as never)
        : encode({ ...this.#bodyOf(op), opcode: kind.opcode, header } as never, o as never);
    if (this.requestPrefixSize === 0) return bytes;
    const out = new Uint8Array(this.requestPrefixSize + bytes.length);
    this.#writePrefix(out, new DataView(out.buffer), 0, op.dependsOn);
    out.set(bytes, this.requestPrefixSize);
    return out;
  }

  /** The prefix of a sub-request at `at` (when the revision has one); returns where its header starts. */
  #writePrefix(bytes: Uint8Array, view: DataView, at: number, dependsOn: number | null): number {
    const prefixAt = this.#prefixAt;
    if (prefixAt !== null) {
      // The members by the model, at the prefix codec's default (little-endian) order.
      if (prefixAt.depIndex !== null)
        setUnsigned(view, at, prefixAt.depIndex, dependsOn ?? this.#noDependency ?? 0);
      if (prefixAt.opFlags !== null && dependsOn !== null && this.#depFlagBit !== 0)
        setUnsigned(view, at, prefixAt.opFlags, this.#depFlagBit);
      return at + this.requestPrefixSize;
    }
    const codec = this.b.subRequestPrefix;
    if (codec === null) return at;
    // The prefix codec at its default options, from one reused object.
    const prefix = (this.#prefixScratch ??= codec.zero());
    this.#setPrefix(prefix, dependsOn);
    codec.encode(prefix as never, bytes, at);
    return at + this.requestPrefixSize;
  }

  /**
   * The dependency the prefix at `at` carries, as the builder wrote it (null: none, or no
   * prefix): what `ops` reports without a record per op.
   */
  dependencyAt(bytes: Uint8Array, view: DataView, at: number): number | null {
    const prefixAt = this.#prefixAt;
    if (prefixAt !== null) {
      const dep = this.rules.dependencies;
      if (prefixAt.depIndex === null) return null;
      const raw = getUnsigned(view, at, prefixAt.depIndex);
      if (dep.model === "index") return raw === this.#noDependency ? null : raw;
      if (dep.model === "flag-and-index")
        return prefixAt.opFlags !== null &&
          (getUnsigned(view, at, prefixAt.opFlags) & this.#depFlagBit) !== 0
          ? raw
          : null;
      return null;
    }
    const codec = this.b.subRequestPrefix;
    if (codec === null) return null;
    return this.dependencyOf(codec.decode(bytes, at) as object, 0, at);
  }

  /**
   * Whether the prefix at `at` holds `dependsOn` as given (a dependency too big for its member
   * wraps): by the member's width where the prefix is written in place, else read back.
   */
  dependencyFits(dependsOn: number, bytes: Uint8Array, view: DataView, at: number): boolean {
    const limit = this.#depIndexLimit;
    if (limit > 0) return dependsOn < limit;
    return this.dependencyAt(bytes, view, at) === dependsOn;
  }

  /** The len, opcode and nodeid of the sub-request header at `at` (as written). */
  headerAt(
    bytes: Uint8Array,
    view: DataView,
    at: number,
    o: MessageOptions,
    le: boolean,
  ): { readonly len: number; readonly opcode: number; readonly nodeid: bigint } {
    const inAt = this.#inAt;
    if (inAt !== null)
      return {
        len: view.getUint32(at + inAt.len, le),
        opcode: view.getUint32(at + inAt.opcode, le),
        nodeid: view.getBigUint64(at + inAt.nodeid, le),
      };
    const h = this.b.inHeader.decode(bytes, at, o) as {
      len: number;
      opcode: number;
      nodeid: bigint;
    };
    return { len: h.len, opcode: h.opcode, nodeid: h.nodeid };
  }

  /** Whether the sub-request header carries the op's nodeid as given (rule `per-op`). */
  get nodeidWritten(): boolean {
    return this.#nodeidRule === "per-op";
  }

  /** The nodeid member of an op's sub-header as it is added (0 where the compound's header gives it). */
  #nodeidAtAdd(op: SubRequestArgs): bigint {
    const rule = this.#nodeidRule;
    return rule === "per-op" ? op.nodeid : rule === "op-index" ? indexBigInt(op.index) : 0n;
  }

  /** An op's sub-header as it is added: the rules' per-op members; 0 where the compound's header gives the value. */
  #subHeaderAtAdd(op: SubRequestArgs, size: number): Record<string, unknown> {
    const sub = this.b.inHeader.zero() as Record<string, unknown>;
    for (const [field, rule] of Object.entries(this.rules.subHeader)) {
      switch (rule) {
        case "per-op":
          if (field === "opcode") sub[field] = op.kind.opcode;
          else if (field === "nodeid") sub[field] = op.nodeid;
          else
            throw this.error(
              "value",
              `no way to fill fuse_in_header.${field} by the rule ${JSON.stringify(rule)}`,
            );
          break;
        case "header-plus-args":
          sub[field] = size; // encodeRequest writes len itself
          break;
        case "op-index":
          sub[field] = field === "unique" || field === "nodeid" ? indexBigInt(op.index) : op.index;
          break;
        case "zero":
        case "copy-parent":
        case "fresh-unique":
          // 0 until encode: `#patchSub` writes what the compound's header gives.
          break;
        default:
          throw this.error(
            "value",
            `no way to fill fuse_in_header.${field} by the rule ${JSON.stringify(rule)}`,
          );
      }
    }
    return sub;
  }

  /**
   * The members of the sub-request header at `at` that the compound's header gives (a fresh
   * unique or nodeid, copied credentials); the unique kept in `uniques`.
   */
  #patchSub(
    bytes: Uint8Array,
    view: DataView,
    at: number,
    index: number,
    header: CompoundHeader,
    nextUnique: (index: number, compound: bigint) => bigint,
    uniques: bigint[] | null,
    o: MessageOptions,
    le: boolean,
  ): void {
    const unique = this.#uniqueRule === "fresh-unique" ? nextUnique(index, header.unique) : null;
    const nodeid = this.#nodeidRule === "fresh-unique" ? nextUnique(index, header.unique) : null;
    if (uniques !== null && unique !== null) uniques[index] = unique;
    const copied = this.#copyParent;
    const inAt = this.#inAt;
    if (inAt !== null) {
      if (unique !== null) view.setBigUint64(at + inAt.unique, unique, le);
      if (nodeid !== null) view.setBigUint64(at + inAt.nodeid, nodeid, le);
      for (let k = 0; k < copied.length; k++) {
        const f = copied[k]!;
        view.setUint32(at + inAt[f], header[f], le);
      }
      return;
    }
    const sub = this.b.inHeader.decode(bytes, at, o) as Record<string, unknown>;
    if (unique !== null) sub["unique"] = unique;
    if (nodeid !== null) sub["nodeid"] = nodeid;
    for (const f of copied) sub[f] = header[f];
    this.b.inHeader.encode(sub as never, bytes, at, o);
  }

  /** The prefix struct's members for one op (dep-index and op-flags by the model; the others stay 0). */
  #setPrefix(value: object, dependsOn: number | null): void {
    const dep = this.rules.dependencies;
    if (this.#depIndex !== null) {
      setMember(
        value,
        this.#depIndex,
        dep.model === "index" ? (dependsOn ?? dep.noDependency!.value) : (dependsOn ?? 0),
      );
    }
    if (this.#opFlags !== null) {
      const bit =
        dep.model === "flag-and-index" && dependsOn !== null
          ? this.rules.opFlags.defined.find((f) => f.name === dep.flag)!.value
          : 0;
      setMember(value, this.#opFlags, bit);
    }
  }

  /** The request object encodeRequest takes for an op added with arguments. */
  #bodyOf(op: SubRequestArgs): { readonly op: string; readonly [part: string]: unknown } {
    const given = op.body;
    if (given !== null && !(given instanceof Uint8Array)) return given;
    const spec = op.kind.spec!;
    const body: Record<string, unknown> & { op: string } = { op: spec.op };
    spec.parts.forEach((p, i) => (body[p.field] = i === 0 ? op.a0 : i === 1 ? op.a1 : op.a2));
    return body;
  }

  // ---- the reply walk (client side)

  opRef(r: number | CompoundOpRef, index: number, o: MessageOptions): CompoundOpRef {
    if (typeof r === "object") return r;
    const spec = this.b.ops.get(r);
    if (!spec)
      throw this.error(
        "value",
        `op ${index}: opcode ${String(r)} has no entry here; give { opcode, outSize }`,
        index,
      );
    if (spec.variable !== null)
      throw this.error(
        "value",
        `op ${index}: ${spec.op} has a variable-size reply; give { opcode, outSize }`,
        index,
      );
    return { opcode: r, outSize: this.expectedOutSize(spec, 0, o) };
  }

  parseReply(
    bytes: Uint8Array,
    ops: readonly (number | CompoundOpRef)[],
    capacity: number | undefined,
    o: MessageOptions,
  ): CompoundReplyBase {
    const n = ops.length;
    // `builder.ops` are refs already: no second array for them.
    let refs = ops as readonly CompoundOpRef[];
    for (let i = 0; i < n; i++) {
      if (typeof ops[i] !== "object") {
        refs = ops.map((r, k) => this.opRef(r, k, o));
        break;
      }
    }
    // The sub-replies are read from `src` (one view, `view`) from `base` on, `end` bytes of them.
    let header: OutHeader;
    let compound: object;
    let src: Uint8Array;
    let view: DataView;
    let base: number;
    const le = littleEndian(o);
    const whole =
      bytes instanceof Uint8Array
        ? new DataView(bytes.buffer, bytes.byteOffset, bytes.byteLength)
        : null;
    const head = whole !== null ? this.#frameInPlace(bytes, whole, o, le) : -1;
    if (head >= 0) {
      // A success whose compound struct travels at full size: read where it lies.
      src = bytes;
      view = whole!;
      header = this.b.outHeader.decode(view, 0, o) as unknown as OutHeader;
      compound = this.b.compoundOut.codec.decode(view, this.outHeaderSize, o);
      base = head;
    } else {
      const decoded = this.b.messages.decodeReply(this.b.opcode as never, bytes, o as never);
      const top = decoded.reply as Record<string, unknown>;
      if ("error" in top)
        return {
          header: decoded.header,
          error: top["error"] as number,
          compound: null,
          results: null,
          trailing: 0,
        };
      header = decoded.header;
      compound = top[this.b.compoundOut.field] as object;
      src = top[this.b.compoundOut.dataField] as Uint8Array;
      view = new DataView(src.buffer, src.byteOffset, src.byteLength);
      base = 0;
    }
    // Reserved members of the reply are not checked: no revision's kernel reads them (libfuse
    // 7cb226c leaves fuse_compound_out.reserved unwritten, and the RFC kernels take its replies).
    const checks = this.rules.replyChecks;
    const end = src.length - base;
    if (end < checks.minPayload)
      throw this.error(
        "min-payload",
        `${end} bytes of sub-replies, fewer than ${checks.minPayload}`,
      );
    let outSum = 0;
    for (const ref of refs) outSum += ref.outSize;
    const budget = this.replyBudget(refs.length, outSum);
    if (end > budget)
      throw this.error(
        "max-payload",
        `${end} bytes of sub-replies, more than the ${budget} the kernel allows (expected out args plus ${n} headers)`,
      );
    const serverCount = this.#countOut !== null ? getMember(compound, this.#countOut) : null;
    if (checks.countMustMatch && serverCount !== null && serverCount !== n)
      throw this.error("count", `the reply counts ${serverCount} ops, the compound has ${n}`);
    // How many sub-replies the kernel walks; null: until the data ends.
    const parsed: number | null =
      checks.opsParsed === "server-count"
        ? (serverCount ?? 0)
        : checks.opsParsed === "min-count"
          ? Math.min(n, serverCount ?? 0)
          : null;
    const walk =
      parsed !== null && checks.opsBound === "kernel-count" ? Math.min(parsed, n) : parsed;
    if (walk !== null && walk > n && checks.opsBound === "none") {
      throw this.error(
        "ops-bound",
        `the reply counts ${walk} ops but the compound has ${n}: the kernel would index past its per-op arrays`,
      );
    }
    const cap = checks.opsBound === "capacity" ? (capacity ?? n) : Infinity;
    const plans = this.#replyPlans(o);
    const outAt = this.#outAt;
    const results: CompoundOpResultBase[] = [];
    const min = checks.minOpLen;
    const uniqueMustMatch = checks.uniqueMustMatch;
    const copyNoError = checks.copyWhen === "no-error";
    const advanceLen = checks.advance === "len";
    const align = this.rules.alignment.subReplies;
    const prefixSize = this.b.subReplyPrefix ? this.replyPrefixSize : 0;
    const outHeaderSize = this.outHeaderSize;
    let at = 0;
    for (let i = 0; walk === null ? at < end : i < walk; i++) {
      if (i >= cap)
        throw this.error(
          "capacity",
          `sub-reply ${i + 1} is beyond the capacity of ${cap} ops`,
          i,
          at,
        );
      if (i >= n)
        throw this.error(
          "extra-reply",
          `sub-reply ${i + 1} has no op (the compound has ${n}); the kernel would copy it through a missing argument`,
          i,
          at,
        );
      const ref = refs[i]!;
      const start0 = at;
      if (prefixSize > 0) {
        if (end - at < prefixSize)
          throw this.error(
            "op-len",
            `sub-reply ${i} at offset ${at} needs a ${prefixSize}-byte ${this.b.subReplyPrefix!.struct}, ${end - at} left`,
            i,
            at,
          );
        at += prefixSize;
      }
      if (end - at < min)
        throw this.error(
          "op-len",
          `sub-reply ${i} at offset ${at} needs ${min} bytes, ${end - at} left`,
          i,
          at,
        );
      let hLen: number;
      let hError: number;
      let hUnique: bigint;
      if (outAt !== null) {
        hLen = view.getUint32(base + at + outAt.len, le);
        hError = view.getInt32(base + at + outAt.error, le);
        hUnique = view.getBigUint64(base + at + outAt.unique, le);
      } else {
        const h = this.b.outHeader.decode(view, base + at, o) as unknown as OutHeader;
        hLen = h.len;
        hError = h.error;
        hUnique = h.unique;
      }
      if (hLen < min)
        throw this.error(
          "op-len",
          `sub-reply ${i} at offset ${at} has len ${hLen}, below ${min}`,
          i,
          at,
        );
      if (checks.opLenInBounds && at + hLen > end)
        throw this.error(
          "op-bounds",
          `sub-reply ${i} at offset ${at} has len ${hLen}, past the ${end} bytes of sub-replies`,
          i,
          at,
        );
      if (uniqueMustMatch && ref.unique !== undefined && hUnique !== ref.unique) {
        throw this.error(
          "unique",
          `sub-reply ${i} has unique ${hUnique}, its sub-request ${ref.unique}`,
          i,
          at,
        );
      }
      const copy = copyNoError ? hError === 0 : hLen > min;
      const plan = ref.raw ? NO_PLAN : this.#replyPlan(plans, ref.opcode, o);
      const spec = plan.spec;
      // outPages "not-copied": the kernel's copy returns where the page-bound payload would
      // start, so its walk steps over the header alone (the next sub-reply is read there).
      const pagesNotCopied = this.#dropsPages(spec);
      let reply: unknown = null;
      if (copy) {
        if (!pagesNotCopied) {
          const start = at + outHeaderSize;
          const size = spec?.variable
            ? Math.min(ref.outSize, Math.max(0, hLen - outHeaderSize))
            : ref.outSize;
          if (start + size > end) {
            throw this.error(
              "op-data",
              `sub-reply ${i}: the kernel copies ${size} bytes of out args at offset ${start}, past the ${end} bytes of sub-replies`,
              i,
              at,
            );
          }
          reply =
            plan.full === size
              ? plan.read !== null
                ? plan.read(view, base + start, le)
                : this.#decodeInPlace(spec!.replyStructs!, view, base + start, o)
              : this.decodeOpReply(
                  ref.opcode,
                  src.subarray(base + start, base + start + size),
                  hUnique,
                  spec,
                  ref.requested,
                  o,
                );
        }
      }
      results.push({
        index: i,
        opcode: ref.opcode,
        error: hError,
        reply,
        len: hLen,
        unique: hUnique,
        missing: false,
      });
      const step = advanceLen ? hLen : pagesNotCopied ? min : min + (hLen > min ? ref.outSize : 0);
      const next = at - start0 + step;
      at = start0 + (align === 1 ? next : alignUp(next, align));
    }
    for (let i = results.length; i < n; i++) {
      results.push({
        index: i,
        opcode: refs[i]!.opcode,
        error: 0,
        reply: null,
        len: null,
        unique: null,
        missing: true,
      });
    }
    return {
      header,
      error: 0,
      compound,
      results,
      trailing: Math.max(0, end - at),
    };
  }

  /**
   * The size of the compound reply's fuse_out_header and struct when the reply is a success
   * whose struct travels at full size under `o` (checked once per minor): the parts are then
   * read where they lie. -1 otherwise: `decodeReply` reads them, and throws its errors for a
   * malformed reply.
   */
  #frameInPlace(bytes: Uint8Array, view: DataView, o: MessageOptions, le: boolean): number {
    const outAt = this.#outAt;
    if (outAt === null) return -1;
    const head = this.outHeaderSize + this.b.compoundOut.codec.size;
    if (bytes.length < head) return -1;
    const shared = this.#sharedState(o);
    let full = shared?.frameFull ?? null;
    if (full === null) {
      const key = sizeKey(o);
      full = key !== null && this.#frameFull(key, o);
      if (shared) shared.frameFull = full;
    }
    if (!full) return -1;
    return view.getUint32(outAt.len, le) === bytes.length && view.getInt32(outAt.error, le) === 0
      ? head
      : -1;
  }

  /** Whether the compound reply's struct travels at its full size under `o` (what decodeReply reads then). */
  #frameFull(key: string, o: MessageOptions): boolean {
    let full = this.#frames.get(key);
    if (full === undefined) {
      try {
        const zero = this.b.messages.encodeReply(
          0n,
          {
            [this.b.compoundOut.field]: this.b.compoundOut.codec.zero(),
            [this.b.compoundOut.dataField]: new Uint8Array(0),
          } as never,
          { ...o, opcode: this.b.opcode } as never,
        );
        full = zero.length === this.outHeaderSize + this.b.compoundOut.codec.size;
      } catch {
        full = false;
      }
      if (this.#frames.size < 64) this.#frames.set(key, full);
    }
    return full;
  }

  /** The reply walk's per-opcode plans under `o`; options no cache may share get plans that never decode in place. */
  #replyPlans(o: MessageOptions): ReplyPlans {
    const shared = this.#sharedState(o);
    if (shared?.plans) return shared.plans;
    const key = sizeKey(o);
    if (key === null) return this.#specOnlyPlans;
    let plans = this.#replyInPlace.get(key);
    if (!plans) {
      plans = { inPlace: true, table: new OpcodeTable() };
      if (this.#replyInPlace.size < 64) this.#replyInPlace.set(key, plans);
    }
    if (shared) shared.plans = plans;
    return plans;
  }

  /**
   * How an opcode's out args are decoded (made once per opcode and options): in place when
   * they are exactly its struct parts at full size under `o` (what decodeReply would read them
   * as), each struct where it lies; else by `decodeReply` of a copy.
   */
  #replyPlan(plans: ReplyPlans, opcode: number, o: MessageOptions): ReplyPlan {
    const known = plans.table.get(opcode);
    if (known !== undefined) return known;
    const spec = this.b.ops.get(opcode);
    let full = -1;
    if (
      plans.inPlace &&
      spec !== undefined &&
      spec.replyStructs != null &&
      spec.variable === null
    ) {
      let sum = 0;
      for (const p of spec.replyStructs) sum += p.codec.size;
      try {
        if (this.expectedOutSize(spec, 0, o) === sum) full = sum;
      } catch {
        full = -1;
      }
    }
    const plan: ReplyPlan = { spec, full, read: full >= 0 ? (spec!.decodeInPlace ?? null) : null };
    plans.table.set(opcode, plan);
    return plan;
  }

  /** Out args that are struct parts at full size, decoded at their offsets (no copy). */
  #decodeInPlace(
    parts: readonly { readonly field: string; readonly codec: StructCodecLike }[],
    view: DataView,
    at: number,
    o: MessageOptions,
  ): object {
    const out: Record<string, unknown> = {};
    for (let k = 0; k < parts.length; k++) {
      const p = parts[k]!;
      out[p.field] = p.codec.decode(view, at, o);
      at += p.codec.size;
    }
    return out;
  }

  /** Decodes copied out args with the message codecs (a synthetic success reply around them). */
  private decodeOpReply(
    opcode: number,
    args: Uint8Array,
    unique: bigint,
    spec: CompoundOpSpec | undefined,
    requested: number | undefined,
    o: MessageOptions,
  ): unknown {
    if (this.b.noReply.has(opcode) || !spec) return args;
    const msg = new Uint8Array(this.outHeaderSize + args.length);
    this.b.outHeader.encode({ len: msg.length, error: 0, unique } as never, msg, 0, o);
    msg.set(args, this.outHeaderSize);
    const xattr =
      spec.variable === "xattr" && requested !== undefined
        ? requested === 0
          ? "size"
          : "data"
        : undefined;
    return this.b.messages.decodeReply(opcode as never, msg, {
      ...o,
      ...(xattr ? { xattr } : {}),
    } as never).reply;
  }

  // ---- server side

  /**
   * Decodes a compound request: the compound, then its sub-requests found as the rules say
   * (the count member, or walking the lengths to the end), each after its prefix, each decoded
   * by `decodeRequest`. Accepts exactly what the revision's kernel sends: the sub-requests
   * fill the area, reserved members are 0, and the kernel's own limits and pre-send checks hold.
   */
  decodeRequest(bytes: Uint8Array, o: MessageOptions): DecodedCompoundBase {
    const r = this.rules;
    const req = this.b.messages.decodeRequest(bytes, o as never);
    if (req.opcode !== this.b.opcode)
      throw this.error(
        "not-compound",
        `opcode ${req.opcode} is not ${r.opcode} (${this.b.opcode})`,
      );
    this.checkOuterHeader(req.header);
    const compoundIn = req[this.b.compoundIn.field] as object;
    const area = req[this.b.compoundIn.dataField] as Uint8Array;
    for (const m of membersWith(r.framing.request, "reserved")) {
      if (!isZero((compoundIn as Record<string, unknown>)[m]))
        throw this.error("reserved", `${r.framing.request.struct}.${m} is reserved and must be 0`);
    }
    const count = this.#countIn !== null ? getMember(compoundIn, this.#countIn) : null;
    const walk = r.opCountFrom === "count-field" ? (count ?? 0) : null;
    if (walk !== null && r.maxOps !== null && walk > r.maxOps)
      throw this.error("too-many-ops", `the compound counts ${walk} ops, more than ${r.maxOps}`);
    const requests: AnyRequest[] = [];
    const prefixes: (object | null)[] = [];
    const dependsOn: (number | null)[] = [];
    const offsets: number[] = [];
    let at = 0;
    for (let i = 0; walk === null ? at < area.length : i < walk; i++) {
      const start = at;
      let prefix: object | null = null;
      if (this.b.subRequestPrefix) {
        if (area.length - at < this.requestPrefixSize) {
          throw this.error(
            "op-len",
            `sub-request ${i} at offset ${at} needs a ${this.requestPrefixSize}-byte ${this.b.subRequestPrefix.struct}, ${area.length - at} left`,
            i,
            at,
          );
        }
        prefix = this.b.subRequestPrefix.decode(area, at, o);
        at += this.requestPrefixSize;
      }
      if (area.length - at < this.inHeaderSize)
        throw this.error(
          "op-len",
          `sub-request ${i} at offset ${at} needs ${this.inHeaderSize} bytes, ${area.length - at} left`,
          i,
          at,
        );
      const h = this.b.inHeader.decode(area, at, o) as unknown as InHeader;
      if (h.len < this.inHeaderSize)
        throw this.error(
          "op-len",
          `sub-request ${i} at offset ${at} has len ${h.len}, below ${this.inHeaderSize}`,
          i,
          at,
        );
      if (at + h.len > area.length)
        throw this.error(
          "op-bounds",
          `sub-request ${i} at offset ${at} has len ${h.len}, past the ${area.length} bytes of sub-requests`,
          i,
          at,
        );
      if (r.maxOps !== null && i + 1 > r.maxOps)
        throw this.error("too-many-ops", `more than ${r.maxOps} sub-requests`, i, at);
      const sub = this.b.messages.decodeRequest(area.subarray(at, at + h.len), o as never);
      this.checkSubRequest(sub, i, start);
      this.checkSubHeader(sub, req.header, i, start);
      requests.push(sub);
      prefixes.push(prefix);
      dependsOn.push(this.dependencyOf(prefix, i, start));
      offsets.push(start);
      const next = start + alignUp(at - start + h.len, r.alignment.subRequests);
      // The builder pads with zeros up to the alignment.
      for (let k = at + h.len; k < Math.min(next, area.length); k++) {
        if (area[k] !== 0)
          throw this.error(
            "reserved",
            `sub-request ${i}: padding byte at offset ${k} is not 0`,
            i,
            k,
          );
      }
      at = next;
    }
    if (at < area.length)
      throw this.error(
        "trailing",
        `${area.length - at} bytes after the ${requests.length} sub-requests`,
        null,
        at,
      );
    if (requests.length === 0 && r.emptyCompound === "kernel-rejects")
      throw this.error(
        "empty",
        "a compound without sub-requests, which this revision's kernel never sends",
      );
    const bits = this.#flagsIn !== null ? getMember(compoundIn, this.#flagsIn) : 0;
    let known = 0;
    for (const d of r.flags.defined) known |= d.value;
    // The kernel sets only flags it defines (and the builder can write no others).
    if ((bits & ~known) !== 0)
      throw this.error(
        "flag",
        `flag bits 0x${((bits & ~known) >>> 0).toString(16)} are not defined by this revision`,
      );
    if (this.#resultSizeIn !== null && r.resultSize !== null)
      this.checkResultSize(getMember(compoundIn, this.#resultSizeIn), requests, o);
    return {
      header: req.header,
      flags: this.flagNamesOf(bits),
      unknownFlags: (bits & ~known) >>> 0,
      count,
      requests,
      prefixes,
      dependsOn,
      offsets,
      [this.b.compoundIn.field]: compoundIn,
    } as DecodedCompoundBase;
  }

  /**
   * The compound's own fuse_in_header as the kernel (and the builder) writes it: nodeid
   * `outerNodeid`, no extensions, padding 0.
   */
  private checkOuterHeader(h: InHeader): void {
    const want = BigInt(this.rules.outerNodeid);
    if (h.nodeid !== want)
      throw this.error("header", `fuse_in_header.nodeid is ${h.nodeid}; a compound's is ${want}`);
    for (const field of ["total_extlen", "padding"]) {
      if (field in h && !isZero(h[field]))
        throw this.error(
          "header",
          `fuse_in_header.${field} is ${String(h[field])}; a compound's is 0`,
        );
    }
  }

  /**
   * A sub-request's fuse_in_header against the `subHeader` rules: `zero` members are 0,
   * `copy-parent` ones equal the compound's, an `op-index` unique is the op's index. (`per-op`
   * members are the op's own, `fresh-unique` may be any value, `len` is checked by decodeRequest.)
   */
  private checkSubHeader(sub: AnyRequest, outer: InHeader, i: number, at: number): void {
    for (const [field, rule] of Object.entries(this.rules.subHeader)) {
      if (!(field in sub.header)) continue;
      const v = sub.header[field];
      let want: unknown;
      if (rule === "zero") want = typeof v === "bigint" ? 0n : 0;
      else if (rule === "copy-parent") want = outer[field];
      else if (rule === "op-index") want = typeof v === "bigint" ? BigInt(i) : i;
      else continue;
      if (v !== want)
        throw this.error(
          "header",
          `sub-request ${i}: fuse_in_header.${field} is ${String(v)}; the rule ${JSON.stringify(rule)} gives ${String(want)}`,
          i,
          at,
        );
    }
  }

  /**
   * result_size as the kernel computes it (`resultSize`): the sum of the expected out args of
   * the ops. Exact when every op's reply has a fixed size; at least the fixed part when an op's
   * reply is variable (its size is the caller's) or the op is one the table does not size (0).
   */
  private checkResultSize(value: number, requests: readonly AnyRequest[], o: MessageOptions): void {
    let least = 0;
    let open = false;
    for (const sub of requests) {
      const spec = sub.op === "unknown" ? undefined : this.b.ops.get(sub.opcode);
      if (!spec || spec.variable !== null) {
        open = true;
        // An xattr op expects the size struct for 0 bytes, else the bytes asked: at least 1. A
        // data reply expects its fixed parts (e.g. cuse_init_out) plus the bytes asked.
        if (spec?.variable === "xattr") least += 1;
        else if (spec) least += this.expectedOutSize(spec, 0, o);
        continue;
      }
      least += this.expectedOutSize(spec, 0, o);
    }
    if (this.rules.resultSize?.includesOutHeaders) least += requests.length * this.outHeaderSize;
    if (open ? value < least : value !== least)
      throw this.error(
        "result-size",
        `result_size is ${value}; the ops' expected out args make ${open ? "at least " : ""}${least}`,
      );
  }

  /** The kernel's pre-send checks and allow-list, applied to what a server receives. */
  private checkSubRequest(sub: AnyRequest, i: number, at: number): void {
    const r = this.rules;
    const checks = r.subRequestChecks;
    const name = this.b.opcodeNames.get(sub.opcode) ?? `opcode ${sub.opcode}`;
    if (checks.rejectNestedCompound && sub.opcode === this.b.opcode)
      throw this.error(
        "nested-compound",
        `sub-request ${i} is a compound, which this revision's kernel refuses`,
        i,
        at,
      );
    if (checks.rejectOpcodeZero && sub.opcode === 0)
      throw this.error(
        "opcode-zero",
        `sub-request ${i} has opcode 0, which this revision's kernel refuses`,
        i,
        at,
      );
    if (checks.rejectNodeidZero && sub.header.nodeid === 0n)
      throw this.error(
        "nodeid-zero",
        `sub-request ${i} (${name}) has nodeid 0, which this revision's kernel refuses`,
        i,
        at,
      );
    if (checks.rejectInPages && this.b.inPages.has(sub.opcode))
      throw this.error(
        "in-pages",
        `sub-request ${i} (${name}) carries a page payload, which this revision's kernel never puts in a compound`,
        i,
        at,
      );
    if (r.allowedOpcodes !== null && !r.allowedOpcodes.includes(name))
      throw this.error(
        "not-allowed",
        `sub-request ${i} (${name}) is not one of the opcodes allowed in a compound`,
        i,
        at,
      );
  }

  encodeReply(
    unique: bigint,
    entries: readonly CompoundReplyEntryBase[],
    o: MessageOptions,
  ): Uint8Array {
    const chunks: Uint8Array[] = [];
    let at = 0;
    const min = this.rules.replyChecks.minOpLen;
    for (let i = 0; i < entries.length; i++) {
      const e = entries[i]!;
      const bytes = this.b.messages.encodeReply(
        e.unique ?? 0n,
        e.reply as never,
        { ...o, opcode: e.opcode } as never,
      );
      // Last, such a payload is left unread (the walk ends there); before another sub-reply,
      // the kernel would read that one inside it.
      if (bytes.length > min && i < entries.length - 1 && this.pagePayloadDropped(e.opcode)) {
        const name = this.b.opcodeNames.get(e.opcode) ?? `opcode ${e.opcode}`;
        throw this.error(
          "op-data",
          `sub-reply ${i} (${name}) carries ${bytes.length - min} bytes bound for pages, which this revision's kernel does not copy out of a compound: it would read sub-reply ${i + 1} inside them (answer the op with an error)`,
          i,
          at,
        );
      }
      const prefix = this.b.subReplyPrefix ? new Uint8Array(this.replyPrefixSize) : null;
      if (prefix) this.b.subReplyPrefix!.encode(this.b.subReplyPrefix!.zero() as never, prefix, 0);
      // The kernel's step past a sub-reply with out args, when it does not follow len.
      const stepped =
        this.rules.replyChecks.advance !== "len" && e.outSize !== undefined && bytes.length > min
          ? Math.max(bytes.length, min + e.outSize)
          : bytes.length;
      const size = (prefix?.length ?? 0) + stepped;
      const padded = alignUp(at + size, this.rules.alignment.subReplies) - at;
      const written = (prefix?.length ?? 0) + bytes.length;
      if (prefix) chunks.push(prefix);
      chunks.push(bytes);
      if (padded > written) chunks.push(new Uint8Array(padded - written));
      at += padded;
    }
    const compoundOut = this.b.compoundOut.codec.zero();
    if (this.#countOut !== null) setMember(compoundOut, this.#countOut, entries.length);
    return this.b.messages.encodeReply(
      unique,
      {
        [this.b.compoundOut.field]: compoundOut,
        [this.b.compoundOut.dataField]: concat(chunks),
      } as never,
      { ...o, opcode: this.b.opcode } as never,
    );
  }

  /**
   * Runs a decoded compound's ops in order through `run`, as a server that honours this
   * revision's dependency rules must: a dependent of an invalid reference or of a failed
   * producer fails without running (`byRule`), other dependents get the producer's result
   * threaded in. Every op gets a result (the server policies of every revision so far).
   */
  async runCompound(
    compound: DecodedCompoundBase,
    run: (
      request: AnyRequest,
      index: number,
    ) => Promise<{ readonly error: number; readonly reply: unknown }>,
  ): Promise<SeparateResult[]> {
    const results: SeparateResult[] = [];
    const done: { request: AnyRequest; error: number; reply: unknown }[] = [];
    for (let i = 0; i < compound.requests.length; i++) {
      const resolved = this.resolveDependency(
        i,
        compound.requests[i]!,
        compound.dependsOn[i] ?? null,
        done,
      );
      if ("error" in resolved) {
        done.push({
          request: compound.requests[i]!,
          error: resolved.error,
          reply: null,
        });
        results.push({
          index: i,
          skipped: false,
          request: compound.requests[i]!,
          error: resolved.error,
          reply: null,
          byRule: true,
        });
        continue;
      }
      const out = await run(resolved.request, i);
      done.push({
        request: resolved.request,
        error: out.error,
        reply: out.reply,
      });
      results.push({
        index: i,
        skipped: false,
        request: resolved.request,
        error: out.error,
        reply: out.reply,
        byRule: false,
      });
    }
    return results;
  }

  // ---- the kernel's fallback

  /** What declining with `errno` (positive, by name) makes this revision's kernel do, or null where it is not a decline. */
  declineEffect(errno: string): DeclineChoice | null {
    return (
      this.rules.decline.find((d) => d.errno === errno) ??
      this.rules.decline.find((d) => d.errno === "any") ??
      null
    );
  }

  kernelFallsBack(
    flags: readonly string[],
    outcome: number | "bad-reply",
    errnoName: (errno: number) => string | undefined = defaultErrnoName,
  ): boolean {
    const f = this.rules.fallback;
    if (!f.kernelSplits || f.trigger === null) return false;
    if (f.suppressedBy !== null && flags.includes(f.suppressedBy)) return false;
    if (f.trigger === "any-failure") return outcome === "bad-reply" || outcome < 0;
    if (outcome === "bad-reply" || outcome >= 0) return false;
    const effect = this.declineEffect(errnoName(-outcome) ?? "")?.effect;
    return effect === "split" || effect === "disable-and-split";
  }

  checkSplits(compound: DecodedCompoundBase): void {
    const f = this.rules.fallback;
    if (!f.kernelSplits) {
      const caller =
        f.callerFallback !== null
          ? ` (callers fall back by themselves: ${f.callerFallback} on ${f.callerFallbackErrno ?? "an error"})`
          : "";
      throw this.error(
        "no-fallback",
        `this revision's kernel never splits a compound into separate requests${caller}`,
      );
    }
    if (f.suppressedBy !== null && compound.flags.includes(f.suppressedBy))
      throw this.error(
        "fallback-suppressed",
        `${f.suppressedBy} is set: the kernel does not split this compound`,
      );
  }

  /** A sub-request as a separate request: a fresh unique and the compound's credentials. */
  separate(
    sub: AnyRequest,
    index: number,
    compound: DecodedCompoundBase,
    next: (index: number, u: bigint) => bigint,
  ): AnyRequest {
    const h = compound.header;
    return {
      ...sub,
      header: {
        ...sub.header,
        unique: next(index, h.unique),
        uid: h.uid,
        gid: h.gid,
        pid: h.pid,
      },
    };
  }

  separateRequests(compound: DecodedCompoundBase, opts: SeparateOptions): SeparateRequest[] {
    this.checkSplits(compound);
    const { nextUnique, ...message } = opts;
    const o = this.messageOptions(message);
    const next = nextUnique ?? defaultNextUnique;
    return compound.requests.map((sub, index) => {
      const request = this.separate(sub, index, compound, next);
      return {
        index,
        request,
        bytes: this.b.messages.encodeRequest(request as never, o as never),
      };
    });
  }

  /**
   * The kernel's fallback: each op sent as its own request through `send`, in order, with the
   * dependency rules applied (a dependent's nodeid threaded from its producer's reply, or the
   * op failed by rule), and the revision's stop rule after a failing op.
   */
  async runSeparately(
    compound: DecodedCompoundBase,
    send: (request: AnyRequest, bytes: Uint8Array) => Uint8Array | Promise<Uint8Array>,
    opts: SeparateOptions,
  ): Promise<SeparateResult[]> {
    this.checkSplits(compound);
    const { nextUnique, ...message } = opts;
    const o = this.messageOptions(message);
    const next = nextUnique ?? defaultNextUnique;
    const f = this.rules.fallback;
    const rule = this.rules.onOpError.fallback;
    const goOn =
      rule === "continue" ||
      (rule === "stop-unless-continue-flag" &&
        f.stopUnless !== null &&
        compound.flags.includes(f.stopUnless));
    const results: SeparateResult[] = [];
    const done: { request: AnyRequest; error: number; reply: unknown }[] = [];
    let stopped = false;
    for (let index = 0; index < compound.requests.length; index++) {
      const sub = this.separate(compound.requests[index]!, index, compound, next);
      if (stopped) {
        results.push({ index, skipped: true, request: sub });
        done.push({ request: sub, error: 0, reply: null });
        continue;
      }
      const resolved = this.resolveDependency(index, sub, compound.dependsOn[index] ?? null, done);
      if ("error" in resolved) {
        results.push({
          index,
          skipped: false,
          request: sub,
          error: resolved.error,
          reply: null,
          byRule: true,
        });
        done.push({ request: sub, error: resolved.error, reply: null });
        if (!goOn) stopped = true;
        continue;
      }
      const request = resolved.request;
      const answer = await send(
        request,
        this.b.messages.encodeRequest(request as never, o as never),
      );
      if (this.b.noReply.has(request.opcode)) {
        results.push({
          index,
          skipped: false,
          request,
          error: 0,
          reply: null,
          byRule: false,
        });
        done.push({ request, error: 0, reply: null });
        continue;
      }
      let error: number;
      let reply: unknown = null;
      if (request.op === "unknown" || !this.b.ops.has(request.opcode)) {
        const h = this.b.outHeader.decode(answer, 0, o) as unknown as OutHeader;
        error = h.error;
        if (error === 0) reply = answer.subarray(this.outHeaderSize);
      } else {
        const d = this.b.messages.decodeReply(request.opcode as never, answer, o as never);
        const body = d.reply as Record<string, unknown>;
        error = "error" in body ? (body["error"] as number) : 0;
        if (error === 0) reply = d.reply;
      }
      results.push({
        index,
        skipped: false,
        request,
        error,
        reply,
        byRule: false,
      });
      done.push({ request, error, reply });
      if (error !== 0 && !goOn) stopped = true;
    }
    return results;
  }
}

function defaultNextUnique(index: number, u: bigint): bigint {
  return u + 2n * BigInt(index + 1);
}

/** Linux errno values of the names the rules use. */
const ERRNO: { readonly [name: string]: number } = {
  EINVAL: 22,
  ENOSYS: 38,
  EOPNOTSUPP: 95,
  EIO: 5,
};

/** The value of an errno name of the rules (Linux numbering). */
export function errnoValue(name: string): number {
  const v = ERRNO[name];
  if (v === undefined) throw new Error(`errno ${name} is not known to the compound engine`);
  return v;
}

function defaultErrnoName(errno: number): string | undefined {
  return Object.keys(ERRNO).find((k) => ERRNO[k] === errno);
}

/** The largest size hint a new builder starts at (`CompoundEngine.sizeHint`): a bigger compound does not make every later builder allocate as much. */
const MAX_SIZE_HINT = 65536;

/** The members of `CompoundBuilderOptions` that are the builder's own, not message options. */
const BUILDER_OPTIONS: ReadonlySet<string> = new Set([
  "maxPages",
  "pageSize",
  "capacity",
  "nextUnique",
  "allowInvalidDependencies",
]);

/** The members of `parseCompoundReply`'s options that are its own, not message options. */
export const PARSE_OPTIONS: ReadonlySet<string> = new Set(["ops", "capacity"]);

/** The builder's state, shared by every revision's typed CompoundBuilder. */
export class CompoundBuilderCore {
  readonly #engine: CompoundEngine;
  readonly #opts: MessageOptions;
  readonly #le: boolean;
  readonly #capacity: number | null;
  readonly #allowInvalid: boolean;
  readonly #limits: EncodeLimits;
  /** Per opcode, the in-place size of its fixed parts (shared by builders of the same sizes). */
  readonly #layout: OpcodeTable<OpLayout>;
  /**
   * The compound as far as it is written: room for its head (written by encode), then each
   * sub-request, written when its op was added. These bytes are the builder's record of its
   * ops: it keeps no object per op. Null before the first op, and once encode handed them out.
   */
  #bytes: Uint8Array | null = null;
  #view: DataView | null = null;
  /**
   * The bytes encode handed out, when they were the builder's own (exactly the compound's size):
   * the builder reads its ops from them, and copies them before it writes again.
   */
  #handedOut: Uint8Array | null = null;
  /** Where the next sub-request goes: the compound's length so far. */
  #end: number;
  #count = 0;
  /** The ops' expected out-arg bytes, summed (the reply budget and result size start from it). */
  #outSum = 0;
  /** Per op index, the kind of an op that has its own (variable-size reply, raw bytes); the others' is their opcode's. */
  #ownKinds: Map<number, OpKind> | null = null;
  /** Per op index, the nodeid and dependency of an op whose bytes do not hold them as given. */
  #given: Map<number, { readonly nodeid: bigint; readonly dependsOn: number | null }> | null = null;
  #flags = 0;
  /** The uniques of the last encode (null: the op indexes); undefined until then, or after an add. */
  #uniques: readonly bigint[] | null | undefined = undefined;
  /** The op being added: one object, filled per op. */
  readonly #op: SubRequestArgs;
  /** Whether an op's bytes hold its nodeid as given (`CompoundEngine.nodeidWritten`). */
  readonly #nodeidWritten: boolean;

  constructor(engine: CompoundEngine, opts: CompoundBuilderOptions = {}) {
    const { maxPages, pageSize, capacity, nextUnique, allowInvalidDependencies } = opts;
    this.#engine = engine;
    this.#opts = engine.messageOptionsOf(opts, BUILDER_OPTIONS);
    this.#le = littleEndian(this.#opts);
    this.#capacity = capacity ?? null;
    this.#allowInvalid = allowInvalidDependencies ?? false;
    this.#limits = {
      maxPages: maxPages ?? 32,
      pageSize: pageSize ?? 4096,
      nextUnique: nextUnique ?? defaultNextUnique,
    };
    if (!Number.isInteger(this.#limits.maxPages) || this.#limits.maxPages < 1)
      throw engine.error("value", `maxPages must be a positive integer, got ${String(maxPages)}`);
    if (!Number.isInteger(this.#limits.pageSize) || this.#limits.pageSize < 1)
      throw engine.error("value", `pageSize must be a positive integer, got ${String(pageSize)}`);
    this.#layout = engine.requestLayout(this.#opts);
    this.#end = engine.headSize;
    this.#nodeidWritten = engine.nodeidWritten;
    this.#op = {
      kind: null as unknown as OpKind,
      index: 0,
      nodeid: 0n,
      a0: undefined,
      a1: undefined,
      a2: undefined,
      body: null,
      dependsOn: null,
    };
  }

  /**
   * Writes the op in `#op` after the ops so far: in place when `size` (its in-place size,
   * `inPlaceSize`) is not -1 and the writer takes its values, else as encodeRequest writes it.
   * Nothing is added when that throws.
   *
   * @throws the revision's `FuseMessageError` (or a codec's error) for a value encodeRequest refuses.
   */
  #append(size: number, ownKind: boolean): void {
    const e = this.#engine;
    const op = this.#op;
    const at = this.#end;
    const index = this.#count;
    op.index = index;
    let end = -1;
    if (size >= 0) {
      end = e.subEnd(at, size);
      const bytes = this.#room(end);
      try {
        e.writeSub(bytes, this.#view!, at, op, size, this.#opts, this.#le);
      } catch {
        // A value the in-place writer refuses: encodeRequest meets it below, and throws the
        // error the caller has always had from it (or writes what it takes).
        bytes.fill(0, at, end);
        end = -1;
      }
    }
    if (end < 0) {
      let sub: Uint8Array;
      try {
        sub = e.encodeSub(op, this.#opts);
      } catch (err) {
        op.a0 = op.a1 = op.a2 = op.body = null;
        throw err;
      }
      end = e.subEnd(at, sub.length - e.requestPrefixSize);
      this.#room(end).set(sub, at);
    }
    // The builder keeps none of the caller's values.
    op.a0 = op.a1 = op.a2 = op.body = null;
    const kind = op.kind;
    if (ownKind) (this.#ownKinds ??= new Map()).set(index, kind);
    const dependsOn = op.dependsOn;
    if (
      !this.#nodeidWritten ||
      (dependsOn !== null && !e.dependencyFits(dependsOn, this.#bytes!, this.#view!, at))
    )
      (this.#given ??= new Map()).set(index, { nodeid: op.nodeid, dependsOn });
    this.#count = index + 1;
    this.#end = end;
    this.#outSum += kind.outSize;
    this.#uniques = undefined;
  }

  /** The builder's own bytes with room for `end` (`#grow` when it has none, or too few). */
  #room(end: number): Uint8Array {
    const bytes = this.#bytes;
    return bytes !== null && end <= bytes.length ? bytes : this.#grow(end);
  }

  /**
   * The builder's bytes with room for `end`, the bytes so far kept. A new builder starts at the
   * size of the engine's last compound (up to 64 KiB), so one of the same ops allocates once.
   */
  #grow(end: number): Uint8Array {
    const own = this.#bytes;
    const old = own ?? this.#handedOutBytes();
    const hint = this.#engine.sizeHint <= MAX_SIZE_HINT ? this.#engine.sizeHint : 0;
    // A builder encoded again gets the same size back, so that encode can hand it out again.
    const size = Math.max(
      end,
      old === null ? hint || 256 : own !== null ? 2 * old.length : old.length,
    );
    const bytes = new Uint8Array(size);
    if (old !== null) bytes.set(old.subarray(0, this.#end));
    this.#bytes = bytes;
    this.#view = new DataView(bytes.buffer);
    this.#handedOut = null;
    return bytes;
  }

  /** The bytes encode handed out, if it did; kind `value` when they were transferred since. */
  #handedOutBytes(): Uint8Array | null {
    const out = this.#handedOut;
    if (out !== null && out.length !== this.#end)
      throw this.#engine.error(
        "value",
        "the bytes this builder's encode returned were transferred (detached); the builder reads its ops from them",
      );
    return out;
  }

  /** The kind of an op of this layout: its opcode's (a fixed-size reply), else its own, with `outSize` its requested bytes. */
  #kindOf(layout: OpLayout, outSize: number): OpKind {
    const spec = layout.spec;
    return (
      layout.kind ?? {
        opcode: spec.opcode,
        spec,
        layout,
        outSize: this.#engine.expectedOutSize(spec, outSize, this.#opts),
        raw: false,
        requested: spec.variable !== null ? outSize : null,
      }
    );
  }

  /**
   * Adds a sub-request of a typed method: the op's opcode, nodeid, its request parts in the
   * order of its table entry (`CompoundOpSpec.parts`, at most {@link MAX_POSITIONAL_PARTS}),
   * the outSize of a variable-size reply, and its dependency. Its bytes are written now: the
   * builder reads the arguments here and keeps none of them.
   *
   * @throws {CompoundError} when this revision refuses the op; the revision's `FuseMessageError`
   *   for a value its codecs refuse (nothing added).
   */
  protected addArgs(
    opcode: number,
    nodeid: bigint,
    a0: unknown,
    a1: unknown,
    a2: unknown,
    outSize: unknown,
    dependsOn: number | undefined,
  ): void {
    const e = this.#engine;
    // One lookup per op: the layout remembers the op's table entry.
    const layout =
      this.#layout.get(opcode) ?? e.opLayout(this.#layout, e.b.ops.get(opcode)!, this.#opts);
    const spec = layout.spec;
    const n = spec.variable !== null ? outSize : 0;
    if (typeof n !== "number" || !Number.isInteger(n) || n < 0) {
      throw e.error(
        "value",
        `${spec.op} needs outSize, a non-negative integer (bytes its reply may take)`,
        this.#count,
      );
    }
    const kind = this.#kindOf(layout, n);
    const dep = dependsOn ?? null;
    e.checkOp(
      this.#count,
      spec.opcode,
      nodeid,
      dep,
      spec.op,
      this.#capacity,
      this.#allowInvalid,
      layout.admitted,
    );
    const op = this.#op;
    op.kind = kind;
    op.nodeid = nodeid;
    op.a0 = a0;
    op.a1 = a1;
    op.a2 = a2;
    op.dependsOn = dep;
    this.#append(e.inPlaceSize(layout, a0, a1, a2), kind !== layout.kind);
  }

  /**
   * Adds a sub-request given as an object (`{ op: "FUSE_OPEN", nodeid, open_in, dependsOn? }`),
   * as the typed methods do.
   *
   * @throws {CompoundError} when this revision refuses the op; the revision's `FuseMessageError`
   *   for a value its codecs refuse (nothing added).
   */
  protected addOp(sub: {
    readonly op: string;
    readonly nodeid: bigint;
    readonly dependsOn?: number | undefined;
    readonly [part: string]: unknown;
  }): void {
    const e = this.#engine;
    const spec = e.spec(sub.op);
    if (!spec)
      throw e.error(
        "not-allowed",
        `${String(sub.op)} may not appear in a compound of this revision`,
        this.#count,
      );
    const { nodeid, dependsOn, ...rest } = sub;
    const n = spec.variable !== null ? rest["outSize"] : 0;
    if (typeof n !== "number" || !Number.isInteger(n) || n < 0) {
      throw e.error(
        "value",
        `${spec.op} needs outSize, a non-negative integer (bytes its reply may take)`,
        this.#count,
      );
    }
    const body: Record<string, unknown> & { op: string } = {
      ...rest,
      op: spec.op,
    };
    delete body["outSize"];
    // In place only when the object holds nothing but the op's parts (encodeRequest reads
    // anything else it is given, e.g. extensions).
    let plain = spec.parts.length <= MAX_POSITIONAL_PARTS;
    for (const k in body) if (k !== "op" && !spec.parts.some((p) => p.field === k)) plain = false;
    const a = spec.parts.map((p) => body[p.field]);
    const layout = e.opLayout(this.#layout, spec, this.#opts);
    const kind = this.#kindOf(layout, n);
    const dep = dependsOn ?? null;
    e.checkOp(this.#count, spec.opcode, nodeid, dep, spec.op, this.#capacity, this.#allowInvalid);
    const op = this.#op;
    op.kind = kind;
    op.nodeid = nodeid;
    op.a0 = a[0];
    op.a1 = a[1];
    op.a2 = a[2];
    op.body = body;
    op.dependsOn = dep;
    this.#append(plain ? e.inPlaceSize(layout, a[0], a[1], a[2]) : -1, kind !== layout.kind);
  }

  /**
   * Adds a sub-request as raw bytes: `body` goes after its fuse_in_header unchanged, and
   * `outSize` is the expected size of its out arguments. For opcodes without a method
   * (including ones this revision refuses, to see the refusal).
   *
   * @throws {CompoundError} when this revision refuses the op.
   */
  protected addRawOp(
    opcode: number,
    nodeid: bigint,
    body: Uint8Array,
    outSize: number,
    dependsOn: number | undefined,
  ): void {
    const e = this.#engine;
    if (!Number.isInteger(opcode) || opcode < 0 || opcode > 0xffffffff)
      throw e.error("value", `opcode must be a 32-bit unsigned integer, got ${opcode}`);
    if (!Number.isInteger(outSize) || outSize < 0)
      throw e.error("value", `outSize must be a non-negative integer, got ${outSize}`);
    const size =
      body instanceof Uint8Array && e.inPlaceRaw && e.inHeaderSize + body.length <= 0xffffffff
        ? e.inHeaderSize + body.length
        : -1;
    const dep = dependsOn ?? null;
    e.checkOp(
      this.#count,
      opcode,
      nodeid,
      dep,
      e.b.opcodeNames.get(opcode) ?? null,
      this.#capacity,
      this.#allowInvalid,
    );
    const op = this.#op;
    op.kind = { opcode, spec: null, layout: null, outSize, raw: true, requested: null };
    op.nodeid = nodeid;
    op.a0 = op.a1 = op.a2 = undefined;
    op.body = body;
    op.dependsOn = dep;
    this.#append(size, true);
  }

  protected setFlags(names: readonly string[]): void {
    this.#flags = this.#engine.flagBits(names);
  }

  /**
   * The ops added so far, in order: opcode, expected out-arg size, nodeid, dependency, and the
   * unique once encoded. Read back from the builder's bytes (and the kinds of ops that have
   * their own).
   */
  protected opRefs(): CompoundOpRef[] {
    const e = this.#engine;
    const n = this.#count;
    const refs: CompoundOpRef[] = [];
    const bytes = this.#bytes ?? this.#handedOutBytes();
    if (bytes === null) return refs;
    const view = this.#view ?? new DataView(bytes.buffer, bytes.byteOffset, bytes.length);
    const uniques = this.#uniques;
    let at = e.headSize;
    for (let i = 0; i < n; i++) {
      const sub = at + e.requestPrefixSize;
      const written = e.headerAt(bytes, view, sub, this.#opts, this.#le);
      const kind = this.#ownKinds?.get(i) ?? this.#layout.get(written.opcode)!.kind!;
      const given = this.#given?.get(i);
      const dependsOn = given ? given.dependsOn : e.dependencyAt(bytes, view, at);
      refs.push({
        opcode: kind.opcode,
        outSize: kind.outSize,
        nodeid: given ? given.nodeid : written.nodeid,
        ...(kind.raw ? { raw: true } : {}),
        ...(kind.requested !== null ? { requested: kind.requested } : {}),
        ...(dependsOn !== null ? { dependsOn } : {}),
        ...(uniques !== undefined ? { unique: uniques?.[i] ?? indexBigInt(i) } : {}),
      });
      at = e.subEnd(at, written.len);
    }
    return refs;
  }

  /** Number of ops added. */
  get length(): number {
    return this.#count;
  }

  /** The result size member's value as the kernel computes it (`resultSize`); the sum of expected out args where the revision has none. */
  get resultSize(): number {
    return this.#engine.resultSize(this.#count, this.#outSum);
  }

  /** Most sub-reply bytes the kernel accepts: the expected out args plus one fuse_out_header per op. */
  get replyBudget(): number {
    return this.#engine.replyBudget(this.#count, this.#outSum);
  }

  /**
   * The whole compound request: fuse_in_header (the compound opcode, nodeid `outerNodeid`,
   * `header`'s unique and credentials), the compound struct (count, flags, result size by the
   * member roles), then each sub-request: its prefix (dependency by the model), its
   * fuse_in_header filled by the `subHeader` rules and its args, padded to `alignment.subRequests`.
   *
   * The bytes are the builder's own, handed out without a copy (a buffer of exactly the
   * compound's size, `byteOffset` 0). The builder reads its ops from them afterwards (`ops`), and
   * copies them before it adds or encodes again, so bytes returned earlier never change. Change
   * a copy (`bytes.slice()`), not them, while you go on using the builder.
   *
   * @throws {CompoundError} kind `empty` (where the kernel refuses an empty compound),
   *   `reply-budget`, or `value` when bytes an earlier encode returned were transferred since.
   */
  encode(header: CompoundHeader): Uint8Array {
    return this.#encode(header, null);
  }

  /** The compound's bytes, in a fresh buffer or in the caller's; the uniques kept for `ops`. */
  #encode(
    header: CompoundHeader,
    into: { readonly buf: Uint8Array; readonly offset: number } | null,
  ): Uint8Array {
    const e = this.#engine;
    const end = this.#end;
    const own = this.#room(end);
    const { bytes, uniques } = e.encodeWritten(
      own,
      this.#view!,
      this.#count,
      this.#outSum,
      end,
      this.#flags,
      header,
      this.#opts,
      this.#limits,
      into,
    );
    this.#uniques = uniques;
    e.sizeHint = end;
    if (bytes === own) {
      // Handed out (no copy): the builder reads them from now on, and copies them to write again.
      this.#handedOut = own;
      this.#bytes = null;
      this.#view = null;
    }
    return bytes;
  }

  /**
   * {@link encode} into the caller's buffer at `offset`, allocating no buffer of its own: the
   * same bytes, written over whatever was there. Returns the compound's length. Nothing is
   * written when the buffer has no room for it.
   *
   * @throws {CompoundError} kind `length` (with the bytes needed and available) when
   *   `buf.length - offset` is too small, and whatever {@link encode} throws.
   */
  encodeInto(header: CompoundHeader, buf: Uint8Array, offset = 0): number {
    return this.#encode(header, { buf, offset }).length;
  }
}
