/**
 * Preloaded into a child (`node --import <this> ...`) whose peak memory and CPU
 * time the bench reports: at exit it writes, as JSON, the process's maximum
 * resident set size (KiB, worker threads included) and its user and system CPU
 * time (µs, all threads) to the file named by BENCH_RSS_FILE. CPU time beside
 * wall time tells the cost apart from waiting on a machine that other work shares.
 */
import { writeFileSync } from "node:fs";

const out = process.env["BENCH_RSS_FILE"];
if (out) {
  process.on("exit", () => {
    const u = process.resourceUsage();
    writeFileSync(
      out,
      JSON.stringify({
        maxRSS: u.maxRSS,
        userCPUTime: u.userCPUTime,
        systemCPUTime: u.systemCPUTime,
      }),
    );
  });
}
