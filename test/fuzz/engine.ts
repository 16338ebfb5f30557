/**
 * Runs inputs against one target and sorts the outcomes: accepted, typed rejection, untyped
 * exception, a broken property. Input `index` of a run with `seed` is a pure function of the
 * two (config word, seed message, mutation), so any outcome reproduces from (seed, index),
 * which is all the hang watchdog needs to know.
 */
import { mutate } from "./mutate.js";
import { Rng } from "./rng.js";
import { lastRejection, PropertyFailure, type FailureKind, type Target } from "./targets.js";

export type Outcome = "accepted" | "rejected" | "untyped" | FailureKind;

export interface FuzzCase {
  readonly target: string;
  readonly config: number;
  readonly bytes: Uint8Array;
}

export interface Finding {
  readonly outcome: Exclude<Outcome, "accepted" | "rejected">;
  readonly message: string;
  readonly case: FuzzCase;
}

/** The input `index` of a run: a valid encoding, usually damaged. */
/** Seeds per config class kept by a pooled target. */
const SLOTS = 16;
const pools = new Map<Target, Map<number, Uint8Array | null>>();

/**
 * Seed `slot` of the class of `config` (all bits but the buffer kind): built once from an Rng of
 * its own, so it is the same whichever input asks first.
 */
function pooledSeed(target: Target, config: number, slot: number): Uint8Array | null {
  let pool = pools.get(target);
  if (!pool) pools.set(target, (pool = new Map()));
  const key = (config >>> 2) * SLOTS + slot;
  let s = pool.get(key);
  if (s === undefined) {
    s = target.seed(new Rng(key ^ 0x2545f491), config);
    pool.set(key, s);
  }
  return s;
}

export function makeCase(
  target: Target,
  seed: number,
  index: number,
): { case: FuzzCase; pristine: boolean } {
  const rng = Rng.forInput(seed, index);
  const config = ((rng.u32() & 0x1ff) | (rng.below(target.selectors) << 9)) >>> 0;
  const seedOf = (cfg: number): Uint8Array | null =>
    target.pooled ? pooledSeed(target, cfg, rng.below(SLOTS)) : target.seed(rng, cfg);
  let bytes = seedOf(config);
  // An unmutated encoding is "pristine": the decoder must accept it.
  let pristine = bytes !== null;
  if (bytes === null) bytes = rng.bytes(rng.below(48));
  else if (rng.chance(0.9)) {
    bytes = mutate(bytes, rng, seedOf(config));
    pristine = false;
  }
  return { case: { target: target.id, config, bytes }, pristine };
}

export function classify(target: Target, c: FuzzCase): { outcome: Outcome; message: string } {
  try {
    return { outcome: target.run(c.bytes, c.config), message: "" };
  } catch (e) {
    if (e instanceof PropertyFailure) return { outcome: e.kind, message: e.message };
    const err = e as Error;
    return {
      outcome: "untyped",
      message: `${err?.name ?? typeof e}: ${err?.message ?? String(e)}`.slice(0, 500),
    };
  }
}

export interface Stats {
  inputs: number;
  accepted: number;
  rejected: number;
  untyped: number;
  hangs: number;
  notReencodable: number;
  validRefused: number;
  wrongVerdict: number;
}

export function emptyStats(): Stats {
  return {
    inputs: 0,
    accepted: 0,
    rejected: 0,
    untyped: 0,
    hangs: 0,
    notReencodable: 0,
    validRefused: 0,
    wrongVerdict: 0,
  };
}

export function count(stats: Stats, outcome: Outcome): void {
  stats.inputs++;
  switch (outcome) {
    case "accepted":
      stats.accepted++;
      break;
    case "rejected":
      stats.rejected++;
      break;
    case "untyped":
      stats.untyped++;
      break;
    case "not-re-encodable":
      stats.notReencodable++;
      break;
    case "valid-refused":
      stats.validRefused++;
      break;
    case "wrong-verdict":
      stats.wrongVerdict++;
      break;
  }
}

/** One input: its outcome, with "a seed the decoder refused" told apart from a rejection. */
export function runOne(
  target: Target,
  seed: number,
  index: number,
): { outcome: Outcome; message: string; case: FuzzCase } {
  const { case: c, pristine } = makeCase(target, seed, index);
  let r = classify(target, c);
  if (r.outcome === "rejected" && pristine)
    r = {
      outcome: "valid-refused",
      message: `the decoder refused what the encoder produced: ${lastRejection?.message ?? "?"}`,
    };
  return { ...r, case: c };
}
