/**
 * A hand-written mutator (fast-check's arbitraries cost too much per input for a million runs):
 * damages a valid encoding the ways a broken or hostile peer would - bit flips, edge values,
 * truncation, extra bytes, lying lengths and counts (a 32-bit word set near the real length,
 * to zero or to all ones), spliced pieces of another message - a few times over.
 */
import type { Rng } from "./rng.js";

const EDGE32 = [0, 1, 0x7f, 0x80, 0xff, 0x7fffffff, 0x80000000, 0xffffffff, 0xfffffe00];

function setU32(b: Uint8Array, at: number, v: number, le: boolean): void {
  if (at < 0 || at + 4 > b.length) return;
  new DataView(b.buffer, b.byteOffset, b.byteLength).setUint32(at, v >>> 0, le);
}

const EMPTY = new Uint8Array(0);

/** `b` with `remove` bytes at `at` replaced by `insert`. */
function splice(b: Uint8Array, at: number, remove: number, insert: Uint8Array): Uint8Array {
  const cut = Math.min(remove, b.length - at);
  const out = new Uint8Array(b.length - cut + insert.length);
  out.set(b.subarray(0, at));
  out.set(insert, at);
  out.set(b.subarray(at + cut), at + insert.length);
  return out;
}

export function mutate(seed: Uint8Array, rng: Rng, other: Uint8Array | null): Uint8Array {
  let b: Uint8Array = seed.slice();
  const rounds = 1 + (rng.chance(0.5) ? 0 : rng.below(4));
  for (let r = 0; r < rounds; r++) {
    const le = !rng.chance(0.1);
    const at = b.length ? rng.below(b.length) : 0;
    switch (rng.below(12)) {
      case 0: // bit flip
        if (b.length) b[at]! ^= 1 << rng.below(8);
        break;
      case 1: // a random byte
        if (b.length) b[at] = rng.u32() & 0xff;
        break;
      case 2: // truncate
        b = b.slice(0, rng.below(b.length + 1));
        break;
      case 3: {
        // extra bytes at the end (zeros or noise)
        const extra = rng.chance(0.5)
          ? new Uint8Array(1 + rng.below(16))
          : rng.bytes(1 + rng.below(16));
        const n = new Uint8Array(b.length + extra.length);
        n.set(b);
        n.set(extra, b.length);
        b = n;
        break;
      }
      case 4: // the header's len lies
        setU32(b, 0, rng.chance(0.5) ? b.length + rng.below(17) - 8 : rng.pick(EDGE32), le);
        break;
      case 5: {
        // an aligned word somewhere (a count, a size, a sub-header len) set near a length
        const w = rng.below(Math.max(1, b.length >> 2)) * 4;
        setU32(b, w, rng.chance(0.5) ? rng.pick(EDGE32) : b.length - w + rng.below(33) - 16, le);
        break;
      }
      case 6: {
        // delete a range
        const n = 1 + rng.below(Math.min(16, b.length || 1));
        b = splice(b, at, n, EMPTY);
        break;
      }
      case 7: {
        // insert bytes
        b = splice(b, at, 0, rng.bytes(1 + rng.below(8)));
        break;
      }
      case 8: {
        // splice in a piece of another valid message (nests and mixes sub-messages)
        if (!other || other.length === 0) break;
        const from = rng.below(other.length);
        const piece = other.subarray(from, from + 1 + rng.below(other.length - from));
        b = splice(b, at, 0, piece);
        break;
      }
      case 9: // an edge byte value
        if (b.length) b[at] = rng.pick([0, 0x2f, 0x7f, 0x80, 0xff]);
        break;
      case 10: // a run of zeros or 0xff
        b.fill(rng.chance(0.5) ? 0 : 0xff, at, at + 1 + rng.below(8));
        break;
      default: // a 16-bit word at random (total_extlen, padding, namelen halves)
        if (at + 2 <= b.length) {
          const v = rng.pick([0, 1, 0xffff, 0x8000, rng.u32() & 0xffff]);
          b[at] = v & 0xff;
          b[at + 1] = v >> 8;
        }
    }
  }
  return b;
}
