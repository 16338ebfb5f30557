/**
 * The server's one door to the wire format. Everything in server/ and the
 * filesystems on top of it go through this module, which adapts the generated
 * message codecs of generated/base-7.45/messages.ts: requests decoded per
 * opcode (`req.op`, `req.header`, structs under their C names without `fuse_`,
 * names as strings, data as zero-copy views), replies encoded from the same
 * shapes (`{ entry_out }`, `{ entry_out, open_out }`, `{ data }`, or
 * `{ error }` with a negative errno).
 *
 * The wire is the host's byte order; every call here says so (`hostEndian`),
 * so nothing else needs to.
 */
import {
  DirentListEncoder,
  DirentplusListEncoder,
  FuseMessageError,
  FuseOpcode,
  decodeFuseInHeader,
  decodeRequest as decodeMessage,
  encodeErrorReply,
  encodeReply as encodeMessage,
  type CodecOptions,
  type FuseInHeader,
  type FuseKnownRequest,
  type FuseReplyMap,
  type FuseReplyOpcode,
  type FuseRequest,
  type FuseRequestOp,
  type RequestOf,
  type UnknownRequest,
} from "../generated/base-7.45/index.js";

export type { FuseKnownRequest, FuseRequest, RequestOf, UnknownRequest };
export { FuseMessageError };

/** The protocol revision whose codecs this server speaks. */
export const PROTOCOL_MAJOR = 7;
export const PROTOCOL_MINOR = 45;

const HOST: CodecOptions = { hostEndian: true };

/** What decoding depends on besides the bytes: the negotiated minor and INIT flags. */
export interface DecodeOptions {
  /** Negotiated minor version (structs shrank in older minors). */
  minor: number;
  /** FUSE_SETXATTR_EXT was negotiated: fuse_setxattr_in has its 16-byte form. */
  setxattrExt?: boolean;
}

/** Opcode names this server decodes, e.g. "FUSE_LOOKUP". */
export type OpName = FuseRequestOp;

/** Reply parts of an opcode (`never` for opcodes without a reply). */
export type ReplyOf<K extends OpName> = (typeof FuseOpcode)[K] extends FuseReplyOpcode
  ? FuseReplyMap[(typeof FuseOpcode)[K]]
  : never;

/** An error reply: a negative errno, as fuse_out_header.error carries it. */
export interface ErrorReply {
  error: number;
}

/** Opcodes that the kernel sends without expecting an answer. */
export const NO_REPLY_OPCODES: ReadonlySet<number> = new Set([
  FuseOpcode.FUSE_FORGET,
  FuseOpcode.FUSE_BATCH_FORGET,
  FuseOpcode.FUSE_INTERRUPT,
  FuseOpcode.FUSE_NOTIFY_REPLY,
]);

/** Decodes only the header: enough to route, reply ENOSYS, or match an INTERRUPT. */
export function decodeHeader(bytes: Uint8Array): FuseInHeader {
  return decodeFuseInHeader(bytes, 0, HOST);
}

/**
 * Decodes one request (one read of /dev/fuse); an opcode this revision does
 * not know comes back as `{ op: "unknown" }`.
 * @throws {FuseMessageError} for a malformed request (see its `kind`)
 */
export function decodeRequest(bytes: Uint8Array, opts: DecodeOptions): FuseRequest {
  return decodeMessage(bytes, { ...HOST, minor: opts.minor, setxattrExt: opts.setxattrExt ?? false });
}

/**
 * One reply message to a request of `opcode`, in one buffer so it goes to the
 * kernel in one write. Structs are cut to the sizes of older minors.
 * @throws {FuseMessageError} for a reply it cannot write
 */
export function encodeReply(unique: bigint, opcode: number, reply: object, minor: number): Uint8Array {
  if ("error" in reply) return encodeErrorReply(unique, (reply as ErrorReply).error, HOST);
  return encodeMessage(unique, reply as never, { ...HOST, opcode: opcode as FuseReplyOpcode, minor });
}

/** An error reply to any request (a negative errno). */
export function encodeError(unique: bigint, error: number): Uint8Array {
  return encodeErrorReply(unique, error, HOST);
}

/** A READDIR reply filler for `size` bytes: `add` says false once the next entry does not fit. */
export function direntList(size: number): DirentListEncoder {
  return new DirentListEncoder(size, HOST);
}

/**
 * A READDIRPLUS reply filler. An entry_out with nodeid 0 tells the kernel to
 * take no reference (use it for "." and ".."): only records with a nodeid
 * count as a lookup, and only those `add` accepted.
 */
export function direntplusList(size: number): DirentplusListEncoder {
  return new DirentplusListEncoder(size, HOST);
}

/** Opcode name without the `FUSE_` prefix, lower-case: the handler method for it. */
export function handlerNameOf(opcode: number): string | undefined {
  for (const [name, code] of Object.entries(FuseOpcode)) {
    if (code === opcode && name.startsWith("FUSE_")) return name.slice(5).toLowerCase();
  }
  return undefined;
}
