/**
 * How `fuse-uapi schema` scales with the number of #defines: wall time, CPU
 * time and peak RSS of the real CLI (one child process per size), on headers
 * of invented defines in fuse.h's styles written to a temp folder. Run:
 *   npm run build && node dist/bench/schema-scaling.bench.js [count...] [--header file.h...]
 * Default counts: 1000 8000 64000. `--header` measures given files too (e.g. a
 * 50 MiB header of defines made by a script of your own). Prints a Markdown
 * table; nothing is asserted (tests check linearity by counting work instead).
 */
import { spawnSync } from "node:child_process";
import { mkdtempSync, rmSync, statSync, writeFileSync } from "node:fs";
import { cpus, tmpdir } from "node:os";
import { basename, join } from "node:path";
import { repoRoot } from "../generator/revisions/registry.js";

/** A header of `n` object-like #defines: plain numbers, shifts, references, casts, conditionals, doc comments. */
export function definesHeader(n: number): string {
  const out = ["#ifndef _BENCH_H", "#define _BENCH_H", "", "#include <stdint.h>", ""];
  for (let i = 0; i < n; i++) {
    const name = `BENCH_CONST_${String(i).padStart(7, "0")}`;
    if (i % 5 === 0) out.push(`/** Doc comment for constant ${i}. */`, `#define ${name} ${i}`);
    else if (i % 5 === 1) out.push(`#define ${name} (1U << ${i % 31})  /* bit ${i % 31} */`);
    else if (i % 5 === 2)
      out.push(
        `#define ${name} (BENCH_CONST_${String(i - 1).padStart(7, "0")} | 0x${(i & 0xffff).toString(16)})`,
      );
    else if (i % 5 === 3) out.push(`#define ${name} ((uint64_t)${i} * 4096ULL)`);
    else out.push(`#define ${name} ${i}L`);
  }
  out.push("", "#endif", "");
  return out.join("\n");
}

/** Runs `schema` on `header` in a child process that reports its own resource usage. */
function measure(
  header: string,
  out: string,
): { wall: number; cpu: number; rssMiB: number; code: number | null } {
  const cli = join(repoRoot(), "dist", "generator", "cli.js");
  // The child imports the CLI (which runs on import) and prints its usage when it exits.
  const script = `
    process.argv = [process.argv[0], ${JSON.stringify(cli)}, "schema", ${JSON.stringify(header)}, "-o", ${JSON.stringify(out)}];
    process.on("exit", () => { const u = process.resourceUsage(); process.stderr.write("\\nUSAGE " + JSON.stringify({ cpu: (u.userCPUTime + u.systemCPUTime) / 1e6, rss: u.maxRSS })); });
    await import(${JSON.stringify(cli)});`;
  const start = performance.now();
  const r = spawnSync(process.execPath, ["--input-type=module", "-e", script], {
    encoding: "utf8",
    maxBuffer: 1 << 20,
  });
  const wall = (performance.now() - start) / 1000;
  const m = /USAGE (\{.*\})/.exec(r.stderr);
  const usage = m ? (JSON.parse(m[1]!) as { cpu: number; rss: number }) : { cpu: NaN, rss: NaN };
  return { wall, cpu: usage.cpu, rssMiB: usage.rss / 1024, code: r.status };
}

const args = process.argv.slice(2);
const headers: string[] = [];
const counts: number[] = [];
for (let i = 0; i < args.length; i++) {
  if (args[i] === "--header") headers.push(args[++i]!);
  else counts.push(Number(args[i]));
}
if (counts.length === 0 && headers.length === 0) counts.push(1000, 8000, 64000);

const dir = mkdtempSync(join(tmpdir(), "fuse-uapi-bench-"));
try {
  const rows: string[] = [];
  const runs: [string, string][] = counts.map((n) => {
    const path = join(dir, `defines-${n}.h`);
    writeFileSync(path, definesHeader(n));
    return [`${n.toLocaleString("en")} defines`, path];
  });
  for (const h of headers) runs.push([basename(h), h]);
  for (const [label, path] of runs) {
    const r = measure(path, join(dir, "out.json"));
    const size = statSync(path).size / 2 ** 20;
    rows.push(
      `| ${label} | ${size.toFixed(2)} MiB | ${r.wall.toFixed(2)} s | ${r.cpu.toFixed(2)} s | ${r.rssMiB.toFixed(0)} MiB | ${r.code} |`,
    );
  }
  process.stdout.write(
    [
      `fuse-uapi schema scaling (Node ${process.version}, ${cpus().length} × ${cpus()[0]?.model ?? "cpu"})`,
      "",
      "| header | size | wall | CPU | peak RSS | exit |",
      "| --- | ---: | ---: | ---: | ---: | ---: |",
      ...rows,
      "",
    ].join("\n"),
  );
} finally {
  rmSync(dir, { recursive: true, force: true });
}
