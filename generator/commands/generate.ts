/**
 * `fuse-uapi generate`: schemas (or headers) → <output>/<revision>/ TypeScript.
 * With no schema arguments it reads fuse-uapi.config.json (generator/config.ts)
 * from the current folder or --config; with pruning (the config's default) it
 * removes generated folders no input renders any more, so the repository's
 * generated/ always mirrors schema/revisions/ exactly (CI checks that).
 * `--check` renders in memory and compares (generate-check.ts); `--watch`
 * regenerates on every change of an input (generate-watch.ts).
 *
 * Safety: the whole run is planned before anything is touched. Every folder it
 * writes or removes is a direct child of the real path of `-o` named by a safe
 * revision name, and only folders fuse-uapi generated itself are replaced or
 * removed; anything else (a user's folder, a symbolic link, a file) stops the
 * run with a one-line error (exit 2) before any write.
 */
import { lstat, readdir } from "node:fs/promises";
import { join, relative, sep } from "node:path";
import { findConfig, type GenerateInput, loadConfig } from "../config.js";
import { InputError } from "../errors.js";
import { loadInputs } from "../generate-inputs.js";
import { renderRevision, revisionName } from "../render/index.js";
import {
  SHARED_RUNTIME_DIR,
  renderSharedRuntime,
  usesSharedRuntime,
} from "../render/shared-runtime.js";
import {
  folderState,
  isInside,
  removeGenerated,
  resolveOutputRoot,
  writeGenerated,
} from "../render/write.js";
import { checkRevisionName } from "../revision-name.js";
import { TOOL_VERSION } from "../version.js";
import { compareGenerated, reportCheck } from "./generate-check.js";

export interface GenerateCommandOptions {
  output?: string;
  config?: string;
  check?: boolean;
  watch?: boolean;
  overlay?: string[];
  rawUnknownOpcodes?: boolean;
}

/** What one run renders, from the arguments or the config file. */
export interface GenerateRequest {
  inputs: GenerateInput[];
  output: string;
  /** How errors name the output folder. */
  what: string;
  overlays: string[];
  prune: boolean;
  rawUnknownOpcodes: boolean;
  /** The config file read, if any. */
  config?: string;
}

export function generateRequest(args: string[], opts: GenerateCommandOptions): GenerateRequest {
  const overlay = opts.overlay ?? [];
  const raw = opts.rawUnknownOpcodes === true;
  if (args.length > 0) {
    if (opts.config !== undefined) throw new InputError("give schema files or --config, not both");
    // Arguments are schema files, or headers (.h) parsed on the way; the output defaults to ./generated.
    const inputs = args.map((a): GenerateInput =>
      a.endsWith(".h") ? { kind: "header", path: a, patches: [] } : { kind: "schema", path: a },
    );
    const output = opts.output ?? "generated";
    return {
      inputs,
      output,
      what: opts.output === undefined ? output : `-o ${output}`,
      overlays: overlay,
      prune: false,
      rawUnknownOpcodes: raw,
    };
  }
  const config = loadConfig(findConfig(opts.config));
  const output = opts.output ?? config.output;
  return {
    inputs: config.inputs,
    output,
    what: opts.output === undefined ? `${config.path}: output ${output}` : `-o ${output}`,
    overlays: [...config.overlays, ...overlay],
    prune: config.prune,
    rawUnknownOpcodes: config.rawUnknownOpcodes || raw,
    config: config.path,
  };
}

/** Exit code: 0, or 1 when --check finds the output stale. */
export async function generateCommand(
  args: string[],
  opts: GenerateCommandOptions,
): Promise<number> {
  if (opts.watch) {
    if (opts.check) throw new InputError("--check and --watch do not go together");
    const { watchGenerate } = await import("./generate-watch.js");
    return watchGenerate(args, opts);
  }
  return generateOnce(generateRequest(args, opts), opts.check === true);
}

async function generateOnce(req: GenerateRequest, check: boolean): Promise<number> {
  const outDir = req.output;
  const what = req.what;
  const root = await resolveOutputRoot(outDir, what);
  // An installed package is never an output: `generate` run from a consumer must not rewrite node_modules.
  if (root.split(sep).includes("node_modules")) {
    throw new InputError(
      `${what}: ${root} is inside node_modules; fuse-uapi never writes into installed packages (choose a folder of your project)`,
    );
  }
  const loaded = await loadInputs(req.inputs, {
    overlays: req.overlays,
    rawUnknownOpcodes: req.rawUnknownOpcodes,
    warn: (line) => process.stderr.write(`fuse-uapi: warning: ${line}\n`),
  });

  // Load, check and render everything before writing anything: one bad schema writes nothing.
  const byName = new Map<string, string>();
  const rendered: [string, Map<string, string>][] = [];
  for (const { origin: path, schema } of loaded) {
    const name = checkRevisionName(
      revisionName(schema),
      `${path}: revision (the output folder name)`,
    );
    const other = byName.get(name);
    if (other !== undefined)
      throw new InputError(
        `${other} and ${path} both render revision ${name}: each needs its own output folder (give one of them another name with 'schema --name')`,
      );
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
    if (!isInside(root, target))
      throw new InputError(`revision ${name}: ${target} is not inside ${root}`);
    const state = await folderState(target);
    if (state.kind === "foreign") {
      throw new InputError(
        `${shown(name)}/ ${state.why}; fuse-uapi replaces only folders it generated (remove it or choose another -o)`,
      );
    }
  }
  const stale: string[] = [];
  if (req.prune) {
    for (const entry of await listFolder(root)) {
      if (byName.has(entry) || entry.startsWith(".")) continue;
      const st = await lstat(join(root, entry));
      if (!st.isDirectory()) continue; // files and symbolic links are never ours to remove
      const state = await folderState(join(root, entry));
      if (state.kind === "generated") stale.push(entry);
      else if (state.kind === "foreign")
        process.stderr.write(`fuse-uapi: note: kept ${shown(entry)}/: it ${state.why}\n`);
    }
  }

  if (check)
    return reportCheck(
      await compareGenerated(root, rendered, stale, shown),
      relative(process.cwd(), outDir) || ".",
    );

  for (const [name, files] of rendered) {
    const changed = await writeGenerated(join(root, name), files, { root });
    process.stdout.write(
      `${changed ? "wrote" : "unchanged"} ${shown(name)}/ (${files.size} files)\n`,
    );
  }
  for (const entry of stale) {
    if (await removeGenerated(root, join(root, entry)))
      process.stdout.write(`removed stale ${shown(entry)}/\n`);
  }
  return 0;
}

async function listFolder(dir: string): Promise<string[]> {
  try {
    return await readdir(dir);
  } catch (e) {
    if ((e as NodeJS.ErrnoException).code === "ENOENT") return [];
    throw e;
  }
}
