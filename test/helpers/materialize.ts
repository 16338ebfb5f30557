/**
 * Writes rendered revisions as `generate -o` lays them out — `<root>/<revision>/` beside
 * `<root>/_runtime/` (the runtime every revision shares) — plus a `package.json` making the
 * folder ESM, and a transpiled `.js` next to every `.ts`, so tests can import the result.
 */
import { mkdir, mkdtemp, writeFile } from "node:fs/promises";
import { tmpdir } from "node:os";
import { join } from "node:path";
import ts from "typescript";
import { SHARED_RUNTIME_DIR, renderSharedRuntime } from "../../generator/render/shared-runtime.js";

/** The temporary root and each revision's folder in it. Remove `root` when done. */
export async function materialize(
  revisions: Record<string, Map<string, string>>,
  prefix = "fuse-uapi-out-",
): Promise<{ root: string; dirs: Record<string, string> }> {
  const root = await mkdtemp(join(tmpdir(), prefix));
  await writeFile(join(root, "package.json"), '{ "type": "module" }\n');
  const folders: [string, Map<string, string>][] = [
    ...Object.entries(revisions),
    [SHARED_RUNTIME_DIR, await renderSharedRuntime("0.0.0-test")],
  ];
  const dirs: Record<string, string> = {};
  for (const [folder, files] of folders) {
    const dir = join(root, folder);
    await mkdir(dir);
    dirs[folder] = dir;
    for (const [name, text] of files) {
      await writeFile(join(dir, name), text);
      const js = ts.transpileModule(text, {
        fileName: name,
        compilerOptions: {
          module: ts.ModuleKind.ESNext,
          target: ts.ScriptTarget.ES2022,
          verbatimModuleSyntax: true,
        },
      });
      await writeFile(join(dir, name.replace(/\.ts$/, ".js")), js.outputText);
    }
  }
  return { root, dirs };
}
