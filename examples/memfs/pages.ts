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
 */
import { RangeSet } from "./extents.js";

export const PAGE_SIZE = 4096;

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
  /** Pages that hold data: a subset of `allocated`, each with its bytes in `buffers`. */
  private readonly written = new RangeSet();
  private readonly buffers = new Map<number, Uint8Array>();

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

  /** Up to `length` bytes from `offset`, cut at end of file; holes read as zeros. */
  read(offset: number, length: number): Uint8Array {
    const end = Math.min(this.size, offset + length);
    if (offset >= end) return new Uint8Array(0);
    const out = new Uint8Array(end - offset);
    const [a, b] = pageSpan(offset, end - offset);
    for (const [from, to] of this.written.within(a, b)) {
      for (let p = from; p < to; p++) {
        const page = this.buffers.get(p)!;
        const pageStart = p * PAGE_SIZE;
        const lo = Math.max(offset, pageStart);
        const hi = Math.min(end, pageStart + PAGE_SIZE);
        out.set(page.subarray(lo - pageStart, hi - pageStart), lo - offset);
      }
    }
    return out;
  }

  /** Writes `data` at `offset`, growing the file; returns pages newly taken. */
  write(offset: number, data: Uint8Array): number {
    if (data.length === 0) return 0;
    const [a, b] = pageSpan(offset, data.length);
    const taken = this.allocated.add(a, b);
    this.written.add(a, b);
    for (let p = a; p < b; p++) {
      let page = this.buffers.get(p);
      if (!page) {
        page = new Uint8Array(PAGE_SIZE);
        this.buffers.set(p, page);
      }
      const pageStart = p * PAGE_SIZE;
      const lo = Math.max(offset, pageStart);
      const hi = Math.min(offset + data.length, pageStart + PAGE_SIZE);
      page.set(data.subarray(lo - offset, hi - offset), lo - pageStart);
    }
    this.size = Math.max(this.size, offset + data.length);
    return taken;
  }

  /** Sets the size; shrinking frees whole pages past the end and zeroes the tail of the last one. */
  truncate(size: number): void {
    if (size < this.size) {
      const keep = Math.ceil(size / PAGE_SIZE);
      this.drop(keep, NO_END);
      const last = this.buffers.get(keep - 1);
      if (last && size % PAGE_SIZE !== 0) last.fill(0, size % PAGE_SIZE);
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
    const zero = (p: number, lo: number, hi: number) => this.buffers.get(p)?.fill(0, lo - p * PAGE_SIZE, hi - p * PAGE_SIZE);
    if (wholeFrom > wholeTo) {
      const p = Math.floor(offset / PAGE_SIZE);
      zero(p, offset, end);
      return 0;
    }
    if (offset < wholeFrom * PAGE_SIZE) zero(wholeFrom - 1, offset, wholeFrom * PAGE_SIZE);
    if (end > wholeTo * PAGE_SIZE) zero(wholeTo, wholeTo * PAGE_SIZE, end);
    return this.drop(wholeFrom, wholeTo);
  }

  /** Frees pages [a, b) with their bytes; returns how many took space. */
  private drop(a: number, b: number): number {
    this.written.remove(a, b, (from, to) => {
      for (let p = from; p < to; p++) this.buffers.delete(p);
    });
    return this.allocated.remove(a, b);
  }

  /** Frees every page; returns how many. */
  clear(): number {
    const n = this.allocated.total;
    this.allocated.clear();
    this.written.clear();
    this.buffers.clear();
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

/** The pages [a, b) that bytes [offset, offset + length) touch (length > 0). */
function pageSpan(offset: number, length: number): [number, number] {
  return [Math.floor(offset / PAGE_SIZE), Math.ceil((offset + length) / PAGE_SIZE)];
}
