/**
 * The long fuzzing pass (`npm run fuzz`): every decoder of every revision in generated/, one
 * target per generated implementation (unless --every), --inputs inputs each, on worker threads
 * (one per core by default), with a watchdog: a worker that stays on one input for
 * --hang-seconds is reported as a hang with that input, replaced, and the run goes on.
 * Prints a table per decoder and writes it to test/fuzz/results.md; minimised
 * counterexamples go to test/fuzz/findings/ (not committed), to be triaged: once fixed, a finding
 * is moved into the kept corpus, test/fixtures/fuzz-corpus/, which `npm test` replays. (Writing
 * straight into the kept corpus made an untriaged finding turn `npm test` red.)
 */
import { Command } from "commander";
import { writeFileSync } from "node:fs";
import { availableParallelism } from "node:os";
import { join } from "node:path";
import { Worker } from "node:worker_threads";
import { FINDINGS_DIR, keep } from "./corpus.js";
import { emptyStats, makeCase, type Finding, type Stats } from "./engine.js";
import { selectTargets, type TargetGroup } from "./registry.js";
import { ROOT } from "./revisions.js";
import { shrink } from "./shrink.js";
import type { Slice, SliceDone } from "./worker.js";

interface Row {
  readonly group: TargetGroup;
  readonly stats: Stats;
  slowestMs: number;
  pending: number;
  reported?: boolean;
  findings: Finding[];
}

const program = new Command()
  .name("fuzz")
  .description("property-based fuzzing of every generated decoder")
  .option("--inputs <n>", "inputs per decoder", "1000000")
  .option("--workers <n>", "worker threads (default: one per core)")
  .option("--seed <n>", "run seed (default: random, printed)")
  .option("--only <patterns>", "target ids, * as wildcard, comma-separated (e.g. 'v7/*')")
  .option("--every", "fuzz each revision's decoder even where the generated code is the same")
  .option("--hang-seconds <n>", "a worker silent this long on one input is a hang", "10")
  .option("--slice <n>", "inputs per work unit", "10000")
  .option(
    "--minutes <n>",
    "stop handing out work after this long (the table then says how far each decoder got)",
  )
  .option("--no-keep", "do not write counterexamples")
  .option("--keep-into <dir>", "where counterexamples go", FINDINGS_DIR)
  .option("--out <file>", "results table", join(ROOT, "test", "fuzz", "results.md"));

async function main(): Promise<void> {
  const opts = program.parse().opts();
  const inputs = Number(opts["inputs"]);
  const workers = Number(opts["workers"] ?? availableParallelism());
  const seed =
    opts["seed"] !== undefined ? Number(opts["seed"]) >>> 0 : (Math.random() * 2 ** 32) >>> 0;
  const hangMs = Number(opts["hangSeconds"]) * 1000;
  const sliceSize = Number(opts["slice"]);
  const groups = await selectTargets(opts["only"], opts["every"] === true);
  console.log(
    `fuzz: seed ${seed}, ${groups.length} decoders, ${inputs} inputs each, ${workers} workers (reproduce: --seed ${seed})`,
  );
  const rows = new Map<string, Row>();
  const queue: Slice[] = [];
  for (const group of groups)
    rows.set(group.target.id, {
      group,
      stats: emptyStats(),
      slowestMs: 0,
      pending: 0,
      findings: [],
    });
  // Round robin over the decoders, so a run cut short by --minutes covers all of them evenly.
  for (let s = 0; s < inputs; s += sliceSize) {
    for (const group of groups) {
      queue.push({ target: group.target.id, seed, start: s, end: Math.min(inputs, s + sliceSize) });
      rows.get(group.target.id)!.pending++;
    }
  }
  const started = Date.now();
  const deadline =
    opts["minutes"] !== undefined ? started + Number(opts["minutes"]) * 60_000 : Infinity;
  const progress = new Int32Array(new SharedArrayBuffer(4 * workers));
  let doneSlices = 0;
  const totalSlices = queue.length;

  await new Promise<void>((resolve) => {
    let live = 0;
    const finish = (): void => {
      if (live === 0 && queue.length === 0) resolve();
    };
    const spawn = (slot: number): void => {
      const w = new Worker(new URL("./worker.js", import.meta.url), {
        workerData: { progress, slot },
      });
      live++;
      let current: Slice | null = null;
      let replaced = false; // terminated after a hang or died: a new worker takes the slot
      let lastIndex = -1;
      let lastChange = Date.now();
      const next = (): void => {
        if (Date.now() > deadline && queue.length) {
          console.log(`deadline: ${queue.length} slices not run`);
          for (const left of queue.splice(0)) rows.get(left.target)!.pending--;
          for (const row of rows.values()) if (row.pending === 0) report(row);
        }
        current = queue.shift() ?? null;
        if (!current) {
          clearInterval(watch);
          void w.terminate();
          return;
        }
        lastIndex = -1;
        lastChange = Date.now();
        w.postMessage(current);
      };
      const watch = setInterval(() => {
        if (!current) return;
        const i = Atomics.load(progress, slot);
        if (i !== lastIndex) {
          lastIndex = i;
          lastChange = Date.now();
          return;
        }
        if (Date.now() - lastChange < hangMs || i < 0) return;
        // A hang: report the input, replace the worker, go on after it.
        const slice: Slice = current;
        current = null;
        clearInterval(watch);
        const row = rows.get(slice.target)!;
        const target = row.group.target;
        const c = makeCase(target, slice.seed, i).case;
        row.stats.hangs++;
        row.stats.inputs++;
        row.findings.push({
          outcome: "untyped",
          message: `hang: no answer in ${hangMs / 1000} s (input ${i})`,
          case: c,
        });
        console.log(`HANG ${slice.target} input ${i} (seed ${slice.seed})`);
        // The slice is run again around the hang: what came before it (whose counts died with
        // the worker) and what comes after.
        const pieces: Slice[] = [];
        if (i > slice.start) pieces.push({ ...slice, end: i });
        if (i + 1 < slice.end) pieces.push({ ...slice, start: i + 1 });
        queue.unshift(...pieces);
        row.pending += pieces.length - 1;
        if (row.pending === 0) report(row);
        // The exit handler counts the worker out and starts its replacement (counting it out
        // here too once made `live` negative, and the run ended without its table).
        replaced = true;
        void w.terminate();
      }, 250);
      w.on("message", (m: "ready" | SliceDone) => {
        if (m === "ready") return next();
        const row = rows.get(m.slice.target)!;
        for (const [k, v] of Object.entries(m.stats))
          (row.stats as unknown as Record<string, number>)[k]! += v;
        row.slowestMs = Math.max(row.slowestMs, m.slowestMs);
        row.findings.push(...m.findings);
        doneSlices++;
        if (--row.pending === 0) report(row);
        if (doneSlices % 20 === 0)
          console.log(
            `  ${doneSlices}/${totalSlices} slices, ${((Date.now() - started) / 1000).toFixed(0)} s`,
          );
        next();
      });
      w.on("error", (e) => {
        console.error(`worker ${slot} failed: ${e.message}`);
      });
      w.on("exit", () => {
        clearInterval(watch);
        live--;
        if (current) {
          // Died without a hang verdict (e.g. out of memory): its slice goes back to the queue.
          queue.unshift(current);
          current = null;
          replaced = true;
        }
        if (replaced) spawn(slot);
        else finish();
      });
    };
    const report = (row: Row): void => {
      if (row.reported) return;
      row.reported = true;
      const s = row.stats;
      const bad = s.untyped + s.hangs + s.notReencodable + s.validRefused + s.wrongVerdict;
      console.log(
        `${bad ? "FAIL" : "ok  "} ${row.group.target.id}: ${s.inputs} inputs, ${bad} failures`,
      );
      if (opts["keep"] !== false) {
        for (const f of row.findings) {
          const target = row.group.target;
          const c = f.message.startsWith("hang") ? f.case : shrink(target, f.case, f.outcome, 500);
          const file = keep(c, f.outcome, f.message, opts["keepInto"]);
          console.log(`  kept ${file}: ${f.outcome}: ${f.message}`);
        }
      }
    };
    for (let slot = 0; slot < workers; slot++) spawn(slot);
  });

  const seconds = (Date.now() - started) / 1000;
  const table = renderTable([...rows.values()], seed, inputs, workers, seconds);
  console.log(`\n${table}`);
  writeFileSync(opts["out"], table);
  const total = [...rows.values()].reduce(
    (n, r) =>
      n +
      r.stats.untyped +
      r.stats.hangs +
      r.stats.notReencodable +
      r.stats.validRefused +
      r.stats.wrongVerdict,
    0,
  );
  process.exitCode = total ? 1 : 0;
}

function renderTable(
  rows: Row[],
  seed: number,
  inputs: number,
  workers: number,
  seconds: number,
): string {
  const head =
    "| decoder | inputs | accepted | typed rejections | untyped exceptions | hangs | accepted, not re-encodable | valid refused | wrong verdict | slowest ms | same code in |\n" +
    "|---|--:|--:|--:|--:|--:|--:|--:|--:|--:|---|\n";
  const total = emptyStats();
  const lines = rows.map((r) => {
    const s = r.stats;
    for (const [k, v] of Object.entries(s)) (total as unknown as Record<string, number>)[k]! += v;
    return `| ${r.group.target.id} | ${s.inputs} | ${s.accepted} | ${s.rejected} | ${s.untyped} | ${s.hangs} | ${s.notReencodable} | ${s.validRefused} | ${s.wrongVerdict} | ${r.slowestMs.toFixed(1)} | ${r.group.same.map((x) => x.split("/")[0]).join(", ")} |`;
  });
  const t = total;
  return (
    `# Fuzzing results\n\n` +
    `\`npm run fuzz -- --inputs ${inputs} --seed ${seed} --workers ${workers}\`: ${rows.length} decoders ` +
    `(one per generated implementation; "same code in" lists the revisions sharing it), ` +
    `${t.inputs} inputs in ${seconds.toFixed(0)} s wall time (${new Date().toISOString()}).\n\n` +
    `**Totals:** ${t.inputs} inputs, ${t.accepted} accepted, ${t.rejected} typed rejections, ` +
    `${t.untyped} untyped exceptions, ${t.hangs} hangs, ${t.notReencodable} accepted but not re-encodable, ` +
    `${t.validRefused} valid encodings refused, ${t.wrongVerdict} wrong verdicts.\n\n` +
    head +
    lines.join("\n") +
    "\n"
  );
}

void main();
