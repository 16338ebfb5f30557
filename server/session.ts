/**
 * The request loop: reads messages from a transport, negotiates INIT, routes
 * each request to the handler method of its opcode and writes the reply.
 *
 * Several reads are outstanding at once and handlers run concurrently (each
 * request is answered whenever its handler settles); `maxInFlight` bounds how
 * many requests are being handled so a slow filesystem cannot make the server
 * read without limit. Whatever a handler does, every request that expects a
 * reply gets exactly one: its result, ENOSYS when there is no handler, the
 * thrown FuseError's errno, or EIO for anything else. The loop itself never
 * dies of a handler bug.
 */
import {
  FUSE_ASYNC_READ,
  FUSE_BIG_WRITES,
  FUSE_DO_READDIRPLUS,
  FUSE_INIT_EXT,
  FUSE_MAX_PAGES,
  FUSE_MIN_READ_BUFFER,
  FUSE_PARALLEL_DIROPS,
  FUSE_READDIRPLUS_AUTO,
  FUSE_SETXATTR_EXT,
  FuseOpcode,
  fuseOpcodeName,
  type FuseInHeader,
  type FuseInitOut,
} from "../generated/base-7.45/index.js";
import { Errno, FuseError, errnoName } from "./errno.js";
import type { FuseHandlers, RequestContext } from "./handlers.js";
import {
  FuseMessageError,
  NO_REPLY_OPCODES,
  PROTOCOL_MAJOR,
  PROTOCOL_MINOR,
  decodeHeader,
  decodeRequest,
  encodeError,
  encodeReply,
  handlerNameOf,
  type RequestOf,
} from "./protocol.js";

/** What a handler may return: reply parts, `{ error }`, or nothing for a bare header. */
type FuseReply = object | void;
import type { Transport } from "./transport.js";

const PAGE_SIZE = 4096;

export interface SessionOptions {
  /** Largest WRITE the kernel may send (bytes). Default 1 MiB. */
  maxWrite?: number;
  /** Upper bound for read-ahead; the kernel's own limit wins if smaller. Default 1 MiB. */
  maxReadahead?: number;
  /** Reads kept outstanding on the transport. Default 2. */
  readers?: number;
  /** Requests being handled at once (reads included). Default 64. */
  maxInFlight?: number;
  /**
   * INIT flags to ask for on top of the defaults (FUSE_ASYNC_READ,
   * FUSE_BIG_WRITES, FUSE_MAX_PAGES, FUSE_PARALLEL_DIROPS, plus
   * FUSE_DO_READDIRPLUS | FUSE_READDIRPLUS_AUTO when there is a `readdirplus`
   * handler and FUSE_SETXATTR_EXT when there is a `setxattr` one). Flags that
   * promise semantics, e.g. FUSE_ATOMIC_O_TRUNC (open handles O_TRUNC) or
   * FUSE_EXPORT_SUPPORT (lookup of "." and ".."), go here.
   */
  flags?: bigint;
  /** Flags never to ask for, even default ones. */
  withoutFlags?: bigint;
  /** Highest minor version to speak (tests of older protocol versions). Default: the generated header's. */
  minor?: number;
  /** Timestamp granularity in ns reported to the kernel. Default 1. */
  timeGran?: number;
  /** Every raw request as read, before anything else happens to it (tests capture the kernel's traffic). */
  onRequest?: (bytes: Uint8Array) => void;
  /** Every raw reply just before it is written. */
  onReply?: (bytes: Uint8Array) => void;
  /** A handler threw something other than FuseError (answered with EIO). Default: print to stderr. */
  onError?: (err: unknown, header: FuseInHeader) => void;
}

/** What INIT settled. */
export interface Connection {
  /** Protocol version both sides speak now. */
  major: number;
  minor: number;
  /** The kernel's offer (flags | flags2 << 32). */
  kernelFlags: bigint;
  /** What was agreed: asked for and offered. */
  flags: bigint;
  maxWrite: number;
  maxReadahead: number;
  maxPages: number;
  setxattrExt: boolean;
}

/** Largest request a read can return for a given max_write: header + fuse_write_in + data, with slack. */
export function readBufferSize(maxWrite: number): number {
  return Math.max(FUSE_MIN_READ_BUFFER, maxWrite + 2 * PAGE_SIZE);
}

/** A counting semaphore: bounds requests in flight. */
class Slots {
  private readonly waiters: Array<() => void> = [];
  constructor(private free: number) {}

  acquire(): Promise<void> {
    if (this.free > 0) {
      this.free--;
      return Promise.resolve();
    }
    return new Promise((resolve) => this.waiters.push(resolve));
  }

  release(): void {
    const w = this.waiters.shift();
    if (w) w();
    else this.free++;
  }
}

/** Remembers interrupts that arrived before their request was seen (reads complete out of order). */
const MAX_EARLY_INTERRUPTS = 1024;

type Handler = (req: unknown, ctx: RequestContext) => unknown;

export class Session {
  readonly options: Required<Pick<SessionOptions, "maxWrite" | "maxReadahead" | "readers" | "maxInFlight" | "minor" | "timeGran">>;
  private conn: Connection | undefined;
  private readonly inFlight = new Map<bigint, AbortController>();
  private readonly earlyInterrupts = new Set<bigint>();
  private readonly running = new Set<Promise<void>>();
  private transport: Transport | undefined;
  private readyResolve!: (c: Connection) => void;
  /** Resolves once INIT has been answered. */
  readonly ready: Promise<Connection>;

  constructor(
    readonly handlers: FuseHandlers,
    private readonly opts: SessionOptions = {},
  ) {
    this.options = {
      maxWrite: opts.maxWrite ?? 1 << 20,
      maxReadahead: opts.maxReadahead ?? 1 << 20,
      readers: Math.max(1, opts.readers ?? 2),
      maxInFlight: Math.max(opts.readers ?? 2, opts.maxInFlight ?? 64),
      minor: Math.min(opts.minor ?? PROTOCOL_MINOR, PROTOCOL_MINOR),
      timeGran: opts.timeGran ?? 1,
    };
    this.ready = new Promise((resolve) => (this.readyResolve = resolve));
  }

  /** The negotiated connection, once INIT is done. */
  get connection(): Connection | undefined {
    return this.conn;
  }

  /** Size of the buffer each read needs. */
  get bufferSize(): number {
    return readBufferSize(this.options.maxWrite);
  }

  /**
   * Serves requests from `transport` until it ends (for /dev/fuse: unmount)
   * or {@link stop} is called; resolves after the last handler has settled.
   */
  async run(transport: Transport): Promise<void> {
    this.transport = transport;
    const slots = new Slots(this.options.maxInFlight);
    let fatal: unknown;
    const readLoop = async (): Promise<void> => {
      for (;;) {
        await slots.acquire();
        let message: Uint8Array | null;
        try {
          message = await transport.read();
        } catch (err) {
          slots.release();
          fatal ??= err;
          transport.close();
          return;
        }
        if (message === null) {
          slots.release();
          return;
        }
        const p = this.serve(message, transport).finally(() => {
          slots.release();
          this.running.delete(p);
        });
        this.running.add(p);
      }
    };
    const loops: Promise<void>[] = [];
    for (let i = 0; i < this.options.readers; i++) loops.push(readLoop());
    await Promise.all(loops);
    await Promise.allSettled([...this.running]);
    if (fatal !== undefined) throw fatal;
  }

  /** Ends {@link run}: closes the transport (for /dev/fuse, unmount first so reads return). */
  stop(): void {
    this.transport?.close();
  }

  private async serve(message: Uint8Array, transport: Transport): Promise<void> {
    const reply = await this.handle(message);
    if (reply === null) return;
    this.opts.onReply?.(reply);
    try {
      await transport.write(reply);
    } catch (err) {
      // The kernel refused the reply (e.g. EINVAL for a malformed one): the
      // request would hang, so answer it again with a bare EIO.
      this.reportError(err, decodeHeader(message));
      const unique = decodeHeader(message).unique;
      try {
        await transport.write(encodeError(unique, -Errno.EIO));
      } catch {
        /* the transport is gone */
      }
    }
  }

  private get minor(): number {
    return this.conn?.minor ?? this.options.minor;
  }

  /**
   * Handles one raw request and returns the raw reply, or null when the
   * opcode takes none. {@link run} calls this; it is public so other
   * transports (or compound requests) can drive the same dispatcher.
   */
  async handle(message: Uint8Array): Promise<Uint8Array | null> {
    this.opts.onRequest?.(message);
    let header: FuseInHeader;
    try {
      header = decodeHeader(message);
    } catch (err) {
      this.reportError(err, undefined);
      return null; // Not even a header: nothing to answer.
    }
    const op = header.opcode;
    const noReply = NO_REPLY_OPCODES.has(op);
    const answer = (reply: FuseReply): Uint8Array | null =>
      noReply ? null : this.encode(header, reply);

    if (op === FuseOpcode.FUSE_INIT) return this.encode(header, await this.negotiate(message, header));
    if (!this.conn) return answer({ error: -Errno.EIO }); // Nothing before INIT.
    if (op === FuseOpcode.FUSE_INTERRUPT) {
      this.interrupt(message);
      return null;
    }
    if (op === FuseOpcode.FUSE_BATCH_FORGET && !this.handlers.batch_forget && this.handlers.forget) {
      await this.forgetEach(message, header);
      return null;
    }

    const name = handlerNameOf(op);
    const method = name === undefined ? undefined : (this.handlers as Record<string, Handler | undefined>)[name];
    if (!method || name === "init") return answer({ error: -Errno.ENOSYS });

    let req;
    try {
      req = decodeRequest(message, { minor: this.conn.minor, setxattrExt: this.conn.setxattrExt });
    } catch (err) {
      // A name that is not UTF-8 is a valid Linux name the codecs cannot represent: EINVAL, as
      // filesystems with a name encoding answer. Anything else malformed is the kernel's bug: EIO.
      if (err instanceof FuseMessageError && err.kind === "name") return answer({ error: -Errno.EINVAL });
      this.reportError(err, header);
      return answer({ error: -Errno.EIO });
    }
    if (req.op === "unknown") return answer({ error: -Errno.ENOSYS });
    const ctx = this.contextFor(header);
    try {
      const result = (await method.call(this.handlers, req, ctx)) as FuseReply;
      return answer(result);
    } catch (err) {
      return answer({ error: -this.errnoFor(err, header, ctx) });
    } finally {
      this.inFlight.delete(header.unique);
    }
  }

  private contextFor(header: FuseInHeader): RequestContext {
    const abort = new AbortController();
    this.inFlight.set(header.unique, abort);
    if (this.earlyInterrupts.delete(header.unique)) abort.abort();
    return { unique: header.unique, uid: header.uid, gid: header.gid, pid: header.pid, signal: abort.signal };
  }

  private errnoFor(err: unknown, header: FuseInHeader, ctx: RequestContext): number {
    if (err instanceof FuseError) return err.errno;
    if (ctx.signal.aborted && (err as Error | null)?.name === "AbortError") return Errno.EINTR;
    this.reportError(err, header);
    return Errno.EIO;
  }

  /** Encodes a reply; an unusable one (bad errno, unencodable value) becomes EIO so the request never hangs. */
  private encode(header: FuseInHeader, reply: FuseReply): Uint8Array {
    try {
      const body = reply ?? {};
      if ("error" in body) {
        // The kernel rejects errors outside -1..-511 and the request would hang.
        const error = (body as { error: unknown }).error;
        const e = typeof error === "number" && Number.isInteger(error) ? Math.abs(error) : 0;
        return encodeError(header.unique, -(e >= 1 && e < 512 ? e : Errno.EIO));
      }
      return encodeReply(header.unique, header.opcode, body, this.minor);
    } catch (err) {
      this.reportError(err, header);
      return encodeError(header.unique, -Errno.EIO);
    }
  }

  private reportError(err: unknown, header: FuseInHeader | undefined): void {
    if (this.opts.onError) {
      this.opts.onError(err, header ?? ({} as FuseInHeader));
      return;
    }
    const what = header ? `${fuseOpcodeName(header.opcode) ?? header.opcode} (unique ${header.unique})` : "message";
    console.error(`fuse: ${what} failed:`, err);
  }

  private interrupt(message: Uint8Array): void {
    let target: bigint;
    try {
      target = (decodeRequest(message, { minor: this.minor }) as RequestOf<"FUSE_INTERRUPT">).interrupt_in.unique;
    } catch {
      return;
    }
    const abort = this.inFlight.get(target);
    if (abort) {
      abort.abort();
      return;
    }
    // The interrupted request may still be on its way through another read.
    if (this.earlyInterrupts.size >= MAX_EARLY_INTERRUPTS) this.earlyInterrupts.clear();
    this.earlyInterrupts.add(target);
  }

  /** BATCH_FORGET for a filesystem that only has `forget`: one call per inode. */
  private async forgetEach(message: Uint8Array, header: FuseInHeader): Promise<void> {
    const forget = this.handlers.forget!;
    try {
      const req = decodeRequest(message, { minor: this.minor }) as RequestOf<"FUSE_BATCH_FORGET">;
      for (const one of req.entries) {
        const single: RequestOf<"FUSE_FORGET"> = {
          op: "FUSE_FORGET",
          opcode: FuseOpcode.FUSE_FORGET,
          header: { ...header, opcode: FuseOpcode.FUSE_FORGET, nodeid: one.nodeid },
          forget_in: { nlookup: one.nlookup },
        };
        await forget.call(this.handlers, single, this.contextFor(header));
      }
    } catch (err) {
      this.reportError(err, header);
    } finally {
      this.inFlight.delete(header.unique);
    }
  }

  /** Flags this server asks for, given its handlers and options. */
  wantedFlags(): bigint {
    let f = BigInt(FUSE_ASYNC_READ | FUSE_BIG_WRITES | FUSE_MAX_PAGES | FUSE_PARALLEL_DIROPS);
    if (this.handlers.readdirplus) f |= BigInt(FUSE_DO_READDIRPLUS | FUSE_READDIRPLUS_AUTO);
    if (this.handlers.setxattr) f |= BigInt(FUSE_SETXATTR_EXT);
    f |= this.opts.flags ?? 0n;
    f &= ~(this.opts.withoutFlags ?? 0n);
    return f;
  }

  /**
   * INIT: speak min(kernel minor, ours); agree on the flags both sides want;
   * answer with the fuse_init_out size the kernel's minor expects (the codec
   * layer cuts it: 8 bytes before 7.5, 24 before 7.23).
   */
  private async negotiate(message: Uint8Array, header: FuseInHeader): Promise<object> {
    let req: RequestOf<"FUSE_INIT">;
    try {
      req = decodeRequest(message, { minor: this.options.minor }) as RequestOf<"FUSE_INIT">;
    } catch (err) {
      this.reportError(err, header);
      return { error: -Errno.EIO };
    }
    const k = req.init_in;
    if (k.major < PROTOCOL_MAJOR) return { error: -Errno.EPROTO };
    const init_out: FuseInitOut = {
      major: PROTOCOL_MAJOR,
      minor: this.options.minor,
      max_readahead: 0,
      flags: 0,
      max_background: 0,
      congestion_threshold: 0,
      max_write: 0,
      time_gran: 0,
      max_pages: 0,
      map_alignment: 0,
      flags2: 0,
      max_stack_depth: 0,
      request_timeout: 0,
      unused: new Uint16Array(11),
    };
    // A newer major: tell the kernel ours and let it retry INIT with it.
    if (k.major > PROTOCOL_MAJOR) return { init_out };

    const minor = Math.min(k.minor, this.options.minor);
    const initExt = BigInt(FUSE_INIT_EXT);
    let kernelFlags = BigInt(k.flags >>> 0);
    if (kernelFlags & initExt) kernelFlags |= BigInt(k.flags2 >>> 0) << 32n;
    let flags = this.wantedFlags() & kernelFlags;
    if (kernelFlags & initExt) flags |= initExt;
    const maxPages = Math.ceil(this.options.maxWrite / PAGE_SIZE);
    const maxReadahead = Math.min(k.max_readahead, this.options.maxReadahead);
    Object.assign(init_out, {
      minor,
      max_readahead: maxReadahead,
      flags: Number(flags & 0xffffffffn),
      flags2: Number(flags >> 32n),
      max_write: this.options.maxWrite,
      time_gran: this.options.timeGran,
      max_pages: flags & BigInt(FUSE_MAX_PAGES) ? maxPages : 0,
    });
    const conn: Connection = {
      major: PROTOCOL_MAJOR,
      minor,
      kernelFlags,
      flags,
      maxWrite: this.options.maxWrite,
      maxReadahead,
      maxPages,
      setxattrExt: (flags & BigInt(FUSE_SETXATTR_EXT)) !== 0n,
    };
    const ctx = this.contextFor(header);
    try {
      await this.handlers.init?.call(this.handlers, req, ctx);
    } catch (err) {
      return { error: -this.errnoFor(err, header, ctx) };
    } finally {
      this.inFlight.delete(header.unique);
    }
    this.conn = conn;
    this.readyResolve(conn);
    return { init_out };
  }
}

/** For logs: "FUSE_LOOKUP" or the number. */
export function opcodeLabel(opcode: number): string {
  return fuseOpcodeName(opcode) ?? `opcode ${opcode}`;
}

export { errnoName };
