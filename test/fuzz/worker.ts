/**
 * A worker thread of the long pass: runs slices of inputs of one target and reports counts and
 * minimised findings. It stores the index it is on in shared memory before each input, so the
 * main thread's watchdog can name the input of a worker that went silent.
 */
import { parentPort, workerData } from "node:worker_threads";
import { count, emptyStats, runOne, type Finding, type Stats } from "./engine.js";
import { allTargets } from "./registry.js";
import { shrink } from "./shrink.js";
import type { Target } from "./targets.js";

export interface Slice {
  readonly target: string;
  readonly seed: number;
  readonly start: number;
  readonly end: number;
}

export interface SliceDone {
  readonly slice: Slice;
  readonly stats: Stats;
  readonly findings: Finding[];
  readonly slowestMs: number;
}

/** Findings kept per outcome per slice (each is shrunk, which costs thousands of runs). */
const KEEP_PER_OUTCOME = 2;

async function main(): Promise<void> {
  const { progress, slot } = workerData as {
    progress: Int32Array;
    slot: number;
  };
  const targets = new Map<string, Target>((await allTargets()).map((t) => [t.id, t]));
  parentPort!.on("message", (slice: Slice) => {
    const target = targets.get(slice.target)!;
    const stats = emptyStats();
    const findings: Finding[] = [];
    const kept = new Map<string, number>();
    let slowestMs = 0;
    for (let i = slice.start; i < slice.end; i++) {
      Atomics.store(progress, slot, i);
      const t0 = performance.now();
      const r = runOne(target, slice.seed, i);
      const ms = performance.now() - t0;
      if (ms > slowestMs) slowestMs = ms;
      count(stats, r.outcome);
      if (r.outcome !== "accepted" && r.outcome !== "rejected") {
        const n = kept.get(r.outcome) ?? 0;
        if (n < KEEP_PER_OUTCOME) {
          kept.set(r.outcome, n + 1);
          findings.push({
            outcome: r.outcome,
            message: r.message,
            case: shrink(target, r.case, r.outcome),
          });
        }
      }
    }
    Atomics.store(progress, slot, -1);
    const done: SliceDone = { slice, stats, findings, slowestMs };
    parentPort!.postMessage(done);
  });
  parentPort!.postMessage("ready");
}

void main();
