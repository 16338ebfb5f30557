/**
 * `generate --watch`: regenerates whenever an input changes — a header or
 * patch, a schema file or folder, an overlay, the config file, a template or
 * the shared runtime sources. Each run is a fresh `fuse-uapi generate` child
 * process with the same arguments, so nothing cached in this process (compiled
 * templates, the protocol table) can outlive an edit, and a failing run (bad
 * input: its one-line error is printed) never ends the watch.
 *
 * fs.watch is enough here: folders are watched (not files, which editors
 * replace by rename), non-recursively, filtered by name; changes are debounced
 * so one save that touches a file several times regenerates once. SIGINT or
 * SIGTERM stops watching, waits for a running child and exits 0.
 */
import { spawn } from "node:child_process";
import { existsSync, type FSWatcher, statSync, watch } from "node:fs";
import { basename, dirname, join, resolve } from "node:path";
import { fileURLToPath } from "node:url";
import { inputFiles } from "../generate-inputs.js";
import { templatesDir } from "../render/templates.js";
import { sharedRuntimeSourceDir } from "../render/shared-runtime.js";
import { generateRequest, type GenerateCommandOptions } from "./generate.js";

const DEBOUNCE_MS = 150;
const CLI = join(dirname(fileURLToPath(import.meta.url)), "..", "cli.js");

/** Folder → the names in it that matter ("*": every name). */
type WatchPlan = Map<string, Set<string> | "*">;

async function watchPlan(args: string[], opts: GenerateCommandOptions): Promise<WatchPlan> {
  const plan: WatchPlan = new Map();
  const file = (path: string) => {
    const dir = dirname(resolve(path));
    const names = plan.get(dir);
    if (names === "*") return;
    plan.set(dir, (names ?? new Set()).add(basename(path)));
  };
  const folder = (path: string) => plan.set(resolve(path), "*");
  for (const dir of [templatesDir(), sharedRuntimeSourceDir()]) folder(dir);
  let req;
  try {
    req = generateRequest(args, opts);
  } catch {
    // A broken config is an input too: watch it, and the next save tries again.
    if (opts.config !== undefined || args.length === 0)
      file(resolve(opts.config ?? "fuse-uapi.config.json"));
    return plan;
  }
  if (req.config !== undefined) file(req.config);
  for (const o of req.overlays) file(o);
  for (const input of req.inputs) {
    if (input.kind === "schemas") folder(input.path);
    else for (const f of await inputFiles(input).catch(() => [])) file(f);
  }
  return plan;
}

function childArgs(args: string[], opts: GenerateCommandOptions): string[] {
  return [
    CLI,
    "generate",
    ...args,
    ...(opts.config !== undefined ? ["--config", opts.config] : []),
    ...(opts.output !== undefined ? ["-o", opts.output] : []),
    ...(opts.overlay ?? []).flatMap((o) => ["--overlay", o]),
    ...(opts.rawUnknownOpcodes ? ["--raw-unknown-opcodes"] : []),
  ];
}

/** Runs until SIGINT/SIGTERM; returns the exit code (0). */
export async function watchGenerate(args: string[], opts: GenerateCommandOptions): Promise<number> {
  let watchers: FSWatcher[] = [];
  let timer: NodeJS.Timeout | undefined;
  let running: Promise<void> | null = null;
  let again = false;
  let stopping = false;

  const arm = async () => {
    for (const w of watchers) w.close();
    watchers = [];
    for (const [dir, names] of await watchPlan(args, opts)) {
      if (!existsSync(dir) || !statSync(dir).isDirectory()) continue;
      const w = watch(dir, (_event, name) => {
        if (names === "*" || (name !== null && names.has(name.toString()))) schedule();
      });
      w.on("error", () => schedule()); // e.g. the folder was removed: re-arm on the next run
      watchers.push(w);
    }
  };

  const runOnce = (): Promise<void> =>
    new Promise((done) => {
      const child = spawn(process.execPath, childArgs(args, opts), { stdio: "inherit" });
      child.on("exit", (code) => {
        process.stdout.write(
          `fuse-uapi: watch: ${code === 0 ? "generated" : `generate failed (exit ${code})`}\n`,
        );
        done();
      });
      child.on("error", () => done());
    });

  const cycle = async () => {
    if (running) {
      again = true;
      return;
    }
    do {
      again = false;
      running = runOnce();
      await running;
      running = null;
      // The config (and so the inputs) may have changed. Watchers armed before the run saw
      // any edit made during it (then `again` is set); the new ones are ready before we say so.
      if (!stopping) await arm();
    } while (again && !stopping);
    if (!stopping) process.stdout.write("fuse-uapi: watch: waiting for changes\n");
  };

  function schedule() {
    if (stopping) return;
    clearTimeout(timer);
    timer = setTimeout(() => void cycle(), DEBOUNCE_MS);
  }

  await arm();
  await cycle();
  await new Promise<void>((stop) => {
    const onSignal = () => {
      stopping = true;
      clearTimeout(timer);
      for (const w of watchers) w.close();
      process.off("SIGINT", onSignal);
      process.off("SIGTERM", onSignal);
      void (running ?? Promise.resolve()).then(() => stop());
    };
    process.on("SIGINT", onSignal);
    process.on("SIGTERM", onSignal);
  });
  return 0;
}
