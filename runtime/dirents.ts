/**
 * The directory-listing encoder, the same for every revision: a READDIR or READDIRPLUS reply
 * filled record by record in one buffer. What differs per revision — the record layout, and the
 * straight-line writers of its fixed part and of `fuse_out_header` — comes in a
 * {@link DirentListFormat} that generated/<revision>/messages.ts prints from its data and binds
 * in a thin subclass (`DirentListEncoder`, `DirentplusListEncoder`).
 *
 * Only erasable TypeScript syntax, as runtime.ts.
 */
import {
  alignUp,
  direntName,
  putDirentName,
  stringNameLength,
  type DirentFormat,
  type OutHeaderWriter,
} from "./messages.js";
import { isLittleEndian, type CodecOptions } from "./runtime.js";

/** A revision's directory records as an encoder writes them: the layout and its writers. */
export interface DirentListFormat<E> extends DirentFormat {
  /** Size of `fuse_out_header`: the records follow it in the encoder's buffer. */
  readonly headerSize: number;
  /** Writes a record's fixed part (everything before the name) at `at`, with name length `namelen`. */
  readonly writeRecord: (
    view: DataView,
    at: number,
    entry: E,
    namelen: number,
    le: boolean,
  ) => void;
  /** Writes `fuse_out_header` at `at`. */
  readonly writeHeader: OutHeaderWriter;
}

/**
 * The first buffer has room for this many records with names of {@link TYPICAL_NAME} bytes
 * (or for the whole reply, if less). A new encoder used to allocate, and zero, the request's
 * whole `size` (32 KiB from a getdents through glibc): for a listing of a hundred entries that
 * cost more than writing the records. The first record that does not fit makes it the whole
 * reply's size at once; growing by doubling allocated and copied more in all than that one
 * buffer (measured: a 100-entry READDIRPLUS in 32 KiB went 4, 8, 16, 32 KiB and was slower
 * than one 32 KiB buffer).
 */
const INITIAL_RECORDS = 128;
const TYPICAL_NAME = 16;

/**
 * Fills a reply with the records of `format`: `add` appends one record while it fits in `size`
 * bytes, `finish()` gives the records, `finishReply(unique)` writes `fuse_out_header` in front
 * of them in the encoder's own buffer, `reset()` empties it for the next listing.
 */
export class DirentRecordEncoder<E extends { readonly name: unknown }> {
  /** The most bytes the records may take. */
  readonly size: number;
  readonly #format: DirentListFormat<E>;
  /** The reply message: room for `fuse_out_header`, then the records. */
  #buf: Uint8Array;
  #view: DataView;
  readonly #le: boolean;
  #used = 0;
  #count = 0;

  constructor(format: DirentListFormat<E>, size: number, opts?: CodecOptions) {
    this.size = size;
    this.#format = format;
    const first = INITIAL_RECORDS * alignUp(format.nameOffset + TYPICAL_NAME, format.align);
    const buf = new Uint8Array(format.headerSize + Math.min(size, first));
    this.#buf = buf;
    this.#view = new DataView(buf.buffer, buf.byteOffset, buf.byteLength);
    this.#le = isLittleEndian(opts);
  }

  /** Appends one record; false (nothing written) when it would exceed `size`. @throws {FuseMessageError} for a bad name. */
  add(entry: E): boolean {
    const f = this.#format;
    const name = entry.name;
    const used = this.#used;
    let length = stringNameLength(name, f.nameMax);
    const bytes = length < 0 ? direntName(f.ctx, used, name, f.nameMax) : null;
    if (bytes !== null) length = bytes.length;
    const size = alignUp(f.nameOffset + length, f.align);
    if (used + size > this.size) return false;
    const at = f.headerSize + used;
    if (at + size > this.#buf.length) this.#grow();
    f.writeRecord(this.#view, at, entry, length, this.#le);
    putDirentName(this.#buf, at + f.nameOffset, at + size, name, bytes, length);
    this.#used = used + size;
    this.#count++;
    return true;
  }

  /** Replaces the first, small buffer with one of the whole reply's size, holding the records so far. */
  #grow(): void {
    const old = this.#buf;
    const buf = new Uint8Array(this.#format.headerSize + this.size);
    buf.set(old.subarray(0, this.#format.headerSize + this.#used));
    this.#buf = buf;
    this.#view = new DataView(buf.buffer, buf.byteOffset, buf.byteLength);
  }

  /** Bytes used so far. */
  get length(): number {
    return this.#used;
  }

  /** Records added so far. */
  get count(): number {
    return this.#count;
  }

  /** The records so far: a view of the encoder's buffer (no copy). */
  finish(): Uint8Array {
    const start = this.#format.headerSize;
    return this.#buf.subarray(start, start + this.#used);
  }

  /** Writes the reply's `fuse_out_header` (error 0) before the records; returns the message length. */
  finishReply(unique: bigint): number {
    const len = this.#format.headerSize + this.#used;
    this.#format.writeHeader(this.#view, 0, len, 0, unique, this.#le);
    return len;
  }

  /**
   * The encoder's buffer: after `finishReply`, the reply is its first `length` bytes. It is
   * replaced by a larger one when records outgrow it, so read it after the last `add`.
   */
  get buffer(): Uint8Array {
    return this.#buf;
  }

  /** Empties the encoder for the next listing (the buffer, grown or not, is reused). */
  reset(): void {
    this.#used = 0;
    this.#count = 0;
  }
}
