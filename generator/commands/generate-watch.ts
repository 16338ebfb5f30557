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
 * so one save that touches a file several times regenerates once. Events are
 * a hint, not the truth: after every run the inputs' stat fingerprint is
 * compared with the one taken before it, so an edit no watcher reported still
 * regenerates. SIGINT or SIGTERM stops watching, waits for a running child and
 * exits 0.
 */
import { spawn } from "node:child_process";
import { existsSync, type FSWatcher, readdirSync, statSync, watch } from "node:fs";
import { basename, dirname, join, resolve } from "node:path";
import { fileURLToPath } from "node:url";
import { inputFiles } from "../generate-inputs.js";
import { templatesDir } from "../render/templates.js";
import { sharedRuntimeSourceDir } from "../render/shared-runtime.js";
import { generateRequest, type GenerateCommandOptions } from "./generate.js";

const DEBOUNCE_MS = 150;
const POLL_MS = 1000;
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

/**
 * What the watched inputs look like now: size, mtime and inode of every
 * watched file, and of every entry of a folder watched whole. Compared before
 * and after each run, it catches an edit that no watcher reported (made while
 * the watchers were being replaced, or on a filesystem whose events are late
 * or missing), so no edit is ever left ungenerated.
 */
function fingerprint(plan: WatchPlan): string {
  const parts: string[] = [];
  const stamp = (path: string) => {
    try {
      const s = statSync(path);
      parts.push(`${path}:${s.size}:${s.mtimeMs}:${s.ino}`);
    } catch {
      parts.push(`${path}:-`);
    }
  };
  for (const [dir, names] of [...plan].sort(([a], [b]) => (a < b ? -1 : 1))) {
    let entries: string[];
    try {
      entries = names === "*" ? readdirSync(dir).sort() : [...names].sort();
    } catch {
      entries = names === "*" ? [] : [...names].sort();
    }
    parts.push(`${dir}/`);
    for (const name of entries) stamp(join(dir, name));
  }
  return parts.join("\n");
}

/** Runs until SIGINT/SIGTERM; returns the exit code (0). */
export async function watchGenerate(args: string[], opts: GenerateCommandOptions): Promise<number> {
  let watchers: FSWatcher[] = [];
  let timer: NodeJS.Timeout | undefined;
  let changed = false; // a watcher saw an edit since the current run started
  let wake: (() => void) | null = null;
  let stopping = false;

  const notice = () => {
    if (stopping) return;
    clearTimeout(timer);
    timer = setTimeout(() => {
      changed = true;
      wake?.();
    }, DEBOUNCE_MS);
  };

  /** Watches the inputs of the current plan; the old watchers close only once the new ones run. */
  const arm = async (): Promise<WatchPlan> => {
    const plan = await watchPlan(args, opts);
    const fresh: FSWatcher[] = [];
    for (const [dir, names] of plan) {
      if (!existsSync(dir) || !statSync(dir).isDirectory()) continue;
      const w = watch(dir, (_event, name) => {
        if (names === "*" || (name !== null && names.has(name.toString()))) notice();
      });
      w.on("error", () => notice()); // e.g. the folder was removed: re-armed after the next run
      fresh.push(w);
    }
    for (const w of watchers) w.close();
    watchers = fresh;
    return plan;
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

  const onSignal = () => {
    stopping = true;
    clearTimeout(timer);
    wake?.();
  };
  process.on("SIGINT", onSignal);
  process.on("SIGTERM", onSignal);

  let plan = await arm();
  while (!stopping) {
    changed = false;
    const before = fingerprint(plan);
    await runOnce(); // a running child is waited for, even when a signal came meanwhile
    if (stopping) break;
    const after = await arm(); // the config, and so the inputs, may have changed
    if (changed || fingerprint(plan) !== before) {
      plan = after;
      continue;
    }
    plan = after;
    process.stdout.write("fuse-uapi: watch: waiting for changes\n");
    // Watchers wake us; a slow poll of the fingerprint covers filesystems without events.
    const seen = fingerprint(plan);
    const poll = setInterval(() => {
      if (fingerprint(plan) !== seen) notice();
    }, POLL_MS);
    await new Promise<void>((resolve) => {
      wake = resolve;
      if (changed || stopping) resolve();
    });
    clearInterval(poll);
    wake = null;
  }
  clearTimeout(timer);
  for (const w of watchers) w.close();
  process.off("SIGINT", onSignal);
  process.off("SIGTERM", onSignal);
  return 0;
}
