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
 *
 * The wire format is the session's {@link Protocol} (one revision's generated
 * code; default base-7.45). For a revision with FUSE_COMPOUND the session
 * answers compounds itself: it decodes them with the revision's
 * `decodeCompoundRequest`, runs every sub-request through the same dispatch as
 * a separate request (so handlers never see a compound), and replies with
 * `encodeCompoundReply`; how credentials, per-op errors and declining work is
 * read from the revision's `COMPOUND_SEMANTICS`, never from its name.
 */
import { Errno, FuseError, errnoName } from "./errno.js";
import type { FuseHandlers, RequestContext } from "./handlers.js";
import {
  BASE_PROTOCOL,
  type CompoundSubReply,
  type CompoundRequestInfo,
  type CompoundRequestView,
  type Protocol,
  type RequestOf,
} from "./protocol.js";
import type { FuseInHeader, FuseInitOut, FuseRequest } from "../generated/base-7.45/index.js";

import type { Transport } from "./transport.js";

/** What a handler may return: reply parts, `{ error }`, or nothing for a bare header. */
type FuseReply = object | void;
/** An encoded reply: one message, or its parts in order (header, data) to send as one. */
type WireReply = Uint8Array | readonly Uint8Array[];

/**
 * Where {@link Session.respond} puts its answer to a request: sent at once
 * ({@link Session.run}), or kept ({@link Session.handle}).
 */
interface ReplySink {
  /** A reply to encode: a handler's result, `{ error }`, or nothing for a bare header. */
  reply(header: FuseInHeader, body: FuseReply): unknown;
  /** A reply already encoded. */
  encoded(header: FuseInHeader, message: Uint8Array): unknown;
}

/** Bytes of the reused reply buffer: every reply but data and directory listings fits. */
const REPLY_BUFFER_SIZE = 4096;
const NO_DATA = new Uint8Array(0);

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
  /**
   * Every raw request as read, before anything else happens to it (tests
   * capture the kernel's traffic). It gets a copy: the request itself is a view
   * of a read buffer that serves the next read once the request is answered.
   */
  onRequest?: (bytes: Uint8Array) => void;
  /** Every raw reply just before it is written (as one message, also when it is sent in parts). */
  onReply?: (bytes: Uint8Array) => void;
  /** A handler threw something other than FuseError (answered with EIO). Default: print to stderr. */
  onError?: (err: unknown, header: FuseInHeader) => void;
  /**
   * The revision to speak: its generated code, from {@link loadProtocol}
   * (`await loadProtocol("v6")`). Default: base-7.45, which has no FUSE_COMPOUND.
   */
  protocol?: Protocol;
  /**
   * What to do with a FUSE_COMPOUND (revisions that have one): `"execute"`
   * (default) runs each sub-request through the handlers and answers with one
   * sub-reply per op; `"decline"` answers the whole compound with the error
   * the revision lets a server decline with (`decline` in its data: ENOSYS,
   * or any error, see `declineErrno`), so the kernel falls back to plain
   * requests. A function decides per compound. Where the revision's data says
   * a server may not decline (`decline` empty), compounds are executed.
   */
  compounds?: CompoundPolicy;
  /**
   * The errno to decline with where the revision lets the server pick one
   * (`decline` errno `any`), or names one of the revision's decline errnos. Default: the errno the revision's callers
   * fall back on (`fallback.callerFallbackErrno`, ENOSYS). Ignored where the
   * revision prescribes the errno.
   */
  declineErrno?: number;
}

/** See {@link SessionOptions.compounds}. */
export type CompoundPolicy =
  | "execute"
  | "decline"
  | ((compound: CompoundRequestInfo) => "execute" | "decline");

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
  /** The revision spoken (the session's protocol). */
  revision: string;
}

/** Largest request a read can return for a given max_write: header + fuse_write_in + data, with slack. */
export function readBufferSize(
  maxWrite: number,
  minReadBuffer = BASE_PROTOCOL.minReadBuffer,
): number {
  return Math.max(minReadBuffer, maxWrite + 2 * PAGE_SIZE);
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

/**
 * The context of one request. Its AbortSignal is made only when a handler asks
 * for it or an INTERRUPT comes: most requests never need one, and an
 * AbortController per request costs more than the rest of the bookkeeping.
 */
class Context implements RequestContext {
  private controller: AbortController | undefined;
  private aborted = false;

  constructor(
    readonly unique: bigint,
    readonly uid: number,
    readonly gid: number,
    readonly pid: number,
  ) {}

  get signal(): AbortSignal {
    if (!this.controller) {
      this.controller = new AbortController();
      if (this.aborted) this.controller.abort();
    }
    return this.controller.signal;
  }

  /** Whether the request was interrupted (without making a signal). */
  get interrupted(): boolean {
    return this.aborted;
  }

  abort(): void {
    this.aborted = true;
    this.controller?.abort();
  }
}

/** Remembers interrupts that arrived before their request was seen (reads complete out of order). */
const MAX_EARLY_INTERRUPTS = 1024;

type Handler = (req: unknown, ctx: RequestContext) => unknown;

export class Session {
  readonly options: Required<
    Pick<
      SessionOptions,
      "maxWrite" | "maxReadahead" | "readers" | "maxInFlight" | "minor" | "timeGran"
    >
  >;
  /** The revision this session speaks. */
  readonly protocol: Protocol;
  private conn: Connection | undefined;
  /** An INIT is being negotiated or has been: a second one is refused (see {@link handle}). */
  private initTaken = false;
  private readonly inFlight = new Map<bigint, Context>();
  private readonly earlyInterrupts = new Set<bigint>();
  private readonly running = new Set<Promise<unknown>>();
  private transport: Transport | undefined;
  private readyResolve!: (c: Connection) => void;
  /** The errno compounds are declined with, or null where the revision does not let a server decline. */
  private readonly declineErrno: number | null;
  /** Resolves once INIT's reply has been written. */
  readonly ready: Promise<Connection>;

  constructor(
    readonly handlers: FuseHandlers,
    private readonly opts: SessionOptions = {},
  ) {
    this.protocol = opts.protocol ?? BASE_PROTOCOL;
    this.options = {
      maxWrite: opts.maxWrite ?? 1 << 20,
      maxReadahead: opts.maxReadahead ?? 1 << 20,
      readers: Math.max(1, opts.readers ?? 2),
      maxInFlight: Math.max(opts.readers ?? 2, opts.maxInFlight ?? 64),
      minor: Math.min(opts.minor ?? this.protocol.minor, this.protocol.minor),
      timeGran: opts.timeGran ?? 1,
    };
    this.declineErrno = compoundDeclineErrno(this.protocol, opts.declineErrno);
    this.ready = new Promise((resolve) => (this.readyResolve = resolve));
  }

  /** The negotiated connection, once INIT is done. */
  get connection(): Connection | undefined {
    return this.conn;
  }

  /** Size of the buffer each read needs. */
  get bufferSize(): number {
    return readBufferSize(this.options.maxWrite, this.protocol.minReadBuffer);
  }

  /**
   * Serves requests from `transport` until it ends (for /dev/fuse: unmount)
   * or {@link stop} is called; resolves after the last handler has settled.
   */
  async run(transport: Transport): Promise<void> {
    this.transport = transport;
    const sink = this.sinkFor(transport);
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
        const p = this.respond(message, sink).finally(() => {
          // The message's bytes (a view of the read buffer) are no longer used: the buffer may serve the next read.
          transport.release?.(message);
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

  /**
   * Sends every reply on `transport` as soon as it is made. A transport that
   * copies on write gets each reply from the same buffers (one for messages,
   * a header and a parts array for data replies): steady-state replies
   * allocate nothing. Encoding and writing happen in one synchronous step, so
   * no other reply can be encoded into the buffer between them.
   */
  private sinkFor(transport: Transport): ReplySink {
    if (!transport.copiesOnWrite) {
      return {
        reply: (header, body) => this.send(transport, header, this.encode(header, body, true)),
        encoded: (header, message) => this.send(transport, header, message),
      };
    }
    const buf = new Uint8Array(REPLY_BUFFER_SIZE);
    const dataHeader = new Uint8Array(16);
    const parts: Uint8Array[] = [dataHeader, NO_DATA];
    return {
      reply: (header, reply) => {
        const body = reply ?? {};
        const data = "error" in body ? null : this.rawData(header, body);
        if (data !== null) {
          this.protocol.dataReplyHeaderInto(dataHeader, header.unique, data.length);
          parts[1] = data;
          try {
            return this.send(transport, header, parts);
          } finally {
            parts[1] = NO_DATA; // Not kept alive by the buffer.
          }
        }
        let length = -1;
        try {
          length =
            "error" in body
              ? this.protocol.encodeReplyInto(
                  buf,
                  header.unique,
                  header.opcode,
                  { error: this.replyErrno(body) },
                  this.minor,
                )
              : this.protocol.encodeReplyInto(buf, header.unique, header.opcode, body, this.minor);
        } catch {
          // Too big for the buffer, or not encodable: encode() makes a buffer of its own, or EIO.
        }
        return length < 0
          ? this.send(transport, header, this.encode(header, body, true))
          : this.send(transport, header, buf, length);
      },
      encoded: (header, message) => this.send(transport, header, message),
    };
  }

  /**
   * Writes one reply (`length` bytes of a message, or parts sent as one). If
   * the kernel refuses it (e.g. EINVAL for a malformed one) the request would
   * hang, so it is answered again with a bare EIO.
   */
  private send(
    transport: Transport,
    header: FuseInHeader,
    reply: WireReply,
    length?: number,
  ): unknown {
    if (this.opts.onReply) {
      this.opts.onReply(
        reply instanceof Uint8Array ? reply.slice(0, length ?? reply.length) : joinParts(reply),
      );
    }
    const failed = (err: unknown) => {
      this.reportError(err, header);
      try {
        return transport.write(this.protocol.encodeError(header.unique, -Errno.EIO));
      } catch {
        return false; // the transport is gone
      }
    };
    try {
      const sent =
        reply instanceof Uint8Array
          ? transport.write(reply, length ?? reply.length)
          : transport.writev
            ? transport.writev(reply)
            : transport.write(joinParts(reply));
      return isPromise(sent) ? sent.catch(failed) : sent;
    } catch (err) {
      return failed(err);
    }
  }

  private get minor(): number {
    return this.conn?.minor ?? this.options.minor;
  }

  /**
   * Handles one raw request and returns the raw reply, or null when the
   * opcode takes none. {@link run} calls this; it is public so other
   * transports can drive the same dispatcher.
   */
  async handle(message: Uint8Array): Promise<Uint8Array | null> {
    let out: Uint8Array | null = null;
    await this.respond(message, {
      reply: (header, body) => (out = joinParts(this.encode(header, body, true))),
      encoded: (_header, message) => (out = message),
    });
    return out;
  }

  /**
   * Handles one request and gives its reply to `sink` (nothing for an opcode
   * that takes none); settles once the reply is sent.
   */
  private async respond(message: Uint8Array, sink: ReplySink): Promise<unknown> {
    if (this.opts.onRequest) this.opts.onRequest(message.slice());
    let header: FuseInHeader;
    try {
      header = this.protocol.decodeHeader(message);
    } catch (err) {
      this.reportError(err, undefined);
      return null; // Not even a header: nothing to answer.
    }
    const op = header.opcode;
    const ops = this.protocol.opcodes;
    const noReply = this.protocol.noReplyOpcodes.has(op);
    const answer = (reply: FuseReply): unknown => (noReply ? null : sink.reply(header, reply));

    if (op === ops.FUSE_INIT) {
      // INIT is negotiated once per connection: like libfuse, answer another one EIO and keep
      // what was agreed. (An INIT answered only with our major, for the kernel to retry with it,
      // or one that failed leaves the connection unnegotiated, so the next INIT is heard.)
      if (this.initTaken) return sink.reply(header, { error: -Errno.EIO });
      this.initTaken = true;
      const reply = await this.negotiate(message, header);
      if (!this.conn) {
        this.initTaken = false;
        return sink.reply(header, reply);
      }
      // `ready` waits for the reply to be written: by then the kernel has applied it (its
      // INIT end callback runs inside our write), so what a mount changes next (the read-ahead
      // window) is not overwritten by it.
      const sent = await sink.reply(header, reply);
      this.readyResolve(this.conn);
      return sent;
    }
    if (!this.conn) return answer({ error: -Errno.EIO }); // Nothing before INIT.
    if (op === ops.FUSE_INTERRUPT) {
      this.interrupt(message);
      return null;
    }
    if (op === ops.FUSE_BATCH_FORGET && !this.handlers.batch_forget && this.handlers.forget) {
      await this.forgetEach(message, header);
      return null;
    }
    if (this.protocol.isCompound(op))
      return sink.encoded(header, await this.compound(message, header));

    const method = this.methodFor(op);
    if (!method) return answer({ error: -Errno.ENOSYS });
    let req: FuseRequest;
    try {
      req = this.protocol.decodeRequest(message, {
        minor: this.conn.minor,
        setxattrExt: this.conn.setxattrExt,
      });
    } catch (err) {
      return answer(this.malformed(err, header));
    }
    if (req.op === "unknown") return answer({ error: -Errno.ENOSYS });
    const ctx = this.contextFor(header);
    try {
      const result = method.call(this.handlers, req, ctx);
      // A synchronous handler's reply is encoded at once, without another turn of promises.
      return answer(
        isPromise(result) ? await this.settle(result, header, ctx) : (result as FuseReply),
      );
    } catch (err) {
      return answer({ error: -this.errnoFor(err, header, ctx) });
    } finally {
      this.inFlight.delete(header.unique);
    }
  }

  /** The handler method of an opcode; undefined for none (ENOSYS) and for the session's own opcodes. */
  private methodFor(opcode: number): Handler | undefined {
    if (this.protocol.sessionOpcodes.has(opcode)) return undefined;
    const name = this.protocol.handlerNameOf(opcode);
    return name === undefined
      ? undefined
      : (this.handlers as Record<string, Handler | undefined>)[name];
  }

  /** A handler's promise: its result, or `{ error }` for what it rejected with. */
  private async settle(
    result: Promise<unknown>,
    header: FuseInHeader,
    ctx: RequestContext,
  ): Promise<FuseReply> {
    try {
      return (await result) as FuseReply;
    } catch (err) {
      return { error: -this.errnoFor(err, header, ctx) };
    }
  }

  /** Runs a handler: its result, or `{ error }` for what it threw. */
  private async call(
    method: Handler,
    req: unknown,
    ctx: RequestContext,
    header: FuseInHeader,
  ): Promise<FuseReply> {
    try {
      return (await method.call(this.handlers, req, ctx)) as FuseReply;
    } catch (err) {
      return { error: -this.errnoFor(err, header, ctx) };
    }
  }

  /**
   * A request the codecs refused: not something the kernel sends (names are
   * bytes and any bytes decode), so it is reported and answered EIO.
   */
  private malformed(err: unknown, header: FuseInHeader): { error: number } {
    this.reportError(err, header);
    return { error: -Errno.EIO };
  }

  // ---- FUSE_COMPOUND ---------------------------------------------------------

  /**
   * A compound: decoded by the revision's rules, declined if the filesystem
   * asks for it and the revision allows it, else every sub-request dispatched
   * in order as a separate request would be, one sub-reply each.
   */
  private async compound(message: Uint8Array, header: FuseInHeader): Promise<Uint8Array> {
    const conn = this.conn!;
    let compound: CompoundRequestView;
    try {
      compound = this.protocol.decodeCompound(message, {
        minor: conn.minor,
        setxattrExt: conn.setxattrExt,
      });
    } catch (err) {
      // Truncated sub-requests, lengths past the end, too many ops, trailing bytes: the compound as a whole fails.
      return this.encode(header, this.malformed(err, header));
    }
    if (this.declineErrno !== null && this.wantsDecline(header, compound)) {
      return this.encode(header, { error: -this.declineErrno });
    }
    const ctx = this.contextFor(header);
    try {
      // onOpError.serverPolicy: every known policy answers every op, failed or not (see compoundDeclineErrno).
      // The revision's dependency rules decide what a dependent runs with (runCompound).
      const results = await this.protocol.compound!.runCompound(compound, async (sub) => {
        // A payload this revision's kernel would not step over (READ data under rfc-v1..v4):
        // not run, answered EOPNOTSUPP ("not supported at the moment", says that kernel), so
        // every other sub-reply stays where the kernel reads it.
        if (this.protocol.pagePayloadDropped(sub.opcode))
          return { error: -Errno.EOPNOTSUPP, reply: null };
        const reply = (await this.subRequest(sub as FuseRequest, header, ctx)) ?? {};
        if ("error" in reply)
          return {
            error: validErrno(
              (reply as { error: unknown }).error,
              this.protocol.messages.REPLY_ERROR_MIN,
            ),
            reply: null,
          };
        return { error: 0, reply };
      });
      const minor = this.minor;
      const entries: CompoundSubReply[] = results.map((r, i) => {
        const sub = compound.requests[i]!;
        const body =
          r.skipped || r.error !== 0
            ? { error: r.skipped ? -Errno.EIO : r.error }
            : (r.reply as object);
        // Where the kernel steps past a sub-reply by the out args it expects (not by len), a
        // short success (a READ at end of file, a smaller xattr) is padded up to them.
        const outSize = this.protocol.expectedReplySize(sub, minor);
        return { opcode: sub.opcode, reply: body, unique: sub.header.unique, outSize };
      });
      try {
        return this.protocol.encodeCompoundReply(header.unique, entries, minor);
      } catch {
        // A handler returned a reply its opcode cannot carry: that op alone becomes EIO.
        const checked = entries.map((e, i) => ({
          ...e,
          reply: this.subReply(compound.requests[i]!.header, e.opcode, e.reply),
        }));
        return this.protocol.encodeCompoundReply(header.unique, checked, minor);
      }
    } catch (err) {
      this.reportError(err, header);
      return this.protocol.encodeError(header.unique, -Errno.EIO);
    } finally {
      this.inFlight.delete(header.unique);
    }
  }

  private wantsDecline(header: FuseInHeader, compound: CompoundRequestView): boolean {
    const policy = this.opts.compounds ?? "execute";
    if (typeof policy !== "function") return policy === "decline";
    try {
      return (
        policy({ header, flags: compound.flags, ops: compound.requests.map((r) => r.op) }) ===
        "decline"
      );
    } catch (err) {
      this.reportError(err, header);
      return true;
    }
  }

  /**
   * One sub-request, dispatched like a separate request. Its header gets the
   * compound's credentials where the revision leaves them zero in
   * sub-headers (`subHeader.uid` etc. "zero"), so a handler sees what a
   * separate request would carry. Ops that cannot be in a compound of this
   * revision (no reply, the session's own, nested compounds, page payloads)
   * are answered EINVAL without running.
   */
  private async subRequest(
    sub: FuseRequest,
    outer: FuseInHeader,
    ctx: RequestContext,
  ): Promise<FuseReply> {
    if (sub.op === "unknown") return { error: -Errno.ENOSYS };
    const op = sub.opcode;
    if (
      this.protocol.sessionOpcodes.has(op) ||
      this.protocol.isCompound(op) ||
      !this.protocol.allowedInCompound(op)
    ) {
      return { error: -Errno.EINVAL };
    }
    const method = this.methodFor(op);
    if (!method) return { error: -Errno.ENOSYS };
    const rules = this.protocol.compound!.COMPOUND_SEMANTICS.subHeader;
    const header = { ...sub.header };
    for (const field of ["uid", "gid", "pid"] as const) {
      if (rules[field] === "zero") header[field] = outer[field];
    }
    const req = { ...sub, header } as FuseRequest;
    const subCtx: RequestContext = {
      unique: ctx.unique,
      uid: header.uid,
      gid: header.gid,
      pid: header.pid,
      signal: ctx.signal,
    };
    return this.call(method, req, subCtx, header);
  }

  /** A sub-reply checked on its own: like {@link encode}, an unusable reply becomes EIO for that op alone. */
  private subReply(header: FuseInHeader, opcode: number, body: object): object {
    if ("error" in body) return body;
    try {
      this.protocol.encodeReply(header.unique, opcode, body, this.minor);
      return body;
    } catch (err) {
      this.reportError(err, header);
      return { error: -Errno.EIO };
    }
  }

  // ---- plumbing --------------------------------------------------------------

  private contextFor(header: FuseInHeader): RequestContext {
    const ctx = new Context(header.unique, header.uid, header.gid, header.pid);
    this.inFlight.set(header.unique, ctx);
    if (this.earlyInterrupts.size > 0 && this.earlyInterrupts.delete(header.unique)) ctx.abort();
    return ctx;
  }

  private errnoFor(err: unknown, header: FuseInHeader, ctx: RequestContext): number {
    if (err instanceof FuseError) return err.errno;
    const interrupted = ctx instanceof Context ? ctx.interrupted : ctx.signal.aborted;
    if (interrupted && (err as Error | null)?.name === "AbortError") return Errno.EINTR;
    this.reportError(err, header);
    return Errno.EIO;
  }

  /**
   * Encodes a reply; an unusable one (bad errno, unencodable value) becomes EIO so the request never hangs.
   * With `parts`, a data reply comes back as [header, data] (see {@link Protocol.dataReplyParts}).
   */
  private encode(header: FuseInHeader, reply: FuseReply, parts: true): WireReply;
  private encode(header: FuseInHeader, reply: FuseReply): Uint8Array;
  private encode(header: FuseInHeader, reply: FuseReply, parts = false): WireReply {
    try {
      const body = reply ?? {};
      if ("error" in body) return this.protocol.encodeError(header.unique, this.replyErrno(body));
      const data = parts ? this.rawData(header, body) : null;
      if (data !== null) return this.protocol.dataReplyParts(header.unique, data);
      return this.protocol.encodeReply(header.unique, header.opcode, body, this.minor);
    } catch (err) {
      this.reportError(err, header);
      return this.protocol.encodeError(header.unique, -Errno.EIO);
    }
  }

  /** The -errno of an error reply `{ error }`. @throws for one the kernel would refuse */
  private replyErrno(body: object): number {
    return validErrno((body as { error: unknown }).error, this.protocol.messages.REPLY_ERROR_MIN);
  }

  /** The data of a success that is sent as is after its out header (no copy), else null. */
  private rawData(header: FuseInHeader, body: object): Uint8Array | null {
    return isDataReply(body) && this.protocol.rawDataReplyOpcodes.has(header.opcode)
      ? body.data
      : null;
  }

  private reportError(err: unknown, header: FuseInHeader | undefined): void {
    if (this.opts.onError) {
      this.opts.onError(err, header ?? ({} as FuseInHeader));
      return;
    }
    const what = header
      ? `${this.protocol.opcodeName(header.opcode) ?? header.opcode} (unique ${header.unique})`
      : "message";
    console.error(`fuse: ${what} failed:`, err);
  }

  private interrupt(message: Uint8Array): void {
    let target: bigint;
    try {
      target = (
        this.protocol.decodeRequest(message, { minor: this.minor }) as RequestOf<"FUSE_INTERRUPT">
      ).interrupt_in.unique;
    } catch {
      return;
    }
    const ctx = this.inFlight.get(target);
    if (ctx) {
      ctx.abort();
      return;
    }
    // The interrupted request may still be on its way through another read.
    if (this.earlyInterrupts.size >= MAX_EARLY_INTERRUPTS) this.earlyInterrupts.clear();
    this.earlyInterrupts.add(target);
  }

  /** BATCH_FORGET for a filesystem that only has `forget`: one call per inode. */
  private async forgetEach(message: Uint8Array, header: FuseInHeader): Promise<void> {
    const forget = this.handlers.forget!;
    const opcode = this.protocol.opcodes.FUSE_FORGET!;
    try {
      const req = this.protocol.decodeRequest(message, {
        minor: this.minor,
      }) as RequestOf<"FUSE_BATCH_FORGET">;
      for (const one of req.entries) {
        const single = {
          op: "FUSE_FORGET",
          opcode,
          header: { ...header, opcode, nodeid: one.nodeid },
          forget_in: { nlookup: one.nlookup },
        } as RequestOf<"FUSE_FORGET">;
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
    const m = this.protocol.messages;
    let f = BigInt(
      m.FUSE_ASYNC_READ | m.FUSE_BIG_WRITES | m.FUSE_MAX_PAGES | m.FUSE_PARALLEL_DIROPS,
    );
    if (this.handlers.readdirplus) f |= BigInt(m.FUSE_DO_READDIRPLUS | m.FUSE_READDIRPLUS_AUTO);
    if (this.handlers.setxattr) f |= BigInt(m.FUSE_SETXATTR_EXT);
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
    const m = this.protocol.messages;
    const major = this.protocol.major;
    let req: RequestOf<"FUSE_INIT">;
    try {
      req = this.protocol.decodeRequest(message, {
        minor: this.options.minor,
      }) as RequestOf<"FUSE_INIT">;
    } catch (err) {
      this.reportError(err, header);
      return { error: -Errno.EIO };
    }
    const k = req.init_in;
    if (k.major < major) return { error: -Errno.EPROTO };
    const init_out: FuseInitOut = {
      major,
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
    if (k.major > major) return { init_out };

    const minor = Math.min(k.minor, this.options.minor);
    const initExt = BigInt(m.FUSE_INIT_EXT);
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
      max_pages: flags & BigInt(m.FUSE_MAX_PAGES) ? maxPages : 0,
    });
    const conn: Connection = {
      major,
      minor,
      kernelFlags,
      flags,
      maxWrite: this.options.maxWrite,
      maxReadahead,
      maxPages,
      setxattrExt: (flags & BigInt(m.FUSE_SETXATTR_EXT)) !== 0n,
      revision: this.protocol.revision,
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
    return { init_out };
  }
}

function isPromise(value: unknown): value is Promise<unknown> {
  return typeof (value as { then?: unknown } | null)?.then === "function";
}

/** `{ data }` and nothing else, data a byte array: the reply form that can go out as header + data. */
function isDataReply(body: object): body is { data: Uint8Array } {
  const data = (body as { data?: unknown }).data;
  if (!(data instanceof Uint8Array)) return false;
  for (const key in body) if (key !== "data") return false;
  return true;
}

/** One message from a reply's parts (for hooks and transports without writev). */
function joinParts(reply: WireReply): Uint8Array {
  if (reply instanceof Uint8Array) return reply;
  const out = new Uint8Array(reply.reduce((n, p) => n + p.length, 0));
  let at = 0;
  for (const p of reply) {
    out.set(p, at);
    at += p.length;
  }
  return out;
}

/** A negative errno the kernel accepts (-1..min, the protocol's REPLY_ERROR_MIN); anything else becomes -EIO, or the request would hang. */
function validErrno(error: unknown, min: number): number {
  const e = typeof error === "number" && Number.isInteger(error) ? Math.abs(error) : 0;
  return -(e >= 1 && e <= -min ? e : Errno.EIO);
}

/** Per-op error policies of `COMPOUND_SEMANTICS.onOpError.serverPolicy` this session implements: both answer every op. */
const SERVER_POLICIES = new Set(["reply-to-every-op", "unspecified"]);

/**
 * What declining a compound answers under the protocol's rules: the errno the
 * revision prescribes (`decline`: the one that declines this compound alone first), the filesystem's choice where it
 * will do, or null where a server may not decline. Also refuses, at
 * construction, a revision whose per-op error policy this session does not know.
 */
function compoundDeclineErrno(protocol: Protocol, wanted: number | undefined): number | null {
  const rules = protocol.compound?.COMPOUND_SEMANTICS;
  if (!rules) return null;
  if (!SERVER_POLICIES.has(rules.onOpError.serverPolicy)) {
    throw new Error(
      `revision ${protocol.revision}: compound per-op error policy ${JSON.stringify(rules.onOpError.serverPolicy)} is not implemented`,
    );
  }
  if (rules.decline.length === 0) return null;
  const named = (name: string | null) =>
    name !== null && name in Errno ? Errno[name as keyof typeof Errno] : undefined;
  for (const d of rules.decline) {
    if (d.errno !== "any" && named(d.errno) === undefined)
      throw new Error(
        `revision ${protocol.revision}: decline errno ${JSON.stringify(d.errno)} is not an errno of this platform`,
      );
  }
  // The filesystem's choice where the revision takes it (that errno, or any error).
  if (
    wanted !== undefined &&
    Number.isInteger(wanted) &&
    wanted >= 1 &&
    wanted <= -protocol.messages.REPLY_ERROR_MIN
  ) {
    if (rules.decline.some((d) => d.errno === "any" || named(d.errno) === wanted)) return wanted;
  }
  // Else the errno that declines this compound alone (effect "split") before one that turns compounds off.
  const pick =
    rules.decline.find((d) => d.errno !== "any" && d.effect === "split") ??
    rules.decline.find((d) => d.errno !== "any");
  if (pick) return named(pick.errno)!;
  return named(rules.fallback.callerFallbackErrno) ?? Errno.ENOSYS;
}

/** For logs: "FUSE_LOOKUP" or the number (of the default revision unless a protocol is given). */
export function opcodeLabel(opcode: number, protocol: Protocol = BASE_PROTOCOL): string {
  return protocol.opcodeName(opcode) ?? `opcode ${opcode}`;
}

export { errnoName };
