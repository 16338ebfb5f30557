/**
 * `fuse-uapi check`: prove a header's schema against a real C compiler, per
 * target, and print how many facts were proven.
 */
import { runCheck, type CheckResult } from "../check/compile.js";
import { InputError } from "../errors.js";
import { TARGETS, type Target } from "../model.js";
import { schemaFromFiles } from "./schema.js";
import { basename, join, resolve } from "node:path";
import { emitAssertions } from "../check/emit-asserts.js";
import { writeFileAtomic } from "../io.js";

export interface CheckCommandOptions {
  target: string[];
  cc?: string;
  patch: string[];
  /** Also keep the C file of each target here (check-<target>.c), to compile or read by hand. */
  emitC?: string;
}

export function parseTargets(names: readonly string[]): Target[] {
  if (names.length === 0 || names.includes("all")) return [...TARGETS];
  for (const n of names)
    if (!(TARGETS as readonly string[]).includes(n))
      throw new InputError(`unknown target '${n}' (known: ${TARGETS.join(", ")}, all)`);
  return names as Target[];
}

/** Returns the exit code: 0 when every fact was proven on every target, 1 otherwise. */
export async function checkCommand(headerPath: string, opts: CheckCommandOptions): Promise<number> {
  const targets = parseTargets(opts.target);
  const { schema, text } = await schemaFromFiles(headerPath, {
    patch: opts.patch,
    lenientProtocol: true,
  });
  let failed = 0;
  for (const target of targets) {
    if (opts.emitC) {
      // The kept file includes the header by absolute path (patched text: the header as patched in memory is not on disk).
      const headerForC = opts.patch.length
        ? join(resolve(opts.emitC), basename(headerPath))
        : resolve(headerPath);
      if (opts.patch.length) writeFileAtomic(headerForC, text);
      writeFileAtomic(
        join(opts.emitC, `check-${target}.c`),
        emitAssertions(schema, target, headerForC).source,
      );
    }
    const r: CheckResult = await runCheck(schema, text, {
      target,
      ...(opts.cc ? { cc: opts.cc } : {}),
    });
    const total = r.proven + r.failed.length;
    const pct = total ? ((100 * r.proven) / total).toFixed(1) : "100.0";
    process.stdout.write(
      `${basename(headerPath)} ${target}: ${r.proven}/${total} facts proven (${pct}%) with ${r.compiler}` +
        (r.skipped.length
          ? `; ${r.skipped.length} constant(s) not checkable: ${r.skipped.map((s) => `${s.name} (${s.reason})`).join(", ")}`
          : "") +
        "\n",
    );
    for (const f of r.failed) process.stdout.write(`  FAILED ${f.fact.message}: ${f.message}\n`);
    failed += r.failed.length;
  }
  return failed ? 1 : 0;
}
