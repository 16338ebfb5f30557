/**
 * Mounting without libfuse or a native addon: open /dev/fuse, hand the fd to
 * mount(8) as fd 3 (`-o fd=3,...`), and serve the session on our copy of it.
 * Needs root (or CAP_SYS_ADMIN), like any mount(2).
 *
 * Unmounting is the part that must never be skipped: a FUSE mount whose server
 * is gone leaves "Transport endpoint is not connected" behind. So every live
 * mount is registered, and unmounted on close(), on SIGINT/SIGTERM, on an
 * uncaught exception and at process exit, trying `umount`, then `umount -l`,
 * then aborting the connection through fusectl if a busy mount still holds it.
 * umount always runs with -c (no canonicalisation): resolving the path would
 * stat our own mount, which needs the very event loop that may be waiting.
 */
import { spawn, spawnSync } from "node:child_process";
import { constants as osConstants } from "node:os";
import {
  closeSync,
  constants,
  existsSync,
  openSync,
  readFileSync,
  readdirSync,
  realpathSync,
  statSync,
  writeFileSync,
} from "node:fs";
import type { FuseHandlers } from "./handlers.js";
import { Session, type Connection, type SessionOptions } from "./session.js";
import { PollFdTransport } from "./poll-transport.js";
import { FdTransport, ThreadFdTransport, type Transport } from "./transport.js";

/** The ways a mount reads /dev/fuse (`MountOptions.reader`). */
export const READERS = ["poll", "thread", "pool"] as const;
export type Reader = (typeof READERS)[number];

export interface MountOptions extends SessionOptions {
  /** Filesystem name: mounted as type `fuse.<name>` with source `<name>`. Default "fuse-ts". */
  name?: string;
  /** Let the kernel check permissions from st_mode/uid/gid (`default_permissions`). Default true. */
  defaultPermissions?: boolean;
  /** Let users other than the mounter in (`allow_other`). Default false. */
  allowOther?: boolean;
  /** More `-o` options for mount(8), e.g. ["ro", "noatime"]. */
  extraOptions?: string[];
  /** Default "/dev/fuse". */
  device?: string;
  /**
   * Unmount on SIGINT/SIGTERM, then exit 130/143 (128 + the signal's number, as a shell
   * reports a process the signal killed). Default true. A program that ends on its own after
   * `done` settles should exit with {@link FuseMount.exitCode} to keep that code.
   */
  handleSignals?: boolean;
  /** Limit for mount(8), umount(8) and for the kernel's INIT (ms). Default 10000. */
  timeoutMs?: number;
  /**
   * How /dev/fuse is read: `"poll"` (default where Node gives the handle it
   * needs, else `"thread"`), by the event loop itself, each request read as
   * the descriptor becomes readable ({@link PollFdTransport}); `"thread"`, a
   * reader thread of its own that reads ahead into shared slots
   * ({@link ThreadFdTransport}); `"pool"`, reads through libuv's thread pool
   * ({@link FdTransport}).
   */
  reader?: Reader;
  /**
   * The mount's read-ahead window, in bytes, set once INIT is answered through
   * `/sys/class/bdi/<major>:<minor>/read_ahead_kb`. The kernel starts every FUSE mount at
   * 128 KiB and INIT can only lower that, so without this a cold sequential read has at most
   * 128 KiB in flight; with a 1 MiB window it has 1 MiB in flight, in READs of up to
   * {@link maxRead}. Default: the session's `maxReadahead` (1 MiB). `"kernel"` leaves the
   * kernel's window. Needs write access to sysfs (root); where that is refused the kernel's
   * window stays, and {@link FuseMount.readAhead} says what is in effect.
   */
  readAhead?: number | "kernel";
  /**
   * The largest READ the kernel sends (mount option `max_read`, at least 4096), so that a
   * read-ahead window goes out as several READs in flight at once. Default 256 KiB: with the
   * 1 MiB window, four READs; a reader waits only for the first of them, where one 1 MiB READ
   * holds every page of the window until the whole reply is in (measured with memfs: cold
   * 4 KiB reads at 1.0 GB/s against 0.4–0.9 with 1 MiB READs, 1 MiB reads alike).
   * `"kernel"` passes no `max_read`: READs up to max_pages (1 MiB with the default `maxWrite`).
   */
  maxRead?: number | "kernel";
}

interface CommandResult {
  code: number | null;
  stderr: string;
}

/** Runs a command with a time limit; the fd, if given, becomes the child's fd 3. */
function run(cmd: string, args: string[], timeoutMs: number, fd?: number): Promise<CommandResult> {
  return new Promise((resolve) => {
    const stdio: Array<"ignore" | "pipe" | number> = ["ignore", "pipe", "pipe"];
    if (fd !== undefined) stdio.push(fd);
    const child = spawn(cmd, args, { stdio, timeout: timeoutMs, killSignal: "SIGKILL" });
    let stderr = "";
    child.stdout?.resume();
    child.stderr?.on("data", (d: Buffer) => (stderr += d.toString()));
    child.on("error", (err) => resolve({ code: null, stderr: String(err) }));
    child.on("close", (code, signal) =>
      resolve({ code, stderr: signal ? `${stderr}killed by ${signal}` : stderr }),
    );
  });
}

function withTimeout<T>(p: Promise<T>, ms: number): Promise<T | "timeout"> {
  let timer: NodeJS.Timeout;
  const t = new Promise<"timeout">((resolve) => (timer = setTimeout(() => resolve("timeout"), ms)));
  return Promise.race([p, t]).finally(() => clearTimeout(timer));
}

/** Unescapes a /proc/self/mountinfo path (octal escapes for space, tab, newline, backslash). */
function unescapeMountPath(s: string): string {
  return s.replace(/\\([0-7]{3})/g, (_, o: string) => String.fromCharCode(parseInt(o, 8)));
}

interface MountInfo {
  mountpoint: string;
  fstype: string;
  /** Device number, "major:minor": names the mount's /sys/class/bdi entry. */
  device: string;
  /** Device minor: for FUSE, the connection's directory under /sys/fs/fuse/connections. */
  minor: number;
}

/** FUSE mounts of this mount namespace, read without touching any mounted filesystem. */
export function fuseMounts(): MountInfo[] {
  const out: MountInfo[] = [];
  for (const line of readFileSync("/proc/self/mountinfo", "utf8").split("\n")) {
    const parts = line.split(" ");
    const sep = parts.indexOf("-");
    if (sep < 0) continue;
    const fstype = parts[sep + 1] ?? "";
    if (fstype !== "fuse" && !fstype.startsWith("fuse.")) continue;
    const device = parts[2] ?? "";
    const minor = Number(device.split(":")[1]);
    out.push({ mountpoint: unescapeMountPath(parts[4] ?? ""), fstype, device, minor });
  }
  return out;
}

/** Whether a FUSE filesystem is mounted at this (canonical) path. */
export function isFuseMounted(mountpoint: string): boolean {
  return fuseMounts().some((m) => m.mountpoint === mountpoint);
}

const FUSECTL = "/sys/fs/fuse/connections";

/**
 * Sets a FUSE mount's read-ahead window (bytes, rounded down to KiB) through its backing
 * device's sysfs entry, which fs/fuse names after the device number ("major:minor"); `undefined`
 * only reads it. Returns the window in effect afterwards, or undefined where sysfs cannot be
 * read. Exported for the benchmark, which tunes its fuse-native mount the same way.
 */
export function readAheadWindow(device: string, bytes: number | undefined): number | undefined {
  const file = `/sys/class/bdi/${device}/read_ahead_kb`;
  if (bytes !== undefined) {
    try {
      writeFileSync(file, String(Math.floor(bytes / 1024)));
    } catch {
      // Not root, or sysfs read-only: the kernel's window stays (reported below).
    }
  }
  try {
    return Number(readFileSync(file, "utf8").trim()) * 1024;
  } catch {
    return undefined;
  }
}

/**
 * Aborts a FUSE connection: every request waiting on it fails with ENOTCONN
 * and the server's reads return ENODEV. The last resort when a lazily
 * unmounted filesystem is still held (a process blocked in it, or a forked
 * child that inherited the fd). Needs fusectl; when it is not mounted, it is
 * mounted for this one write and unmounted again.
 */
function abortConnection(id: number | undefined): boolean {
  if (id === undefined || !Number.isInteger(id)) return false;
  const file = `${FUSECTL}/${id}/abort`;
  let mountedHere = false;
  try {
    if (!existsSync(file) && !fusectlAvailable() && existsSync(FUSECTL)) {
      mountedHere =
        spawnSync("mount", ["-t", "fusectl", "fusectl", FUSECTL], {
          stdio: "ignore",
          timeout: 3000,
        }).status === 0;
    }
    if (!existsSync(file)) return false;
    writeFileSync(file, "1");
    return true;
  } catch {
    return false;
  } finally {
    if (mountedHere) spawnSync("umount", [FUSECTL], { stdio: "ignore", timeout: 3000 });
  }
}

/** A mounted filesystem and its running session. */
export class FuseMount {
  private closing: Promise<void> | undefined;
  private fdOpen = true;
  /** Connection id (see /sys/fs/fuse/connections), for the last-resort abort. */
  connectionId: number | undefined;
  /** Device number ("major:minor") of the mount, from /proc/self/mountinfo. */
  device: string | undefined;
  /**
   * The read-ahead window in effect after mounting, in bytes (see `MountOptions.readAhead`),
   * or undefined where sysfs could not be read.
   */
  readAhead: number | undefined;
  /** The signal (SIGINT, SIGTERM) that unmounted this filesystem, or null. */
  stoppedBy: NodeJS.Signals | null = null;
  /** Settles when the request loop has ended (after unmount); rejects if it died. */
  readonly done: Promise<void>;

  constructor(
    readonly mountpoint: string,
    readonly session: Session,
    readonly fd: number,
    private readonly transport: Transport,
    private readonly timeoutMs: number,
    /** How /dev/fuse is read (`MountOptions.reader`, or the default this Node allows). */
    readonly reader: Reader = "thread",
  ) {
    this.done = session.run(transport).finally(() => this.closeFd());
    this.done.catch(() => {}); // Reported through close(); never an unhandled rejection.
  }

  /** The negotiated connection. */
  get connection(): Connection | undefined {
    return this.session.connection;
  }

  /** The conventional exit code for how the mount ended: 128 + the signal's number if a signal unmounted it (130, 143), else 0. */
  get exitCode(): number {
    return this.stoppedBy === null ? 0 : signalExitCode(this.stoppedBy);
  }

  /** Unmounts (umount, else umount -l, else abort), waits for the loop to end, closes the fd. Idempotent. */
  close(): Promise<void> {
    this.closing ??= this.doClose();
    return this.closing;
  }

  private async doClose(): Promise<void> {
    try {
      let busy = false;
      if (isFuseMounted(this.mountpoint)) {
        const r = await run("umount", ["-c", this.mountpoint], this.timeoutMs);
        if (r.code !== 0 && isFuseMounted(this.mountpoint)) {
          busy = true;
          const lazy = await run("umount", ["-c", "-l", this.mountpoint], this.timeoutMs);
          if (lazy.code !== 0 && isFuseMounted(this.mountpoint)) {
            console.error(
              `fuse: could not unmount ${this.mountpoint}: ${r.stderr.trim()} / ${lazy.stderr.trim()}`,
            );
          }
        }
      }
      // After an unmount the kernel ends the connection and our reads return
      // ENODEV; a lazily unmounted, still busy mount keeps it alive until the
      // last user leaves, so that one is aborted after a short grace period.
      const grace = busy ? Math.min(1000, this.timeoutMs) : this.timeoutMs;
      if (
        (await withTimeout(
          this.done.catch(() => {}),
          grace,
        )) === "timeout"
      ) {
        abortConnection(this.connectionId);
        await withTimeout(
          this.done.catch(() => {}),
          this.timeoutMs,
        );
      }
    } finally {
      this.transport.close();
      this.closeFd();
      active.delete(this);
      updateProcessHooks();
    }
    await this.done;
  }

  private closeFd(): void {
    if (!this.fdOpen) return;
    this.fdOpen = false;
    // A transport whose handle owns the descriptor closes it with the handle.
    if (this.transport.closesFd === true) {
      this.transport.close();
      return;
    }
    try {
      closeSync(this.fd);
    } catch {
      /* already closed */
    }
  }

  /** For exit paths where nothing asynchronous runs any more: lazy unmount, abort, close. */
  closeSync(): void {
    if (isFuseMounted(this.mountpoint)) {
      spawnSync("umount", ["-c", "-l", this.mountpoint], {
        stdio: "ignore",
        timeout: 3000,
        killSignal: "SIGKILL",
      });
    }
    abortConnection(this.connectionId);
    this.transport.close();
    this.closeFd();
    active.delete(this);
  }
}

const active = new Set<FuseMount>();
let hooksInstalled = false;
let signalsWanted = false;

function cleanupSync(): void {
  for (const m of [...active]) m.closeSync();
}

/** 128 + the signal's number: what a shell reports for a process that signal ended (SIGINT 130, SIGTERM 143). */
export function signalExitCode(signal: NodeJS.Signals): number {
  return 128 + (osConstants.signals[signal] ?? 0);
}

function onSignal(signal: NodeJS.Signals): void {
  const code = signalExitCode(signal);
  // Whoever exits first (this handler, or the program once `done` settles) exits with the signal's code.
  process.exitCode = code;
  for (const m of active) m.stoppedBy ??= signal;
  const all = Promise.allSettled([...active].map((m) => m.close()));
  // Exit even if an unmount hangs: the exit hook then unmounts lazily.
  void withTimeout(all, 15000).then(() => process.exit(code));
}

/** Keeps the process hooks installed exactly while mounts are live, so an idle process keeps Node's defaults. */
function updateProcessHooks(): void {
  const want = active.size > 0;
  if (want && !hooksInstalled) {
    process.on("exit", cleanupSync);
    process.on("uncaughtExceptionMonitor", cleanupSync);
    if (signalsWanted) {
      process.on("SIGINT", onSignal);
      process.on("SIGTERM", onSignal);
    }
    hooksInstalled = true;
  } else if (!want && hooksInstalled) {
    process.off("exit", cleanupSync);
    process.off("uncaughtExceptionMonitor", cleanupSync);
    process.off("SIGINT", onSignal);
    process.off("SIGTERM", onSignal);
    hooksInstalled = false;
  }
}

/** Mounts `handlers` at `mountpoint` and resolves once the kernel's INIT has been answered. */
export async function mount(
  mountpoint: string,
  handlers: FuseHandlers,
  options: MountOptions = {},
): Promise<FuseMount> {
  if (process.platform !== "linux") throw new Error("FUSE mounting needs Linux");
  if (options.reader !== undefined && !READERS.includes(options.reader))
    throw new TypeError(
      `reader must be "poll", "thread" or "pool", got ${JSON.stringify(options.reader)}`,
    );
  const readAhead = options.readAhead;
  if (
    readAhead !== undefined &&
    readAhead !== "kernel" &&
    !(Number.isSafeInteger(readAhead) && readAhead >= 0)
  )
    throw new TypeError(
      `readAhead must be a byte count or "kernel", got ${JSON.stringify(readAhead)}`,
    );
  const maxRead = options.maxRead ?? 256 * 1024;
  if (maxRead !== "kernel" && !(Number.isSafeInteger(maxRead) && maxRead >= 4096))
    throw new TypeError(
      `maxRead must be a byte count of at least 4096 or "kernel", got ${JSON.stringify(maxRead)}`,
    );
  const timeoutMs = options.timeoutMs ?? 10000;
  const name = options.name ?? "fuse-ts";
  if (!/^[A-Za-z0-9_.+-]+$/.test(name))
    throw new Error(`filesystem name ${JSON.stringify(name)}: use [A-Za-z0-9_.+-]`);
  const mnt = realpathSync(mountpoint);
  if (!statSync(mnt).isDirectory()) throw new Error(`${mnt} is not a directory`);
  if (isFuseMounted(mnt)) throw new Error(`${mnt} already has a FUSE filesystem mounted`);

  const device = options.device ?? "/dev/fuse";
  let fd: number;
  try {
    fd = openSync(device, constants.O_RDWR); // libuv adds O_CLOEXEC; spawn dup2s it to fd 3 for mount(8) only;
  } catch (err) {
    throw new Error(
      `cannot open ${device} (${(err as NodeJS.ErrnoException).code}): is the fuse module loaded and are we root?`,
    );
  }

  const uid = process.getuid?.() ?? 0;
  const gid = process.getgid?.() ?? 0;
  const o = [`fd=3`, `rootmode=40000`, `user_id=${uid}`, `group_id=${gid}`];
  if (options.defaultPermissions ?? true) o.push("default_permissions");
  if (options.allowOther) o.push("allow_other");
  if (maxRead !== "kernel") o.push(`max_read=${maxRead}`);
  o.push(...(options.extraOptions ?? []));
  const r = await run(
    "mount",
    ["-i", "-t", `fuse.${name}`, "-o", o.join(","), name, mnt],
    timeoutMs,
    fd,
  );
  if (r.code !== 0) {
    closeSync(fd);
    throw new Error(`mount of ${mnt} failed (exit ${r.code}): ${r.stderr.trim()}`);
  }

  const session = new Session(handlers, options);
  const reader = options.reader ?? (PollFdTransport.available() ? "poll" : "thread");
  // Requests in the server at once (the thread reader's slots; the poll reader keeps one more,
  // always the next read's).
  const inFlight = Math.max(2, Math.min(session.options.maxInFlight, 16));
  const transport =
    reader === "pool"
      ? new FdTransport(fd, session.bufferSize)
      : reader === "poll"
        ? new PollFdTransport(fd, session.bufferSize, inFlight + 1)
        : new ThreadFdTransport(fd, session.bufferSize, inFlight);
  const m = new FuseMount(mnt, session, fd, transport, timeoutMs, reader);
  const entry = fuseMounts().find((x) => x.mountpoint === mnt);
  m.connectionId = entry?.minor;
  m.device = entry?.device;
  active.add(m);
  signalsWanted ||= options.handleSignals ?? true;
  updateProcessHooks();

  const ready = await withTimeout(
    Promise.race([
      session.ready,
      m.done.then(() => Promise.reject(new Error("session ended before INIT"))),
    ]),
    timeoutMs,
  ).catch((err: unknown) => err);
  if (ready === "timeout" || ready instanceof Error) {
    await m.close().catch(() => {});
    throw new Error(
      `FUSE INIT did not complete on ${mnt}: ${ready === "timeout" ? "timed out" : ready.message}`,
    );
  }
  // After INIT's reply: the kernel clamps the window to INIT's max_readahead when it reads it.
  if (m.device !== undefined)
    m.readAhead = readAheadWindow(
      m.device,
      readAhead === "kernel" ? undefined : (readAhead ?? session.options.maxReadahead),
    );
  return m;
}

/** Every FUSE mount left under `dir` (e.g. by a crashed test), unmounted lazily. */
export function unmountAllUnder(dir: string): string[] {
  const prefix = dir.endsWith("/") ? dir : `${dir}/`;
  const gone: string[] = [];
  for (const m of fuseMounts()) {
    if (m.mountpoint === dir || m.mountpoint.startsWith(prefix)) {
      spawnSync("umount", ["-c", "-l", m.mountpoint], {
        stdio: "ignore",
        timeout: 3000,
        killSignal: "SIGKILL",
      });
      abortConnection(m.minor);
      gone.push(m.mountpoint);
    }
  }
  return gone;
}

/** Connection ids live under this directory when fusectl is mounted. */
export function fusectlAvailable(): boolean {
  try {
    return readdirSync(FUSECTL).length > 0;
  } catch {
    return false;
  }
}
