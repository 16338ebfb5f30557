/**
 * Interleaved timing of contenders that do the same work.
 *
 * Why not tinybench: it runs one task to the end before the next, so a neighbour
 * process that takes the CPU for a few seconds (this machine is shared) lands on
 * one contender only. Here every contender runs one short batch in turn, the
 * order rotating every round, so noise hits all of them alike; a run is the
 * median of its rounds, and the result is the median of three runs.
 */

export interface Contender {
  /** Name in the table, e.g. "generated (per-struct, cached view)". */
  readonly name: string;
  /** One unit of work; its result is kept alive so the optimiser cannot drop the work. */
  readonly fn: () => unknown;
}

export interface TimingOptions {
  /** Independent runs; the reported figure is their median. */
  readonly runs: number;
  /** Batches per contender in one run (interleaved); a run's figure is their median. */
  readonly rounds: number;
  /** Target duration of one batch, milliseconds. */
  readonly batchMs: number;
  /** Warm-up per contender before calibrating (lets the JIT settle), milliseconds. */
  readonly warmupMs: number;
}

export interface ContenderTiming {
  readonly name: string;
  /** Median over runs of each run's median batch, nanoseconds per operation. */
  readonly ns: number;
  /** Each run's figure, nanoseconds per operation. */
  readonly runs: number[];
  readonly iterationsPerBatch: number;
}

/** Where results go so that no call is dead code: stored into an array, every result escapes. */
const sink: unknown[] = new Array(16);

type Loop = (fn: () => unknown, n: number, out: unknown[]) => void;

/**
 * A batch loop of its own for each contender: `new Function` with a distinct
 * source text gives each one its own call-site feedback, so one contender's
 * types never make another's loop polymorphic.
 */
function makeLoop(tag: string): Loop {
  return new Function(
    "fn",
    "n",
    "out",
    `"use strict"; // loop for ${JSON.stringify(tag)}\nfor (let i = 0; i < n; i++) out[i & 15] = fn();`,
  ) as Loop;
}

function timeBatch(loop: Loop, fn: () => unknown, n: number): number {
  const t0 = process.hrtime.bigint();
  loop(fn, n, sink);
  const t1 = process.hrtime.bigint();
  return Number(t1 - t0);
}

export function median(xs: readonly number[]): number {
  if (xs.length === 0) return NaN;
  const s = [...xs].sort((a, b) => a - b);
  const m = s.length >> 1;
  return s.length % 2 === 1 ? s[m]! : (s[m - 1]! + s[m]!) / 2;
}

/** Times `contenders` interleaved (see the file comment); results in the order given. */
export function timeInterleaved(
  contenders: readonly Contender[],
  opts: TimingOptions,
): ContenderTiming[] {
  const loops = contenders.map((c, i) => makeLoop(`${i}:${c.name}`));
  // Warm-up, then calibrate: iterations so that one batch takes about batchMs.
  const iterations = contenders.map((c, i) => {
    const loop = loops[i]!;
    let n = 1;
    let spent = 0;
    const warmNs = opts.warmupMs * 1e6;
    while (spent < warmNs) {
      const t = timeBatch(loop, c.fn, n);
      spent += t;
      if (t < 1e6) n *= 2;
    }
    const perOp = timeBatch(loop, c.fn, n) / n;
    return Math.max(1, Math.round((opts.batchMs * 1e6) / Math.max(perOp, 0.1)));
  });
  const perRun: number[][] = contenders.map(() => []);
  for (let run = 0; run < opts.runs; run++) {
    const samples: number[][] = contenders.map(() => []);
    for (let round = 0; round < opts.rounds; round++) {
      for (let k = 0; k < contenders.length; k++) {
        const i = (k + round + run) % contenders.length;
        const n = iterations[i]!;
        samples[i]!.push(timeBatch(loops[i]!, contenders[i]!.fn, n) / n);
      }
    }
    samples.forEach((s, i) => perRun[i]!.push(median(s)));
  }
  return contenders.map((c, i) => ({
    name: c.name,
    ns: median(perRun[i]!),
    runs: perRun[i]!,
    iterationsPerBatch: iterations[i]!,
  }));
}
