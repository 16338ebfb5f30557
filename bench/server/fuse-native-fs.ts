/**
 * The contender of memfs: an in-memory filesystem on fuse-native 2.2.6, the
 * libfuse-2 addon a Node user would pick to write a FUSE filesystem. Run as its
 * own process by bench/server/run.ts:
 *
 *   node dist/bench/server/fuse-native-fs.js <mountpoint> [--big-writes] [--read-ahead-kb N]
 *
 * Prints one line "loaded <addon path>" then "mounted <mountpoint>", or
 * "error: <why>" and exits 3 when the addon cannot load or mount. SIGTERM or
 * SIGINT unmounts and exits.
 *
 * The filesystem is written with the same care as memfs (a tree of nodes, file
 * contents in a Buffer that grows by doubling, no per-call copies beyond the one
 * the API makes), so the comparison is of the servers, not of a careless
 * filesystem. fuse-native is path based: every call walks the path from the root.
 * It is mounted with default_permissions and answers getxattr (ENODATA), as memfs does, so the
 * kernel sends both the same requests for the same work.
 * `--big-writes` adds libfuse's big_writes option (writes up to 128 KiB instead
 * of 4 KiB); fuse-native has no option for it, but passes fsname through to
 * libfuse's option string unescaped, so ",big_writes" rides along with it.
 * `--read-ahead-kb N` sets the mount's read-ahead window once INIT is done, as our server
 * does by default (MountOptions.readAhead): the same tuning, for a like-for-like row.
 */
import { createRequire } from "node:module";
import { stat } from "node:fs/promises";
import { dirname } from "node:path";
import type { Handlers, Stat } from "fuse-native";
import { readAheadWindow } from "../../server/mount.js";
import { mountOf } from "./mounts.js";

const S_IFMT = 0o170000;
const S_IFDIR = 0o040000;
const S_IFREG = 0o100000;
const S_IFLNK = 0o120000;

interface Node {
  readonly ino: number;
  mode: number;
  uid: number;
  gid: number;
  nlink: number;
  size: number;
  atime: number;
  mtime: number;
  ctime: number;
  /** Regular files: the contents, zero beyond `size`. */
  data: Buffer | null;
  /** Directories. */
  children: Map<string, Node> | null;
  /** Symbolic links. */
  target: string | null;
}

const ENOENT = -2;
const EBADF = -9;
const EEXIST = -17;
const ENOTDIR = -20;
const EISDIR = -21;
const EINVAL = -22;
const ENOTEMPTY = -39;
const ENODATA = -61;

/** fuse-native's getxattr (not in bench/types: only what this file uses is declared there). */
interface XattrHandlers {
  getxattr(
    path: string,
    name: string,
    position: number,
    cb: (err: number, value?: Buffer) => void,
  ): void;
}

let nextIno = 1;
function makeNode(mode: number, uid = 0, gid = 0): Node {
  const now = Date.now();
  const type = mode & S_IFMT;
  return {
    ino: nextIno++,
    mode,
    uid,
    gid,
    nlink: type === S_IFDIR ? 2 : 1,
    size: 0,
    atime: now,
    mtime: now,
    ctime: now,
    data: type === S_IFREG ? Buffer.alloc(0) : null,
    children: type === S_IFDIR ? new Map() : null,
    target: null,
  };
}

const root = makeNode(S_IFDIR | 0o755);
const handles = new Map<number, Node>();
let nextFh = 1;

function lookup(path: string): Node | null {
  if (path === "/") return root;
  let node: Node | undefined = root;
  let at = 1;
  while (node) {
    const slash = path.indexOf("/", at);
    const name = slash < 0 ? path.slice(at) : path.slice(at, slash);
    if (!node.children) return null;
    node = node.children.get(name);
    if (slash < 0) return node ?? null;
    at = slash + 1;
  }
  return null;
}

/** The parent directory of `path` and the last name, or an errno. */
function parentOf(path: string): [Node, string] | number {
  const cut = path.lastIndexOf("/");
  const parent = lookup(cut === 0 ? "/" : path.slice(0, cut));
  if (!parent) return ENOENT;
  if (!parent.children) return ENOTDIR;
  return [parent, path.slice(cut + 1)];
}

function statOf(n: Node): Stat {
  const blocks = n.data ? Math.ceil(n.size / 4096) * 8 : 0;
  return {
    mode: n.mode,
    uid: n.uid,
    gid: n.gid,
    size: n.children ? n.children.size * 20 : n.size,
    nlink: n.nlink,
    ino: n.ino,
    blksize: 4096,
    blocks,
    atime: n.atime,
    mtime: n.mtime,
    ctime: n.ctime,
  };
}

function resize(n: Node, size: number): void {
  const data = n.data!;
  if (size > data.length) {
    let cap = Math.max(data.length * 2, 65536);
    while (cap < size) cap *= 2;
    const grown = Buffer.alloc(cap);
    data.copy(grown, 0, 0, n.size);
    n.data = grown;
  } else if (size < n.size) {
    data.fill(0, size, n.size); // keep "zero beyond size"
  }
  n.size = size;
}

function create(path: string, mode: number): Node | number {
  const p = parentOf(path);
  if (typeof p === "number") return p;
  const [dir, name] = p;
  if (dir.children!.has(name)) return EEXIST;
  const node = makeNode(mode);
  dir.children!.set(name, node);
  dir.mtime = dir.ctime = Date.now();
  if ((mode & S_IFMT) === S_IFDIR) dir.nlink++;
  return node;
}

function open(node: Node): number {
  const fh = nextFh++;
  handles.set(fh, node);
  return fh;
}

const ops: Handlers & XattrHandlers = {
  getattr(path: string, cb: (err: number, stat?: Stat) => void) {
    const n = lookup(path);
    if (!n) return cb(ENOENT);
    cb(0, statOf(n));
  },
  fgetattr(path: string, fd: number, cb: (err: number, stat?: Stat) => void) {
    const n = handles.get(fd) ?? lookup(path);
    if (!n) return cb(ENOENT);
    cb(0, statOf(n));
  },
  statfs(_path, cb) {
    const blocks = (4 * 2 ** 30) / 4096; // 4 GiB, like the capacity memfs is given
    cb(0, {
      bsize: 4096,
      frsize: 4096,
      blocks,
      bfree: blocks,
      bavail: blocks,
      files: 1e6,
      ffree: 1e6,
      favail: 1e6,
      fsid: 0,
      flag: 0,
      namemax: 255,
    });
  },
  // As memfs (and tmpfs) answer for a file without extended attributes. Without it libfuse
  // answers ENOSYS once and the kernel never asks again, while memfs, which keeps xattrs, is
  // asked twice per file by `ls -l` (security.selinux, system.posix_acl_access): the same
  // questions for both, so the comparison is of the servers.
  getxattr(
    path: string,
    _name: string,
    _position: number,
    cb: (err: number, value?: Buffer) => void,
  ) {
    cb(lookup(path) ? ENODATA : ENOENT);
  },
  readdir(path: string, cb: (err: number, names?: string[]) => void) {
    const n = lookup(path);
    if (!n) return cb(ENOENT);
    if (!n.children) return cb(ENOTDIR);
    cb(0, [".", "..", ...n.children.keys()]);
  },
  open(path: string, _flags: number, cb: (err: number, fd?: number) => void) {
    const n = lookup(path);
    if (!n) return cb(ENOENT);
    cb(0, open(n));
  },
  create(path: string, mode: number, cb: (err: number, fd?: number) => void) {
    const n = create(path, (mode & ~S_IFMT) | S_IFREG);
    if (typeof n === "number") return cb(n);
    cb(0, open(n));
  },
  release(_path: string, fd: number, cb: (err: number) => void) {
    handles.delete(fd);
    cb(0);
  },
  read(
    path: string,
    fd: number,
    buf: Buffer,
    len: number,
    pos: number,
    cb: (bytes: number) => void,
  ) {
    const n = handles.get(fd) ?? lookup(path);
    if (!n) return cb(EBADF);
    if (!n.data) return cb(EISDIR);
    if (pos >= n.size) return cb(0);
    const end = Math.min(n.size, pos + len);
    n.data.copy(buf, 0, pos, end);
    cb(end - pos);
  },
  write(
    path: string,
    fd: number,
    buf: Buffer,
    len: number,
    pos: number,
    cb: (bytes: number) => void,
  ) {
    const n = handles.get(fd) ?? lookup(path);
    if (!n) return cb(EBADF);
    if (!n.data) return cb(EISDIR);
    if (pos + len > n.size) resize(n, pos + len);
    buf.copy(n.data!, pos, 0, len);
    n.mtime = n.ctime = Date.now();
    cb(len);
  },
  fsync(_path: string, _fd: number, _datasync: number, cb: (err: number) => void) {
    cb(0);
  },
  // No flush, as memfs has none: neither has anything to do at close.
  truncate(path: string, size: number, cb: (err: number) => void) {
    const n = lookup(path);
    if (!n) return cb(ENOENT);
    if (!n.data) return cb(EISDIR);
    resize(n, size);
    n.mtime = n.ctime = Date.now();
    cb(0);
  },
  ftruncate(path: string, fd: number, size: number, cb: (err: number) => void) {
    const n = handles.get(fd) ?? lookup(path);
    if (!n) return cb(EBADF);
    if (!n.data) return cb(EISDIR);
    resize(n, size);
    n.mtime = n.ctime = Date.now();
    cb(0);
  },
  utimens(path: string, atime: number, mtime: number, cb: (err: number) => void) {
    const n = lookup(path);
    if (!n) return cb(ENOENT);
    n.atime = atime;
    n.mtime = mtime;
    n.ctime = Date.now();
    cb(0);
  },
  chmod(path: string, mode: number, cb: (err: number) => void) {
    const n = lookup(path);
    if (!n) return cb(ENOENT);
    n.mode = (n.mode & S_IFMT) | (mode & ~S_IFMT);
    n.ctime = Date.now();
    cb(0);
  },
  chown(path: string, uid: number, gid: number, cb: (err: number) => void) {
    const n = lookup(path);
    if (!n) return cb(ENOENT);
    if (uid !== 0xffffffff && uid !== -1) n.uid = uid;
    if (gid !== 0xffffffff && gid !== -1) n.gid = gid;
    n.ctime = Date.now();
    cb(0);
  },
  mkdir(path: string, mode: number, cb: (err: number) => void) {
    const n = create(path, (mode & ~S_IFMT) | S_IFDIR);
    cb(typeof n === "number" ? n : 0);
  },
  symlink(target: string, path: string, cb: (err: number) => void) {
    const n = create(path, S_IFLNK | 0o777);
    if (typeof n === "number") return cb(n);
    n.target = target;
    n.size = Buffer.byteLength(target);
    cb(0);
  },
  readlink(path: string, cb: (err: number, target?: string) => void) {
    const n = lookup(path);
    if (!n) return cb(ENOENT);
    if (n.target === null) return cb(EINVAL);
    cb(0, n.target);
  },
  unlink(path: string, cb: (err: number) => void) {
    const p = parentOf(path);
    if (typeof p === "number") return cb(p);
    const [dir, name] = p;
    const n = dir.children!.get(name);
    if (!n) return cb(ENOENT);
    if (n.children) return cb(EISDIR);
    dir.children!.delete(name);
    n.nlink--;
    n.ctime = dir.mtime = dir.ctime = Date.now();
    cb(0);
  },
  rmdir(path: string, cb: (err: number) => void) {
    const p = parentOf(path);
    if (typeof p === "number") return cb(p);
    const [dir, name] = p;
    const n = dir.children!.get(name);
    if (!n) return cb(ENOENT);
    if (!n.children) return cb(ENOTDIR);
    if (n.children.size > 0) return cb(ENOTEMPTY);
    dir.children!.delete(name);
    dir.nlink--;
    dir.mtime = dir.ctime = Date.now();
    cb(0);
  },
  rename(src: string, dest: string, cb: (err: number) => void) {
    const from = parentOf(src);
    const to = parentOf(dest);
    if (typeof from === "number") return cb(from);
    if (typeof to === "number") return cb(to);
    const n = from[0].children!.get(from[1]);
    if (!n) return cb(ENOENT);
    const old = to[0].children!.get(to[1]);
    if (old?.children && old.children.size > 0) return cb(ENOTEMPTY);
    if (old && !!old.children !== !!n.children) return cb(old.children ? EISDIR : ENOTDIR);
    from[0].children!.delete(from[1]);
    to[0].children!.set(to[1], n);
    if (n.children && from[0] !== to[0]) {
      from[0].nlink--;
      to[0].nlink++;
    }
    const now = Date.now();
    from[0].mtime = from[0].ctime = to[0].mtime = to[0].ctime = n.ctime = now;
    cb(0);
  },
  link(src: string, dest: string, cb: (err: number) => void) {
    const n = lookup(src);
    if (!n) return cb(ENOENT);
    if (n.children) return cb(EISDIR);
    const p = parentOf(dest);
    if (typeof p === "number") return cb(p);
    if (p[0].children!.has(p[1])) return cb(EEXIST);
    p[0].children!.set(p[1], n);
    n.nlink++;
    n.ctime = Date.now();
    cb(0);
  },
};

function main(): void {
  const args = process.argv.slice(2);
  const mnt = args.find((a) => !a.startsWith("--"));
  if (!mnt) {
    console.error(
      "usage: node dist/bench/server/fuse-native-fs.js <mountpoint> [--big-writes] [--read-ahead-kb N]",
    );
    process.exit(2);
  }
  const raAt = args.indexOf("--read-ahead-kb");
  const readAheadKb = raAt < 0 ? undefined : Number(args[raAt + 1]);
  if (readAheadKb !== undefined && !(Number.isSafeInteger(readAheadKb) && readAheadKb > 0)) {
    console.error(`--read-ahead-kb takes a positive number, got ${args[raAt + 1]}`);
    process.exit(2);
  }
  const require = createRequire(import.meta.url);
  let Fuse: typeof import("fuse-native").default;
  try {
    const dir = dirname(require.resolve("fuse-native/package.json"));
    const addon = (require("node-gyp-build") as { path(dir: string): string }).path(dir);
    Fuse = require("fuse-native") as typeof Fuse;
    console.log(`loaded ${addon}`);
  } catch (err) {
    console.log(`error: fuse-native does not load: ${(err as Error).message.split("\n")[0]}`);
    process.exit(3);
  }
  const fsname = args.includes("--big-writes")
    ? "fuse-native-bench,big_writes"
    : "fuse-native-bench";
  // No per-op timeout: a slow op under load must not turn into an error.
  // default_permissions, as memfs is mounted (the server's default): the kernel checks
  // permissions from the attributes for both, and refreshes a directory's attributes after
  // every change in it in both, so the two do the same round trips for the same work.
  // kernel_cache, as memfs keeps the page cache over opens (FOPEN_KEEP_CACHE): both own their
  // data, so neither needs the kernel to read a file again after every open.
  const options = { fsname, timeout: false, defaultPermissions: true, kernelCache: true } as const;
  const fuse = new Fuse(mnt, ops, options);
  let closing = false;
  const close = () => {
    if (closing) return;
    closing = true;
    fuse.unmount((err) => {
      if (err) console.error(`unmount: ${err.message}`);
      process.exit(err ? 1 : 0);
    });
  };
  process.on("SIGTERM", close);
  process.on("SIGINT", close);
  fuse.mount((err) => {
    if (err) {
      console.log(`error: mount failed: ${err.message}`);
      process.exit(3);
    }
    if (readAheadKb === undefined) return console.log(`mounted ${mnt}`);
    // After INIT (a stat waits for it; async, so libfuse's thread can answer): INIT's reply
    // would clamp the window back to its max_readahead.
    stat(mnt)
      .then(() => {
        const dev = mountOf(mnt)?.dev;
        if (!dev) throw new Error(`${mnt} is not in /proc/self/mountinfo`);
        const window = readAheadWindow(dev, readAheadKb * 1024);
        if (window !== readAheadKb * 1024)
          throw new Error(
            `the window of ${dev} is ${String(window)} bytes, not ${readAheadKb} KiB`,
          );
        console.log(`mounted ${mnt}`);
      })
      .catch((err: unknown) => {
        console.log(`error: read-ahead: ${(err as Error).message}`);
        close();
      });
  });
}

main();
