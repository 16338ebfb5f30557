/**
 * The codec section of bench/results.md: every workload of bench/codecs/workloads.ts
 * timed with its contenders interleaved, plus the tool timings.
 */
import { fmtNs, fmtRatio, fmtRatioRange } from "../lib/results.js";
import { median, timeInterleaved, type TimingOptions } from "../lib/timing.js";
import { toolTimings } from "./generator.js";
import { codecWorkloads } from "./workloads.js";

const LIBRARIES = new Set(["binary-parser", "restructure"]);

export async function runCodecs(
  root: string,
  smoke: boolean,
  log: (s: string) => void,
): Promise<string> {
  const timing: TimingOptions = smoke
    ? { runs: 3, rounds: 3, batchMs: 1, warmupMs: 5 }
    : { runs: 3, rounds: 25, batchMs: 5, warmupMs: 300 };
  const workloads = codecWorkloads();
  // Check every contender before timing any of them.
  for (const w of workloads) w.verify();
  log(
    `codecs: all contenders of ${workloads.length} workloads compute what the generated code does`,
  );

  const summary: string[] = [];
  const detail: string[] = [];
  for (const w of workloads) {
    const t = timeInterleaved(w.contenders, timing);
    const base = t[0]!;
    const ratio = (i: number) => t[i]!.ns / base.ns;
    const runRatios = (i: number) => t[i]!.runs.map((ns, r) => ns / base.runs[r]!);
    const cells = t.map((c, i) => ({
      name: c.name,
      ratio: ratio(i),
      text: fmtRatioRange(ratio(i), runRatios(i)),
    }));
    const gen = cells.find((c) => c.name === "generated")!;
    const variants = cells.filter((c) => c.name.startsWith("generated,"));
    const libs = cells.filter((c) => LIBRARIES.has(c.name)).sort((a, b) => a.ratio - b.ratio);
    const genText =
      gen.text +
      variants.map((v) => ` (${fmtRatio(v.ratio)} ${v.name.replace(/^generated, /, "")})`).join("");
    const libText = libs.length
      ? libs.map((l) => `${l.name} ${fmtRatio(l.ratio)}`).join(", ")
      : "n/a";
    summary.push(`| ${w.title} | ${fmtNs(base.ns)} | ${genText} | ${libText} |`);
    t.forEach((c, i) => {
      detail.push(
        `| ${i === 0 ? w.title : ""} | ${c.name} | ${fmtNs(c.ns)} | ${fmtRatio(ratio(i))} | ${runRatios(i).map(fmtRatio).join(" ")} |`,
      );
    });
    log(
      `codecs: ${w.title}: ${cells.map((c) => `${c.name} ${fmtRatio(c.ratio)}`).join(", ")} (hand-written ${fmtNs(base.ns)})`,
    );
  }

  const tools = await toolTimings(root, { runs: smoke ? 1 : 3, smoke });
  const toolRows = tools.map((t) => {
    const rss = t.rssMiB ? `${median(t.rssMiB).toFixed(0)} MB` : "—";
    log(`codecs: ${t.title}: ${median(t.ms).toFixed(0)} ms, ${rss}`);
    return `| ${t.title} | ${fmtNs(median(t.ms) * 1e6)} | ${t.ms.map((m) => fmtNs(m * 1e6)).join(", ")} | ${fmtNs(median(t.cpuMs) * 1e6)} | ${rss} | ${t.target} | ${t.note} |`;
  });

  const how = smoke
    ? "**Smoke run** (BENCH_SMOKE): 3 runs of 3 very short rounds; the figures only show the harness works."
    : `Each contender runs in batches of about ${timing.batchMs} ms, interleaved with the others (the order rotates every round), ${timing.rounds} rounds per run after ${timing.warmupMs} ms of warm-up; a run's figure is the median of its rounds, the table shows the median of ${timing.runs} runs and, in brackets, the range of the per-run ratios.`;
  return [
    "## Codecs",
    "",
    `Ratio = time ÷ time of the hand-written DataView code doing the same work (bench/codecs/handwritten.ts); base-7.45 codecs, minor 45, little-endian. ${how} Before timing, every contender is checked to produce exactly what the generated code produces (bytes, or members and their types). "n/a": the library cannot do that work (binary-parser only decodes; the message-level engines and compounds have no library counterpart).`,
    "",
    "| work | hand-written | generated | other libraries |",
    "|---|---:|---:|---:|",
    ...summary,
    "",
    "### Every contender",
    "",
    "| work | contender | time per op | ratio | per run |",
    "|---|---|---:|---:|---|",
    ...detail,
    "",
    "What is timed:",
    "",
    ...codecWorkloads().map((w) => `- ${w.title}: ${w.note}.`),
    "",
    "### The tool",
    "",
    "Wall time is what a user waits; CPU time (user + system, every thread of the process) is what the work costs, and the figure to compare with the target when other work shares the machine (wall time then includes waiting for a core).",
    "",
    "| work | median wall | runs (wall) | median CPU | peak RSS | target (issue E) | how |",
    "|---|---:|---|---:|---:|---|---|",
    ...toolRows,
  ].join("\n");
}
