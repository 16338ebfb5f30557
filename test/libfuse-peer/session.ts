/**
 * Talks to a running peer_fs (test/libfuse-peer/peer_fs.c) the way the kernel talks to a FUSE
 * server: requests go to its stdin, and what libfuse writes comes back on its stdout, one FUSE
 * message after the other, framed by the length in each fuse_out_header.
 */
import { spawn, type ChildProcessWithoutNullStreams } from "node:child_process";

const OUT_HEADER_SIZE = 16;

/** How the peer process ended. */
export interface PeerExit {
  readonly code: number | null;
  readonly signal: NodeJS.Signals | null;
  readonly stderr: string;
  /** Messages libfuse wrote that nobody read. */
  readonly unread: Uint8Array[];
}

/** The reply to one request, and the notifications libfuse sent before it. */
export interface Exchange {
  readonly reply: Uint8Array;
  readonly notifications: Uint8Array[];
}

function outUnique(msg: Uint8Array): bigint {
  return new DataView(msg.buffer, msg.byteOffset, msg.byteLength).getBigUint64(8, true);
}

export class PeerSession {
  /** Sessions whose process has not ended yet. */
  static readonly #running = new Set<PeerSession>();
  readonly #child: ChildProcessWithoutNullStreams;
  #pending: Buffer = Buffer.alloc(0);
  readonly #messages: Uint8Array[] = [];
  #wake: (() => void) | null = null;
  #stderr = "";
  #exit: { code: number | null; signal: NodeJS.Signals | null } | null = null;
  readonly #exited: Promise<void>;
  /** Everything sent, in order (for failure messages). */
  readonly sent: Uint8Array[] = [];

  private constructor(child: ChildProcessWithoutNullStreams) {
    this.#child = child;
    child.stdout.on("data", (chunk: Buffer) => this.#take(chunk));
    child.stderr.on("data", (chunk: Buffer) => {
      this.#stderr += chunk.toString();
    });
    // A write after the peer died must surface as the peer's failure, not an unhandled EPIPE.
    child.stdin.on("error", () => undefined);
    this.#exited = new Promise((resolve) => {
      child.on("close", (code, signal) => {
        PeerSession.#running.delete(this);
        this.#exit = { code, signal };
        this.#wake?.();
        resolve();
      });
    });
  }

  /** Starts `binary` (a built peer_fs) with `args`. */
  static start(binary: string, args: readonly string[] = []): PeerSession {
    const child = spawn(binary, [...args], { stdio: ["pipe", "pipe", "pipe"] });
    const session = new PeerSession(child);
    PeerSession.#running.add(session);
    return session;
  }

  /** Kills every peer still running (after a failed test left one behind). */
  static killAll(): void {
    for (const s of PeerSession.#running) s.#child.kill("SIGKILL");
  }

  #take(chunk: Buffer): void {
    this.#pending = this.#pending.length ? Buffer.concat([this.#pending, chunk]) : chunk;
    while (this.#pending.length >= OUT_HEADER_SIZE) {
      const len = this.#pending.readUInt32LE(0);
      if (len < OUT_HEADER_SIZE) {
        this.#stderr += `\n[harness] message with fuse_out_header.len ${len}`;
        this.#child.kill();
        return;
      }
      if (this.#pending.length < len) break;
      this.#messages.push(new Uint8Array(this.#pending.subarray(0, len)));
      this.#pending = this.#pending.subarray(len);
    }
    this.#wake?.();
  }

  /** Sends one request (no wait). */
  send(bytes: Uint8Array): void {
    this.sent.push(bytes);
    this.#child.stdin.write(bytes);
  }

  #fail(what: string): Error {
    const how = this.#exit
      ? ` (peer exited: code ${this.#exit.code}, signal ${this.#exit.signal})`
      : "";
    return new Error(`${what}${how}\n--- peer stderr ---\n${this.#stderr}`);
  }

  /** The next message libfuse writes. */
  async next(timeoutMs = 15000): Promise<Uint8Array> {
    const deadline = Date.now() + timeoutMs;
    for (;;) {
      const m = this.#messages.shift();
      if (m) return m;
      if (this.#exit) throw this.#fail("no further message from libfuse");
      const left = deadline - Date.now();
      if (left <= 0) throw this.#fail(`no message from libfuse within ${timeoutMs} ms`);
      await new Promise<void>((resolve) => {
        const timer = setTimeout(resolve, left);
        this.#wake = () => {
          clearTimeout(timer);
          resolve();
        };
      });
      this.#wake = null;
    }
  }

  /**
   * Sends a request and waits for its reply (the message with its unique). Notifications
   * (unique 0) that come first are returned with it; a message with any other unique fails.
   */
  async exchange(bytes: Uint8Array, unique: bigint): Promise<Exchange> {
    this.send(bytes);
    const notifications: Uint8Array[] = [];
    for (;;) {
      const m = await this.next();
      const u = outUnique(m);
      if (u === unique) return { reply: m, notifications };
      if (u === 0n) {
        notifications.push(m);
        continue;
      }
      throw this.#fail(
        `waiting for the reply to unique ${unique}, libfuse sent one for unique ${u}`,
      );
    }
  }

  /** Closes stdin (libfuse sees the device go away) and waits for the process to end. */
  async close(): Promise<PeerExit> {
    this.#child.stdin.end();
    const timer = setTimeout(() => this.#child.kill("SIGKILL"), 15000);
    await this.#exited;
    clearTimeout(timer);
    return {
      code: this.#exit!.code,
      signal: this.#exit!.signal,
      stderr: this.#stderr,
      unread: this.#messages.splice(0),
    };
  }
}
