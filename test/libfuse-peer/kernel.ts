/**
 * The kernel's side of a FUSE connection to a peer_fs, written with our generated base-7.45
 * codecs: INIT as a 7.45 kernel offers it, then requests with kernel-style uniques (steps of
 * 2; odd uniques are interrupt ids), one set of credentials, and the negotiated minor.
 */
import {
  encodeRequest,
  decodeReply,
  flagNames,
  FUSE_FLAGS,
  zeroFuseInHeader,
  zeroFuseInitIn,
  type FuseInHeader,
  type FuseInitOut,
  type FuseMessageOptions,
  type FuseRequestInput,
  type FuseReplyOpcode,
  type FuseDecodedReply,
} from "../../generated/base-7.45/index.js";
import type { Exchange, PeerSession } from "./session.js";

/**
 * INIT flags offered: what a 7.45 kernel offers a plain FUSE mount, less the ones that would
 * change what later requests carry without the test asking for it (splice, writeback cache,
 * security context and supplementary group extensions, passthrough, io_uring, DAX).
 */
export const OFFERED_INIT_FLAGS: readonly (keyof typeof FUSE_FLAGS)[] = [
  "FUSE_ASYNC_READ",
  "FUSE_POSIX_LOCKS",
  "FUSE_ATOMIC_O_TRUNC",
  "FUSE_EXPORT_SUPPORT",
  "FUSE_BIG_WRITES",
  "FUSE_DONT_MASK",
  "FUSE_FLOCK_LOCKS",
  "FUSE_HAS_IOCTL_DIR",
  "FUSE_AUTO_INVAL_DATA",
  "FUSE_DO_READDIRPLUS",
  "FUSE_READDIRPLUS_AUTO",
  "FUSE_ASYNC_DIO",
  "FUSE_PARALLEL_DIROPS",
  "FUSE_HANDLE_KILLPRIV",
  "FUSE_POSIX_ACL",
  "FUSE_ABORT_ERROR",
  "FUSE_MAX_PAGES",
  "FUSE_CACHE_SYMLINKS",
  "FUSE_NO_OPENDIR_SUPPORT",
  "FUSE_EXPLICIT_INVAL_DATA",
  "FUSE_HANDLE_KILLPRIV_V2",
  "FUSE_SETXATTR_EXT",
  "FUSE_INIT_EXT",
  "FUSE_HAS_EXPIRE_ONLY",
  "FUSE_DIRECT_IO_ALLOW_MMAP",
  "FUSE_NO_EXPORT_SUPPORT",
  "FUSE_HAS_RESEND",
  "FUSE_ALLOW_IDMAP",
  "FUSE_REQUEST_TIMEOUT",
];

/** The kernel's own protocol version. */
export const KERNEL_MINOR = 45;

/** Credentials of every request the test sends. */
export const CREDS = { uid: 1000, gid: 1000, pid: 4242 } as const;

/** A request without its header: the header is filled by {@link KernelSide}. */
export type Unheadered = FuseRequestInput extends infer R
  ? R extends { header: FuseInHeader }
    ? Omit<R, "header">
    : never
  : never;

export interface Negotiated {
  readonly initOut: FuseInitOut;
  /** min(kernel, server) minor, as the kernel uses it after INIT. */
  readonly minor: number;
  /** The flags the server took (flags | flags2 << 32). */
  readonly flags: readonly string[];
  readonly setxattrExt: boolean;
}

export class KernelSide {
  readonly peer: PeerSession;
  #unique = 0n;
  #negotiated: Negotiated | null = null;

  constructor(peer: PeerSession) {
    this.peer = peer;
  }

  /** The next request id (the kernel steps by 2: bit 0 marks interrupts). */
  nextUnique(): bigint {
    this.#unique += 2n;
    return this.#unique;
  }

  header(nodeid: bigint, unique: bigint = this.nextUnique()): FuseInHeader {
    return { ...zeroFuseInHeader(), nodeid, unique, ...CREDS };
  }

  get negotiated(): Negotiated {
    if (!this.#negotiated) throw new Error("INIT has not been answered yet");
    return this.#negotiated;
  }

  /** Message options after INIT. */
  get opts(): FuseMessageOptions {
    const n = this.negotiated;
    return { minor: n.minor, setxattrExt: n.setxattrExt };
  }

  /** INIT as a 7.45 kernel sends it; returns the exchange and the decoded reply. */
  async init(): Promise<{
    request: Uint8Array;
    exchange: Exchange;
    decoded: FuseDecodedReply<26>;
  }> {
    let bits = 0n;
    for (const f of OFFERED_INIT_FLAGS) bits |= FUSE_FLAGS[f];
    const unique = this.nextUnique();
    const request = encodeRequest(
      {
        op: "FUSE_INIT",
        opcode: 26,
        header: this.header(0n, unique),
        init_in: {
          ...zeroFuseInitIn(),
          major: 7,
          minor: KERNEL_MINOR,
          max_readahead: 131072,
          flags: Number(bits & 0xffffffffn),
          flags2: Number(bits >> 32n),
        },
      },
      { minor: KERNEL_MINOR },
    );
    const exchange = await this.peer.exchange(request, unique);
    const decoded = decodeReply(26, exchange.reply, { minor: KERNEL_MINOR });
    if ("error" in decoded.reply) throw new Error(`INIT failed with ${decoded.reply.error}`);
    const out = decoded.reply.init_out;
    const all = BigInt(out.flags) | (BigInt(out.flags2) << 32n);
    const flags = flagNames(all, FUSE_FLAGS);
    this.#negotiated = {
      initOut: out,
      minor: Math.min(out.minor, KERNEL_MINOR),
      flags,
      setxattrExt: flags.includes("FUSE_SETXATTR_EXT"),
    };
    return { request, exchange, decoded };
  }

  /** Encodes `req` for `nodeid` with a fresh unique (or `unique`); returns bytes and unique. */
  encode(req: Unheadered, nodeid: bigint, unique?: bigint): { bytes: Uint8Array; unique: bigint } {
    const header = this.header(nodeid, unique);
    const bytes = encodeRequest({ ...req, header } as FuseRequestInput, this.opts);
    return { bytes, unique: header.unique };
  }

  /** Sends `req` and waits for its reply. */
  async call(
    req: Unheadered,
    nodeid: bigint,
    unique?: bigint,
  ): Promise<Exchange & { request: Uint8Array; unique: bigint }> {
    const { bytes, unique: u } = this.encode(req, nodeid, unique);
    const exchange = await this.peer.exchange(bytes, u);
    return { ...exchange, request: bytes, unique: u };
  }

  /** Sends a request that gets no reply. */
  post(req: Unheadered, nodeid: bigint, unique?: bigint): { request: Uint8Array; unique: bigint } {
    const { bytes, unique: u } = this.encode(req, nodeid, unique);
    this.peer.send(bytes);
    return { request: bytes, unique: u };
  }
}

/** The decoded reply for `opcode` (typed loosely: the callers check fields they know). */
export function decodeAs(
  opcode: number,
  bytes: Uint8Array,
  opts: FuseMessageOptions & { xattr?: "size" | "data" },
): FuseDecodedReply {
  return decodeReply(opcode as FuseReplyOpcode, bytes, opts) as FuseDecodedReply;
}
