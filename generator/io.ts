/**
 * File output that is never half-written: content goes to a temporary file
 * beside the target and is renamed over it, so a crash or an error leaves
 * either the old file or the new one, and no output at all when a run fails.
 */
import { mkdirSync, readFileSync, renameSync, rmSync, writeFileSync } from "node:fs";
import { dirname, join, basename } from "node:path";
import { InputError } from "./errors.js";

export function writeFileAtomic(path: string, content: string | Uint8Array): void {
  mkdirSync(dirname(path), { recursive: true });
  const tmp = join(dirname(path), `.${basename(path)}.${process.pid}.tmp`);
  try {
    writeFileSync(tmp, content);
    renameSync(tmp, path);
  } catch (e) {
    rmSync(tmp, { force: true });
    throw e;
  }
}

/** Read a text file, turning "no such file" into a message a user can act on. */
export function readText(path: string, what = "file"): string {
  try {
    return readFileSync(path, "utf8");
  } catch (e) {
    const code = (e as NodeJS.ErrnoException).code;
    if (code === "ENOENT") throw new InputError(`${path}: no such ${what}`);
    if (code === "EISDIR") throw new InputError(`${path}: is a directory, expected a ${what}`);
    throw new InputError(`${path}: cannot read ${what}: ${(e as Error).message}`);
  }
}

/** Stable JSON text: two-space indent and a final newline, as committed. */
export function jsonText(value: unknown): string {
  return JSON.stringify(value, null, 2) + "\n";
}

/** Bytes of a file, or of stdin for `-`/no file: captured messages given to the CLI. */
export async function readBinaryInput(file: string | undefined, what = "message file"): Promise<Uint8Array> {
  if (file === undefined || file === "-") {
    const chunks: Buffer[] = [];
    for await (const chunk of process.stdin) chunks.push(chunk as Buffer);
    return new Uint8Array(Buffer.concat(chunks));
  }
  try {
    return new Uint8Array(readFileSync(file));
  } catch (e) {
    const code = (e as NodeJS.ErrnoException).code;
    if (code === "ENOENT") throw new InputError(`${file}: no such file`);
    if (code === "EISDIR") throw new InputError(`${file}: is a directory, expected a ${what}`);
    throw new InputError(`${file}: cannot read: ${(e as Error).message}`);
  }
}
