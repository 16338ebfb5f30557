/**
 * Minimises a failing input while it fails the same way (same outcome, same config): cuts the
 * tail, removes chunks of halving size, then zeroes bytes, so the kept counterexample shows
 * the few bytes that matter. Bounded, so a slow decoder cannot make it run for ever.
 */
import { classify, type FuzzCase, type Outcome } from "./engine.js";
import type { Target } from "./targets.js";

export function shrink(target: Target, c: FuzzCase, outcome: Outcome, budget = 4000): FuzzCase {
  let best = c.bytes;
  let tries = 0;
  const fails = (bytes: Uint8Array): boolean => {
    tries++;
    return classify(target, { ...c, bytes }).outcome === outcome;
  };
  for (let chunk = best.length >> 1; chunk >= 1 && tries < budget; chunk >>= 1) {
    for (let at = best.length - chunk; at >= 0 && tries < budget; at -= chunk) {
      const cand = new Uint8Array(best.length - chunk);
      cand.set(best.subarray(0, at));
      cand.set(best.subarray(at + chunk), at);
      if (fails(cand)) best = cand;
    }
  }
  for (let i = 0; i < best.length && tries < budget; i++) {
    if (best[i] === 0) continue;
    const cand = best.slice();
    cand[i] = 0;
    if (fails(cand)) best = cand;
  }
  return { ...c, bytes: best };
}
