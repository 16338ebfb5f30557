/**
 * The server's one door to the wire format. Everything in server/ and the
 * filesystems on top of it go through this module, which adapts the generated
 * code of one protocol revision: generated/<rev>/index.js (message codecs of
 * messages.ts, constants, enums) and, for revisions with FUSE_COMPOUND,
 * generated/<rev>/compound.js. Requests are decoded per opcode (`req.op`,
 * `req.header`, structs under their C names without `fuse_`, names as FuseName (bytes),
 * data as zero-copy views), replies encoded from the same shapes
 * (`{ entry_out }`, `{ entry_out, open_out }`, `{ data }`, or `{ error }` with
 * a negative errno).
 *
 * A {@link Protocol} wraps one revision's module set. Nothing here (or in the
 * session) asks which revision it is: opcode numbers, constants, which opcode
 * is FUSE_COMPOUND and every compound rule come from the generated code and
 * its data (`COMPOUND_SEMANTICS`, from schema/known-revisions.json). The
 * static import below is only the default revision (and the source of the
 * handler types: every revision shares base-7.45's non-compound opcodes, and
 * compounds never reach a handler as such).
 *
 * The wire is the host's byte order; every call here says so (`hostEndian`),
 * so nothing else needs to.
 */
import { readdirSync } from "node:fs";
import { endianness } from "node:os";
import * as base from "../generated/base-7.45/index.js";
import type {
  CodecOptions,
  DirentListEncoder,
  DirentplusListEncoder,
  FuseInHeader,
  FuseKnownRequest,
  FuseReplyMap,
  FuseReplyOpcode,
  FuseRequest,
  FuseRequestOp,
  RequestOf,
  UnknownRequest,
} from "../generated/base-7.45/index.js";

export type { FuseKnownRequest, FuseRequest, RequestOf, UnknownRequest };
export { FuseMessageError, FuseName, type FuseNameInput } from "../generated/base-7.45/index.js";

/** The revision a session speaks when none is given. */
export const DEFAULT_REVISION = "base-7.45";

/** The protocol version of the default revision (a session reports its own in `protocol.major/minor`). */
export const PROTOCOL_MAJOR = base.FUSE_KERNEL_VERSION;
export const PROTOCOL_MINOR = base.FUSE_KERNEL_MINOR_VERSION;

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
export type ReplyOf<K extends OpName> = (typeof base.FuseOpcode)[K] extends FuseReplyOpcode
  ? FuseReplyMap[(typeof base.FuseOpcode)[K]]
  : never;

/** An error reply: a negative errno, as fuse_out_header.error carries it. */
export interface ErrorReply {
  error: number;
}

// ---------------------------------------------------------------------------
// What the server uses of a revision's generated modules

type MessageOptions = CodecOptions & { minor: number; setxattrExt?: boolean };
/** A decoded request of any revision: the server only routes on these three. */
interface AnyRequest {
  op: string;
  opcode: number;
  header: FuseInHeader;
}

/**
 * The part of generated/<rev>/index.js the server uses (messages.ts, enums.ts,
 * constants.ts). Every revision's module has this shape; a loaded one is
 * checked against it.
 */
export interface GeneratedMessages {
  readonly FuseOpcode: { readonly [name: string]: number };
  readonly FUSE_KERNEL_VERSION: number;
  readonly FUSE_KERNEL_MINOR_VERSION: number;
  readonly FUSE_MIN_READ_BUFFER: number;
  /** The most negative error a reply may carry (protocol table). */
  readonly REPLY_ERROR_MIN: number;
  /** Opcodes that get no reply (protocol table). */
  readonly NO_REPLY_OPCODES: ReadonlySet<number>;
  readonly FUSE_ASYNC_READ: number;
  readonly FUSE_BIG_WRITES: number;
  readonly FUSE_DO_READDIRPLUS: number;
  readonly FUSE_INIT_EXT: number;
  readonly FUSE_MAX_PAGES: number;
  readonly FUSE_PARALLEL_DIROPS: number;
  readonly FUSE_READDIRPLUS_AUTO: number;
  readonly FUSE_SETXATTR_EXT: number;
  readonly FuseMessageError: abstract new (...args: never[]) => Error;
  fuseOpcodeName(code: number): string | undefined;
  decodeFuseInHeader(bytes: Uint8Array, offset: number, opts?: CodecOptions): FuseInHeader;
  decodeRequest(bytes: Uint8Array, opts: MessageOptions): AnyRequest;
  encodeReply(unique: bigint, reply: never, opts: never): Uint8Array;
  /** encodeReply into the caller's buffer at `offset`; returns the length (kind `length` when it does not fit). */
  encodeReplyInto?(
    buf: Uint8Array,
    offset: number,
    unique: bigint,
    reply: never,
    opts: never,
  ): number;
  encodeErrorReply(unique: bigint, error: number, opts?: CodecOptions): Uint8Array;
  readonly DirentListEncoder: new (size: number, opts?: CodecOptions) => DirentFiller;
  readonly DirentplusListEncoder: new (size: number, opts?: CodecOptions) => DirentplusFiller;
}

/** A READDIR reply filler (the public face of a revision's DirentListEncoder). */
export type DirentFiller = Pick<DirentListEncoder, "size" | "add" | "length" | "count" | "finish">;
/** A READDIRPLUS reply filler (the public face of a revision's DirentplusListEncoder). */
export type DirentplusFiller = Pick<
  DirentplusListEncoder,
  "size" | "add" | "length" | "count" | "finish"
>;

/** The rules of `COMPOUND_SEMANTICS` the server acts on (the whole entry is in the generated module). */
export interface CompoundRules {
  readonly opcode: string;
  readonly subHeader: { readonly [field: string]: string };
  readonly onOpError: { readonly serverPolicy: string };
  /** How a server may decline, per errno (`any`: every error), and what the kernel then does. */
  readonly decline: readonly { readonly errno: string; readonly effect: string }[];
  readonly fallback: { readonly callerFallbackErrno: string | null };
  readonly flags: {
    readonly defined: readonly { readonly name: string; readonly value: number }[];
  };
}

/** A compound as generated/<rev>/compound.js decodes it (its `DecodedCompound`, the fields the server reads). */
export interface CompoundRequestView {
  readonly header: FuseInHeader;
  /** The defined flags that are set. */
  readonly flags: readonly string[];
  readonly unknownFlags: number;
  readonly count: number | null;
  /** The sub-requests, each decoded by the revision's `decodeRequest`. */
  readonly requests: readonly AnyRequest[];
}

/** One sub-reply for the generated `encodeCompoundReply` (its `CompoundReplyEntry`). */
export interface CompoundSubReply {
  readonly opcode: number;
  readonly reply: object;
  readonly unique?: bigint | undefined;
  /** The out-arg bytes the kernel expects for the op (`expectedReplySize` of its sub-request). */
  readonly outSize?: number | undefined;
}

/** The part of generated/<rev>/compound.js the server uses. */
export interface GeneratedCompound {
  readonly COMPOUND_OPCODE: number;
  readonly COMPOUND_REVISION: string;
  readonly COMPOUND_SEMANTICS: CompoundRules;
  /** Opcodes that may appear in a compound of the revision. */
  readonly COMPOUND_OPS: ReadonlyMap<number, unknown>;
  decodeCompoundRequest(bytes: Uint8Array, opts: Partial<MessageOptions>): CompoundRequestView;
  encodeCompoundReply(
    unique: bigint,
    entries: readonly CompoundSubReply[],
    opts: Partial<MessageOptions>,
  ): Uint8Array;
  /** The out-arg bytes the kernel expects for a decoded sub-request; undefined where the request does not say. */
  expectedReplySize(request: AnyRequest, opts: Partial<MessageOptions>): number | undefined;
  /** Whether the op's reply payload cannot travel in a compound of the revision (pages its kernel does not copy). */
  pagePayloadDropped(opcode: number): boolean;
  /** Runs the ops in order by the revision's dependency rules (a dependent gets its producer's nodeid, or fails by rule). */
  runCompound(
    compound: CompoundRequestView,
    run: (
      request: AnyRequest,
      index: number,
    ) => Promise<{ readonly error: number; readonly reply: unknown }>,
  ): Promise<
    readonly (
      | {
          readonly skipped: false;
          readonly request: AnyRequest;
          readonly error: number;
          readonly reply: unknown;
        }
      | { readonly skipped: true }
    )[]
  >;
}

const MESSAGE_FUNCTIONS = [
  "fuseOpcodeName",
  "decodeFuseInHeader",
  "decodeRequest",
  "encodeReply",
  "encodeErrorReply",
  "DirentListEncoder",
  "DirentplusListEncoder",
  "FuseMessageError",
] as const;
const MESSAGE_NUMBERS = [
  "FUSE_KERNEL_VERSION",
  "FUSE_KERNEL_MINOR_VERSION",
  "FUSE_MIN_READ_BUFFER",
  "REPLY_ERROR_MIN",
  "FUSE_ASYNC_READ",
  "FUSE_BIG_WRITES",
  "FUSE_DO_READDIRPLUS",
  "FUSE_INIT_EXT",
  "FUSE_MAX_PAGES",
  "FUSE_PARALLEL_DIROPS",
  "FUSE_READDIRPLUS_AUTO",
  "FUSE_SETXATTR_EXT",
] as const;
const COMPOUND_FUNCTIONS = [
  "decodeCompoundRequest",
  "encodeCompoundReply",
  "expectedReplySize",
  "pagePayloadDropped",
  "runCompound",
] as const;

function checkShape(
  what: string,
  mod: Record<string, unknown>,
  functions: readonly string[],
  numbers: readonly string[],
): void {
  const missing = [
    ...functions.filter((k) => typeof mod[k] !== "function"),
    ...numbers.filter((k) => typeof mod[k] !== "number"),
  ];
  if (missing.length)
    throw new Error(`${what} lacks ${missing.join(", ")}: is it generated code of this project?`);
}

/** A compound a filesystem may decide to decline (see `SessionOptions.compounds`). */
export interface CompoundRequestInfo {
  readonly header: FuseInHeader;
  /** Names of the compound flags that are set (the revision's `COMPOUND_FLAGS`). */
  readonly flags: readonly string[];
  /** The sub-requests' opcode names, in order ("unknown" for opcodes the revision does not know). */
  readonly ops: readonly string[];
}

/**
 * One revision's wire format: the generated message codecs and, where the
 * revision has FUSE_COMPOUND, its compound codecs and rules.
 */
export class Protocol {
  readonly major: number;
  /** The revision's FUSE_KERNEL_MINOR_VERSION: the highest minor a session offers. */
  readonly minor: number;
  readonly minReadBuffer: number;
  /** Opcodes that the kernel sends without expecting an answer. */
  readonly noReplyOpcodes: ReadonlySet<number>;
  /** Opcodes the session answers itself and that are never dispatched (INIT, INTERRUPT). */
  readonly sessionOpcodes: ReadonlySet<number>;
  readonly opcodes: { readonly [name: string]: number };
  private readonly handlerNames = new Map<number, string>();
  /**
   * Opcodes whose reply, when it is `{ data }`, is the out header followed by
   * the data bytes as they are (READ, READLINK, READDIR, READDIRPLUS, and the
   * data form of GETXATTR/LISTXATTR): the session sends the header and the
   * data in one writev, never copying the data into a new message.
   */
  readonly rawDataReplyOpcodes: ReadonlySet<number>;
  /** Reply codec options per opcode, for {@link optionsMinor} (see {@link replyOptions}). */
  private readonly optionsByOpcode = new Map<number, object>();
  private optionsMinor = -1;
  /** Codec options of the last {@link decodeRequest}, kept while its minor and flags stay. */
  private decodeOptions: Readonly<MessageOptions> = { ...HOST, minor: -1 };

  /**
   * @param revision the revision's name (a folder of generated/), for messages and `--revision`
   * @param messages its generated/<rev>/index.js
   * @param compound its generated/<rev>/compound.js, or null where the revision has no FUSE_COMPOUND
   */
  constructor(
    readonly revision: string,
    readonly messages: GeneratedMessages,
    readonly compound: GeneratedCompound | null = null,
  ) {
    checkShape(
      `generated/${revision}/index.js`,
      messages as unknown as Record<string, unknown>,
      MESSAGE_FUNCTIONS,
      MESSAGE_NUMBERS,
    );
    if (compound) {
      checkShape(
        `generated/${revision}/compound.js`,
        compound as unknown as Record<string, unknown>,
        COMPOUND_FUNCTIONS,
        ["COMPOUND_OPCODE"],
      );
      if (compound.COMPOUND_REVISION !== revision) {
        throw new Error(
          `generated/${revision}/compound.js belongs to revision ${compound.COMPOUND_REVISION}`,
        );
      }
      if (messages.FuseOpcode[compound.COMPOUND_SEMANTICS.opcode] !== compound.COMPOUND_OPCODE) {
        throw new Error(
          `generated/${revision}: compound opcode ${compound.COMPOUND_OPCODE} is not ${compound.COMPOUND_SEMANTICS.opcode} of its messages`,
        );
      }
    }
    this.major = messages.FUSE_KERNEL_VERSION;
    this.minor = messages.FUSE_KERNEL_MINOR_VERSION;
    this.minReadBuffer = messages.FUSE_MIN_READ_BUFFER;
    this.opcodes = messages.FuseOpcode;
    const codes = (names: string[]) =>
      new Set(names.map((n) => messages.FuseOpcode[n]).filter((c): c is number => c !== undefined));
    if (!(messages.NO_REPLY_OPCODES instanceof Set))
      throw new Error(
        `generated/${revision}/index.js lacks NO_REPLY_OPCODES: is it generated code of this project?`,
      );
    this.noReplyOpcodes = messages.NO_REPLY_OPCODES;
    this.sessionOpcodes = codes(["FUSE_INIT", "FUSE_INTERRUPT"]);
    this.rawDataReplyOpcodes = codes([
      "FUSE_READ",
      "FUSE_READLINK",
      "FUSE_READDIR",
      "FUSE_READDIRPLUS",
      "FUSE_GETXATTR",
      "FUSE_LISTXATTR",
    ]);
    for (const [name, code] of Object.entries(messages.FuseOpcode)) {
      if (name.startsWith("FUSE_") && !this.handlerNames.has(code))
        this.handlerNames.set(code, name.slice(5).toLowerCase());
    }
  }

  /** The compound opcode of this revision, or null when it has none (or its compound.ts is not generated). */
  get compoundOpcode(): number | null {
    return this.compound?.COMPOUND_OPCODE ?? null;
  }

  /** Decodes only the header: enough to route, reply ENOSYS, or match an INTERRUPT. */
  decodeHeader(bytes: Uint8Array): FuseInHeader {
    return this.messages.decodeFuseInHeader(bytes, 0, HOST);
  }

  /**
   * Decodes one request (one read of /dev/fuse); an opcode this revision does
   * not know comes back as `{ op: "unknown" }`. Typed with the default
   * revision's request shapes, which every revision shares except for
   * FUSE_COMPOUND (see {@link decodeCompound}).
   * @throws {FuseMessageError} for a malformed request (see its `kind`)
   */
  decodeRequest(bytes: Uint8Array, opts: DecodeOptions): FuseRequest {
    const setxattrExt = opts.setxattrExt ?? false;
    let o = this.decodeOptions;
    // Made again only when the connection's minor or flags differ (in practice: once).
    if (o.minor !== opts.minor || o.setxattrExt !== setxattrExt) {
      o = this.decodeOptions = Object.freeze({ ...HOST, minor: opts.minor, setxattrExt });
    }
    return this.messages.decodeRequest(bytes, o) as FuseRequest;
  }

  /**
   * One reply message to a request of `opcode`, in one buffer so it goes to
   * the kernel in one write. Structs are cut to the sizes of older minors.
   * @throws {FuseMessageError} for a reply it cannot write
   */
  encodeReply(unique: bigint, opcode: number, reply: object, minor: number): Uint8Array {
    if ("error" in reply) return this.encodeError(unique, (reply as ErrorReply).error);
    return this.messages.encodeReply(unique, reply as never, { ...HOST, opcode, minor } as never);
  }

  /** An error reply to any request (a negative errno). */
  encodeError(unique: bigint, error: number): Uint8Array {
    return this.messages.encodeErrorReply(unique, error, HOST);
  }

  /** Codec options of a reply to `opcode` at `minor`, made once (a reply encoded into a reused buffer allocates nothing). */
  private replyOptions(opcode: number, minor: number): object {
    if (minor !== this.optionsMinor) {
      this.optionsMinor = minor;
      this.optionsByOpcode.clear();
    }
    let opts = this.optionsByOpcode.get(opcode);
    if (opts === undefined) {
      opts = Object.freeze({ ...HOST, opcode, minor });
      this.optionsByOpcode.set(opcode, opts);
    }
    return opts;
  }

  /**
   * {@link encodeReply} into `buf` from offset 0 (a buffer reused for every
   * reply); returns the length, or -1 when the revision's code cannot encode
   * into a buffer. An error reply (`{ error }`, an errno {@link encodeError}
   * would take) is the header alone.
   * @throws {FuseMessageError} for a reply it cannot write, kind `length` when it does not fit in `buf`
   */
  encodeReplyInto(
    buf: Uint8Array,
    unique: bigint,
    opcode: number,
    reply: object,
    minor: number,
  ): number {
    if ("error" in reply)
      return outHeaderInto(buf, OUT_HEADER_SIZE, (reply as ErrorReply).error, unique);
    const into = this.messages.encodeReplyInto;
    if (into === undefined) return -1;
    return into(buf, 0, unique, reply as never, this.replyOptions(opcode, minor) as never);
  }

  /** Writes the out header of a {@link dataReplyParts} reply with `dataLength` bytes of data into `header` (16 bytes). */
  dataReplyHeaderInto(header: Uint8Array, unique: bigint, dataLength: number): void {
    outHeaderInto(header, OUT_HEADER_SIZE + dataLength, 0, unique);
  }

  /**
   * The parts of a successful reply that is the out header and `data` as is
   * (an opcode of {@link rawDataReplyOpcodes}): written together they are
   * exactly what {@link encodeReply} makes of `{ data }`, without copying data.
   */
  dataReplyParts(unique: bigint, data: Uint8Array): [Uint8Array, Uint8Array] {
    return [outHeader(OUT_HEADER_SIZE + data.length, unique), data];
  }

  /** A READDIR reply filler for `size` bytes: `add` says false once the next entry does not fit. */
  direntList(size: number): DirentFiller {
    return new this.messages.DirentListEncoder(size, HOST);
  }

  /** A READDIRPLUS reply filler (see the module function {@link direntplusList}). */
  direntplusList(size: number): DirentplusFiller {
    return new this.messages.DirentplusListEncoder(size, HOST);
  }

  /** Opcode name without the `FUSE_` prefix, lower-case: the handler method for it. */
  handlerNameOf(opcode: number): string | undefined {
    return this.handlerNames.get(opcode);
  }

  /** For logs: "FUSE_LOOKUP", or undefined for an opcode this revision does not know. */
  opcodeName(opcode: number): string | undefined {
    return this.messages.fuseOpcodeName(opcode);
  }

  /** Whether `err` is this revision's FuseMessageError (a malformed message). */
  isMessageError(err: unknown): err is Error & { kind: string } {
    return err instanceof this.messages.FuseMessageError;
  }

  /** Whether `opcode` is this revision's FUSE_COMPOUND and its compound codecs are at hand. */
  isCompound(opcode: number): boolean {
    return this.compound !== null && opcode === this.compound.COMPOUND_OPCODE;
  }

  /** Whether an op of `opcode` may appear in a compound of this revision (the generated op table). */
  allowedInCompound(opcode: number): boolean {
    return this.compound?.COMPOUND_OPS.has(opcode) ?? false;
  }

  /**
   * Decodes a compound request and its sub-requests by the revision's rules.
   * @throws {Error} a CompoundError or FuseMessageError of the revision for a malformed compound
   */
  decodeCompound(bytes: Uint8Array, opts: DecodeOptions): CompoundRequestView {
    if (!this.compound) throw new Error(`revision ${this.revision} has no compound codecs`);
    return this.compound.decodeCompoundRequest(bytes, {
      ...HOST,
      minor: opts.minor,
      setxattrExt: opts.setxattrExt ?? false,
    });
  }

  /**
   * A compound reply: one sub-reply per entry, in order.
   * @throws {FuseMessageError} for a sub-reply it cannot write
   */
  encodeCompoundReply(
    unique: bigint,
    entries: readonly CompoundSubReply[],
    minor: number,
  ): Uint8Array {
    if (!this.compound) throw new Error(`revision ${this.revision} has no compound codecs`);
    // An error sub-reply is a bare header whatever the opcode, but the generated encoder looks
    // the opcode up and refuses unknown and no-reply ones: give those errors a stand-in opcode.
    const standIn = this.compound.COMPOUND_OPS.keys().next().value;
    const fixed = entries.map((e) =>
      "error" in e.reply && !this.allowedInCompound(e.opcode) && standIn !== undefined
        ? { ...e, opcode: standIn }
        : e,
    );
    return this.compound.encodeCompoundReply(unique, fixed, { ...HOST, minor });
  }

  /**
   * Whether the revision's kernel leaves the reply payload of this op in a compound where it
   * lies (`outPages` "not-copied" and the op's payload goes to pages: READ, READDIR,
   * READDIRPLUS, READLINK under rfc-v1..v4). Its walk then reads the next sub-reply right after
   * the header, so the payload cannot travel: the session answers such an op with an error.
   */
  pagePayloadDropped(opcode: number): boolean {
    return this.compound?.pagePayloadDropped(opcode) ?? false;
  }

  /**
   * The out-arg bytes the kernel expects for a sub-request of a compound (the generated
   * `expectedReplySize`): what `CompoundSubReply.outSize` takes. Undefined where the request
   * does not carry it, or the revision has no compound.
   */
  expectedReplySize(request: AnyRequest, minor: number): number | undefined {
    // Sizes do not depend on the byte order; `{ minor }` alone (a spread of HOST per op cost
    // ~0.5 us here, the lookup itself ~30 ns).
    return this.compound?.expectedReplySize(request, { minor });
  }
}

/** fuse_out_header: len u32, error i32, unique u64 (the same in every revision). */
const OUT_HEADER_SIZE = 16;
const LITTLE = endianness() === "LE";

/** A success out header (error 0) in host byte order. */
function outHeader(len: number, unique: bigint): Uint8Array {
  const b = new Uint8Array(OUT_HEADER_SIZE);
  writeOutHeader(new DataView(b.buffer), len, 0, unique);
  return b;
}

/** fuse_out_header at the start of `v`, host byte order. */
function writeOutHeader(v: DataView, len: number, error: number, unique: bigint): void {
  v.setUint32(0, len, LITTLE);
  v.setInt32(4, error, LITTLE);
  v.setBigUint64(8, unique, LITTLE);
}

/** DataViews of reused header buffers, so writing a header allocates nothing. */
const HEADER_VIEWS = new WeakMap<Uint8Array, DataView>();

/** Writes fuse_out_header (host byte order) at the start of `buf`; returns its size. */
function outHeaderInto(buf: Uint8Array, len: number, error: number, unique: bigint): number {
  let v = HEADER_VIEWS.get(buf);
  if (v === undefined) {
    v = new DataView(buf.buffer, buf.byteOffset, OUT_HEADER_SIZE);
    HEADER_VIEWS.set(buf, v);
  }
  writeOutHeader(v, len, error, unique);
  return OUT_HEADER_SIZE;
}

/** The default revision, loaded statically (no compound). */
export const BASE_PROTOCOL = new Protocol(DEFAULT_REVISION, base, null);

const GENERATED = new URL("../generated/", import.meta.url);

/** Revisions with generated code next to this module (folders of generated/ with an index.js). */
export function availableRevisions(): string[] {
  try {
    return readdirSync(GENERATED, { withFileTypes: true })
      .filter(
        (d) =>
          d.isDirectory() && readdirSync(new URL(`${d.name}/`, GENERATED)).includes("index.js"),
      )
      .map((d) => d.name)
      .sort();
  } catch {
    return [];
  }
}

/**
 * The protocol of a revision: imports generated/<revision>/index.js and, when
 * it exists, generated/<revision>/compound.js.
 * @throws {Error} for a revision without generated code
 */
export async function loadProtocol(revision: string = DEFAULT_REVISION): Promise<Protocol> {
  const known = availableRevisions();
  if (!/^[A-Za-z0-9][A-Za-z0-9._+-]*$/.test(revision) || !known.includes(revision)) {
    throw new Error(
      `unknown revision ${JSON.stringify(revision)} (generated: ${known.join(", ") || "none"})`,
    );
  }
  const dir = new URL(`${revision}/`, GENERATED);
  const messages = (await import(new URL("index.js", dir).href)) as GeneratedMessages;
  const hasCompound = readdirSync(dir).includes("compound.js");
  const compound = hasCompound
    ? ((await import(new URL("compound.js", dir).href)) as GeneratedCompound)
    : null;
  return new Protocol(revision, messages, compound);
}

// ---------------------------------------------------------------------------
// The default revision's functions (what filesystems use; dirent records are the same in every revision)

/** Opcodes that the kernel sends without expecting an answer (default revision). */
export const NO_REPLY_OPCODES: ReadonlySet<number> = BASE_PROTOCOL.noReplyOpcodes;

/** Decodes only the header (the header is the same in every revision). */
export function decodeHeader(bytes: Uint8Array): FuseInHeader {
  return BASE_PROTOCOL.decodeHeader(bytes);
}

/** {@link Protocol.decodeRequest} of the default revision. */
export function decodeRequest(bytes: Uint8Array, opts: DecodeOptions): FuseRequest {
  return BASE_PROTOCOL.decodeRequest(bytes, opts);
}

/** {@link Protocol.encodeReply} of the default revision. */
export function encodeReply(
  unique: bigint,
  opcode: number,
  reply: object,
  minor: number,
): Uint8Array {
  return BASE_PROTOCOL.encodeReply(unique, opcode, reply, minor);
}

/** An error reply to any request (a negative errno). */
export function encodeError(unique: bigint, error: number): Uint8Array {
  return BASE_PROTOCOL.encodeError(unique, error);
}

/** A READDIR reply filler for `size` bytes: `add` says false once the next entry does not fit. */
export function direntList(size: number): DirentListEncoder {
  return new base.DirentListEncoder(size, HOST);
}

/**
 * A READDIRPLUS reply filler. An entry_out with nodeid 0 tells the kernel to
 * take no reference (use it for "." and ".."): only records with a nodeid
 * count as a lookup, and only those `add` accepted.
 */
export function direntplusList(size: number): DirentplusListEncoder {
  return new base.DirentplusListEncoder(size, HOST);
}

/** Opcode name without the `FUSE_` prefix, lower-case (default revision). */
export function handlerNameOf(opcode: number): string | undefined {
  return BASE_PROTOCOL.handlerNameOf(opcode);
}
