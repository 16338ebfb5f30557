/**
 * The typed handler object a filesystem implements: one optional method per
 * opcode, named after it without `FUSE_` and in lower case (`lookup`,
 * `readdirplus`, `copy_file_range`). A method gets the decoded request and a
 * context, and returns the reply parts (or nothing, for opcodes whose reply is
 * a bare header). To fail, throw `FuseError(errno)` (or return `{ error }`
 * with a negative errno);
 * any other exception is answered with EIO. A missing method is answered with
 * ENOSYS, which also tells the kernel not to ask again for most opcodes.
 */
import type { ErrorReply, OpName, ReplyOf, RequestOf } from "./protocol.js";

/** What a handler gets besides the request. */
export interface RequestContext {
  /** fuse_in_header.unique of this request. */
  readonly unique: bigint;
  /** Caller's credentials as the kernel saw them. */
  readonly uid: number;
  readonly gid: number;
  readonly pid: number;
  /** Aborted when the kernel sends FUSE_INTERRUPT for this request; a handler may stop and throw EINTR. */
  readonly signal: AbortSignal;
}

type Awaitable<T> = T | Promise<T>;

/** Handler method name of an opcode: "FUSE_COPY_FILE_RANGE" → "copy_file_range". */
export type HandlerName<K extends OpName> = K extends `FUSE_${infer R}` ? Lowercase<R> : never;

/**
 * Opcodes the session answers itself: INIT is negotiated by the session (the
 * `init` method only hears about it) and INTERRUPT aborts `signal`.
 */
type SessionOps = "FUSE_INIT" | "FUSE_INTERRUPT";

/** Reply of a handler: the opcode's parts (or nothing where the reply is a bare header), or an error. */
type HandlerResult<K extends OpName> = [ReplyOf<K>] extends [never]
  ? void
  : ReplyOf<K> extends Record<string, never>
    ? void | ReplyOf<K> | ErrorReply
    : ReplyOf<K> | ErrorReply;

export type FuseHandlers = {
  [K in Exclude<OpName, SessionOps> as HandlerName<K>]?: (
    req: RequestOf<K>,
    ctx: RequestContext,
  ) => Awaitable<HandlerResult<K>>;
} & {
  /** Called once INIT is negotiated, before the reply is sent; the request is the kernel's. */
  init?: (req: RequestOf<"FUSE_INIT">, ctx: RequestContext) => Awaitable<void>;
};
