/**
 * `fuse-uapi generate`: schemas → generated/<revision>/ TypeScript. With no
 * schema arguments it regenerates the committed generated/ from every file in
 * schema/revisions/ and removes folders whose schema is gone, so generated/
 * always mirrors schema/revisions/ exactly (CI checks that).
 */
import { readdirSync, rmSync, statSync } from "node:fs";
import { join, relative } from "node:path";
import { renderRevision, revisionName, writeGenerated } from "../render/index.js";
import { SHARED_RUNTIME_DIR, renderSharedRuntime, usesSharedRuntime } from "../render/shared-runtime.js";
import { repoRoot } from "../revisions/registry.js";
import { loadSchemaFile } from "../schema-file.js";
import { TOOL_VERSION } from "../version.js";
import { revisionsDir } from "./schema.js";

export async function generateCommand(schemaPaths: string[], opts: { output?: string }): Promise<void> {
  const mirror = schemaPaths.length === 0;
  const paths = mirror
    ? readdirSync(revisionsDir())
        .filter((f) => f.endsWith(".json"))
        .sort()
        .map((f) => join(revisionsDir(), f))
    : schemaPaths;
  const outDir = opts.output ?? join(repoRoot(), "generated");
  // Load and render everything before writing anything: one bad schema writes nothing.
  const rendered: [string, Map<string, string>][] = [];
  for (const path of paths) {
    const schema = loadSchemaFile(path);
    rendered.push([revisionName(schema), await renderRevision(schema, { toolVersion: TOOL_VERSION })]);
  }
  const names = new Set(rendered.map(([name]) => name));
  if (names.size !== rendered.length) throw new Error("two schemas map to the same revision folder");
  // The compound engine is shared by every revision folder of the output (see render/shared-runtime.ts).
  if (rendered.some(([, files]) => usesSharedRuntime(files))) {
    rendered.push([SHARED_RUNTIME_DIR, await renderSharedRuntime(TOOL_VERSION)]);
    names.add(SHARED_RUNTIME_DIR);
  }
  for (const [name, files] of rendered) {
    const changed = await writeGenerated(join(outDir, name), files);
    process.stdout.write(`${changed ? "wrote" : "unchanged"} ${relative(process.cwd(), join(outDir, name))}/ (${files.size} files)\n`);
  }
  if (mirror) {
    for (const entry of safeList(outDir)) {
      if (!names.has(entry) && !entry.startsWith(".") && statSync(join(outDir, entry)).isDirectory()) {
        rmSync(join(outDir, entry), { recursive: true, force: true });
        process.stdout.write(`removed stale ${relative(process.cwd(), join(outDir, entry))}/\n`);
      }
    }
  }
}

function safeList(dir: string): string[] {
  try {
    return readdirSync(dir);
  } catch {
    return [];
  }
}
