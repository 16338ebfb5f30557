/**
 * The one way a test may skip a proof it cannot run (no C compiler for a
 * target, no corpus, no /dev/fuse, no peer): outside CI it skips and says why;
 * under CI (env CI set, as .ci/run does) it fails, so a machine missing a
 * package can never turn the proofs green by skipping them.
 * test/skip-helper.test.ts checks that no test calls t.skip() directly.
 */
import type { TestContext } from "node:test";

/** True when running under CI: `CI` set to anything but "", "0" or "false". */
export function underCI(env: NodeJS.ProcessEnv = process.env): boolean {
  const v = env["CI"];
  return v !== undefined && v !== "" && v !== "0" && v.toLowerCase() !== "false";
}

/** Thrown instead of skipping under CI. */
export class MissingProofError extends Error {
  constructor(reason: string) {
    super(`cannot run this proof under CI: ${reason}`);
    this.name = "MissingProofError";
  }
}

/** Skip the whole test (outside CI) or fail it (under CI). Use as `return skipOrFail(t, reason)`. */
export function skipOrFail(t: TestContext, reason: string): void {
  if (underCI()) throw new MissingProofError(reason);
  t.skip(reason);
}

/**
 * For a test that goes on with what it can prove (e.g. the targets that have
 * a compiler): outside CI a diagnostic names what was left out; under CI it
 * fails like skipOrFail.
 */
export function partialOrFail(t: TestContext, reason: string): void {
  if (underCI()) throw new MissingProofError(reason);
  t.diagnostic(`not proven here: ${reason}`);
}
