/**
 * The filesystems under test, each mounted on its own folder: tmpfs (mount(8)),
 * memfs (examples/memfs, its own process) and the fuse-native filesystem (its own
 * process). `stop()` always leaves the folder unmounted: the server is asked to
 * unmount (SIGTERM), then umount, then the FUSE connection is aborted through
 * fusectl, then umount -l; whatever works first.
 */
import { spawn, spawnSync, type ChildProcess } from "node:child_process";
import { createWriteStream, existsSync, readFileSync, writeFileSync } from "node:fs";
import { join } from "node:path";

export interface Mounted {
  /** Name in the tables. */
  readonly name: string;
  readonly dir: string;
  /** What was loaded or how it was mounted, for the results file. */
  readonly detail: string;
  stop(): Promise<void>;
}

/** The mount entry of `dir` in /proc/self/mountinfo: its device number and filesystem type, or null. */
export function mountOf(dir: string): { dev: string; type: string } | null {
  const unescape = (s: string) =>
    s.replace(/\\([0-7]{3})/g, (_, o: string) => String.fromCharCode(parseInt(o, 8)));
  let found: { dev: string; type: string } | null = null;
  for (const line of readFileSync("/proc/self/mountinfo", "utf8").split("\n")) {
    const f = line.split(" ");
    if (f.length < 10 || unescape(f[4]!) !== dir) continue;
    const sep = f.indexOf("-");
    found = { dev: f[2]!, type: f[sep + 1] ?? "" }; // the last one is on top
  }
  return found;
}

/** Unmounts `dir` by every means there is; throws only if it is still mounted after all of them. */
export function forceUnmount(dir: string): void {
  const tries: (() => void)[] = [
    () => void spawnSync("umount", [dir], { stdio: "ignore", timeout: 20_000 }),
    () => {
      const m = mountOf(dir);
      const minor = m?.dev.split(":")[1];
      const abort = minor !== undefined ? `/sys/fs/fuse/connections/${minor}/abort` : null;
      if (m?.type.startsWith("fuse") && abort && existsSync(abort)) writeFileSync(abort, "1");
      spawnSync("umount", [dir], { stdio: "ignore", timeout: 20_000 });
    },
    () => void spawnSync("umount", ["-l", dir], { stdio: "ignore", timeout: 20_000 }),
  ];
  for (const attempt of tries) {
    if (!mountOf(dir)) return;
    try {
      attempt();
    } catch {
      // try the next way
    }
  }
  if (mountOf(dir))
    throw new Error(`${dir} is still mounted; unmount it by hand (umount -l ${dir})`);
}

export function mountTmpfs(dir: string, sizeBytes: number): Mounted {
  const r = spawnSync(
    "mount",
    ["-t", "tmpfs", "-o", `size=${sizeBytes},mode=0755`, "fuse-uapi-bench", dir],
    { encoding: "utf8" },
  );
  if (r.status !== 0)
    throw new Error(`mount -t tmpfs failed: ${r.error?.message ?? r.stderr.trim()}`);
  return {
    name: "tmpfs",
    dir,
    detail: `tmpfs, size=${sizeBytes}`,
    stop: async () => forceUnmount(dir),
  };
}

function exited(child: ChildProcess, ms: number): Promise<boolean> {
  if (child.exitCode !== null || child.signalCode !== null) return Promise.resolve(true);
  return new Promise((resolve) => {
    const t = setTimeout(() => resolve(false), ms);
    child.once("exit", () => {
      clearTimeout(t);
      resolve(true);
    });
  });
}

/**
 * Starts a server process and waits for the line that says it is mounted. Its output goes
 * to `log` (for the error message if it fails). Rejects with the server's own words when
 * it exits or says "error:" first.
 */
export async function startServer(opts: {
  name: string;
  dir: string;
  argv: string[];
  ready: RegExp;
  log: string;
  cwd: string;
}): Promise<Mounted & { lines: string[] }> {
  const out = createWriteStream(opts.log, { flags: "a" });
  const child = spawn(process.execPath, opts.argv, {
    cwd: opts.cwd,
    stdio: ["ignore", "pipe", "pipe"],
  });
  const lines: string[] = [];
  let buffered = "";
  const stop = async () => {
    if (child.exitCode === null && child.signalCode === null) {
      child.kill("SIGTERM");
      if (!(await exited(child, 15_000))) {
        child.kill("SIGKILL");
        await exited(child, 5_000);
      }
    }
    forceUnmount(opts.dir);
    out.end();
  };
  try {
    await new Promise<void>((resolve, reject) => {
      const timer = setTimeout(
        () => reject(new Error(`${opts.name} did not mount within 60 s`)),
        60_000,
      );
      child.stdout!.on("data", (d: Buffer) => {
        out.write(d);
        buffered += d.toString();
        let nl;
        while ((nl = buffered.indexOf("\n")) >= 0) {
          const line = buffered.slice(0, nl);
          buffered = buffered.slice(nl + 1);
          lines.push(line);
          if (line.startsWith("error:")) {
            clearTimeout(timer);
            reject(new Error(line.slice(6).trim()));
          } else if (opts.ready.test(line)) {
            clearTimeout(timer);
            resolve();
          }
        }
      });
      child.stderr!.on("data", (d: Buffer) => out.write(d));
      child.on("error", (err) => {
        clearTimeout(timer);
        reject(err);
      });
      child.on("exit", (code, signal) => {
        clearTimeout(timer);
        reject(
          new Error(`${opts.name} exited (${code ?? signal}) before mounting; see ${opts.log}`),
        );
      });
    });
  } catch (err) {
    await stop();
    throw err;
  }
  if (!mountOf(opts.dir)) {
    await stop();
    throw new Error(`${opts.name} said it mounted, but ${opts.dir} is not a mount point`);
  }
  return { name: opts.name, dir: opts.dir, detail: lines.join("; "), stop, lines };
}

/** The server log's last lines, for an error message. */
export function tail(log: string, n = 5): string {
  try {
    return readFileSync(log, "utf8").trim().split("\n").slice(-n).join(" | ");
  } catch {
    return "";
  }
}

export function logFile(work: string, name: string): string {
  return join(work, `${name.replace(/[^a-z0-9-]+/gi, "_")}.log`);
}
