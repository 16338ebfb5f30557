/**
 * A set of page numbers kept as sorted, disjoint, non-adjacent ranges
 * [start, end). Every operation costs O(log n + k) for n ranges and k ranges
 * it touches, never the number of pages: a 16 TiB file with one page of data
 * is one range, so finding that page (SEEK_DATA) or reserving 4 TiB
 * (fallocate) takes as long as it does for a 4 KiB file.
 *
 * Two parallel arrays rather than an array of objects: they stay small and
 * dense, and splice moves plain numbers.
 */
export class RangeSet {
  private readonly starts: number[] = [];
  private readonly ends: number[] = [];
  /** Pages in the set. */
  total = 0;

  /** Ranges in the set (for tests and diagnostics). */
  get count(): number {
    return this.starts.length;
  }

  /** Index of the first range that ends after `p` (= count when none does). */
  private firstEndingAfter(p: number): number {
    let lo = 0;
    let hi = this.ends.length;
    while (lo < hi) {
      const mid = (lo + hi) >>> 1;
      if (this.ends[mid]! > p) hi = mid;
      else lo = mid + 1;
    }
    return lo;
  }

  /** Whether page `p` is in the set. */
  has(p: number): boolean {
    const i = this.firstEndingAfter(p);
    return i < this.starts.length && this.starts[i]! <= p;
  }

  /** Pages of [a, b) in the set. */
  covered(a: number, b: number): number {
    let n = 0;
    for (let i = this.firstEndingAfter(a); i < this.starts.length && this.starts[i]! < b; i++) {
      n += Math.min(b, this.ends[i]!) - Math.max(a, this.starts[i]!);
    }
    return n;
  }

  /** Adds [a, b); returns how many of its pages were not in the set before. */
  add(a: number, b: number): number {
    if (a >= b) return 0;
    const before = this.covered(a, b);
    // Ranges that overlap or touch [a, b) merge into one.
    const i = this.firstEndingAfter(a - 1); // the first range with end >= a: it touches or overlaps
    let j = i;
    let start = a;
    let end = b;
    while (j < this.starts.length && this.starts[j]! <= b) {
      start = Math.min(start, this.starts[j]!);
      end = Math.max(end, this.ends[j]!);
      j++;
    }
    this.starts.splice(i, j - i, start);
    this.ends.splice(i, j - i, end);
    const added = b - a - before;
    this.total += added;
    return added;
  }

  /**
   * Removes [a, b); returns how many pages were removed. `each` sees every
   * removed sub-range (to free what belongs to those pages).
   */
  remove(a: number, b: number, each?: (from: number, to: number) => void): number {
    if (a >= b) return 0;
    const i = this.firstEndingAfter(a);
    let j = i;
    let removed = 0;
    const keep: Array<[number, number]> = [];
    while (j < this.starts.length && this.starts[j]! < b) {
      const s = this.starts[j]!;
      const e = this.ends[j]!;
      const from = Math.max(a, s);
      const to = Math.min(b, e);
      removed += to - from;
      each?.(from, to);
      if (s < a) keep.push([s, a]);
      if (e > b) keep.push([b, e]);
      j++;
    }
    this.starts.splice(i, j - i, ...keep.map((r) => r[0]));
    this.ends.splice(i, j - i, ...keep.map((r) => r[1]));
    this.total -= removed;
    return removed;
  }

  /** The first page at or after `p` in the set, or -1. */
  nextIn(p: number): number {
    const i = this.firstEndingAfter(p);
    return i < this.starts.length ? Math.max(p, this.starts[i]!) : -1;
  }

  /** The first page at or after `p` not in the set (ranges never touch, so a range's end is one). */
  nextOut(p: number): number {
    const i = this.firstEndingAfter(p);
    return i < this.starts.length && this.starts[i]! <= p ? this.ends[i]! : p;
  }

  /** The ranges overlapping [a, b), clipped to it, in order. */
  *within(a: number, b: number): Generator<[number, number]> {
    for (let i = this.firstEndingAfter(a); i < this.starts.length && this.starts[i]! < b; i++) {
      yield [Math.max(a, this.starts[i]!), Math.min(b, this.ends[i]!)];
    }
  }

  clear(): void {
    this.starts.length = 0;
    this.ends.length = 0;
    this.total = 0;
  }
}
