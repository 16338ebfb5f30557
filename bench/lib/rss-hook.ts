/**
 * Preloaded into a child (`node --import <this> ...`) whose peak memory the bench
 * reports: at exit it writes the process's maximum resident set size (KiB, worker
 * threads included) to the file named by BENCH_RSS_FILE.
 */
import { writeFileSync } from "node:fs";

const out = process.env["BENCH_RSS_FILE"];
if (out) {
  process.on("exit", () => {
    writeFileSync(out, String(process.resourceUsage().maxRSS));
  });
}
