/**
 * `npm run bench`: the codec benchmark and the server benchmark, written to
 * bench/results.md. Options:
 *
 *   --smoke (or BENCH_SMOKE=1)  everything, briefly: proves the harness runs (CI);
 *                                writes to a temporary file unless --out is given
 *   --only codecs|server        one section (npm run bench:codecs / bench:server)
 *   --out FILE                  results file (default bench/results.md)
 *   --size BYTES                server: bytes of each sequential read/write workload
 */
import { tmpdir } from "node:os";
import { join } from "node:path";
import { parseArgs } from "node:util";
import { repoRoot } from "../generator/revisions/registry.js";
import { runCodecs } from "./codecs/run.js";
import { machineLine, writeSection } from "./lib/results.js";
import { runServer } from "./server/run.js";

const USAGE =
  "usage: node dist/bench/main.js [--smoke] [--only codecs|server] [--out FILE] [--size BYTES]";

async function main(): Promise<number> {
  let values;
  try {
    ({ values } = parseArgs({
      options: {
        smoke: { type: "boolean" },
        only: { type: "string" },
        out: { type: "string" },
        size: { type: "string" },
        help: { type: "boolean", short: "h" },
      },
    }));
  } catch (err) {
    console.error(`${(err as Error).message}\n${USAGE}`);
    return 2;
  }
  if (values.help) {
    console.log(USAGE);
    return 0;
  }
  const only = values.only;
  if (only !== undefined && only !== "codecs" && only !== "server") {
    console.error(`--only takes codecs or server, got ${JSON.stringify(only)}\n${USAGE}`);
    return 2;
  }
  const size = values.size !== undefined ? Number(values.size) : undefined;
  if (size !== undefined && (!Number.isInteger(size) || size < 1 << 20)) {
    console.error(
      `--size takes a whole number of bytes, at least 1 MiB, got ${JSON.stringify(values.size)}`,
    );
    return 2;
  }
  const smoke =
    values.smoke === true || ["1", "true", "yes"].includes(process.env["BENCH_SMOKE"] ?? "");
  const root = repoRoot();
  const out =
    values.out ??
    (smoke ? join(tmpdir(), "fuse-uapi-bench-smoke.md") : join(root, "bench", "results.md"));
  const log = (s: string) => process.stdout.write(`${s}\n`);
  const started = Date.now();
  const failures: string[] = [];
  const note = smoke
    ? "**Smoke run**: tiny sizes and few rounds; these figures mean nothing."
    : // What the machine line (its load average) cannot say, e.g. that other work shared it.
      (process.env["BENCH_NOTE"] ?? "");

  if (only !== "server") {
    const head = machineLine(root);
    const body = await runCodecs(root, smoke, log);
    writeSection(out, "codecs", body.replace("## Codecs\n", `## Codecs\n\n${head} ${note}\n`));
  }
  if (only !== "codecs") {
    const head = machineLine(root);
    const { markdown, failures: f } = await runServer(root, { smoke, size, log });
    writeSection(out, "server", markdown.replace("## Server\n", `## Server\n\n${head} ${note}\n`));
    failures.push(...f);
  }
  log(`wrote ${out} in ${((Date.now() - started) / 1000).toFixed(1)} s`);
  if (failures.length) {
    console.error(
      `bench: ${failures.length} failure(s):\n${failures.map((f) => `  ${f}`).join("\n")}`,
    );
    return 1;
  }
  return 0;
}

main().then(
  (code) => process.exit(code),
  (err: unknown) => {
    console.error(`bench: ${err instanceof Error ? (err.stack ?? err.message) : String(err)}`);
    process.exit(1);
  },
);
