/**
 * `fuse-uapi generate`: schemas → generated/<revision>/ TypeScript. With no
 * schema arguments it regenerates the committed generated/ from every file in
 * schema/revisions/ and removes folders whose schema is gone, so generated/
 * always mirrors schema/revisions/ exactly (CI checks that).
 *
 * Safety: the whole run is planned before anything is touched. Every folder it
 * writes or removes is a direct child of the real path of `-o` named by a safe
 * revision name, and only folders fuse-uapi generated itself are replaced or
 * removed; anything else (a user's folder, a symbolic link, a file) stops the
 * run with a one-line error (exit 2) before any write.
 */
import { lstat, readdir } from "node:fs/promises";
import { join, relative } from "node:path";
import { InputError } from "../errors.js";
import { renderRevision, revisionName } from "../render/index.js";
import { SHARED_RUNTIME_DIR, renderSharedRuntime, usesSharedRuntime } from "../render/shared-runtime.js";
import { folderState, isInside, removeGenerated, resolveOutputRoot, writeGenerated } from "../render/write.js";
import { checkRevisionName } from "../revision-name.js";
import { repoRoot } from "../revisions/registry.js";
import { loadSchemaFile } from "../schema-file.js";
import { TOOL_VERSION } from "../version.js";
import { revisionsDir } from "./schema.js";

export async function generateCommand(schemaPaths: string[], opts: { output?: string }): Promise<void> {
  const mirror = schemaPaths.length === 0;
  const paths = mirror
    ? (await readdir(revisionsDir()))
        .filter((f) => f.endsWith(".json"))
        .sort()
        .map((f) => join(revisionsDir(), f))
    : schemaPaths;
  const outDir = opts.output ?? join(repoRoot(), "generated");
  const what = opts.output === undefined ? outDir : `-o ${outDir}`;
  const root = await resolveOutputRoot(outDir, what);

  // Load, check and render everything before writing anything: one bad schema writes nothing.
  const byName = new Map<string, string>();
  const rendered: [string, Map<string, string>][] = [];
  for (const path of paths) {
    const schema = loadSchemaFile(path);
    const name = checkRevisionName(revisionName(schema), `${path}: revision (the output folder name)`);
    const other = byName.get(name);
    if (other !== undefined) throw new InputError(`${other} and ${path} both render revision ${name}: each needs its own output folder (give one of them another name with 'schema --name')`);
    byName.set(name, path);
    rendered.push([name, await renderRevision(schema, { toolVersion: TOOL_VERSION })]);
  }
  // The runtime shared by every revision folder of the output (render/shared-runtime.ts). Its
  // name starts with "_", which no revision name may, so it never clashes with one.
  if (rendered.some(([, files]) => usesSharedRuntime(files))) {
    rendered.push([SHARED_RUNTIME_DIR, await renderSharedRuntime(TOOL_VERSION)]);
    byName.set(SHARED_RUNTIME_DIR, "(the shared runtime)");
  }

  // Plan: every folder written must be new or one we generated; stale ones likewise.
  const shown = (name: string) => relative(process.cwd(), join(outDir, name)) || ".";
  for (const [name] of rendered) {
    const target = join(root, name);
    if (!isInside(root, target)) throw new InputError(`revision ${name}: ${target} is not inside ${root}`);
    const state = await folderState(target);
    if (state.kind === "foreign") {
      throw new InputError(`${shown(name)}/ ${state.why}; fuse-uapi replaces only folders it generated (remove it or choose another -o)`);
    }
  }
  const stale: string[] = [];
  if (mirror) {
    for (const entry of await listFolder(root)) {
      if (byName.has(entry) || entry.startsWith(".")) continue;
      const st = await lstat(join(root, entry));
      if (!st.isDirectory()) continue; // files and symbolic links are never ours to remove
      const state = await folderState(join(root, entry));
      if (state.kind === "generated") stale.push(entry);
      else if (state.kind === "foreign") process.stderr.write(`fuse-uapi: note: kept ${shown(entry)}/: it ${state.why}\n`);
    }
  }

  for (const [name, files] of rendered) {
    const changed = await writeGenerated(join(root, name), files, { root });
    process.stdout.write(`${changed ? "wrote" : "unchanged"} ${shown(name)}/ (${files.size} files)\n`);
  }
  for (const entry of stale) {
    if (await removeGenerated(root, join(root, entry))) process.stdout.write(`removed stale ${shown(entry)}/\n`);
  }
}

async function listFolder(dir: string): Promise<string[]> {
  try {
    return await readdir(dir);
  } catch (e) {
    if ((e as NodeJS.ErrnoException).code === "ENOENT") return [];
    throw e;
  }
}
