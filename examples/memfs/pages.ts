/**
 * File contents as a sparse set of 4 KiB pages, the way tmpfs keeps them: a
 * page that was never written (or was punched out) is a hole that reads as
 * zeros and takes no space. That gives st_blocks, du, SEEK_DATA/SEEK_HOLE and
 * a cheap `truncate -s 1G` that all behave like tmpfs.
 *
 * Which pages take space and which hold data are extents (RangeSet), so no
 * operation walks the file page by page: SEEK_DATA/SEEK_HOLE, fallocate,
 * punching holes and truncating cost O(log n + k) in the n extents of the
 * file and the k they touch, and reads and writes cost that plus the bytes
 * they move. A 16 TiB sparse file answers as fast as a small one, so one
 * request on it never holds up the others (the server has one thread).
 *
 * The bytes live in chunks of {@link CHUNK_SIZE} (1 MiB), not one buffer per
 * page: a write of 1 MiB is one copy instead of 256 page allocations, and a
 * read inside one chunk is a view of the chunk, no copy. A chunk's buffer only grows as far as its pages
 * are written (doubling, like a growing Buffer), so a small file takes pages,
 * not a chunk. Invariant: inside a chunk's buffer, every byte that is not data
 * (holes, the tail past the end of file) is zero, so a view reads right.
 */
import { RangeSet } from "./extents.js";

export const PAGE_SIZE = 4096;
/**
 * Pages per storage chunk (1 MiB). A read is a view when it lies inside one
 * chunk; the kernel's read-ahead asks for up to 128 KiB at page offsets that
 * need not be aligned to anything, so about one read in eight spans two chunks
 * and is copied. A chunk grows by doubling from one page, so small files take
 * only what they use.
 */
const CHUNK_PAGES = 256;
/** Bytes per storage chunk. */
export const CHUNK_SIZE = CHUNK_PAGES * PAGE_SIZE;

/** A page number beyond any file (offsets stay below 2^53). */
const NO_END = Math.ceil(Number.MAX_SAFE_INTEGER / PAGE_SIZE) + 1;

export class FileData {
  /** Bytes in the file (may be beyond the last page: the tail is a hole). */
  size = 0;
  /**
   * Pages that take space: written ones, and those fallocate() reserved but
   * nobody wrote (they read as zeros and seek as holes, as tmpfs reports a
   * fallocated page it has not initialised, and need no memory).
   */
  private readonly allocated = new RangeSet();
  /** Pages that hold data: a subset of `allocated`, each with its bytes in a chunk of `chunks`. */
  private readonly written = new RangeSet();
  /** Chunk number -> its bytes from the chunk's start (shorter than CHUNK_SIZE until written further). */
  private readonly chunks = new Map<number, Uint8Array>();

  /** Pages that take space (st_blocks = this * 8). */
  get allocatedPages(): number {
    return this.allocated.total;
  }

  /** Extents of allocated and of written pages (for tests: the structure stays small). */
  get extents(): { allocated: number; written: number } {
    return { allocated: this.allocated.count, written: this.written.count };
  }

  /** New pages writing or allocating [offset, offset + length) would take. */
  pagesNeeded(offset: number, length: number): number {
    if (length <= 0) return 0;
    const [a, b] = pageSpan(offset, length);
    return b - a - this.allocated.covered(a, b);
  }

  /**
   * Up to `length` bytes from `offset`, cut at end of file; holes read as zeros.
   * Inside one chunk the result is a view of the file's own bytes, valid until
   * the file is next changed: send it or copy it, never keep it.
   */
  read(offset: number, length: number): Uint8Array {
    const end = Math.min(this.size, offset + length);
    if (offset >= end) return new Uint8Array(0);
    const first = Math.floor(offset / CHUNK_SIZE);
    const last = Math.floor((end - 1) / CHUNK_SIZE);
    if (first === last) {
      const chunk = this.chunks.get(first);
      const base = first * CHUNK_SIZE;
      if (chunk && end - base <= chunk.length) return chunk.subarray(offset - base, end - base);
    }
    const out = new Uint8Array(end - offset);
    for (let c = first; c <= last; c++) {
      const chunk = this.chunks.get(c);
      if (!chunk) continue; // a hole: zeros
      const base = c * CHUNK_SIZE;
      const lo = Math.max(offset, base);
      const hi = Math.min(end, base + chunk.length);
      if (hi > lo) out.set(chunk.subarray(lo - base, hi - base), lo - offset);
    }
    return out;
  }

  /** Writes `data` at `offset`, growing the file; returns pages newly taken. */
  write(offset: number, data: Uint8Array): number {
    if (data.length === 0) return 0;
    const [a, b] = pageSpan(offset, data.length);
    const taken = this.allocated.add(a, b);
    this.written.add(a, b);
    const end = offset + data.length;
    for (
      let c = Math.floor(offset / CHUNK_SIZE), last = Math.floor((end - 1) / CHUNK_SIZE);
      c <= last;
      c++
    ) {
      const base = c * CHUNK_SIZE;
      const lo = Math.max(offset, base);
      const hi = Math.min(end, base + CHUNK_SIZE);
      const bytes = data.subarray(lo - offset, hi - offset);
      // A new chunk the write fills from its start needs no zeroing first: every byte of it is written.
      if (lo === base && !this.chunks.has(c) && isChunkSize(hi - base))
        this.chunks.set(c, uninitialized(hi - base));
      this.chunkFor(c, hi - base).set(bytes, lo - base);
    }
    this.size = Math.max(this.size, end);
    return taken;
  }

  /** Chunk `c` with room for its first `bytes` bytes (whole pages): made or grown as needed. */
  private chunkFor(c: number, bytes: number): Uint8Array {
    const chunk = this.chunks.get(c);
    if (chunk && chunk.length >= bytes) return chunk;
    let size = chunk ? chunk.length * 2 : PAGE_SIZE;
    while (size < bytes) size *= 2;
    const grown = new Uint8Array(Math.min(size, CHUNK_SIZE));
    if (chunk) grown.set(chunk);
    this.chunks.set(c, grown);
    return grown;
  }

  /** Zeroes bytes [from, to) where a chunk holds them (the invariant: non-data bytes are zero). */
  private zero(from: number, to: number): void {
    for (
      let c = Math.floor(from / CHUNK_SIZE), last = Math.floor((to - 1) / CHUNK_SIZE);
      c <= last && from < to;
      c++
    ) {
      const chunk = this.chunks.get(c);
      if (!chunk) continue;
      const base = c * CHUNK_SIZE;
      const lo = Math.max(from, base) - base;
      const hi = Math.min(to - base, chunk.length);
      if (hi > lo) chunk.fill(0, lo, hi);
    }
  }

  /** Sets the size; shrinking frees whole pages past the end and zeroes the tail of the last one. */
  truncate(size: number): void {
    if (size < this.size) {
      const keep = Math.ceil(size / PAGE_SIZE);
      this.drop(keep, NO_END);
      if (size % PAGE_SIZE !== 0) this.zero(size, keep * PAGE_SIZE);
    }
    this.size = size;
  }

  /** Reserves pages for [offset, offset + length) (fallocate mode 0); returns pages newly taken. */
  allocate(offset: number, length: number): number {
    if (length <= 0) return 0;
    const [a, b] = pageSpan(offset, length);
    return this.allocated.add(a, b);
  }

  /** Zeroes [offset, offset + length), freeing the pages it covers whole; returns pages freed. */
  punchHole(offset: number, length: number): number {
    const end = Math.min(offset + length, Math.max(this.size, offset));
    if (offset >= end) return 0;
    const wholeFrom = Math.ceil(offset / PAGE_SIZE);
    const wholeTo = Math.floor(end / PAGE_SIZE);
    // The pages at either end that the range covers only in part keep their space: zero the part.
    if (wholeFrom > wholeTo) {
      this.zero(offset, end);
      return 0;
    }
    if (offset < wholeFrom * PAGE_SIZE) this.zero(offset, wholeFrom * PAGE_SIZE);
    if (end > wholeTo * PAGE_SIZE) this.zero(wholeTo * PAGE_SIZE, end);
    return this.drop(wholeFrom, wholeTo);
  }

  /** Frees pages [a, b) with their bytes; returns how many took space. */
  private drop(a: number, b: number): number {
    const gone: Array<[number, number]> = [];
    this.written.remove(a, b, (from, to) => gone.push([from, to]));
    for (const [from, to] of gone) {
      this.zero(from * PAGE_SIZE, to * PAGE_SIZE);
      // A chunk none of whose pages holds data any more goes.
      for (
        let c = Math.floor(from / CHUNK_PAGES), last = Math.floor((to - 1) / CHUNK_PAGES);
        c <= last;
        c++
      ) {
        if (
          this.chunks.has(c) &&
          this.written.covered(c * CHUNK_PAGES, (c + 1) * CHUNK_PAGES) === 0
        )
          this.chunks.delete(c);
      }
    }
    return this.allocated.remove(a, b);
  }

  /** Frees every page; returns how many. */
  clear(): number {
    const n = this.allocated.total;
    this.allocated.clear();
    this.written.clear();
    this.chunks.clear();
    this.size = 0;
    return n;
  }

  /** lseek(SEEK_DATA): first data offset at or after `offset`, or -1 (ENXIO). */
  seekData(offset: number): number {
    if (offset >= this.size) return -1;
    const p = this.written.nextIn(Math.floor(offset / PAGE_SIZE));
    if (p < 0 || p * PAGE_SIZE >= this.size) return -1;
    return Math.max(offset, p * PAGE_SIZE);
  }

  /** lseek(SEEK_HOLE): first hole at or after `offset` (end of file counts), or -1 (ENXIO). */
  seekHole(offset: number): number {
    if (offset >= this.size) return -1;
    const p = this.written.nextOut(Math.floor(offset / PAGE_SIZE));
    return Math.min(this.size, Math.max(offset, p * PAGE_SIZE));
  }
}

/** A plain Uint8Array of `n` bytes whose contents are left as they were (no zero-fill). */
function uninitialized(n: number): Uint8Array {
  const b = Buffer.allocUnsafeSlow(n);
  return new Uint8Array(b.buffer, b.byteOffset, n);
}

/** Whether a chunk buffer can be exactly `bytes` long (chunkFor grows them by doubling from one page). */
function isChunkSize(bytes: number): boolean {
  for (let size = PAGE_SIZE; size <= CHUNK_SIZE; size *= 2) if (size === bytes) return true;
  return false;
}

/** The pages [a, b) that bytes [offset, offset + length) touch (length > 0). */
function pageSpan(offset: number, length: number): [number, number] {
  return [Math.floor(offset / PAGE_SIZE), Math.ceil((offset + length) / PAGE_SIZE)];
}
