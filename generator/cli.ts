#!/usr/bin/env node
/**
 * The `fuse-uapi` command: runs the program of cli-program.ts and maps errors
 * to exit codes: 2 for bad input (header, patch, schema, arguments), 1 for a
 * failed proof. A closed stdout (`fuse-uapi … | head`) ends the run quietly.
 */
import { CommanderError } from "commander";
import { CheckError } from "./check/compile.js";
import { program } from "./cli-program.js";
import { HeaderError, InputError } from "./errors.js";
import { PatchError } from "./revisions/mail.js";
import { RevisionError } from "./revisions/registry.js";

/** The reader went away (`| head`): what is left to print has nobody to read it. */
function isBrokenPipe(e: unknown): boolean {
  return (e as NodeJS.ErrnoException | null)?.code === "EPIPE";
}
process.stdout.on("error", (e) => {
  if (isBrokenPipe(e)) process.exit(process.exitCode ?? 0);
  throw e;
});

async function main(argv: string[]): Promise<void> {
  try {
    await program().parseAsync(argv);
  } catch (e) {
    if (isBrokenPipe(e)) return;
    if (e instanceof CommanderError) {
      // commander printed its message already; help/version exit 0.
      process.exitCode = e.exitCode === 0 ? 0 : 2;
      return;
    }
    if (
      e instanceof HeaderError ||
      e instanceof InputError ||
      e instanceof PatchError ||
      e instanceof RevisionError
    ) {
      process.stderr.write(`fuse-uapi: ${e.message}\n`);
      process.exitCode = 2;
      return;
    }
    if (e instanceof CheckError) {
      process.stderr.write(`fuse-uapi: ${e.message}\n`);
      process.exitCode = 1;
      return;
    }
    throw e;
  }
}

await main(process.argv);
