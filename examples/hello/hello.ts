/**
 * The smallest useful filesystem: one read-only file, /hello. It is the
 * README's "a filesystem in 40 lines" example, kept here so it compiles and a
 * test mounts it (test/e2e-hello.test.ts).
 */
import { type FuseAttr, zeroFuseAttr } from "../../generated/base-7.45/index.js";
import { direntList, Errno, FuseError, type FuseHandlers } from "../../server/index.js";

const text = new TextEncoder().encode("hello, world\n");
const attr = (ino: bigint): FuseAttr => ({
  ...zeroFuseAttr(),
  ino,
  mode: ino === 1n ? 0o40555 : 0o100444,
  nlink: ino === 1n ? 2 : 1,
  size: ino === 1n ? 0n : BigInt(text.length),
  blksize: 4096,
});
const entry = (ino: bigint) => ({
  nodeid: ino,
  generation: 0n,
  entry_valid: 1n,
  attr_valid: 1n,
  entry_valid_nsec: 0,
  attr_valid_nsec: 0,
  attr: attr(ino),
});

export const hello: FuseHandlers = {
  lookup(req) {
    if (req.header.nodeid !== 1n || req.name.text !== "hello") throw new FuseError(Errno.ENOENT);
    return { entry_out: entry(2n) };
  },
  getattr: (req) => ({
    attr_out: { attr_valid: 1n, attr_valid_nsec: 0, dummy: 0, attr: attr(req.header.nodeid) },
  }),
  open: () => ({ open_out: { fh: 0n, open_flags: 0, backing_id: 0 } }),
  read(req) {
    const at = Number(req.read_in.offset);
    return { data: text.subarray(at, at + req.read_in.size) };
  },
  opendir: () => ({ open_out: { fh: 0n, open_flags: 0, backing_id: 0 } }),
  readdir(req) {
    const list = direntList(req.read_in.size);
    const all = [
      { ino: 1n, type: 4, name: "." },
      { ino: 1n, type: 4, name: ".." },
      { ino: 2n, type: 8, name: "hello" },
    ];
    // `off` is the cookie the kernel sends back as read_in.offset to continue after this entry.
    all
      .slice(Number(req.read_in.offset))
      .every((e, i) => list.add({ ...e, off: req.read_in.offset + BigInt(i + 1) }));
    return { data: list.finish() };
  },
};
