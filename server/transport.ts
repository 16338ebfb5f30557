/**
 * Where FUSE messages come from and go to. The session only needs "give me the
 * next request" and "send this reply", so the same dispatcher runs over
 * /dev/fuse, over any byte stream (a socket, a pipe pair) or over an in-memory
 * pair in tests, without a mount.
 */
import { read as fsRead } from "node:fs";
import type { Duplex } from "node:stream";
import { Worker } from "node:worker_threads";
import { Errno } from "./errno.js";
import { errnoOf, writeMessage, writeParts } from "./fd-io.js";
import { MessageQueue } from "./message-queue.js";
import { CTRL, slotLayout, type ReaderThreadData } from "./reader-layout.js";

/** A message-oriented channel: each read is exactly one request, each write one reply. */
export interface Transport {
  /**
   * The next whole message, or null once the other side is gone (for
   * /dev/fuse: ENODEV, the filesystem was unmounted). Several reads may be
   * outstanding at once.
   */
  read(): Promise<Uint8Array | null>;
  /**
   * Sends one whole message: `message`, or its first `length` bytes. Returns
   * false if the peer no longer wants it (an aborted request).
   */
  write(message: Uint8Array, length?: number): boolean | Promise<boolean>;
  /**
   * Sends one whole message given in parts (header, then data), as one write:
   * the data never has to be copied next to its header. Optional; without it
   * the parts are joined and sent with {@link write}.
   */
  writev?(parts: readonly Uint8Array[]): boolean | Promise<boolean>;
  /**
   * Gives back the buffer of a message {@link read} returned, once nothing
   * uses it any more (its reply is sent). Optional: a transport whose
   * messages are views of its own read buffers has it, and until the message
   * is released its bytes stay as they were read.
   */
  release?(message: Uint8Array): void;
  /** Releases the channel; pending reads end with null. */
  close(): void;
  /**
   * True when {@link write} and {@link writev} are done with the bytes once
   * they return (sent or copied), so the caller may reuse its buffers at once:
   * the session then encodes every reply into the same buffer. Absent: every
   * reply gets a buffer of its own.
   */
  readonly copiesOnWrite?: boolean;
  /**
   * True when {@link close} also closes the descriptor the transport was given (its
   * event-loop handle owns it): the owner must not close it again, since the number may
   * already name another file.
   */
  readonly closesFd?: boolean;
}

/**
 * /dev/fuse (or any fd with the same one-message-per-read contract). Reads go
 * through libuv's thread pool (fs.read), so a blocked read never blocks the
 * event loop. Each outstanding read has its own buffer, and the message is a
 * view of that buffer (a WRITE's payload reaches the filesystem without a
 * copy); the buffer serves another read once the session {@link release}s the
 * message. Writes are synchronous: the kernel takes a reply in one write
 * without waiting, and header + data go out in one writev.
 */
export class FdTransport implements Transport {
  private readonly free: Uint8Array[] = [];
  /** Buffers of this transport (release() takes back only those). */
  private readonly owned = new WeakSet<ArrayBufferLike>();
  private closed = false;

  /**
   * @param fd an open /dev/fuse descriptor (not closed by this class: the owner of the mount closes it)
   * @param bufferSize at least max_write + room for the request header and fuse_write_in
   */
  constructor(
    readonly fd: number,
    readonly bufferSize: number,
  ) {}

  private buffer(): Uint8Array {
    const reused = this.free.pop();
    if (reused) return reused;
    const buf = new Uint8Array(this.bufferSize);
    this.owned.add(buf.buffer);
    return buf;
  }

  async read(): Promise<Uint8Array | null> {
    const buf = this.buffer();
    let message: Uint8Array | null = null;
    try {
      for (;;) {
        if (this.closed) return null;
        try {
          const n = await new Promise<number>((resolve, reject) =>
            fsRead(this.fd, buf, 0, buf.length, null, (err, bytes) =>
              err ? reject(err) : resolve(bytes),
            ),
          );
          if (n === 0) return null;
          message = buf.subarray(0, n);
          return message;
        } catch (err) {
          const e = errnoOf(err);
          // ENODEV: unmounted or aborted. EBADF: we closed the fd ourselves.
          if (e === Errno.ENODEV || e === Errno.EBADF) return null;
          // EINTR/EAGAIN: try again. ENOENT: the request was aborted while being read.
          if (e === Errno.EINTR || e === Errno.EAGAIN || e === Errno.ENOENT) continue;
          throw err;
        }
      }
    } finally {
      if (message === null) this.free.push(buf);
    }
  }

  release(message: Uint8Array): void {
    if (!this.owned.has(message.buffer)) return;
    this.free.push(
      message.byteOffset === 0 && message.length === this.bufferSize
        ? message
        : new Uint8Array(message.buffer, 0, this.bufferSize),
    );
  }

  /** Writes are synchronous. */
  readonly copiesOnWrite = true;

  write(message: Uint8Array, length = message.length): boolean {
    return !this.closed && writeMessage(this.fd, message, length);
  }

  writev(parts: readonly Uint8Array[]): boolean {
    return !this.closed && writeParts(this.fd, parts);
  }

  close(): void {
    this.closed = true;
  }
}

/**
 * /dev/fuse read by a thread of its own (server/reader-thread.ts) with
 * blocking reads, into slots of one SharedArrayBuffer. The reader reads the
 * next request while the main thread handles the last one, and the main
 * thread is woken once per batch rather than once per message, and never
 * issues a read itself (no thread-pool round trip per request). A message is
 * a view of its slot (a WRITE's payload is never copied); the slot is read into
 * again after the session {@link release}s it, so at most `slots` requests are
 * in the server at once. Replies are written by the main thread, synchronously
 * (header + data in one writev).
 *
 * The reader ends when the connection does (ENODEV after unmount): close the
 * transport after unmounting, as {@link FuseMount.close} does.
 */
export class ThreadFdTransport implements Transport {
  private readonly worker: Worker;
  private readonly c: Int32Array;
  private readonly bytes: Uint8Array;
  private readonly layout: ReturnType<typeof slotLayout>;
  private consumed = 0;
  private readonly queue = new MessageQueue();

  /**
   * @param fd an open /dev/fuse descriptor (not closed by this class)
   * @param bufferSize bytes per slot: at least max_write + room for the request header and fuse_write_in
   * @param slots messages read ahead or being handled at once
   */
  constructor(
    readonly fd: number,
    readonly bufferSize: number,
    readonly slots = 16,
  ) {
    this.layout = slotLayout(slots);
    const control = new SharedArrayBuffer(this.layout.words * 4);
    const data = new SharedArrayBuffer(bufferSize * slots);
    this.c = new Int32Array(control);
    this.bytes = new Uint8Array(data);
    this.c[CTRL.IDLE] = 1; // Nothing drained yet: the first message wakes us.
    const workerData: ReaderThreadData = { fd, bufferSize, slots, control, data };
    // No flags of the process (execArgv: []): the reader needs none, and some break a worker
    // (`--input-type`, which a script run with -e may carry, makes its start fail).
    this.worker = new Worker(new URL("./reader-thread.js", import.meta.url), {
      workerData,
      execArgv: [],
    });
    this.worker.on("message", (m: 0 | { end: true; error?: string }) => {
      this.drain();
      if (m !== 0)
        this.end(m.error === undefined ? undefined : new Error(`reading ${fd}: ${m.error}`));
    });
    this.worker.on("error", (err) => this.end(err));
    this.worker.on("exit", () => this.end(undefined));
  }

  /** Takes every published message, then tells the reader to wake us for the next one. */
  private drain(): void {
    const { c, layout } = this;
    for (;;) {
      const produced = Atomics.load(c, CTRL.PRODUCED);
      while (this.consumed < produced) {
        const slot = c[layout.ring + (this.consumed % this.slots)]!;
        const length = c[layout.length + slot]!;
        this.consumed++;
        const start = slot * this.bufferSize;
        this.queue.put(this.bytes.subarray(start, start + length));
      }
      Atomics.store(c, CTRL.IDLE, 1);
      // A message published between the last look and going idle would wake nobody: look again.
      if (Atomics.load(c, CTRL.PRODUCED) === this.consumed) return;
      Atomics.store(c, CTRL.IDLE, 0);
    }
  }

  private end(err: Error | undefined): void {
    if (this.queue.ended) return;
    this.queue.end(err);
    this.worker.unref();
  }

  private get ended(): boolean {
    return this.queue.ended;
  }

  read(): Promise<Uint8Array | null> {
    return this.queue.take();
  }

  release(message: Uint8Array): void {
    if (message.buffer !== this.bytes.buffer) return;
    const slot = Math.floor(message.byteOffset / this.bufferSize);
    Atomics.store(this.c, this.layout.state + slot, 0);
    Atomics.add(this.c, CTRL.FREE_SEQ, 1);
    if (Atomics.load(this.c, CTRL.WAITING) !== 0) Atomics.notify(this.c, CTRL.FREE_SEQ);
  }

  /** Writes are synchronous. */
  readonly copiesOnWrite = true;

  write(message: Uint8Array, length = message.length): boolean {
    return !this.ended && writeMessage(this.fd, message, length);
  }

  writev(parts: readonly Uint8Array[]): boolean {
    return !this.ended && writeParts(this.fd, parts);
  }

  /** Pending reads end with null; the reader thread ends with the connection (it may sit in a read until then). */
  close(): void {
    Atomics.store(this.c, CTRL.CLOSED, 1);
    Atomics.notify(this.c, CTRL.FREE_SEQ);
    this.queue.clear();
    this.end(undefined);
  }
}

/** Splits a byte stream into messages by the u32 length every FUSE header starts with (host byte order). */
class Framer {
  private pending: Buffer[] = [];
  private pendingBytes = 0;

  push(chunk: Buffer, onMessage: (m: Uint8Array) => void): void {
    this.pending.push(chunk);
    this.pendingBytes += chunk.length;
    for (;;) {
      if (this.pendingBytes < 4) return;
      const head = this.pending.length === 1 ? this.pending[0] : Buffer.concat(this.pending);
      this.pending = [head];
      const len = head.readUInt32LE(0);
      if (len < 4) throw new Error(`bad frame length ${len}`);
      if (head.length < len) return;
      onMessage(Uint8Array.prototype.slice.call(head, 0, len));
      const rest = head.subarray(len);
      this.pending = rest.length > 0 ? [rest] : [];
      this.pendingBytes = rest.length;
    }
  }
}

/** A queue of messages with waiting readers: the core of the stream and memory transports. */
/**
 * Messages over a byte stream such as a socket from a socketpair or a TCP
 * connection on loopback: framed by the length field of each header.
 */
export class StreamTransport implements Transport {
  private readonly queue = new MessageQueue();
  private readonly framer = new Framer();

  constructor(private readonly stream: Duplex) {
    stream.on("data", (chunk: Buffer) => {
      try {
        this.framer.push(chunk, (m) => this.queue.put(m));
      } catch (err) {
        stream.destroy(err as Error);
      }
    });
    stream.on("end", () => this.queue.end());
    stream.on("close", () => this.queue.end());
    stream.on("error", () => this.queue.end());
  }

  read(): Promise<Uint8Array | null> {
    return this.queue.take();
  }

  write(message: Uint8Array, length = message.length): boolean {
    if (this.stream.destroyed || !this.stream.writable) return false;
    // The stream keeps what it is given until it is flushed: the caller does not reuse a whole message (no copiesOnWrite).
    this.stream.write(length === message.length ? message : message.slice(0, length));
    return true;
  }

  close(): void {
    this.queue.end();
    this.stream.end();
  }
}

/** One end of {@link createMemoryPair}. */
export class MemoryTransport implements Transport {
  peer!: MemoryTransport;
  readonly inbox = new MessageQueue();

  read(): Promise<Uint8Array | null> {
    return this.inbox.take();
  }

  /** Every write is a copy. */
  readonly copiesOnWrite = true;

  write(message: Uint8Array, length = message.length): boolean {
    if (this.peer.inbox.ended) return false;
    // A copy, as a real write would: the sender may reuse its buffer.
    this.peer.inbox.put(message.slice(0, length));
    return true;
  }

  close(): void {
    this.inbox.end();
    this.peer.inbox.end();
  }
}

/**
 * Two connected in-memory transports: give one to a session, and use the
 * other as the "kernel" that writes requests and reads replies.
 */
export function createMemoryPair(): [MemoryTransport, MemoryTransport] {
  const a = new MemoryTransport();
  const b = new MemoryTransport();
  a.peer = b;
  b.peer = a;
  return [a, b];
}
