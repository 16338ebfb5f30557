/**
 * The session's reply buffers: over a transport that copies on write (every
 * /dev/fuse transport, the in-memory pair) each reply is encoded into the same
 * buffer, and a data reply goes out as the same header buffer and parts array
 * plus the handler's data; over one that keeps what it is given (a stream),
 * each reply has a buffer of its own. Either way the bytes are those
 * `encodeReply` makes, and hooks get copies they may keep.
 */
import assert from "node:assert/strict";
import { describe, test } from "node:test";
import * as g from "../generated/base-7.45/index.js";
import {
  Errno,
  FuseError,
  Session,
  encodeReply,
  type FuseHandlers,
  type Transport,
} from "../server/index.js";

const HOST = { hostEndian: true } as const;

/**
 * A transport fed by the test: the requests given, one at a time (the next
 * once the last is answered, as the kernel sends nothing before INIT's reply),
 * every write recorded as given.
 */
class Recorder implements Transport {
  readonly writes: { buffer: ArrayBufferLike; bytes: Uint8Array }[] = [];
  readonly parts: (readonly Uint8Array[])[] = [];
  private readonly queue: Uint8Array[];
  private delivered = 0;

  constructor(
    requests: Uint8Array[],
    readonly copiesOnWrite: boolean,
  ) {
    this.queue = [...requests];
  }

  async read(): Promise<Uint8Array | null> {
    while (this.writes.length < this.delivered) await new Promise((r) => setImmediate(r));
    const next = this.queue.shift();
    if (next === undefined) return null;
    this.delivered++;
    return next;
  }

  write(message: Uint8Array, length = message.length): boolean {
    this.writes.push({ buffer: message.buffer, bytes: message.slice(0, length) });
    return true;
  }

  writev(parts: readonly Uint8Array[]): boolean {
    this.parts.push(parts);
    const all = new Uint8Array(parts.reduce((n, p) => n + p.length, 0));
    let at = 0;
    for (const p of parts) {
      all.set(p, at);
      at += p.length;
    }
    this.writes.push({ buffer: parts[0]!.buffer, bytes: all });
    return true;
  }

  close(): void {
    this.queue.length = 0;
  }
}

let unique = 0n;
function request(req: Record<string, unknown> & { op: string; opcode: number }): Uint8Array {
  unique += 2n;
  const header = { ...g.zeroFuseInHeader(), unique, nodeid: 1n };
  return g.encodeRequest({ ...req, header } as never, {
    ...HOST,
    minor: g.FUSE_KERNEL_MINOR_VERSION,
  });
}

const init = () =>
  request({
    op: "FUSE_INIT",
    opcode: g.FuseOpcode.FUSE_INIT,
    init_in: { ...g.zeroFuseInitIn(), major: 7, minor: g.FUSE_KERNEL_MINOR_VERSION },
  });
const getattr = () =>
  request({
    op: "FUSE_GETATTR",
    opcode: g.FuseOpcode.FUSE_GETATTR,
    getattr_in: g.zeroFuseGetattrIn(),
  });
const read = (size: number) =>
  request({
    op: "FUSE_READ",
    opcode: g.FuseOpcode.FUSE_READ,
    read_in: { ...g.zeroFuseReadIn(), size },
  });
const lookup = (name: string) =>
  request({ op: "FUSE_LOOKUP", opcode: g.FuseOpcode.FUSE_LOOKUP, name });

const attr = (ino: bigint) => ({
  attr_valid: 1n,
  attr_valid_nsec: 0,
  dummy: 0,
  attr: { ...g.zeroFuseAttr(), ino, mode: 0o100644, nlink: 1, size: ino * 10n },
});

const handlers: FuseHandlers = {
  getattr: (req) => ({ attr_out: attr(req.header.unique) }),
  read: (req) => ({ data: new Uint8Array(req.read_in.size).fill(7) }),
  lookup: () => {
    throw new FuseError(Errno.ENOENT);
  },
};

async function serve(requests: Uint8Array[], copiesOnWrite: boolean) {
  const kept: Uint8Array[] = [];
  const session = new Session(handlers, { onReply: (bytes) => kept.push(bytes) });
  const t = new Recorder(requests, copiesOnWrite);
  await session.run(t);
  return { t, kept, minor: session.connection!.minor };
}

/** What encodeReply makes of the reply the handlers give to request `i` (after INIT). */
function expected(requests: Uint8Array[], i: number, minor: number): Uint8Array {
  const h = g.decodeFuseInHeader(requests[i]!, 0, HOST);
  if (h.opcode === g.FuseOpcode.FUSE_GETATTR)
    return encodeReply(h.unique, h.opcode, { attr_out: attr(h.unique) }, minor);
  if (h.opcode === g.FuseOpcode.FUSE_LOOKUP)
    return encodeReply(h.unique, h.opcode, { error: -Errno.ENOENT }, minor);
  const size = g.decodeRequest(requests[i]!, { ...HOST, minor }) as g.RequestOf<"FUSE_READ">;
  return encodeReply(
    h.unique,
    h.opcode,
    { data: new Uint8Array(size.read_in.size).fill(7) },
    minor,
  );
}

describe("reply buffers", () => {
  const requests = [init(), getattr(), lookup("nope"), read(5000), getattr(), read(300), getattr()];

  test("a transport that copies on write gets every reply from the same buffers", async () => {
    const { t, kept, minor } = await serve(requests, true);
    assert.equal(t.writes.length, requests.length);
    for (let i = 1; i < requests.length; i++)
      assert.deepEqual(t.writes[i]!.bytes, expected(requests, i, minor), `reply ${i}`);
    // getattr and the error reply: one buffer; the data replies: one header buffer, one parts array.
    const plain = [1, 2, 4, 6].map((i) => t.writes[i]!.buffer);
    assert.ok(
      plain.every((b) => b === plain[0]),
      "one reply buffer",
    );
    assert.equal(t.parts.length, 2);
    assert.equal(t.parts[0], t.parts[1], "one parts array");
    assert.equal(t.parts[0]![0]!.buffer, t.parts[1]![0]!.buffer, "one header buffer");
    // The hook's copies stay as they were written.
    for (let i = 1; i < requests.length; i++)
      assert.deepEqual(kept[i], expected(requests, i, minor), `onReply ${i}`);
  });

  test("a transport that keeps what it is given gets a buffer per reply", async () => {
    const { t, minor } = await serve(requests, false);
    for (let i = 1; i < requests.length; i++)
      assert.deepEqual(t.writes[i]!.bytes, expected(requests, i, minor), `reply ${i}`);
    const plain = [1, 2, 4, 6].map((i) => t.writes[i]!.buffer);
    assert.equal(new Set(plain).size, plain.length, "no buffer reused");
  });

  test("a reply too big for the reused buffer gets one of its own", async () => {
    const out = new Uint8Array(10_000).fill(3);
    const ioctl_out = { result: 0, flags: 0, in_iovs: 0, out_iovs: 0 };
    const session = new Session({
      ioctl: () => ({ ioctl_out, out_data: out }),
      getattr: (req) => ({ attr_out: attr(req.header.unique) }),
    });
    const reqs = [
      init(),
      request({
        op: "FUSE_IOCTL",
        opcode: g.FuseOpcode.FUSE_IOCTL,
        ioctl_in: { ...g.zeroFuseIoctlIn(), out_size: out.length },
        in_data: new Uint8Array(0),
      }),
      getattr(),
    ];
    const t = new Recorder(reqs, true);
    await session.run(t);
    const minor = session.connection!.minor;
    const h = g.decodeFuseInHeader(reqs[1]!, 0, HOST);
    assert.deepEqual(
      t.writes[1]!.bytes,
      encodeReply(h.unique, h.opcode, { ioctl_out, out_data: out }, minor),
    );
    assert.deepEqual(t.writes[2]!.bytes, expected(reqs, 2, minor), "the next reply");
  });
});
