/**
 * `generate --check`: compares what `generate` would write with what the
 * output folder holds, writing nothing — a CI gate for "is the generated code
 * stale?". Lists every difference as `missing`, `stale` (content differs) or
 * `extra` (a file, or with pruning a whole generated folder, that would be
 * removed), and returns how many there are.
 */
import { readdir, readFile } from "node:fs/promises";
import { join } from "node:path";

export interface Difference {
  kind: "missing" | "stale" | "extra";
  /** Path shown to the user (relative to the current folder where possible). */
  path: string;
}

async function listFiles(dir: string): Promise<string[] | null> {
  try {
    return (await readdir(dir, { withFileTypes: true }))
      .filter((e) => e.isFile())
      .map((e) => e.name);
  } catch (e) {
    if ((e as NodeJS.ErrnoException).code === "ENOENT") return null;
    throw e;
  }
}

/**
 * `rendered`: folder name → (file name → content), as `generate` would write
 * them under `root`; `pruned`: generated folders it would remove.
 * `shown(name)` names an output subfolder for the user.
 */
export async function compareGenerated(
  root: string,
  rendered: [string, Map<string, string>][],
  pruned: string[],
  shown: (name: string) => string,
): Promise<Difference[]> {
  const diffs: Difference[] = [];
  for (const [name, files] of rendered) {
    const dir = join(root, name);
    const present = await listFiles(dir);
    if (present === null) {
      diffs.push({ kind: "missing", path: `${shown(name)}/` });
      continue;
    }
    for (const [file, want] of [...files].sort(([a], [b]) => (a < b ? -1 : a > b ? 1 : 0))) {
      if (!present.includes(file)) diffs.push({ kind: "missing", path: `${shown(name)}/${file}` });
      else if ((await readFile(join(dir, file), "utf8")) !== want)
        diffs.push({ kind: "stale", path: `${shown(name)}/${file}` });
    }
    for (const file of present.sort())
      if (!files.has(file)) diffs.push({ kind: "extra", path: `${shown(name)}/${file}` });
  }
  for (const name of pruned) diffs.push({ kind: "extra", path: `${shown(name)}/` });
  return diffs;
}

/** Prints the differences (stdout) and a summary; returns the exit code: 0 fresh, 1 stale. */
export function reportCheck(diffs: Difference[], output: string): number {
  for (const d of diffs) process.stdout.write(`${d.kind} ${d.path}\n`);
  if (diffs.length === 0) {
    process.stdout.write(`${output}/ is up to date\n`);
    return 0;
  }
  process.stderr.write(
    `fuse-uapi: ${output}/ is stale (${diffs.length} difference(s)); run fuse-uapi generate\n`,
  );
  return 1;
}
