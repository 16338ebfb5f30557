/**
 * File contents as a sparse set of 4 KiB pages, the way tmpfs keeps them: a
 * page that was never written (or was punched out) is a hole that reads as
 * zeros and takes no space. That gives st_blocks, du, SEEK_DATA/SEEK_HOLE and
 * a cheap `truncate -s 1G` that all behave like tmpfs.
 */

export const PAGE_SIZE = 4096;

/**
 * A page: its bytes, or null for a page fallocate() reserved but nobody wrote
 * (it takes space, reads as zeros, seeks as a hole, and needs no memory until written).
 */
type Page = Uint8Array | null;

export class FileData {
  /** Bytes in the file (may be beyond the last page: the tail is a hole). */
  size = 0;
  private readonly pages = new Map<number, Page>();

  /** Pages that take space (st_blocks = this * 8). */
  get allocatedPages(): number {
    return this.pages.size;
  }

  /** New pages writing or allocating [offset, offset + length) would take. */
  pagesNeeded(offset: number, length: number): number {
    if (length <= 0) return 0;
    let n = 0;
    for (let p = Math.floor(offset / PAGE_SIZE); p * PAGE_SIZE < offset + length; p++) {
      if (!this.pages.has(p)) n++;
    }
    return n;
  }

  /** Up to `length` bytes from `offset`, cut at end of file. */
  read(offset: number, length: number): Uint8Array {
    const end = Math.min(this.size, offset + length);
    if (offset >= end) return new Uint8Array(0);
    const out = new Uint8Array(end - offset);
    for (let at = offset; at < end; ) {
      const p = Math.floor(at / PAGE_SIZE);
      const inPage = at - p * PAGE_SIZE;
      const n = Math.min(PAGE_SIZE - inPage, end - at);
      const page = this.pages.get(p);
      if (page) out.set(page.subarray(inPage, inPage + n), at - offset);
      at += n;
    }
    return out;
  }

  /** Writes `data` at `offset`, growing the file; returns pages newly taken. */
  write(offset: number, data: Uint8Array): number {
    let taken = 0;
    for (let done = 0; done < data.length; ) {
      const at = offset + done;
      const p = Math.floor(at / PAGE_SIZE);
      const inPage = at - p * PAGE_SIZE;
      const n = Math.min(PAGE_SIZE - inPage, data.length - done);
      let page = this.pages.get(p);
      if (page === undefined) taken++;
      if (!page) {
        page = new Uint8Array(PAGE_SIZE);
        this.pages.set(p, page);
      }
      page.set(data.subarray(done, done + n), inPage);
      done += n;
    }
    this.size = Math.max(this.size, offset + data.length);
    return taken;
  }

  /** Sets the size; shrinking frees whole pages past the end and zeroes the tail of the last one. */
  truncate(size: number): void {
    if (size < this.size) {
      const keep = Math.ceil(size / PAGE_SIZE);
      for (const p of [...this.pages.keys()]) if (p >= keep) this.pages.delete(p);
      const last = this.pages.get(keep - 1);
      if (last && size % PAGE_SIZE !== 0) last.fill(0, size % PAGE_SIZE);
    }
    this.size = size;
  }

  /** Reserves pages for [offset, offset + length) (fallocate mode 0); returns pages newly taken. */
  allocate(offset: number, length: number): number {
    let taken = 0;
    for (let p = Math.floor(offset / PAGE_SIZE); p * PAGE_SIZE < offset + length; p++) {
      if (!this.pages.has(p)) {
        this.pages.set(p, null);
        taken++;
      }
    }
    return taken;
  }

  /** Zeroes [offset, offset + length), freeing the pages it covers whole; returns pages freed. */
  punchHole(offset: number, length: number): number {
    const end = Math.min(offset + length, Math.max(this.size, offset));
    let freed = 0;
    for (let at = offset; at < end; ) {
      const p = Math.floor(at / PAGE_SIZE);
      const inPage = at - p * PAGE_SIZE;
      const n = Math.min(PAGE_SIZE - inPage, end - at);
      const page = this.pages.get(p);
      if (n === PAGE_SIZE) {
        if (this.pages.delete(p)) freed++;
      } else if (page) {
        page.fill(0, inPage, inPage + n);
      }
      at += n;
    }
    return freed;
  }

  /** Frees every page; returns how many. */
  clear(): number {
    const n = this.pages.size;
    this.pages.clear();
    this.size = 0;
    return n;
  }

  /** A reserved page nobody wrote is a hole, as tmpfs reports a fallocated page it has not initialised. */
  private isData(p: number): boolean {
    return !!this.pages.get(p);
  }

  /** lseek(SEEK_DATA): first data offset at or after `offset`, or -1 (ENXIO). */
  seekData(offset: number): number {
    if (offset >= this.size) return -1;
    const last = Math.ceil(this.size / PAGE_SIZE);
    for (let p = Math.floor(offset / PAGE_SIZE); p < last; p++) {
      if (this.isData(p)) return Math.max(offset, p * PAGE_SIZE);
    }
    return -1;
  }

  /** lseek(SEEK_HOLE): first hole at or after `offset` (end of file counts), or -1 (ENXIO). */
  seekHole(offset: number): number {
    if (offset >= this.size) return -1;
    const last = Math.ceil(this.size / PAGE_SIZE);
    for (let p = Math.floor(offset / PAGE_SIZE); p < last; p++) {
      if (!this.isData(p)) return Math.max(offset, p * PAGE_SIZE);
    }
    return this.size;
  }
}
