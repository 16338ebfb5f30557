/**
 * Writes a generated folder so readers never see a half-written one: files go
 * into a sibling temp folder (same filesystem, so rename is atomic), which then
 * replaces the old folder by two renames. Stale files disappear with the old
 * folder. Between the two renames the path briefly does not exist; if the
 * process dies exactly there, the previous folder survives as
 * `.tmp-<name>-old-*` next to it (ignored by git). An unchanged folder is left
 * alone, so mtimes only move when content does.
 */
import { randomBytes } from "node:crypto";
import { chmod, mkdir, mkdtemp, open, readdir, readFile, rename, rm, stat } from "node:fs/promises";
import { basename, dirname, join, resolve } from "node:path";

const SAFE_NAME = /^[A-Za-z0-9_][A-Za-z0-9._-]*$/;

async function sameContent(dir: string, files: Map<string, string>): Promise<boolean> {
  let entries;
  try {
    entries = await readdir(dir, { withFileTypes: true });
  } catch {
    return false;
  }
  if (entries.length !== files.size) return false;
  for (const e of entries) {
    const want = files.get(e.name);
    if (!e.isFile() || want === undefined) return false;
    if ((await readFile(join(dir, e.name), "utf8")) !== want) return false;
  }
  return true;
}

async function writeDurably(path: string, content: string): Promise<void> {
  const fh = await open(path, "w", 0o644);
  try {
    await fh.writeFile(content, "utf8");
    await fh.sync();
  } finally {
    await fh.close();
  }
}

/**
 * Replaces `outDir` with exactly `files` (name -> content). Returns false when
 * the folder already held exactly these files, true when it was (re)written.
 */
export async function writeGenerated(outDir: string, files: Map<string, string>): Promise<boolean> {
  for (const name of files.keys()) {
    if (!SAFE_NAME.test(name)) throw new Error(`writeGenerated: refusing file name ${JSON.stringify(name)}`);
  }
  const target = resolve(outDir);
  const existing = await stat(target).catch(() => null);
  if (existing && !existing.isDirectory()) throw new Error(`writeGenerated: ${target} exists and is not a folder`);
  if (existing && (await sameContent(target, files))) return false;

  const parent = dirname(target);
  const name = basename(target);
  await mkdir(parent, { recursive: true });
  const tmp = await mkdtemp(join(parent, `.tmp-${name}-`));
  try {
    await chmod(tmp, 0o755); // mkdtemp makes it private; the result is an ordinary source folder
    for (const [file, content] of [...files].sort(([a], [b]) => (a < b ? -1 : a > b ? 1 : 0))) {
      await writeDurably(join(tmp, file), content);
    }
    if (!existing) {
      await rename(tmp, target);
      return true;
    }
    const old = join(parent, `.tmp-${name}-old-${randomBytes(6).toString("hex")}`);
    await rename(target, old);
    try {
      await rename(tmp, target);
    } catch (e) {
      await rename(old, target); // put the previous folder back
      throw e;
    }
    await rm(old, { recursive: true, force: true });
    return true;
  } catch (e) {
    await rm(tmp, { recursive: true, force: true });
    throw e;
  }
}
