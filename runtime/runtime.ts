/**
 * Runtime support for the generated codecs of every revision: typed errors, bounds checks,
 * byte order, array helpers, flag tables and a cursor. One module for all revisions (generate
 * copies it into `<out>/_runtime/`; each revision's runtime.ts re-exports it), so an error
 * thrown by one revision's codec is `instanceof` the class every revision exports. No
 * dependencies and no runtime reflection; only erasable TypeScript syntax (no enums,
 * namespaces or parameter properties), so the folder also runs under Node's type stripping.
 */

/** True when the machine running this code stores multi-byte integers little-endian. */
export const HOST_LITTLE_ENDIAN: boolean = new Uint8Array(new Uint16Array([1]).buffer)[0] === 1;

/** Byte order of every codec. FUSE speaks the host's byte order; x86_64 and aarch64 are little-endian. */
export interface CodecOptions {
  /** Byte order of the buffer; wins over `hostEndian`. Default: little-endian. */
  readonly littleEndian?: boolean;
  /** Use the byte order of the machine running this code ({@link HOST_LITTLE_ENDIAN}). */
  readonly hostEndian?: boolean;
}

/** Resolves {@link CodecOptions} to the `littleEndian` flag DataView takes. */
export function isLittleEndian(opts?: CodecOptions): boolean {
  return littleEndianOf(opts?.littleEndian, opts?.hostEndian);
}

/**
 * {@link isLittleEndian} from the two options, read by the caller: a hot caller that sees many
 * options shapes reads them at its own site, where this shared function would go megamorphic.
 */
export function littleEndianOf(
  littleEndian: boolean | undefined,
  hostEndian: boolean | undefined,
): boolean {
  if (littleEndian !== undefined) return littleEndian;
  return hostEndian === true ? HOST_LITTLE_ENDIAN : true;
}

/** What the codecs read and write: a DataView, or any Uint8Array (Node's Buffer is one). */
export type Bytes = DataView | Uint8Array;

/** A DataView over exactly the bytes of `buf` (no copy). */
export function toDataView(buf: Bytes): DataView {
  return buf instanceof DataView ? buf : new DataView(buf.buffer, buf.byteOffset, buf.byteLength);
}

const BUFFER_VIEWS = new WeakMap<ArrayBufferLike, DataView>();

/**
 * One DataView over all of `buffer`, made on first use and cached (weakly: it goes with the
 * buffer). Codecs read a Uint8Array through it at `byteOffset + offset`, so decoding or encoding
 * from a Uint8Array makes no DataView per call.
 */
export function viewOfBuffer(buffer: ArrayBufferLike): DataView {
  let view = BUFFER_VIEWS.get(buffer);
  if (view === undefined) {
    view = new DataView(buffer);
    BUFFER_VIEWS.set(buffer, view);
  }
  return view;
}

/** The error a decoder throws when `needed` bytes are not there at `offset` (its bounds check failed). */
export function decodeBoundsError(
  buf: Bytes,
  offset: number,
  needed: number,
  struct: string,
): FuseDecodeError {
  return new FuseDecodeError(struct, offset, needed, availableIn(buf.byteLength, offset));
}

/** The error an encoder throws when `needed` bytes are not there at `offset` (its bounds check failed). */
export function encodeBoundsError(
  buf: Bytes,
  offset: number,
  needed: number,
  struct: string,
): FuseEncodeError {
  return new FuseEncodeError(struct, offset, needed, availableIn(buf.byteLength, offset));
}

function availableIn(length: number, offset: number): number {
  return Number.isInteger(offset) && offset >= 0 ? Math.max(0, length - offset) : 0;
}

/** Bytes from `offset` to the end of `view`; 0 for an offset outside it. */
export function availableBytes(view: DataView, offset: number): number {
  return availableIn(view.byteLength, offset);
}

function describe(
  verb: string,
  struct: string,
  offset: number,
  needed: number,
  available: number,
): string {
  return `cannot ${verb} ${struct}: needs ${needed} bytes at offset ${offset}, ${available} available`;
}

/** A decoder found fewer bytes than the struct needs. Names what was being read, where, and how much. */
export class FuseDecodeError extends Error {
  /** C name of the struct (or `struct.member` for an array member). */
  readonly struct: string;
  /** Byte offset the decode started at. */
  readonly offset: number;
  /** Bytes the struct needs. */
  readonly needed: number;
  /** Bytes the buffer had from `offset` on. */
  readonly available: number;

  constructor(struct: string, offset: number, needed: number, available: number) {
    super(describe("decode", struct, offset, needed, available));
    this.name = "FuseDecodeError";
    this.struct = struct;
    this.offset = offset;
    this.needed = needed;
    this.available = available;
  }
}

/**
 * An encoder could not write: the buffer is too short, or an array value is
 * longer than its C array (`struct` is then `struct.member` and the byte counts
 * are the value's and the C array's).
 */
export class FuseEncodeError extends Error {
  readonly struct: string;
  readonly offset: number;
  readonly needed: number;
  readonly available: number;

  constructor(struct: string, offset: number, needed: number, available: number) {
    super(describe("encode", struct, offset, needed, available));
    this.name = "FuseEncodeError";
    this.struct = struct;
    this.offset = offset;
    this.needed = needed;
    this.available = available;
  }
}

/** Throws {@link FuseDecodeError} unless `needed` bytes exist at `offset`. */
export function checkDecode(view: DataView, offset: number, needed: number, struct: string): void {
  const available = availableBytes(view, offset);
  if (available < needed || !Number.isInteger(offset) || offset < 0) {
    throw new FuseDecodeError(struct, offset, needed, available);
  }
}

/** Throws {@link FuseEncodeError} unless `needed` bytes exist at `offset`. */
export function checkEncode(view: DataView, offset: number, needed: number, struct: string): void {
  const available = availableBytes(view, offset);
  if (available < needed || !Number.isInteger(offset) || offset < 0) {
    throw new FuseEncodeError(struct, offset, needed, available);
  }
}

/** Zeroes `length` bytes: encoders start from zero so padding never leaks old buffer contents. */
export function zeroFill(view: DataView, offset: number, length: number): void {
  new Uint8Array(view.buffer, view.byteOffset + offset, length).fill(0);
}

/** Copies `count` bytes out of the buffer (the result does not alias it). */
export function readBytes(view: DataView, offset: number, count: number): Uint8Array {
  return new Uint8Array(view.buffer, view.byteOffset + offset, count).slice();
}

function tooLong(
  where: string,
  offset: number,
  length: number,
  count: number,
  width: number,
): FuseEncodeError {
  return new FuseEncodeError(where, offset, length * width, count * width);
}

/** Copies `value` into a C array of `count` bytes; the rest of a shorter value's array is written as zero. */
export function writeBytes(
  view: DataView,
  offset: number,
  count: number,
  value: Uint8Array,
  where: string,
): void {
  if (value.length > count) throw tooLong(where, offset, value.length, count, 1);
  const out = new Uint8Array(view.buffer, view.byteOffset + offset, count);
  out.set(value);
  if (value.length < count) out.fill(0, value.length);
}

export function readInt8Array(view: DataView, offset: number, count: number): Int8Array {
  return new Int8Array(view.buffer, view.byteOffset + offset, count).slice();
}

export function writeInt8Array(
  view: DataView,
  offset: number,
  count: number,
  value: Int8Array,
  where: string,
): void {
  if (value.length > count) throw tooLong(where, offset, value.length, count, 1);
  const out = new Int8Array(view.buffer, view.byteOffset + offset, count);
  out.set(value);
  if (value.length < count) out.fill(0, value.length);
}

// Wider elements go through DataView one by one: typed-array views would use the
// host's byte order and need aligned offsets. Writers write all `count` elements (missing
// ones as zero), so an encoder needs no zero-fill pass.

export function readUint16Array(
  view: DataView,
  offset: number,
  count: number,
  le: boolean,
): Uint16Array {
  const out = new Uint16Array(count);
  for (let i = 0; i < count; i++) out[i] = view.getUint16(offset + i * 2, le);
  return out;
}

export function writeUint16Array(
  view: DataView,
  offset: number,
  count: number,
  value: Uint16Array,
  le: boolean,
  where: string,
): void {
  if (value.length > count) throw tooLong(where, offset, value.length, count, 2);
  for (let i = 0; i < count; i++)
    view.setUint16(offset + i * 2, i < value.length ? value[i]! : 0, le);
}

export function readInt16Array(
  view: DataView,
  offset: number,
  count: number,
  le: boolean,
): Int16Array {
  const out = new Int16Array(count);
  for (let i = 0; i < count; i++) out[i] = view.getInt16(offset + i * 2, le);
  return out;
}

export function writeInt16Array(
  view: DataView,
  offset: number,
  count: number,
  value: Int16Array,
  le: boolean,
  where: string,
): void {
  if (value.length > count) throw tooLong(where, offset, value.length, count, 2);
  for (let i = 0; i < count; i++)
    view.setInt16(offset + i * 2, i < value.length ? value[i]! : 0, le);
}

export function readUint32Array(
  view: DataView,
  offset: number,
  count: number,
  le: boolean,
): Uint32Array {
  const out = new Uint32Array(count);
  for (let i = 0; i < count; i++) out[i] = view.getUint32(offset + i * 4, le);
  return out;
}

export function writeUint32Array(
  view: DataView,
  offset: number,
  count: number,
  value: Uint32Array,
  le: boolean,
  where: string,
): void {
  if (value.length > count) throw tooLong(where, offset, value.length, count, 4);
  for (let i = 0; i < count; i++)
    view.setUint32(offset + i * 4, i < value.length ? value[i]! : 0, le);
}

export function readInt32Array(
  view: DataView,
  offset: number,
  count: number,
  le: boolean,
): Int32Array {
  const out = new Int32Array(count);
  for (let i = 0; i < count; i++) out[i] = view.getInt32(offset + i * 4, le);
  return out;
}

export function writeInt32Array(
  view: DataView,
  offset: number,
  count: number,
  value: Int32Array,
  le: boolean,
  where: string,
): void {
  if (value.length > count) throw tooLong(where, offset, value.length, count, 4);
  for (let i = 0; i < count; i++)
    view.setInt32(offset + i * 4, i < value.length ? value[i]! : 0, le);
}

export function readBigUint64Array(
  view: DataView,
  offset: number,
  count: number,
  le: boolean,
): BigUint64Array {
  const out = new BigUint64Array(count);
  for (let i = 0; i < count; i++) out[i] = view.getBigUint64(offset + i * 8, le);
  return out;
}

export function writeBigUint64Array(
  view: DataView,
  offset: number,
  count: number,
  value: BigUint64Array,
  le: boolean,
  where: string,
): void {
  if (value.length > count) throw tooLong(where, offset, value.length, count, 8);
  for (let i = 0; i < count; i++)
    view.setBigUint64(offset + i * 8, i < value.length ? value[i]! : 0n, le);
}

export function readBigInt64Array(
  view: DataView,
  offset: number,
  count: number,
  le: boolean,
): BigInt64Array {
  const out = new BigInt64Array(count);
  for (let i = 0; i < count; i++) out[i] = view.getBigInt64(offset + i * 8, le);
  return out;
}

export function writeBigInt64Array(
  view: DataView,
  offset: number,
  count: number,
  value: BigInt64Array,
  le: boolean,
  where: string,
): void {
  if (value.length > count) throw tooLong(where, offset, value.length, count, 8);
  for (let i = 0; i < count; i++)
    view.setBigInt64(offset + i * 8, i < value.length ? value[i]! : 0n, le);
}

/** Reads `count` elements of `stride` bytes (arrays of structs, arrays of arrays). */
export function readEach<T>(
  count: number,
  offset: number,
  stride: number,
  read: (at: number) => T,
): T[] {
  const out: T[] = [];
  for (let i = 0; i < count; i++) out.push(read(offset + i * stride));
  return out;
}

/** Writes up to `count` elements of `stride` bytes; missing ones stay zero. */
export function writeEach<T>(
  values: readonly T[],
  count: number,
  offset: number,
  stride: number,
  where: string,
  write: (value: T, at: number) => void,
): void {
  if (values.length > count) throw tooLong(where, offset, values.length, count, stride);
  values.forEach((value, i) => write(value, offset + i * stride));
}

/** A struct's codec as a value: what {@link Cursor} and generic code take. */
export interface StructCodec<T> {
  /** C name of the struct. */
  readonly struct: string;
  /** Size of the fixed part in bytes. */
  readonly size: number;
  decode(buf: Bytes, offset?: number, opts?: CodecOptions): T;
  encode(value: T, buf: Bytes, offset?: number, opts?: CodecOptions): number;
  zero(): T;
}

/** Walks a buffer struct by struct, e.g. a request header followed by its body. */
export class Cursor {
  readonly view: DataView;
  /** Next byte to read or write. */
  offset: number;
  readonly littleEndian: boolean;

  constructor(buf: Bytes, offset = 0, opts?: CodecOptions) {
    this.view = toDataView(buf);
    this.offset = offset;
    this.littleEndian = isLittleEndian(opts);
  }

  /** Bytes left after {@link Cursor.offset}. */
  get remaining(): number {
    return availableBytes(this.view, this.offset);
  }

  /** Decodes one struct and moves past it. @throws {FuseDecodeError} */
  read<T>(codec: StructCodec<T>): T {
    const value = codec.decode(this.view, this.offset, { littleEndian: this.littleEndian });
    this.offset += codec.size;
    return value;
  }

  /** Encodes one struct and moves past it. @throws {FuseEncodeError} */
  write<T>(codec: StructCodec<T>, value: T): void {
    this.offset += codec.encode(value, this.view, this.offset, { littleEndian: this.littleEndian });
  }

  /** Copies the next `count` bytes (e.g. a flexible array member) and moves past them. @throws {FuseDecodeError} */
  bytes(count: number, what = "bytes"): Uint8Array {
    checkDecode(this.view, this.offset, count, what);
    const out = readBytes(this.view, this.offset, count);
    this.offset += count;
    return out;
  }

  skip(count: number): void {
    this.offset += count;
  }

  /** Moves up to the next multiple of `alignment` (records such as directory entries are padded). */
  align(alignment: number): void {
    this.offset = Math.ceil(this.offset / alignment) * alignment;
  }
}

/** A flag table from constants.ts: C name to single-bit mask. */
export type FlagTable = { readonly [name: string]: number | bigint };

/** Reads a flags value as unsigned bits: 32-bit fields can come back negative from `|` and `&`. */
function flagBits(value: number | bigint): bigint {
  if (typeof value === "bigint") return BigInt.asUintN(64, value);
  return BigInt(value < 0 && value >= -0x80000000 ? value >>> 0 : value);
}

/** C names of the table's flags that are set in `value`, in table order. */
export function flagNames(value: number | bigint, table: FlagTable): string[] {
  const bits = flagBits(value);
  const names: string[] = [];
  for (const [name, mask] of Object.entries(table)) {
    const m = BigInt(mask);
    if (m !== 0n && (bits & m) === m) names.push(name);
  }
  return names;
}

/** Bits set in `value` that the table does not name (0n when all are known). */
export function unknownFlagBits(value: number | bigint, table: FlagTable): bigint {
  let rest = flagBits(value);
  for (const mask of Object.values(table)) rest &= ~BigInt(mask);
  return rest;
}

/** Freezes a table and everything in it, so shared layout facts cannot be changed by accident. */
export function deepFreeze<T>(value: T): T {
  if (typeof value === "object" && value !== null && !Object.isFrozen(value)) {
    Object.freeze(value);
    for (const v of Object.values(value)) deepFreeze(v);
  }
  return value;
}
