/**
 * The message engine, the same for every revision: the error and name types, the message
 * descriptors (parts of a request, reply or notification) and the code that walks them, the
 * generic encoders and decoders of whole messages (the paths the straight-line per-opcode code
 * does not take), and the directory-record helpers. Each generated/<revision>/messages.ts
 * prints only what differs per revision: its types, its descriptor tables (a
 * {@link MessageProtocol}) and the straight-line code per opcode, which calls the pieces
 * exported here. `generate` copies this module into `<out>/_runtime/`, so all revisions of one
 * output share it (and `instanceof FuseMessageError` works across them).
 *
 * Only erasable TypeScript syntax, as runtime.ts.
 */
import { isLittleEndian, viewOfBuffer, type CodecOptions, type StructCodec } from "./runtime.js";

// The generated messages.ts imports the engine from here alone.
export { littleEndianOf } from "./runtime.js";

/**
 * What is wrong with a message:
 * - `length`: `len` in the header differs from the message's size, or the message is shorter
 *   than its header; encoding into a caller's buffer (`encodeReplyInto`), the message does not
 *   fit;
 * - `truncated`: a struct part (or a directory record) is shorter than the negotiated minor
 *   requires;
 * - `name`: a name has no terminating NUL, or (encoding) contains a NUL or is a string with a
 *   lone surrogate; a directory entry name is empty, longer than `DIRENT_NAME_MAX` bytes, or
 *   holds a `/` or a NUL (the kernel fails the whole listing with EIO for those);
 * - `padding`: the padding after a directory entry's name, or the implicit padding inside a
 *   struct part, is not zero (encoders write zeros);
 * - `count`: the records of an array part do not match the count field that gives their number;
 * - `extensions`: `total_extlen` claims more bytes than follow the header;
 * - `trailing`: bytes are left after the last part (or after an error reply's header);
 * - `unknown`: the opcode or notification code is not in this revision's protocol table;
 * - `no-reply`: a reply to an opcode that gets none;
 * - `value`: a value the protocol forbids: decoding, an error reply whose error is not in
 *   `REPLY_ERROR_MIN..-1` or a notification whose unique is not 0; encoding, a value it cannot
 *   write (a missing part, an error out of that range, extensions that are not whole 8-byte
 *   units, a bad minor, ...).
 */
export type FuseMessageErrorKind =
  | "length"
  | "truncated"
  | "name"
  | "padding"
  | "count"
  | "extensions"
  | "trailing"
  | "unknown"
  | "no-reply"
  | "value";

/** Where a {@link FuseMessageError} happened. */
export interface FuseMessageErrorAt {
  /** The opcode (requests, replies) or notification code; null when not known yet. */
  readonly opcode: number | null;
  /** The part (`write_in`, `name`, `header`, ...); null for the message as a whole. */
  readonly part: string | null;
  /** Byte offset in the message (encoders: where the part would start). */
  readonly offset: number;
  /** Bytes the part or message needs. */
  readonly needed: number;
  /** Bytes there were. */
  readonly available: number;
}

/** A message could not be decoded or encoded; `kind` says why, the rest says where. */
export class FuseMessageError extends Error {
  readonly kind: FuseMessageErrorKind;
  readonly opcode: number | null;
  readonly part: string | null;
  readonly offset: number;
  readonly needed: number;
  readonly available: number;

  constructor(kind: FuseMessageErrorKind, message: string, at: FuseMessageErrorAt) {
    super(message);
    this.name = "FuseMessageError";
    this.kind = kind;
    this.opcode = at.opcode;
    this.part = at.part;
    this.offset = at.offset;
    this.needed = at.needed;
    this.available = at.available;
  }
}

/** What every revision's `MessageOptions` has: the negotiated minor, and byte order. */
export interface MessageOptions extends CodecOptions {
  readonly minor: number;
}

/** The WHATWG text codecs (Node, browsers), typed here so the folder needs no DOM or Node types. */
interface TextCodecs {
  TextDecoder: new (
    label: string,
    opts: { fatal: boolean; ignoreBOM: boolean },
  ) => { decode(input: Uint8Array): string };
  TextEncoder: new () => {
    encode(input: string): Uint8Array;
    encodeInto(input: string, dest: Uint8Array): { read: number; written: number };
  };
}
const TEXT = globalThis as unknown as TextCodecs;
// ignoreBOM keeps a leading U+FEFF in the text: it is part of the name, not a byte-order mark.
const UTF8 = new TEXT.TextDecoder("utf-8", { fatal: true, ignoreBOM: true });
const UTF8_LOSSY = new TEXT.TextDecoder("utf-8", { fatal: false, ignoreBOM: true });
const UTF8_ENCODER = new TEXT.TextEncoder();

// ---------------------------------------------------------------------------
// Names

/**
 * A name as it travels: bytes. On Linux a file name is any bytes but NUL and `/`, a link target
 * or an xattr name any bytes but NUL; neither is text in any encoding. So decoders give every
 * name part (and directory entry name) as a FuseName holding the exact bytes, with `text` as a
 * convenience when those bytes are valid UTF-8 (most names). A name that is not UTF-8, such as
 * Latin-1 `caf\xe9`, has `text` undefined and round-trips byte for byte all the same.
 *
 * Encoders take a {@link FuseNameInput}: a string (written as UTF-8), bytes, or a FuseName.
 */
export class FuseName {
  /** The name's bytes, without the terminating NUL. */
  readonly bytes: Uint8Array;
  /** The bytes as text when they are valid UTF-8; undefined when they are not. */
  readonly text: string | undefined;

  /** Wraps `bytes` (not copied: use {@link FuseName.from} for a copy). */
  constructor(bytes: Uint8Array) {
    this.bytes = bytes;
    let text: string | undefined;
    try {
      text = UTF8.decode(bytes);
    } catch {
      text = undefined;
    }
    this.text = text;
  }

  /**
   * A FuseName from a string (its UTF-8 bytes), bytes (copied) or another FuseName (of any
   * revision: its bytes, copied).
   *
   * @throws {FuseMessageError} kind `name` for a string with a lone surrogate (it has no UTF-8
   *   form), kind `value` for anything else that is not a name.
   */
  static from(value: FuseNameInput): FuseName {
    return new FuseName(nameBytesOf(value, null).slice());
  }

  /** Whether `other` names the same bytes (a string compares by its UTF-8 bytes). */
  equals(other: FuseNameInput): boolean {
    const b = nameBytesOf(other, null);
    if (b.length !== this.bytes.length) return false;
    for (let i = 0; i < b.length; i++) if (b[i] !== this.bytes[i]) return false;
    return true;
  }

  /** The text, or for a name that is not UTF-8 the bytes with each bad sequence as U+FFFD (lossy: for messages, not keys). */
  toString(): string {
    return this.text ?? UTF8_LOSSY.decode(this.bytes);
  }

  /** JSON: the text, or `{ "hex": "..." }` for a name that is not UTF-8. */
  toJSON(): string | { hex: string } {
    if (this.text !== undefined) return this.text;
    let hex = "";
    for (const b of this.bytes) hex += b.toString(16).padStart(2, "0");
    return { hex };
  }
}

/** What encoders take for a name: a string (written as UTF-8), its bytes, or a {@link FuseName}. */
export type FuseNameInput = string | Uint8Array | FuseName;

/**
 * A message as encoders take it: `T` (a decoded request, reply, notification or directory
 * entry) with every {@link FuseName} property widened to {@link FuseNameInput}.
 */
export type EncodeInput<T> = {
  [K in keyof T]: [T[K]] extends [never] ? T[K] : T[K] extends FuseName ? FuseNameInput : T[K];
};

/** The bytes of a name given to an encoder; `ctx` null outside a message ({@link FuseName.from}). */
function nameBytesOf(
  value: unknown,
  ctx: { ctx: Ctx; field: string; at: number } | null,
): Uint8Array {
  const bad = (kind: FuseMessageErrorKind, detail: string): never => {
    if (ctx) return fail(ctx.ctx, kind, ctx.field, ctx.at, 0, 0, `${ctx.field} ${detail}`);
    throw new FuseMessageError(kind, `a name ${detail}`, {
      opcode: null,
      part: null,
      offset: 0,
      needed: 0,
      available: 0,
    });
  };
  if (typeof value === "string") {
    const bytes = UTF8_ENCODER.encode(value);
    // TextEncoder writes a lone surrogate as U+FFFD: a different name, so refuse it.
    if (UTF8.decode(bytes) !== value)
      return bad("name", "is not well-formed Unicode (a lone surrogate)");
    return bytes;
  }
  if (value instanceof Uint8Array) return value;
  // A FuseName, possibly another revision's class: its bytes.
  if (
    typeof value === "object" &&
    value !== null &&
    (value as { bytes?: unknown }).bytes instanceof Uint8Array
  ) {
    return (value as { bytes: Uint8Array }).bytes;
  }
  return bad("value", "must be a string, a Uint8Array or a FuseName");
}

// ---------------------------------------------------------------------------
// The engine: message descriptors (a revision prints one per opcode) walked part by part.

export interface SizeRule {
  readonly size: number;
  readonly minorBelow: number | null;
  readonly flag: string | null;
}

export interface StructPart {
  readonly kind: "struct";
  readonly field: string;
  readonly codec: StructCodec<unknown>;
  /** Shorter sizes and when they apply; the smallest that applies wins. */
  readonly sizes: readonly SizeRule[];
  /** Decoders take the size the message has (a negotiation struct ending its message). */
  readonly selfSized: boolean;
  /** Implicit padding (offset, size): encoders write zeros there, so decoders take nothing else. */
  readonly padding?: readonly (readonly [number, number])[];
}

export interface ArrayPart {
  readonly kind: "array";
  readonly field: string;
  readonly codec: StructCodec<unknown>;
  readonly countFrom: string;
  readonly countField: string;
}

export type Part =
  | StructPart
  | { readonly kind: "name" | "data"; readonly field: string }
  | ArrayPart;

export interface RequestSpec {
  readonly op: string;
  readonly parts: readonly Part[];
  readonly extensions: boolean;
}

export type ReplySpec =
  /** `answers`: the errors the kernel still takes as a bare header (e.g. -EAGAIN to an INTERRUPT). */
  | { readonly op: string; readonly kind: "none"; readonly answers: readonly number[] }
  | { readonly op: string; readonly kind: "empty" | "data" | "dirents" | "direntplus" }
  | { readonly op: string; readonly kind: "parts"; readonly parts: readonly Part[] }
  | { readonly op: string; readonly kind: "xattr"; readonly size: StructPart };

export interface NotifySpec {
  readonly name: string;
  readonly parts: readonly Part[];
}

export interface Ctx {
  /** Message description for error texts: `FUSE_WRITE request`. */
  readonly what: string;
  readonly opcode: number | null;
  /** A reply: a self-sized struct is at most its full size (the kernel refuses a longer reply). */
  readonly reply?: boolean;
}

const DATA_PARTS: readonly Part[] = [{ kind: "data", field: "data" }];

export function fail(
  ctx: Ctx,
  kind: FuseMessageErrorKind,
  part: string | null,
  offset: number,
  needed: number,
  available: number,
  detail: string,
): never {
  throw new FuseMessageError(kind, `${ctx.what}: ${detail}`, {
    opcode: ctx.opcode,
    part,
    offset,
    needed,
    available,
  });
}

/** A reply's or notification's fuse_out_header.len must be the message's length. */
function checkOutHeaderLen(ctx: Ctx, p: MessageProtocol, len: number, length: number): void {
  if (len !== length)
    fail(
      ctx,
      "length",
      "header",
      0,
      len,
      length,
      `${p.outHeader.struct}.len is ${len} but the message has ${length} bytes`,
    );
}

export function minorOk(minor: number): boolean {
  return Number.isInteger(minor) && minor >= 0;
}

export function checkMinor(ctx: Ctx, opts: MessageOptions): void {
  if (!minorOk(opts.minor)) {
    fail(
      ctx,
      "value",
      null,
      0,
      0,
      0,
      `minor must be a non-negative integer, got ${String(opts.minor)}`,
    );
  }
}

function flagSet(opts: MessageOptions, flag: string): boolean {
  return (opts as unknown as Record<string, unknown>)[flag] === true;
}

/** The size a struct part is sent with under `opts`. */
export function sentSize(part: StructPart, opts: MessageOptions): number {
  let size = part.codec.size;
  for (const r of part.sizes) {
    const applies =
      (r.minorBelow === null || opts.minor < r.minorBelow) &&
      (r.flag === null || !flagSet(opts, r.flag));
    if (applies && r.size < size) size = r.size;
  }
  return size;
}

/** A self-sized struct takes what is there: a listed size, or at least the full size. */
function selfSize(ctx: Ctx, part: StructPart, at: number, available: number): number {
  const full = part.codec.size;
  // A request may come from a newer kernel with a longer struct (its extra bytes are ignored);
  // a reply longer than the full size is one the kernel refuses.
  if (ctx.reply && available > full)
    return fail(
      ctx,
      "trailing",
      part.field,
      at + full,
      full,
      available,
      `${part.field} (${part.codec.struct}) is at most ${full} bytes; ${available} at offset ${at}`,
    );
  if (available >= full || part.sizes.some((r) => r.size === available)) return available;
  const forms = [...new Set([...part.sizes.map((r) => r.size), full])].sort((a, b) => a - b);
  const needed = forms.find((s) => s > available) ?? full;
  return fail(
    ctx,
    "truncated",
    part.field,
    at,
    needed,
    available,
    `${part.field} (${part.codec.struct}) is sent as ${forms.join(", ")} or more bytes; ${available} at offset ${at}`,
  );
}

/** The implicit padding of a struct part (within the `size` bytes sent) is zero, as encoders write it. */
export function checkPadding(
  ctx: Ctx,
  p: StructPart,
  bytes: Uint8Array,
  at: number,
  size: number,
): void {
  for (const [offset, length] of p.padding!) {
    for (let k = at + offset; k < at + Math.min(size, offset + length); k++) {
      if (bytes[k] !== 0)
        fail(
          ctx,
          "padding",
          p.field,
          k,
          0,
          1,
          `${p.field} (${p.codec.struct}) has a non-zero padding byte at offset ${k}`,
        );
    }
  }
}

/** Decodes the first `size` bytes of a struct; the fields past them are zero. */
export function decodePrefix(
  codec: StructCodec<unknown>,
  bytes: Uint8Array,
  at: number,
  size: number,
  opts: CodecOptions,
): unknown {
  if (size >= codec.size) return codec.decode(bytes, at, opts);
  const full = new Uint8Array(codec.size);
  full.set(bytes.subarray(at, at + size));
  return codec.decode(full, 0, opts);
}

function countOf(
  body: Record<string, unknown>,
  part: { countFrom: string; countField: string },
): number {
  const holder = body[part.countFrom];
  const v =
    typeof holder === "object" && holder !== null
      ? (holder as Record<string, unknown>)[part.countField]
      : undefined;
  return typeof v === "bigint" ? Number(v) : typeof v === "number" ? v : Number.NaN;
}

/** A name of `length` bytes at `at`: a copy, so it outlives the message buffer (which a server reuses). */
export function readName(bytes: Uint8Array, at: number, length: number): FuseName {
  return new FuseName(bytes.slice(at, at + length));
}

/** Decodes `parts` from `bytes[start, end)`; every byte must belong to a part. */
function readParts(
  ctx: Ctx,
  bytes: Uint8Array,
  start: number,
  end: number,
  parts: readonly Part[],
  opts: MessageOptions,
): Record<string, unknown> {
  const out: Record<string, unknown> = {};
  let at = start;
  for (let i = 0; i < parts.length; i++) {
    const p = parts[i]!;
    const available = end - at;
    switch (p.kind) {
      case "struct": {
        const size = partSize(ctx, p, at, available, p.selfSized && i === parts.length - 1, opts);
        if (p.padding) checkPadding(ctx, p, bytes, at, size);
        out[p.field] = decodePrefix(p.codec, bytes, at, size, opts);
        at += size;
        break;
      }
      case "name": {
        const nul = nameEnd(ctx, p.field, bytes, at, end);
        out[p.field] = readName(bytes, at, nul - at);
        at = nul + 1;
        break;
      }
      case "data":
        out[p.field] = bytes.subarray(at, end);
        at = end;
        break;
      case "array":
        out[p.field] = readArrayPart(ctx, p, bytes, at, end, countOf(out, p), opts);
        at = end;
        break;
    }
  }
  if (at !== end) trailingBytes(ctx, at, end);
  return out;
}

// Pieces of the engine the per-opcode straight-line code calls too (one place per rule).

export function truncatedStruct(
  ctx: Ctx,
  p: StructPart,
  at: number,
  size: number,
  available: number,
): never {
  return fail(
    ctx,
    "truncated",
    p.field,
    at,
    size,
    available,
    `${p.field} (${p.codec.struct}) needs ${size} bytes at offset ${at}, ${available} available`,
  );
}

/** The size struct part `p` has at `at` (self-sized: what the message has; else what `opts` implies); fails when it is not all there. */
export function partSize(
  ctx: Ctx,
  p: StructPart,
  at: number,
  available: number,
  selfSized: boolean,
  opts: MessageOptions,
): number {
  const size = selfSized ? selfSize(ctx, p, at, available) : sentSize(p, opts);
  if (available < size) truncatedStruct(ctx, p, at, size, available);
  return size;
}

/** Where the NUL ending the name at `at` is; fails when there is none before `end`. */
export function nameEnd(
  ctx: Ctx,
  field: string,
  bytes: Uint8Array,
  at: number,
  end: number,
): number {
  const nul = bytes.indexOf(0, at);
  if (nul < 0 || nul >= end) {
    const available = end - at;
    fail(
      ctx,
      "name",
      field,
      at,
      available + 1,
      available,
      `${field} at offset ${at} has no terminating NUL in the ${available} bytes left`,
    );
  }
  return nul;
}

/** `count` records of an array part filling `bytes[at, end)` exactly. */
export function readArrayPart(
  ctx: Ctx,
  p: ArrayPart,
  bytes: Uint8Array,
  at: number,
  end: number,
  count: number,
  opts: CodecOptions,
): unknown[] {
  const available = end - at;
  const needed = count * p.codec.size;
  if (needed !== available) {
    fail(
      ctx,
      "count",
      p.field,
      at,
      needed,
      available,
      `${p.countFrom}.${p.countField} is ${count}: ${p.field} needs ${needed} bytes at offset ${at}, ${available} left`,
    );
  }
  const list: unknown[] = [];
  for (let k = 0; k < count; k++) list.push(p.codec.decode(bytes, at + k * p.codec.size, opts));
  return list;
}

export function countValue(v: number | bigint): number {
  return typeof v === "bigint" ? Number(v) : v;
}

export function trailingBytes(ctx: Ctx, at: number, end: number): never {
  return fail(
    ctx,
    "trailing",
    null,
    at,
    0,
    end - at,
    `${end - at} bytes left after the last part at offset ${at}`,
  );
}

export function missingPart(ctx: Ctx, field: string, at: number): never {
  return fail(ctx, "value", field, at, 0, 0, `${field} is missing`);
}

export function notBytes(ctx: Ctx, field: string, at: number): never {
  return fail(ctx, "value", field, at, 0, 0, `${field} must be a Uint8Array`);
}

/** Writes the first `size` bytes of a struct (a compat size of an older minor) at `at` of `view`. */
export function writePrefix(
  codec: StructCodec<unknown>,
  value: unknown,
  view: DataView,
  at: number,
  size: number,
  opts: CodecOptions,
): void {
  const full = new Uint8Array(codec.size);
  codec.encode(value, full, 0, opts);
  new Uint8Array(view.buffer, view.byteOffset + at, size).set(full.subarray(0, size));
}

/**
 * Room for a message of `len` bytes at `offset` of `buf`: returns where it starts in
 * {@link roomView} (the view over all of `buf`'s buffer); fails (kind `length`) when it does not
 * fit. The last array's view and `byteOffset` are kept: a server writes its replies into one
 * buffer, and comparing the array itself spares the `buffer` and `byteOffset` getters (builtin
 * calls, a tenth of a small reply's time). The failure is a function of its own so that this
 * one stays small enough to be inlined.
 */
export function roomAt(ctx: Ctx, buf: Uint8Array, offset: number, len: number): number {
  if (!(offset >= 0 && offset + len <= buf.length && Number.isInteger(offset)))
    noRoom(ctx, buf, offset, len);
  if (buf !== lastArray) {
    lastView = viewOfBuffer(buf.buffer);
    lastBase = buf.byteOffset;
    lastArray = buf;
  }
  return lastBase + offset;
}

/** The view the last {@link roomAt} checked room in. */
export function roomView(): DataView {
  return lastView;
}

let lastArray: Uint8Array | null = null;
let lastView: DataView = new DataView(new ArrayBuffer(0));
let lastBase = 0;

function noRoom(ctx: Ctx, buf: Uint8Array, offset: number, len: number): never {
  const available = Number.isInteger(offset) && offset >= 0 ? Math.max(0, buf.length - offset) : 0;
  return fail(
    ctx,
    "length",
    null,
    offset,
    len,
    available,
    `the message needs ${len} bytes at offset ${offset} of the buffer, ${available} available`,
  );
}

/**
 * Whether a reply may go to a straight-line writer: an object under a valid minor. Whether it
 * is an error (`"error" in body`) each opcode's case asks itself: that check at one site shared
 * by every reply shape a server sends goes megamorphic (a hash lookup per reply), at the
 * opcode's own site it sees that opcode's shapes only.
 */
export function structReplyCandidate(body: Record<string, unknown>, opts: MessageOptions): boolean {
  return typeof body === "object" && body !== null && minorOk(opts.minor);
}

export function messageLength(ctx: Ctx, len: number): number {
  if (len > 0xffffffff)
    fail(
      ctx,
      "value",
      null,
      0,
      len,
      0xffffffff,
      `the message would be ${len} bytes; len is 32 bits`,
    );
  return len;
}

/** A name part: its bytes and the terminating NUL. */
function encodeName(ctx: Ctx, field: string, at: number, value: unknown): Uint8Array {
  const bytes = nameBytesOf(value, { ctx, field, at });
  if (bytes.includes(0)) fail(ctx, "name", field, at, 0, 0, `${field} contains a NUL byte`);
  const out = new Uint8Array(bytes.length + 1);
  out.set(bytes);
  return out;
}

/** Encodes `parts` of `body`; `start` is the offset the first one lands at (for errors). */
function writeParts(
  ctx: Ctx,
  body: Record<string, unknown>,
  parts: readonly Part[],
  opts: MessageOptions,
  start: number,
): Uint8Array[] {
  const chunks: Uint8Array[] = [];
  let at = start;
  for (const p of parts) {
    const v = body[p.field];
    let chunk: Uint8Array;
    switch (p.kind) {
      case "struct": {
        if (typeof v !== "object" || v === null)
          fail(ctx, "value", p.field, at, 0, 0, `${p.field} is missing`);
        const full = new Uint8Array(p.codec.size);
        p.codec.encode(v, full, 0, opts);
        chunk = full.subarray(0, sentSize(p, opts));
        break;
      }
      case "name":
        chunk = encodeName(ctx, p.field, at, v);
        break;
      case "data":
        if (!(v instanceof Uint8Array))
          fail(ctx, "value", p.field, at, 0, 0, `${p.field} must be a Uint8Array`);
        chunk = v;
        break;
      case "array": {
        if (!Array.isArray(v)) fail(ctx, "value", p.field, at, 0, 0, `${p.field} must be an array`);
        const count = countOf(body, p);
        const size = p.codec.size;
        if (count !== v.length) {
          fail(
            ctx,
            "count",
            p.field,
            at,
            count * size,
            v.length * size,
            `${p.countFrom}.${p.countField} is ${count} but ${p.field} has ${v.length} records`,
          );
        }
        chunk = new Uint8Array(v.length * size);
        for (let k = 0; k < v.length; k++) p.codec.encode(v[k], chunk, k * size, opts);
        break;
      }
    }
    chunks.push(chunk);
    at += chunk.length;
  }
  return chunks;
}

/** One buffer: a header of `headerSize` bytes written by `header(buf, len)`, then the chunks. */
function assemble(
  ctx: Ctx,
  headerSize: number,
  chunks: readonly Uint8Array[],
  header: (buf: Uint8Array, len: number) => void,
): Uint8Array {
  const len = chunksLength(ctx, headerSize, chunks);
  const out = new Uint8Array(len);
  header(out, len);
  copyChunks(out, headerSize, chunks);
  return out;
}

/**
 * A reply or notification: `fuse_out_header` (len, `error`, `unique`), then the chunks. The
 * header goes through the revision's straight-line writer on a view of its own: the codec's
 * encode would check the bounds again and enter the new buffer in viewOfBuffer's WeakMap (an
 * entry the GC then walks) for a buffer written once. Measured on a new list encoder's
 * 100-entry READDIR records copied through here: about 1.4x hand-written before, 1.2x after.
 */
function outMessage(
  p: MessageProtocol,
  ctx: Ctx,
  chunks: readonly Uint8Array[],
  error: number,
  unique: bigint,
  opts: CodecOptions | undefined,
): Uint8Array {
  const headerSize = p.outHeader.size;
  return assemble(ctx, headerSize, chunks, (buf, len) => {
    const view = new DataView(buf.buffer, buf.byteOffset, headerSize);
    p.writeOutHeader(view, 0, len, error, unique, isLittleEndian(opts));
  });
}

function chunksLength(ctx: Ctx, headerSize: number, chunks: readonly Uint8Array[]): number {
  let len = headerSize;
  for (const c of chunks) len += c.length;
  return messageLength(ctx, len);
}

function copyChunks(out: Uint8Array, at: number, chunks: readonly Uint8Array[]): void {
  for (const c of chunks) {
    out.set(c, at);
    at += c.length;
  }
}

function checkLength(ctx: Ctx, headerSize: number, bytes: Uint8Array, headerName: string): void {
  if (bytes.length < headerSize) {
    fail(
      ctx,
      "length",
      "header",
      0,
      headerSize,
      bytes.length,
      `${bytes.length} bytes, shorter than ${headerName} (${headerSize})`,
    );
  }
}

// ---------------------------------------------------------------------------
// Whole messages, by a revision's tables

/** The `fuse_in_header` members the engine reads and writes (the protocol table's vocabulary). */
export interface InHeaderFields {
  readonly len: number;
  readonly opcode: number;
  readonly total_extlen: number;
}

/** The `fuse_out_header` members the engine reads and writes. */
export interface OutHeaderFields {
  readonly len: number;
  readonly error: number;
  readonly unique: bigint;
}

/** A revision's protocol as its messages.ts prints it: header codecs and one descriptor per opcode and notification. */
export interface MessageProtocol {
  /** This revision's `FUSE_KERNEL_MINOR_VERSION`: the minor encoders use when none is given. */
  readonly defaultMinor: number;
  /** The most negative error a reply may carry (protocol table). */
  readonly replyErrorMin: number;
  readonly inHeader: StructCodec<InHeaderFields>;
  readonly outHeader: StructCodec<OutHeaderFields>;
  readonly requests: ReadonlyMap<number, RequestSpec>;
  readonly replies: ReadonlyMap<number, ReplySpec>;
  readonly notifications: ReadonlyMap<number, NotifySpec>;
  /** Writes `fuse_out_header` at `at` of `view` (no object, no allocation). */
  readonly writeOutHeader: OutHeaderWriter;
}

/** A revision's straight-line writer of `fuse_out_header` at `at` of `view`. */
export type OutHeaderWriter = (
  view: DataView,
  at: number,
  len: number,
  error: number,
  unique: bigint,
  le: boolean,
) => void;

/** A reply's options as the engine reads them: the request's opcode, and what sizes depend on. */
export interface ReplyOptions extends MessageOptions {
  readonly opcode: number;
}

/** An error reply: `fuse_out_header` only, `error` a negative errno (e.g. -2 for ENOENT) no smaller than REPLY_ERROR_MIN. */
export interface FuseErrorReply {
  error: number;
}

/** True for `{ error }`, the form every opcode's reply may take. */
export function isErrorReply(reply: object): reply is FuseErrorReply {
  return "error" in reply && typeof (reply as { error: unknown }).error === "number";
}

/** Opcodes the kernel expects no reply to (protocol table reply kind `none`). */
export function noReplyOpcodes(replies: ReadonlyMap<number, ReplySpec>): ReadonlySet<number> {
  return new Set([...replies].filter(([, spec]) => spec.kind === "none").map(([opcode]) => opcode));
}

/** The options encoders take, with the default minor filled in. */
function withMinor<O extends Partial<MessageOptions>>(
  p: MessageProtocol,
  opts: O,
): O & MessageOptions {
  return { ...opts, minor: opts.minor ?? p.defaultMinor };
}

const REQUEST_CTX: Ctx = { what: "request", opcode: null };

/** A request shorter than its header. */
export function requestTooShort(p: MessageProtocol, bytes: Uint8Array): never {
  checkLength(REQUEST_CTX, p.inHeader.size, bytes, p.inHeader.struct);
  return fail(
    REQUEST_CTX,
    "length",
    "header",
    0,
    p.inHeader.size,
    bytes.length,
    "shorter than its header",
  );
}

/** A request whose `len` is not its size. */
export function requestLengthError(
  p: MessageProtocol,
  header: InHeaderFields,
  length: number,
): never {
  const spec = p.requests.get(header.opcode);
  const ctx: Ctx = {
    what: spec ? `${spec.op} request` : `request with opcode ${header.opcode}`,
    opcode: header.opcode,
  };
  return fail(
    ctx,
    "length",
    "header",
    0,
    header.len,
    length,
    `${p.inHeader.struct}.len is ${header.len} but the message has ${length} bytes`,
  );
}

/** Where a request's parts end: before the `total_extlen * 8` bytes of extensions. */
export function extensionsStart(
  ctx: Ctx,
  header: InHeaderFields,
  length: number,
  headerSize: number,
): number {
  const ext = header.total_extlen * 8;
  if (ext > length - headerSize) {
    fail(
      ctx,
      "extensions",
      "extensions",
      headerSize,
      ext,
      length - headerSize,
      `total_extlen ${header.total_extlen} means ${ext} bytes of extensions, but only ${length - headerSize} bytes follow the header`,
    );
  }
  return length - ext;
}

/** A request as {@link encodeRequestWith} reads it (the revision's `FuseRequestInput`). */
interface RequestInput {
  readonly op: string;
  readonly opcode: number;
  readonly header: InHeaderFields;
}

/** The revision's `encodeRequest`. */
export function encodeRequestWith(
  p: MessageProtocol,
  req: RequestInput,
  opts: Partial<MessageOptions>,
): Uint8Array {
  const o = withMinor(p, opts);
  const headerSize = p.inHeader.size;
  const body = req as unknown as Record<string, unknown>;
  if (req.op === "unknown") {
    const ctx: Ctx = { what: `request with opcode ${req.opcode}`, opcode: req.opcode };
    const raw = body["body"];
    if (!(raw instanceof Uint8Array))
      fail(ctx, "value", "body", headerSize, 0, 0, "body must be a Uint8Array");
    return assemble(ctx, headerSize, [raw], (buf, len) => {
      p.inHeader.encode({ ...req.header, len, opcode: req.opcode }, buf, 0, o);
    });
  }
  const spec = p.requests.get(req.opcode);
  const ctx: Ctx = { what: `${req.op} request`, opcode: req.opcode };
  if (!spec || spec.op !== req.op) {
    return fail(
      ctx,
      "unknown",
      null,
      0,
      0,
      0,
      `opcode ${req.opcode} is not ${req.op} in this revision`,
    );
  }
  checkMinor(ctx, o);
  const chunks = writeParts(ctx, body, spec.parts, o, headerSize);
  let extlen = req.header.total_extlen;
  if (spec.extensions) {
    const ext = body["extensions"] ?? new Uint8Array(0);
    if (!(ext instanceof Uint8Array) || ext.length % 8 !== 0 || ext.length / 8 > 0xffff) {
      const n = ext instanceof Uint8Array ? ext.length : 0;
      return fail(
        ctx,
        "value",
        "extensions",
        0,
        0,
        n,
        `extensions must be whole 8-byte units (at most 65535), got ${n} bytes`,
      );
    }
    chunks.push(ext);
    extlen = ext.length / 8;
  }
  return assemble(ctx, headerSize, chunks, (buf, len) => {
    p.inHeader.encode({ ...req.header, len, opcode: req.opcode, total_extlen: extlen }, buf, 0, o);
  });
}

function checkedError(p: MessageProtocol, ctx: Ctx, error: unknown): number {
  const min = p.replyErrorMin;
  if (typeof error !== "number" || !Number.isInteger(error) || error >= 0 || error < min) {
    return fail(
      ctx,
      "value",
      "error",
      4,
      0,
      0,
      `error must be a negative errno from -1 to ${min} (e.g. -2 for ENOENT), got ${String(error)}`,
    );
  }
  return error;
}

function errorHeader(
  p: MessageProtocol,
  ctx: Ctx,
  unique: bigint,
  error: unknown,
  opts: CodecOptions | undefined,
): Uint8Array {
  return outMessage(p, ctx, [], checkedError(p, ctx, error), unique, opts);
}

function replyParts(spec: ReplySpec, xattr: "size" | "data"): readonly Part[] {
  switch (spec.kind) {
    case "none":
    case "empty":
      return [];
    case "parts":
      return spec.parts;
    case "xattr":
      return xattr === "size" ? [spec.size] : DATA_PARTS;
    default:
      return DATA_PARTS;
  }
}

function replyCtx(p: MessageProtocol, opcode: number): Ctx {
  const spec = p.replies.get(opcode);
  return { what: spec ? `${spec.op} reply` : `reply to opcode ${opcode}`, opcode };
}

/**
 * The checks every reply gets: the opcode's spec for a reply with arguments, or the error of
 * an error reply (in range, and one the opcode takes).
 */
function checkReply(
  p: MessageProtocol,
  body: Record<string, unknown>,
  opts: ReplyOptions,
): ReplySpec | number {
  const spec = p.replies.get(opts.opcode);
  if (!spec)
    return fail(
      replyCtx(p, opts.opcode),
      "unknown",
      null,
      0,
      0,
      0,
      `opcode ${opts.opcode} is not in this revision's protocol table`,
    );
  if (spec.kind === "none") {
    // Only the error answers the kernel takes for this opcode (protocol table `answers`).
    if (
      typeof body === "object" &&
      body !== null &&
      "error" in body &&
      spec.answers.includes(body["error"] as number)
    ) {
      return checkedError(p, replyCtx(p, opts.opcode), body["error"]);
    }
    return fail(
      replyCtx(p, opts.opcode),
      "no-reply",
      null,
      0,
      0,
      0,
      `${spec.op} gets no reply${spec.answers.length ? ` except the errors ${spec.answers.join(", ")}` : ""}`,
    );
  }
  if (!minorOk(opts.minor)) checkMinor(replyCtx(p, opts.opcode), opts);
  if (typeof body !== "object" || body === null)
    return fail(replyCtx(p, opts.opcode), "value", null, 0, 0, 0, "the reply must be an object");
  if ("error" in body) return checkedError(p, replyCtx(p, opts.opcode), body["error"]);
  return spec;
}

/** The parts of a reply the straight-line writers do not handle, as chunks. */
function replyChunks(
  p: MessageProtocol,
  ctx: Ctx,
  spec: ReplySpec,
  body: Record<string, unknown>,
  opts: MessageOptions,
): Uint8Array[] {
  const form = spec.kind === "xattr" && spec.size.field in body ? "size" : "data";
  return writeParts(ctx, body, replyParts(spec, form), opts, p.outHeader.size);
}

/** The revision's `encodeReply` for what its straight-line writers do not take (errors, names, data, lists, ...). */
export function encodeReplyWith(
  p: MessageProtocol,
  unique: bigint,
  body: Record<string, unknown>,
  opts: ReplyOptions,
): Uint8Array {
  const checked = checkReply(p, body, opts);
  if (typeof checked === "number")
    return errorHeader(p, replyCtx(p, opts.opcode), unique, checked, opts);
  const ctx = replyCtx(p, opts.opcode);
  return outMessage(p, ctx, replyChunks(p, ctx, checked, body, opts), 0, unique, opts);
}

/** The revision's `encodeReplyInto` for what its straight-line writers do not take. */
export function encodeReplyIntoWith(
  p: MessageProtocol,
  buf: Uint8Array,
  offset: number,
  unique: bigint,
  body: Record<string, unknown>,
  opts: ReplyOptions,
): number {
  const checked = checkReply(p, body, opts);
  const headerSize = p.outHeader.size;
  const le = isLittleEndian(opts);
  if (typeof checked === "number") {
    const at = roomAt(replyCtx(p, opts.opcode), buf, offset, headerSize);
    p.writeOutHeader(roomView(), at, headerSize, checked, unique, le);
    return headerSize;
  }
  const ctx = replyCtx(p, opts.opcode);
  const chunks = replyChunks(p, ctx, checked, body, opts);
  const len = chunksLength(ctx, headerSize, chunks);
  const at = roomAt(ctx, buf, offset, len);
  p.writeOutHeader(roomView(), at, len, 0, unique, le);
  copyChunks(buf, offset + headerSize, chunks);
  return len;
}

/** The revision's `encodeErrorReply`. */
export function encodeErrorReplyWith(
  p: MessageProtocol,
  unique: bigint,
  error: number,
  opts?: CodecOptions,
): Uint8Array {
  return errorHeader(p, { what: "error reply", opcode: null }, unique, error, opts);
}

/** A reply's decode options as the engine reads them. */
export interface DecodeReplyOptions extends MessageOptions {
  readonly xattr?: "size" | "data" | undefined;
}

/** The revision's `decodeReply`: `{ header, reply }`, typed by the revision. */
export function decodeReplyWith(
  p: MessageProtocol,
  opcode: number,
  bytes: Uint8Array,
  opts: DecodeReplyOptions,
): { header: OutHeaderFields; reply: unknown } {
  const headerSize = p.outHeader.size;
  const spec = p.replies.get(opcode);
  const ctx: Ctx = {
    what: spec ? `${spec.op} reply` : `reply to opcode ${opcode}`,
    opcode,
    reply: true,
  };
  if (!spec)
    return fail(
      ctx,
      "unknown",
      null,
      0,
      0,
      0,
      `opcode ${opcode} is not in this revision's protocol table`,
    );
  if (spec.kind === "none" && spec.answers.length === 0)
    return fail(ctx, "no-reply", null, 0, 0, 0, `${spec.op} gets no reply`);
  checkMinor(ctx, opts);
  checkLength(ctx, headerSize, bytes, p.outHeader.struct);
  const header = p.outHeader.decode(bytes, 0, opts);
  checkOutHeaderLen(ctx, p, header.len, bytes.length);
  if (header.error !== 0) {
    if (header.error > 0 || header.error < p.replyErrorMin) {
      fail(
        ctx,
        "value",
        "error",
        4,
        0,
        0,
        `error is ${header.error}; a reply's error is a negative errno from -1 to ${p.replyErrorMin} (the kernel refuses others)`,
      );
    }
    if (bytes.length !== headerSize) {
      fail(
        ctx,
        "trailing",
        null,
        headerSize,
        0,
        bytes.length - headerSize,
        `an error reply is ${p.outHeader.struct} alone, but ${bytes.length - headerSize} bytes follow it`,
      );
    }
    if (spec.kind === "none" && !spec.answers.includes(header.error)) {
      fail(
        ctx,
        "no-reply",
        "error",
        4,
        0,
        0,
        `${spec.op} gets no reply except the errors ${spec.answers.join(", ")}, not ${header.error}`,
      );
    }
    return { header, reply: { error: header.error } };
  }
  if (spec.kind === "none")
    return fail(
      ctx,
      "no-reply",
      null,
      0,
      0,
      0,
      `${spec.op} gets no reply except the errors ${spec.answers.join(", ")}`,
    );
  let form: "size" | "data" = "data";
  if (spec.kind === "xattr")
    form = opts.xattr ?? (bytes.length - headerSize === spec.size.codec.size ? "size" : "data");
  const reply = readParts(ctx, bytes, headerSize, bytes.length, replyParts(spec, form), opts);
  return { header, reply };
}

function notifyCtx(spec: NotifySpec | undefined, code: number): Ctx {
  return { what: spec ? `${spec.name} notification` : `notification ${code}`, opcode: code };
}

/** The revision's `encodeNotify`. */
export function encodeNotifyWith(
  p: MessageProtocol,
  code: number,
  args: object,
  opts: Partial<MessageOptions>,
): Uint8Array {
  const o = withMinor(p, opts);
  const spec = p.notifications.get(code);
  const ctx = notifyCtx(spec, code);
  if (!spec)
    return fail(
      ctx,
      "unknown",
      null,
      0,
      0,
      0,
      `notification code ${code} is not in this revision's protocol table`,
    );
  checkMinor(ctx, o);
  const chunks = writeParts(ctx, args as Record<string, unknown>, spec.parts, o, p.outHeader.size);
  return outMessage(p, ctx, chunks, code, 0n, o);
}

/** The revision's `decodeNotify`: `{ code, name, args }`, typed by the revision. */
export function decodeNotifyWith(
  p: MessageProtocol,
  bytes: Uint8Array,
  opts: Partial<MessageOptions>,
): { code: number; name: string; args: Record<string, unknown> } {
  const o = withMinor(p, opts);
  const headerSize = p.outHeader.size;
  checkLength({ what: "notification", opcode: null }, headerSize, bytes, p.outHeader.struct);
  const header = p.outHeader.decode(bytes, 0, o);
  const spec = p.notifications.get(header.error);
  const ctx = notifyCtx(spec, header.error);
  checkOutHeaderLen(ctx, p, header.len, bytes.length);
  if (header.unique !== 0n)
    fail(ctx, "value", "header", 8, 0, 0, `unique is ${header.unique}, not 0: not a notification`);
  if (!spec)
    return fail(
      ctx,
      "unknown",
      null,
      0,
      0,
      0,
      `notification code ${header.error} is not in this revision's protocol table`,
    );
  checkMinor(ctx, o);
  const args = readParts(ctx, bytes, headerSize, bytes.length, spec.parts, o);
  return { code: header.error, name: spec.name, args };
}

// ---------------------------------------------------------------------------
// Directory listings (READDIR, READDIRPLUS replies): the record rules, by a revision's numbers

const SLASH = 0x2f;

/** `n` rounded up to a multiple of `align` (a record's size with its padding). */
export function alignUp(n: number, align: number): number {
  return Math.ceil(n / align) * align;
}

/** Why the kernel would refuse a directory entry name (fs/fuse/readdir.c), or null for a good one. */
function direntNameProblem(bytes: Uint8Array, nameMax: number): string | null {
  if (bytes.length === 0) return "is empty";
  if (bytes.length > nameMax)
    return `is ${bytes.length} bytes, more than DIRENT_NAME_MAX (${nameMax})`;
  if (bytes.includes(SLASH)) return "contains '/'";
  if (bytes.includes(0)) return "contains a NUL byte";
  return null;
}

/** The bytes of a directory entry name an encoder was given; fails (kind `name`) for one the kernel refuses. */
export function direntName(ctx: Ctx, at: number, name: unknown, nameMax: number): Uint8Array {
  const bytes = nameBytesOf(name, { ctx, field: "name", at });
  const problem = direntNameProblem(bytes, nameMax);
  if (problem !== null)
    fail(
      ctx,
      "name",
      "name",
      at,
      0,
      0,
      `a directory entry name ${problem}: ${JSON.stringify(new FuseName(bytes))}`,
    );
  return bytes;
}

/** How a revision's records are laid out. */
export interface DirentFormat {
  readonly ctx: Ctx;
  /** Records are padded to a multiple of this. */
  readonly align: number;
  /** Where the name starts in a record. */
  readonly nameOffset: number;
  /** The longest name the kernel takes. */
  readonly nameMax: number;
}

/**
 * Reads records of `format.nameOffset` bytes plus the name, padded; `namelen(at)` reads the
 * name length of the record at `at`, `make(at, name)` the record.
 */
export function decodeRecords<T>(
  format: DirentFormat,
  bytes: Uint8Array,
  namelen: (at: number) => number,
  make: (at: number, name: FuseName) => T,
): T[] {
  const { ctx, nameOffset, nameMax } = format;
  const out: T[] = [];
  let at = 0;
  while (at < bytes.length) {
    const available = bytes.length - at;
    if (available < nameOffset) {
      fail(
        ctx,
        "truncated",
        "record",
        at,
        nameOffset,
        available,
        `the record at offset ${at} needs ${nameOffset} bytes, ${available} left`,
      );
    }
    const length = namelen(at);
    // The kernel checks the length before it looks for the record's end.
    if (length === 0 || length > nameMax) {
      fail(
        ctx,
        "name",
        "name",
        at + nameOffset,
        length === 0 ? 1 : nameMax,
        length,
        `the record at offset ${at} has a name of ${length} bytes; the kernel takes 1 to ${nameMax}`,
      );
    }
    const size = alignUp(nameOffset + length, format.align);
    if (available < size) {
      fail(
        ctx,
        "truncated",
        "record",
        at,
        size,
        available,
        `the record at offset ${at} needs ${size} bytes (name and padding), ${available} left`,
      );
    }
    const name = readName(bytes, at + nameOffset, length);
    const problem = direntNameProblem(name.bytes, nameMax);
    if (problem !== null)
      fail(
        ctx,
        "name",
        "name",
        at + nameOffset,
        length,
        length,
        `the name of the record at offset ${at} ${problem}`,
      );
    for (let k = at + nameOffset + length; k < at + size; k++) {
      if (bytes[k] !== 0)
        fail(
          ctx,
          "padding",
          "record",
          k,
          0,
          1,
          `the record at offset ${at} has a non-zero padding byte at offset ${k}`,
        );
    }
    out.push(make(at, name));
    at += size;
  }
  return out;
}

/**
 * The UTF-8 length of a name given as a string the kernel takes (1 to `nameMax` bytes, no
 * `/` or NUL, no lone surrogate), counted without encoding it; -1 for anything else (the
 * checked path through {@link direntName} decides, and names the problem).
 */
export function stringNameLength(name: unknown, nameMax: number): number {
  if (typeof name !== "string") return -1;
  const n = name.length;
  if (n === 0) return -1;
  let bytes = 0;
  for (let i = 0; i < n; i++) {
    const c = name.charCodeAt(i);
    if (c < 0x80) {
      if (c === SLASH || c === 0) return -1;
      bytes += 1;
    } else if (c < 0x800) {
      bytes += 2;
    } else if (c >= 0xd800 && c <= 0xdbff) {
      const low = i + 1 < n ? name.charCodeAt(i + 1) : 0;
      if (low < 0xdc00 || low > 0xdfff) return -1;
      bytes += 4;
      i++;
    } else if (c >= 0xdc00 && c <= 0xdfff) {
      return -1;
    } else {
      bytes += 3;
    }
  }
  return bytes > nameMax ? -1 : bytes;
}

/** Writes a record's name (a string {@link stringNameLength} took, or bytes) at `at` and zeroes its padding up to `end`. */
export function putDirentName(
  buf: Uint8Array,
  at: number,
  end: number,
  name: unknown,
  bytes: Uint8Array | null,
  length: number,
): void {
  if (bytes === null) {
    const text = name as string;
    // ASCII byte by byte (cheaper than a call into the encoder for short names).
    if (length === text.length) for (let i = 0; i < length; i++) buf[at + i] = text.charCodeAt(i);
    else UTF8_ENCODER.encodeInto(text, buf.subarray(at, at + length));
  } else {
    buf.set(bytes, at);
  }
  for (let k = at + length; k < end; k++) buf[k] = 0;
}
