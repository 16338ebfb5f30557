/**
 * memfs file contents (examples/memfs/pages.ts): extents, not pages.
 *
 * 1. Against a model: random sequences of writes, truncates, fallocates,
 *    punched holes, reads and seeks give the same results and block counts as
 *    a plain map of 4 KiB pages (the simplest correct implementation: every
 *    answer it gives is by looking at each page).
 * 2. Complexity: on files of 16 TiB and 2^52 bytes with data only at the ends,
 *    SEEK_DATA, SEEK_HOLE, fallocate, punching, truncating and reading answer
 *    in a child process that is killed after a generous 10 s. Walking pages,
 *    one SEEK_DATA over 16 TiB took 27 s; over 2^52 bytes it would take days.
 */
import assert from "node:assert/strict";
import { spawnSync } from "node:child_process";
import { dirname, join } from "node:path";
import { test } from "node:test";
import { fileURLToPath, pathToFileURL } from "node:url";
import fc from "fast-check";
import { RangeSet } from "../examples/memfs/extents.js";
import { FileData, PAGE_SIZE } from "../examples/memfs/pages.js";

const P = PAGE_SIZE;

/** The reference: one map entry per page that takes space (null: reserved, not written). */
class PageModel {
  size = 0;
  pages = new Map<number, Uint8Array | null>();

  read(offset: number, length: number): Uint8Array {
    const end = Math.min(this.size, offset + length);
    if (offset >= end) return new Uint8Array(0);
    const out = new Uint8Array(end - offset);
    for (let at = offset; at < end; at++)
      out[at - offset] = this.pages.get(Math.floor(at / P))?.[at % P] ?? 0;
    return out;
  }
  pagesNeeded(offset: number, length: number): number {
    let n = 0;
    for (let p = Math.floor(offset / P); length > 0 && p * P < offset + length; p++)
      if (!this.pages.has(p)) n++;
    return n;
  }
  write(offset: number, data: Uint8Array): number {
    let taken = 0;
    for (let k = 0; k < data.length; k++) {
      const p = Math.floor((offset + k) / P);
      let page = this.pages.get(p);
      if (page === undefined) taken++;
      if (!page) this.pages.set(p, (page = new Uint8Array(P)));
      page[(offset + k) % P] = data[k]!;
    }
    if (data.length > 0) this.size = Math.max(this.size, offset + data.length);
    return taken;
  }
  truncate(size: number): void {
    if (size < this.size) {
      const keep = Math.ceil(size / P);
      for (const p of [...this.pages.keys()]) if (p >= keep) this.pages.delete(p);
      const last = this.pages.get(keep - 1);
      if (last && size % P !== 0) last.fill(0, size % P);
    }
    this.size = size;
  }
  allocate(offset: number, length: number): number {
    let taken = 0;
    for (let p = Math.floor(offset / P); length > 0 && p * P < offset + length; p++) {
      if (!this.pages.has(p)) {
        this.pages.set(p, null);
        taken++;
      }
    }
    return taken;
  }
  punchHole(offset: number, length: number): number {
    const end = Math.min(offset + length, Math.max(this.size, offset));
    let freed = 0;
    for (let at = offset; at < end;) {
      const p = Math.floor(at / P);
      const n = Math.min(P - (at % P), end - at);
      if (n === P) {
        if (this.pages.delete(p)) freed++;
      } else {
        this.pages.get(p)?.fill(0, at % P, (at % P) + n);
      }
      at += n;
    }
    return freed;
  }
  seekData(offset: number): number {
    for (let p = Math.floor(offset / P); offset < this.size && p * P < this.size; p++)
      if (this.pages.get(p)) return Math.max(offset, p * P);
    return -1;
  }
  seekHole(offset: number): number {
    if (offset >= this.size) return -1;
    for (let p = Math.floor(offset / P); p * P < this.size; p++)
      if (!this.pages.get(p)) return Math.max(offset, p * P);
    return this.size;
  }
}

const offsetArb = fc.oneof(
  fc.nat({ max: 24 * P }),
  fc.constantFrom(0, P - 1, P, 2 * P, 5 * P + 1, 8 * P),
);
const lengthArb = fc.oneof(fc.nat({ max: 6 * P }), fc.constantFrom(0, 1, P, 2 * P));
const opArb = fc.oneof(
  fc.record({
    op: fc.constant("write" as const),
    offset: offsetArb,
    length: lengthArb,
    byte: fc.integer({ min: 1, max: 255 }),
  }),
  fc.record({ op: fc.constant("truncate" as const), offset: offsetArb }),
  fc.record({ op: fc.constant("allocate" as const), offset: offsetArb, length: lengthArb }),
  fc.record({ op: fc.constant("punch" as const), offset: offsetArb, length: lengthArb }),
  fc.record({ op: fc.constant("clear" as const) }),
);

test("extents give the same answers as a map of pages (writes, truncates, fallocate, holes, reads, seeks)", () => {
  fc.assert(
    fc.property(
      fc.array(opArb, { minLength: 1, maxLength: 30 }),
      fc.array(offsetArb, { minLength: 4, maxLength: 4 }),
      (ops, probes) => {
        const file = new FileData();
        const model = new PageModel();
        for (const o of ops) {
          switch (o.op) {
            case "write": {
              const data = new Uint8Array(o.length).fill(o.byte);
              assert.equal(
                file.pagesNeeded(o.offset, o.length),
                model.pagesNeeded(o.offset, o.length),
                "pagesNeeded",
              );
              assert.equal(
                file.write(o.offset, data),
                model.write(o.offset, data),
                "write: pages taken",
              );
              break;
            }
            case "truncate":
              file.truncate(o.offset);
              model.truncate(o.offset);
              break;
            case "allocate":
              assert.equal(
                file.allocate(o.offset, o.length),
                model.allocate(o.offset, o.length),
                "allocate: pages taken",
              );
              break;
            case "punch":
              assert.equal(
                file.punchHole(o.offset, o.length),
                model.punchHole(o.offset, o.length),
                "punchHole: pages freed",
              );
              break;
            case "clear":
              assert.equal(file.clear(), model.pages.size);
              model.pages.clear();
              model.size = 0;
              break;
          }
          assert.equal(file.size, model.size);
          assert.equal(
            file.allocatedPages,
            model.pages.size,
            `allocated pages after ${JSON.stringify(o)}`,
          );
        }
        for (const at of [...probes, 0, model.size, Math.max(0, model.size - 1)]) {
          assert.equal(file.seekData(at), model.seekData(at), `SEEK_DATA ${at}`);
          assert.equal(file.seekHole(at), model.seekHole(at), `SEEK_HOLE ${at}`);
        }
        assert.deepEqual(file.read(0, model.size + P), model.read(0, model.size + P));
        assert.deepEqual(file.read(probes[0]!, probes[1]!), model.read(probes[0]!, probes[1]!));
      },
    ),
    { numRuns: 400 },
  );
});

test("RangeSet merges touching ranges and splits on removal", () => {
  const s = new RangeSet();
  assert.equal(s.add(10, 20), 10);
  assert.equal(s.add(20, 30), 10, "touching: merged");
  assert.equal(s.count, 1);
  assert.equal(s.add(5, 40), 15);
  assert.equal(s.add(50, 60), 10);
  assert.equal(s.count, 2);
  assert.equal(s.covered(0, 100), 45);
  const removed: [number, number][] = [];
  assert.equal(
    s.remove(15, 55, (a, b) => removed.push([a, b])),
    30,
  );
  assert.deepEqual(removed, [
    [15, 40],
    [50, 55],
  ]);
  assert.deepEqual(
    [...s.within(0, 100)],
    [
      [5, 15],
      [55, 60],
    ],
  );
  assert.equal(s.nextIn(15), 55);
  assert.equal(s.nextOut(5), 15);
  assert.equal(s.nextOut(16), 16);
  assert.equal(s.nextIn(60), -1);
  assert.equal(s.total, 15);
});

/**
 * Runs in a child: huge sparse files. Each line it prints is one check; the
 * parent compares them. Killed after 10 s, which only page walking could need.
 */
const HUGE = `
const { FileData, PAGE_SIZE: P } = await import(process.argv[1]);
const TiB = 2 ** 40;
const out = [];
for (const size of [16 * TiB, 2 ** 52]) {
  const f = new FileData();
  f.truncate(size);
  out.push(["empty SEEK_DATA", f.seekData(0)], ["empty SEEK_HOLE", f.seekHole(0)]);
  f.write(size - 1, new Uint8Array([7]));
  const last = size - P;
  out.push(["SEEK_DATA", f.seekData(0) === last], ["SEEK_HOLE at the data", f.seekHole(last) === size], ["SEEK_HOLE", f.seekHole(0)]);
  out.push(["read in the middle", f.read(size / 2, 8).join(",")], ["read the end", f.read(size - 2, 8).join(",")]);
  out.push(["pages needed for all", f.pagesNeeded(0, size) === size / P - 1]);
  out.push(["reserve half", f.allocate(0, size / 2) === size / (2 * P)]);
  out.push(["SEEK_DATA after reserving", f.seekData(0) === last], ["blocks", f.allocatedPages === size / (2 * P) + 1]);
  out.push(["punch", f.punchHole(P, size / 2) === size / (2 * P) - 1], ["extents", JSON.stringify(f.extents)]);
  f.write(size / 4 + 3, new Uint8Array([1, 2]));
  out.push(["SEEK_DATA mid", f.seekData(0) === size / 4], ["SEEK_HOLE mid", f.seekHole(size / 4) === size / 4 + P]);
  f.truncate(P);
  out.push(["truncated", f.allocatedPages, f.seekData(0), f.seekHole(0)]);
}
console.log(JSON.stringify(out));
`;

test("a 16 TiB and a 2^52-byte sparse file: seeks, fallocate, holes, truncate and reads cost extents, not pages", () => {
  const pages = pathToFileURL(
    join(dirname(fileURLToPath(import.meta.url)), "..", "examples", "memfs", "pages.js"),
  ).href;
  const t0 = performance.now();
  const r = spawnSync(process.execPath, ["--input-type=module", "-e", HUGE, pages], {
    encoding: "utf8",
    timeout: 10_000,
    killSignal: "SIGKILL",
  });
  const ms = performance.now() - t0;
  assert.equal(r.signal, null, `killed after ${ms.toFixed(0)} ms: the operations walk pages`);
  assert.equal(r.status, 0, r.stderr);
  const expected = [
    ["empty SEEK_DATA", -1],
    ["empty SEEK_HOLE", 0],
    ["SEEK_DATA", true],
    ["SEEK_HOLE at the data", true],
    ["SEEK_HOLE", 0],
    ["read in the middle", "0,0,0,0,0,0,0,0"],
    ["read the end", "0,7"],
    ["pages needed for all", true],
    ["reserve half", true],
    ["SEEK_DATA after reserving", true],
    ["blocks", true],
    ["punch", true],
    ["extents", JSON.stringify({ allocated: 2, written: 1 })],
    ["SEEK_DATA mid", true],
    ["SEEK_HOLE mid", true],
    ["truncated", 1, -1, 0],
  ];
  assert.deepEqual(JSON.parse(r.stdout), [...expected, ...expected]);
});
