/**
 * /dev/fuse read by the event loop itself: libuv polls the descriptor with the
 * rest of the loop's I/O and reads each request, as it becomes readable,
 * straight into a free slot. No thread hands messages over (no wake-up of
 * the main thread by another thread, no message event per batch): a request
 * costs one epoll wake-up of the loop and one read.
 *
 * Node has no public API that polls an arbitrary descriptor; its pipe handle
 * (`pipe_wrap`, reached through `process.binding`) takes any pollable one
 * (uv_pipe_open checks nothing but the descriptor's flags), and its user-buffer
 * mode (the one `net.Socket`'s `onread` option uses) reads into a buffer the
 * caller names, the next one named by the read callback's return value.
 */
import { Errno } from "./errno.js";
import { writeMessage, writeParts } from "./fd-io.js";
import { MessageQueue } from "./message-queue.js";
import type { Transport } from "./transport.js";

interface PipeHandle {
  open(fd: number): number;
  readStart(): number;
  readStop(): number;
  useUserBuffer(buf: Uint8Array): void;
  close(cb?: () => void): void;
  unref(): void;
  onread: (this: PipeHandle) => Uint8Array | undefined;
}

interface PipeBinding {
  readonly Pipe: new (type: number) => PipeHandle;
  readonly constants: { readonly SOCKET: number };
}

interface StreamBinding {
  readonly streamBaseState: Int32Array;
  readonly kReadBytesOrError: number;
}

const binding = (name: string): unknown =>
  (process as unknown as { binding(name: string): unknown }).binding(name);

let bindings: { pipe: PipeBinding; stream: StreamBinding } | null | undefined;

/** The two bindings, or null where this Node does not give them (then the caller reads another way). */
function loadBindings(): { pipe: PipeBinding; stream: StreamBinding } | null {
  if (bindings !== undefined) return bindings;
  // A process that asked to see pending deprecations would get DEP0111 for process.binding:
  // it reads with a thread instead.
  if (pendingDeprecation()) return (bindings = null);
  try {
    const pipe = binding("pipe_wrap") as PipeBinding;
    const stream = binding("stream_wrap") as StreamBinding;
    bindings =
      typeof pipe.Pipe === "function" &&
      typeof pipe.Pipe.prototype.useUserBuffer === "function" &&
      stream.streamBaseState instanceof Int32Array &&
      typeof stream.kReadBytesOrError === "number"
        ? { pipe, stream }
        : null;
  } catch {
    bindings = null;
  }
  return bindings;
}

function pendingDeprecation(): boolean {
  const flag = "--pending-deprecation";
  return (
    process.execArgv.includes(flag) ||
    (process.env["NODE_OPTIONS"] ?? "").split(/\s+/).includes(flag) ||
    process.env["NODE_PENDING_DEPRECATION"] === "1"
  );
}

/** libuv's EOF (UV_EOF). */
const UV_EOF = -4095;

export class PollFdTransport implements Transport {
  /** Whether this Node gives the handle this transport needs (else read with a thread). */
  static available(): boolean {
    return loadBindings() !== null;
  }

  private readonly handle: PipeHandle;
  private readonly state: Int32Array;
  private readonly nreadIndex: number;
  private readonly slots: Uint8Array[] = [];
  private readonly free: Uint8Array[] = [];
  /** Per slot, 1 while its message is in the server: a second release of it is ignored. */
  private readonly inServer: Uint8Array;
  private current: Uint8Array;
  private readonly queue = new MessageQueue();
  private reading = false;
  private handleClosed = false;

  /**
   * @param fd an open /dev/fuse descriptor; the transport owns it from here ({@link close}
   *   closes it: libuv closes a handle's descriptor with the handle)
   * @param bufferSize bytes per slot: at least max_write + room for the request header and fuse_write_in
   * @param slots buffers for messages; one is always kept for the next read, so `slots - 1`
   *   requests may be in the server at once
   */
  constructor(
    readonly fd: number,
    readonly bufferSize: number,
    slots = 16,
  ) {
    const b = loadBindings();
    if (b === null) throw new Error("this Node gives no pipe handle to poll /dev/fuse with");
    if (!Number.isInteger(slots) || slots < 2)
      throw new RangeError(`slots must be 2 or more, got ${slots}`);
    const { Pipe, constants } = b.pipe;
    const sw = b.stream;
    this.state = sw.streamBaseState;
    this.nreadIndex = sw.kReadBytesOrError;
    const data = new ArrayBuffer(bufferSize * slots);
    this.inServer = new Uint8Array(slots);
    for (let i = 0; i < slots; i++) {
      const s = new Uint8Array(data, i * bufferSize, bufferSize);
      this.slots.push(s);
      this.free.push(s);
    }
    this.current = this.free.pop()!;
    this.handle = new Pipe(constants.SOCKET);
    const err = this.handle.open(fd);
    if (err !== 0) throw new Error(`polling ${fd}: libuv error ${err}`);
    this.handle.useUserBuffer(this.current);
    // The binding calls onread with nread in streamBaseState; its return value names the
    // buffer of the next read.
    this.handle.onread = () => this.onRead(this.state[this.nreadIndex]!);
    this.startReading();
  }

  private startReading(): void {
    if (this.reading || this.ended) return;
    this.reading = true;
    const err = this.handle.readStart();
    if (err !== 0) this.end(new Error(`reading ${this.fd}: libuv error ${err}`));
  }

  /**
   * One read: the message is the slot it went into; the next read goes into a free slot,
   * named by the return value. One free slot is always the next read's (`current`): when it
   * is the last one, reading pauses until a message is released, and resumes into it.
   */
  private onRead(nread: number): Uint8Array | undefined {
    if (nread > 0) {
      const message = this.current.subarray(0, nread);
      this.inServer[message.byteOffset / this.bufferSize] = 1;
      // There is one: reading runs only while a slot besides `current` is free.
      const next = this.free.pop()!;
      this.current = next;
      if (this.free.length === 0) {
        this.handle.readStop();
        this.reading = false;
      }
      this.queue.put(message);
      return next;
    }
    // libuv stops reading after an error: ENOENT (a request aborted while read) and EINTR
    // read again; ENODEV (unmounted) and EOF end the connection.
    this.reading = false;
    if (nread === -Errno.ENOENT || nread === -Errno.EINTR || nread === -Errno.EAGAIN) {
      queueMicrotask(() => this.startReading());
      return undefined;
    }
    if (nread === -Errno.ENODEV || nread === UV_EOF || nread === 0) this.end(undefined);
    else this.end(new Error(`reading ${this.fd}: errno ${-nread}`));
    return undefined;
  }

  private get ended(): boolean {
    return this.queue.ended;
  }

  private end(err: Error | undefined): void {
    if (this.queue.ended) return;
    if (this.reading) this.handle.readStop();
    this.reading = false;
    this.queue.end(err);
  }

  read(): Promise<Uint8Array | null> {
    return this.queue.take();
  }

  release(message: Uint8Array): void {
    const index = Math.floor(message.byteOffset / this.bufferSize);
    const slot = this.slots[index];
    if (slot === undefined || slot.buffer !== message.buffer || this.inServer[index] !== 1) return;
    this.inServer[index] = 0;
    this.free.push(slot);
    // Reading paused for want of a slot: the next read can go into `current` again.
    if (!this.reading) this.startReading();
  }

  /** Writes are synchronous. */
  readonly copiesOnWrite = true;

  write(message: Uint8Array, length = message.length): boolean {
    return !this.ended && writeMessage(this.fd, message, length);
  }

  writev(parts: readonly Uint8Array[]): boolean {
    return !this.ended && writeParts(this.fd, parts);
  }

  /** The handle owns the descriptor: closing the transport closes it (see {@link Transport.closesFd}). */
  readonly closesFd = true;

  /** Pending reads end with null; the handle and its descriptor are closed. Idempotent. */
  close(): void {
    this.queue.clear();
    this.end(undefined);
    if (!this.handleClosed) {
      this.handleClosed = true;
      this.handle.close();
    }
  }
}
