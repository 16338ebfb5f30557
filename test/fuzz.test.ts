/**
 * The short fuzzing pass `npm test` runs (the long one is `npm run fuzz`, test/fuzz/main.ts):
 * every decoder of every revision in generated/ (one per generated implementation), on
 * - inputs of the fuzz engine: valid encodings from the revision's own encoders, damaged by the
 *   mutator (bit flips, truncation, lying lengths and counts, spliced messages), in every kind
 *   of buffer (odd offsets, SharedArrayBuffer, pooled Buffer, DataView), both byte orders;
 * - fast-check's random bytes and config words, shrunk to a minimal counterexample on failure;
 * - the kept corpus of minimised counterexamples (test/fixtures/fuzz-corpus/), replayed.
 * Each input must be accepted and re-encode to the same bytes, or be refused with one of the
 * project's typed errors. The seed is fixed (FUZZ_SEED varies it, FUZZ_SHORT_RUNS scales the
 * runs) and printed, so a failure reproduces.
 */
import assert from "node:assert/strict";
import { describe, test } from "node:test";
import fc from "fast-check";
import { loadCorpus } from "./fuzz/corpus.js";
import { classify, runOne } from "./fuzz/engine.js";
import { allTargets, selectTargets } from "./fuzz/registry.js";
import type { Target } from "./fuzz/targets.js";

const SEED = Number(process.env["FUZZ_SEED"] ?? 20261202) >>> 0;
const SCALE = Number(process.env["FUZZ_SHORT_RUNS"] ?? 1);
console.log(`fuzz short pass: FUZZ_SEED=${SEED} FUZZ_SHORT_RUNS=${SCALE}`);

const groups = await selectTargets(undefined, false);
const isStruct = (t: Target): boolean => t.id.includes("/struct/");

function hex(b: Uint8Array): string {
  return Buffer.from(b.buffer, b.byteOffset, b.byteLength).toString("hex");
}

describe("fuzz engine inputs: accepted and re-encodable, or a typed error", () => {
  for (const { target, same } of groups) {
    const runs = Math.max(1, Math.round((isStruct(target) ? 6 : 40) * SCALE));
    test(`${target.id}${same.length ? ` (same code: ${same.length} more)` : ""}: ${runs} inputs`, () => {
      for (let i = 0; i < runs; i++) {
        const r = runOne(target, SEED, i);
        if (r.outcome === "accepted" || r.outcome === "rejected") continue;
        assert.fail(
          `${target.id} input ${i} (FUZZ_SEED=${SEED}): ${r.outcome}: ${r.message}\n` +
            `config ${r.case.config}, bytes ${hex(r.case.bytes)}`,
        );
      }
    });
  }
});

describe("fast-check: random bytes and config words, shrunk on failure", () => {
  for (const { target } of groups) {
    if (isStruct(target) && !target.id.endsWith("/fuse_in_header")) continue;
    test(target.id, () => {
      fc.assert(
        fc.property(
          fc.oneof(
            fc.uint8Array({ maxLength: 96 }),
            // A valid seed with random bytes laid over part of it.
            fc
              .tuple(fc.nat({ max: 10_000 }), fc.uint8Array({ maxLength: 8 }), fc.nat())
              .map(([index, noise, at]) => {
                const base = runOne(target, SEED, index).case.bytes.slice();
                if (base.length) {
                  const from = at % base.length;
                  base.set(noise.subarray(0, base.length - from), from);
                }
                return base;
              }),
          ),
          fc.nat({ max: 0xffff }),
          (bytes, config) => {
            const r = classify(target, { target: target.id, config, bytes });
            return r.outcome === "accepted" || r.outcome === "rejected";
          },
        ),
        { seed: SEED | 0, numRuns: Math.max(1, Math.round(15 * SCALE)) },
      );
    });
  }
});

describe("kept corpus (test/fixtures/fuzz-corpus): each counterexample is now handled", async () => {
  const byId = new Map((await allTargets()).map((t) => [t.id, t]));
  const corpus = loadCorpus();
  test("the corpus has counterexamples", () => assert.ok(corpus.length > 0));
  for (const { file, entry, case: c } of corpus) {
    test(`${file} (found: ${entry.found})`, () => {
      const target = byId.get(c.target);
      assert.ok(target, `no target ${c.target}`);
      const r = classify(target, c);
      assert.ok(
        r.outcome === "accepted" || r.outcome === "rejected",
        `${c.target}: ${r.outcome}: ${r.message} (${entry.why})`,
      );
    });
  }
});
