/**
 * memfs: a POSIX filesystem kept in memory, written against the typed handler
 * object of server/. It aims to behave like tmpfs, so that real programs see
 * the same results on both (test/e2e-memfs.test.ts checks exactly that):
 * the same errno for the same mistake, link counts, ctime/mtime updates,
 * st_blocks from 4 KiB pages, and tmpfs's directory sizes (20 bytes per entry).
 *
 * Inode lifetime follows the FUSE contract: an inode lives while it has links,
 * open handles, or lookups the kernel has not forgotten yet (every entry
 * reply counts one; FORGET/BATCH_FORGET give them back).
 */
import { constants as fsc } from "node:fs";
import {
  FATTR_ATIME,
  FATTR_ATIME_NOW,
  FATTR_CTIME,
  FATTR_GID,
  FATTR_KILL_SUIDGID,
  FATTR_MODE,
  FATTR_MTIME,
  FATTR_MTIME_NOW,
  FATTR_SIZE,
  FATTR_UID,
  FOPEN_KEEP_CACHE,
  FUSE_ATOMIC_O_TRUNC,
  FUSE_HANDLE_KILLPRIV_V2,
  FUSE_OPEN_KILL_SUIDGID,
  FUSE_WRITE_KILL_SUIDGID,
  zeroFuseAttr,
  zeroFuseEntryOut,
  type FuseAttr,
  type FuseEntryOut,
  type FuseName,
  type FuseStatx,
} from "../../generated/base-7.45/index.js";
import {
  Errno,
  FuseError,
  type FuseHandlers,
  type ReplyOf,
  type RequestContext,
  type RequestOf,
  direntList,
  direntplusList,
} from "../../server/index.js";
import { FileData, PAGE_SIZE } from "./pages.js";

const { S_IFMT, S_IFDIR, S_IFREG, S_IFLNK, S_IFIFO, S_IFSOCK, S_IFCHR, S_IFBLK, S_IXGRP } = fsc;
const S_ISUID = 0o4000;
const S_ISGID = 0o2000;
const O_ACCMODE = 3;

// Linux uapi values the FUSE header does not carry (linux/fs.h, linux/xattr.h, linux/falloc.h, linux/stat.h).
const RENAME_NOREPLACE = 1;
const RENAME_EXCHANGE = 2;
const XATTR_CREATE = 1;
const XATTR_REPLACE = 2;
const FALLOC_FL_KEEP_SIZE = 0x01;
const FALLOC_FL_PUNCH_HOLE = 0x02;
const SEEK_SET = 0;
const SEEK_CUR = 1;
const SEEK_END = 2;
const SEEK_DATA = 3;
const SEEK_HOLE = 4;
const STATX_BASIC_STATS = 0x7ff;
const STATX_BTIME = 0x800;

const NAME_MAX = 255;
const PATH_MAX = 4096;
const XATTR_NAME_MAX = 255;
const XATTR_SIZE_MAX = 65536;
/** tmpfs counts each directory entry as this many bytes of directory size ("." and ".." included). */
const BOGO_DIRENT_SIZE = 20;
/** tmpfs keeps symlink targets shorter than this inside the inode (no block). */
const SHORT_SYMLINK_LEN = 128;
const ROOT_INO = 1n;
/** copy_file_range copies this much between turns for other requests. */
const COPY_CHUNK = 1 << 20;
/** Cookies 1 and 2 are "." and ".."; entries start after them. */
const FIRST_COOKIE = 3n;

/** Wall-clock nanoseconds with the resolution of hrtime (Date.now() alone has only milliseconds). */
const wall0 = BigInt(Date.now()) * 1_000_000n;
const hr0 = process.hrtime.bigint();
function nowNs(): bigint {
  return wall0 + (process.hrtime.bigint() - hr0);
}

interface DirEntry {
  ino: bigint;
  /** Position for readdir: entries are listed in cookie order, a new entry gets a new cookie. */
  cookie: bigint;
}

export interface Inode {
  ino: bigint;
  mode: number;
  uid: number;
  gid: number;
  nlink: number;
  rdev: number;
  atime: bigint;
  mtime: bigint;
  ctime: bigint;
  btime: bigint;
  /** Regular files. */
  data?: FileData;
  /** Directories: name (as a {@link NameKey}) -> entry, in cookie order. */
  entries?: Map<NameKey, DirEntry>;
  nextCookie?: bigint;
  /** Directories: the parent (itself for the root). */
  parent?: bigint;
  /** Symlinks. */
  target?: Uint8Array;
  /** Extended attributes: name (as a {@link NameKey}) -> value. */
  xattrs: Map<NameKey, Uint8Array>;
  /** Lookups the kernel holds (entry replies minus forgets). */
  nlookup: number;
  /** Open file and directory handles. */
  opens: number;
}

/**
 * INIT flags to mount memfs with (`mount(..., { flags: BigInt(MEMFS_INIT_FLAGS) })`):
 * promises memfs keeps. FUSE_ATOMIC_O_TRUNC: open(O_TRUNC) truncates in
 * `open` (with the default `atomicOTrunc`). FUSE_HANDLE_KILLPRIV_V2: memfs
 * clears setuid/setgid itself when a WRITE, SETATTR or OPEN says so (the
 * KILL_SUIDGID flags), so the kernel does not ask for security.capability
 * before every write.
 */
export const MEMFS_INIT_FLAGS = FUSE_ATOMIC_O_TRUNC | FUSE_HANDLE_KILLPRIV_V2;

export interface MemFsOptions {
  /** Capacity in bytes (statfs, ENOSPC). Default 1 GiB. */
  capacity?: number;
  /** Maximum number of inodes. Default 1,000,000. */
  maxInodes?: number;
  /** How long the kernel may cache entries and attributes, seconds. Default 1. */
  cacheSeconds?: number;
  /** Owner of the root directory. Default: this process's uid/gid. */
  rootUid?: number;
  rootGid?: number;
  /** Root directory mode bits. Default 0o755. */
  rootMode?: number;
  /** open(O_TRUNC) truncates in open: mount with FUSE_ATOMIC_O_TRUNC. */
  atomicOTrunc?: boolean;
  /**
   * Answer FUSE_STATX, with birth times. Default true. With false there is no STATX handler:
   * after one ENOSYS the kernel answers statx(2) from the attributes it has, as it does for a
   * server that cannot speak STATX (libfuse 2), and a statx asking for the birth time of a file
   * just created (Node's `fs.stat` asks for it) costs no request of its own; `birthtime` is
   * then not known.
   */
  btime?: boolean;
}

interface Handle {
  ino: bigint;
  flags: number;
}

/**
 * A name's bytes as a string of one char per byte (latin1): lossless for any bytes, so a name
 * that is not UTF-8 (`caf\xe9`) is a key like any other, and cheap to compare and hash. Names
 * are bytes on Linux; memfs never interprets them as text.
 */
type NameKey = string;
const keyOf = (name: FuseName): NameKey =>
  Buffer.from(name.bytes.buffer, name.bytes.byteOffset, name.bytes.length).toString("latin1");
const bytesOf = (key: NameKey): Uint8Array => Buffer.from(key, "latin1");

const isDir = (i: Inode) => (i.mode & S_IFMT) === S_IFDIR;
const isReg = (i: Inode) => (i.mode & S_IFMT) === S_IFREG;
const fail = (errno: number): never => {
  throw new FuseError(errno);
};

/** A name for a new entry: at most NAME_MAX bytes, not "." or "..", no '/' (NUL cannot occur). */
function checkName(name: NameKey): void {
  if (name.length > NAME_MAX) fail(Errno.ENAMETOOLONG);
  if (name === "" || name === "." || name === ".." || name.includes("/")) fail(Errno.EINVAL);
}

/** Lets the event loop run other requests (their reads, handlers and replies) before going on. */
function yieldTurn(): Promise<void> {
  return new Promise((resolve) => setImmediate(resolve));
}

function splitNs(ns: bigint): { sec: bigint; nsec: number } {
  const sec = ns >= 0n ? ns / 1_000_000_000n : -((-ns + 999_999_999n) / 1_000_000_000n);
  return { sec, nsec: Number(ns - sec * 1_000_000_000n) };
}

/** Decodes the kernel's new_encode_dev() format into major/minor. */
function devParts(rdev: number): { major: number; minor: number } {
  return { major: (rdev & 0xfff00) >>> 8, minor: (rdev & 0xff) | ((rdev >>> 12) & 0xfff00) };
}

export class MemFs implements FuseHandlers {
  readonly inodes = new Map<bigint, Inode>();
  private readonly handles = new Map<bigint, Handle>();
  private nextIno = ROOT_INO + 1n;
  private nextFh = 1n;
  private usedPages = 0;
  private readonly capacityPages: number;
  private readonly maxInodes: number;
  private readonly cacheSec: bigint;
  private readonly atomicOTrunc: boolean;

  constructor(opts: MemFsOptions = {}) {
    this.capacityPages = Math.floor((opts.capacity ?? 1 << 30) / PAGE_SIZE);
    this.maxInodes = opts.maxInodes ?? 1_000_000;
    this.cacheSec = BigInt(opts.cacheSeconds ?? 1);
    this.atomicOTrunc = opts.atomicOTrunc ?? true;
    // The session answers ENOSYS for an opcode whose handler is not a function.
    if (opts.btime === false) Object.defineProperty(this, "statx", { value: undefined });
    const t = nowNs();
    const root = this.newInode(
      S_IFDIR | (opts.rootMode ?? 0o755),
      opts.rootUid ?? process.getuid?.() ?? 0,
      opts.rootGid ?? process.getgid?.() ?? 0,
      t,
    );
    root.ino = ROOT_INO;
    this.initDir(root);
    root.parent = ROOT_INO;
    root.nlookup = 1; // The kernel never looks the root up and never forgets it.
    this.inodes.set(ROOT_INO, root);
  }

  // ---- inode table -------------------------------------------------------

  private newInode(mode: number, uid: number, gid: number, t = nowNs()): Inode {
    return {
      ino: 0n,
      mode,
      uid,
      gid,
      nlink: 1,
      rdev: 0,
      atime: t,
      mtime: t,
      ctime: t,
      btime: t,
      xattrs: new Map(),
      nlookup: 0,
      opens: 0,
    };
  }

  private node(nodeid: bigint): Inode {
    return this.inodes.get(nodeid) ?? fail(Errno.ENOENT);
  }

  private dir(nodeid: bigint): Inode {
    const d = this.node(nodeid);
    if (!d.entries) fail(Errno.ENOTDIR);
    return d;
  }

  /** Drops an inode nobody can reach any more: no links, no kernel lookups, no open handles. */
  private maybeFree(i: Inode): void {
    if (i.ino === ROOT_INO || i.nlink > 0 || i.nlookup > 0 || i.opens > 0) return;
    if (i.data) this.usedPages -= i.data.clear();
    if (i.target && i.target.length >= SHORT_SYMLINK_LEN) this.usedPages -= 1;
    this.inodes.delete(i.ino);
  }

  private reservePages(n: number): void {
    if (n > 0 && this.usedPages + n > this.capacityPages) fail(Errno.ENOSPC);
  }

  /** Creates an inode under `parent`: owner from the caller, group and setgid inherited from a setgid directory. */
  private createInode(
    parent: Inode,
    name: NameKey,
    mode: number,
    ctx: RequestContext,
    fill?: (i: Inode) => void,
  ): Inode {
    checkName(name);
    if (parent.nlink === 0) fail(Errno.ENOENT); // Removed directory.
    if (parent.entries!.has(name)) fail(Errno.EEXIST);
    if (this.inodes.size >= this.maxInodes) fail(Errno.ENOSPC);
    let gid = ctx.gid;
    if (parent.mode & S_ISGID) {
      gid = parent.gid;
      if ((mode & S_IFMT) === S_IFDIR) mode |= S_ISGID;
    }
    const t = nowNs();
    const i = this.newInode(mode, ctx.uid, gid, t);
    i.ino = this.nextIno++;
    fill?.(i);
    this.inodes.set(i.ino, i);
    this.addEntry(parent, name, i, t);
    return i;
  }

  /** Adds a directory entry; the caller has counted the link in `child.nlink`. */
  private addEntry(parent: Inode, name: NameKey, child: Inode, t = nowNs()): void {
    parent.entries!.set(name, { ino: child.ino, cookie: parent.nextCookie!++ });
    if (isDir(child)) {
      child.parent = parent.ino;
      parent.nlink++;
    }
    parent.mtime = parent.ctime = t;
  }

  /** Removes a directory entry and drops one link (a directory loses both of its own). */
  private unlinkEntry(parent: Inode, name: NameKey, child: Inode, t: bigint): void {
    parent.entries!.delete(name);
    if (isDir(child)) {
      child.nlink = 0;
      parent.nlink--;
    } else {
      child.nlink--;
    }
    child.ctime = t;
    parent.mtime = parent.ctime = t;
  }

  private initDir(i: Inode): void {
    i.entries = new Map();
    i.nextCookie = FIRST_COOKIE;
    i.nlink = 2;
  }

  // ---- attributes --------------------------------------------------------

  private size(i: Inode): number {
    if (i.data) return i.data.size;
    if (i.entries) return (i.entries.size + 2) * BOGO_DIRENT_SIZE;
    if (i.target) return i.target.length;
    return 0;
  }

  private blocks(i: Inode): number {
    if (i.data) return i.data.allocatedPages * (PAGE_SIZE / 512);
    if (i.target && i.target.length >= SHORT_SYMLINK_LEN) return PAGE_SIZE / 512;
    return 0;
  }

  attr(i: Inode): FuseAttr {
    const a = splitNs(i.atime);
    const m = splitNs(i.mtime);
    const c = splitNs(i.ctime);
    return {
      ...zeroFuseAttr(),
      ino: i.ino,
      size: BigInt(this.size(i)),
      blocks: BigInt(this.blocks(i)),
      atime: a.sec,
      mtime: m.sec,
      ctime: c.sec,
      atimensec: a.nsec,
      mtimensec: m.nsec,
      ctimensec: c.nsec,
      mode: i.mode,
      nlink: i.nlink,
      uid: i.uid,
      gid: i.gid,
      rdev: i.rdev,
      blksize: PAGE_SIZE,
    };
  }

  private attrOut(i: Inode): ReplyOf<"FUSE_GETATTR"> {
    return {
      attr_out: { attr_valid: this.cacheSec, attr_valid_nsec: 0, dummy: 0, attr: this.attr(i) },
    };
  }

  /** An entry reply: the kernel now holds one more lookup of `i`. */
  private entry(i: Inode): FuseEntryOut {
    i.nlookup++;
    return this.entryFor(i);
  }

  private entryFor(i: Inode): FuseEntryOut {
    return {
      nodeid: i.ino,
      generation: 0n, // Inode numbers are never reused, so one generation suffices.
      entry_valid: this.cacheSec,
      attr_valid: this.cacheSec,
      entry_valid_nsec: 0,
      attr_valid_nsec: 0,
      attr: this.attr(i),
    };
  }

  // ---- handlers ----------------------------------------------------------

  lookup(req: RequestOf<"FUSE_LOOKUP">): ReplyOf<"FUSE_LOOKUP"> {
    const d = this.dir(req.header.nodeid);
    const name = keyOf(req.name);
    if (name.length > NAME_MAX) fail(Errno.ENAMETOOLONG);
    // "." and ".." only come with FUSE_EXPORT_SUPPORT (e.g. NFS export).
    if (name === ".") return { entry_out: this.entry(d) };
    if (name === "..") return { entry_out: this.entry(this.node(d.parent!)) };
    const e = d.entries!.get(name) ?? fail(Errno.ENOENT);
    return { entry_out: this.entry(this.node(e.ino)) };
  }

  forget(req: RequestOf<"FUSE_FORGET">): void {
    this.drop(req.header.nodeid, req.forget_in.nlookup);
  }

  /** The kernel gives back `nlookup` lookups of `nodeid`. */
  private drop(nodeid: bigint, nlookup: bigint): void {
    const i = this.inodes.get(nodeid);
    if (!i) return;
    i.nlookup = Math.max(0, i.nlookup - Number(nlookup));
    if (i.ino === ROOT_INO) i.nlookup = Math.max(1, i.nlookup);
    this.maybeFree(i);
  }

  batch_forget(req: RequestOf<"FUSE_BATCH_FORGET">): void {
    for (const one of req.entries) this.drop(one.nodeid, one.nlookup);
  }

  getattr(req: RequestOf<"FUSE_GETATTR">): ReplyOf<"FUSE_GETATTR"> {
    return this.attrOut(this.node(req.header.nodeid));
  }

  statx(req: RequestOf<"FUSE_STATX">): ReplyOf<"FUSE_STATX"> {
    const i = this.node(req.header.nodeid);
    const a = this.attr(i);
    const t = (ns: bigint) => {
      const s = splitNs(ns);
      return { tv_sec: s.sec, tv_nsec: s.nsec, __reserved: 0 };
    };
    const rdev = devParts(i.rdev);
    const stat: FuseStatx = {
      mask: STATX_BASIC_STATS | STATX_BTIME,
      blksize: a.blksize,
      attributes: 0n,
      nlink: a.nlink,
      uid: a.uid,
      gid: a.gid,
      mode: a.mode & 0xffff,
      __spare0: new Uint16Array(1),
      ino: a.ino,
      size: a.size,
      blocks: a.blocks,
      attributes_mask: 0n,
      atime: t(i.atime),
      btime: t(i.btime),
      ctime: t(i.ctime),
      mtime: t(i.mtime),
      rdev_major: rdev.major,
      rdev_minor: rdev.minor,
      dev_major: 0,
      dev_minor: 0,
      __spare2: new BigUint64Array(14),
    };
    return {
      statx_out: {
        attr_valid: this.cacheSec,
        attr_valid_nsec: 0,
        flags: 0,
        spare: new BigUint64Array(2),
        stat,
      },
    };
  }

  setattr(req: RequestOf<"FUSE_SETATTR">): ReplyOf<"FUSE_SETATTR"> {
    const i = this.node(req.header.nodeid);
    const s = req.setattr_in;
    const v = s.valid;
    const t = nowNs();
    if (v & FATTR_SIZE) {
      if (isDir(i)) fail(Errno.EISDIR);
      if (!i.data) fail(Errno.EINVAL);
      const size = Number(s.size);
      if (!Number.isSafeInteger(size)) fail(Errno.EFBIG);
      if (size !== i.data!.size) {
        const before = i.data!.allocatedPages;
        i.data!.truncate(size);
        this.usedPages += i.data!.allocatedPages - before;
        i.mtime = t;
      }
    }
    if (v & FATTR_MODE) i.mode = (i.mode & S_IFMT) | (s.mode & 0o7777);
    if (v & FATTR_UID) i.uid = s.uid;
    if (v & FATTR_GID) i.gid = s.gid;
    if (v & FATTR_KILL_SUIDGID) this.killSuid(i);
    if (v & FATTR_ATIME_NOW) i.atime = t;
    else if (v & FATTR_ATIME) i.atime = s.atime * 1_000_000_000n + BigInt(s.atimensec);
    if (v & FATTR_MTIME_NOW) i.mtime = t;
    else if (v & FATTR_MTIME) i.mtime = s.mtime * 1_000_000_000n + BigInt(s.mtimensec);
    i.ctime = v & FATTR_CTIME ? s.ctime * 1_000_000_000n + BigInt(s.ctimensec) : t;
    return this.attrOut(i);
  }

  private killSuid(i: Inode): void {
    // Like the kernel's should_remove_suid(): setgid without group-exec is mandatory locking, not privilege.
    i.mode &= ~S_ISUID;
    if (i.mode & S_IXGRP) i.mode &= ~S_ISGID;
  }

  readlink(req: RequestOf<"FUSE_READLINK">): ReplyOf<"FUSE_READLINK"> {
    const i = this.node(req.header.nodeid);
    if (!i.target) fail(Errno.EINVAL);
    return { data: i.target! };
  }

  mknod(req: RequestOf<"FUSE_MKNOD">, ctx: RequestContext): ReplyOf<"FUSE_MKNOD"> {
    const type = req.mknod_in.mode & S_IFMT;
    if (![S_IFREG, S_IFIFO, S_IFSOCK, S_IFCHR, S_IFBLK].includes(type))
      fail(type === S_IFDIR ? Errno.EPERM : Errno.EINVAL);
    const i = this.createInode(
      this.dir(req.header.nodeid),
      keyOf(req.name),
      req.mknod_in.mode,
      ctx,
      (n) => {
        if (type === S_IFREG) n.data = new FileData();
        if (type === S_IFCHR || type === S_IFBLK) n.rdev = req.mknod_in.rdev;
      },
    );
    return { entry_out: this.entry(i) };
  }

  mkdir(req: RequestOf<"FUSE_MKDIR">, ctx: RequestContext): ReplyOf<"FUSE_MKDIR"> {
    const i = this.createInode(
      this.dir(req.header.nodeid),
      keyOf(req.name),
      S_IFDIR | (req.mkdir_in.mode & 0o7777),
      ctx,
      (n) => this.initDir(n),
    );
    return { entry_out: this.entry(i) };
  }

  symlink(req: RequestOf<"FUSE_SYMLINK">, ctx: RequestContext): ReplyOf<"FUSE_SYMLINK"> {
    const target = req.target.bytes.slice(); // Kept: never a view of the request's buffer.
    if (target.length >= PATH_MAX) fail(Errno.ENAMETOOLONG);
    if (target.length >= SHORT_SYMLINK_LEN) this.reservePages(1);
    const i = this.createInode(
      this.dir(req.header.nodeid),
      keyOf(req.name),
      S_IFLNK | 0o777,
      ctx,
      (n) => (n.target = target),
    );
    if (target.length >= SHORT_SYMLINK_LEN) this.usedPages += 1;
    return { entry_out: this.entry(i) };
  }

  link(req: RequestOf<"FUSE_LINK">): ReplyOf<"FUSE_LINK"> {
    const i = this.node(req.link_in.oldnodeid);
    const d = this.dir(req.header.nodeid);
    if (isDir(i)) fail(Errno.EPERM);
    const newname = keyOf(req.newname);
    checkName(newname);
    if (d.nlink === 0) fail(Errno.ENOENT);
    if (d.entries!.has(newname)) fail(Errno.EEXIST);
    const t = nowNs();
    i.nlink++;
    i.ctime = t;
    this.addEntry(d, newname, i, t);
    return { entry_out: this.entry(i) };
  }

  unlink(req: RequestOf<"FUSE_UNLINK">): void {
    const d = this.dir(req.header.nodeid);
    const name = keyOf(req.name);
    const e = d.entries!.get(name) ?? fail(Errno.ENOENT);
    const i = this.node(e.ino);
    if (isDir(i)) fail(Errno.EISDIR);
    this.unlinkEntry(d, name, i, nowNs());
    this.maybeFree(i);
  }

  rmdir(req: RequestOf<"FUSE_RMDIR">): void {
    const d = this.dir(req.header.nodeid);
    const name = keyOf(req.name);
    const e = d.entries!.get(name) ?? fail(Errno.ENOENT);
    const i = this.node(e.ino);
    if (!isDir(i)) fail(Errno.ENOTDIR);
    if (i.entries!.size > 0) fail(Errno.ENOTEMPTY);
    this.unlinkEntry(d, name, i, nowNs());
    this.maybeFree(i);
  }

  rename(req: RequestOf<"FUSE_RENAME">): void {
    this.doRename(
      req.header.nodeid,
      keyOf(req.oldname),
      req.rename_in.newdir,
      keyOf(req.newname),
      0,
    );
  }

  rename2(req: RequestOf<"FUSE_RENAME2">): void {
    this.doRename(
      req.header.nodeid,
      keyOf(req.oldname),
      req.rename2_in.newdir,
      keyOf(req.newname),
      req.rename2_in.flags,
    );
  }

  /** Whether `ancestor` is `ino` or one of its parents. */
  private isAncestor(ancestor: bigint, ino: bigint): boolean {
    for (let cur = ino; ;) {
      if (cur === ancestor) return true;
      if (cur === ROOT_INO) return false;
      cur = this.node(cur).parent!;
    }
  }

  private doRename(
    olddir: bigint,
    oldname: NameKey,
    newdir: bigint,
    newname: NameKey,
    flags: number,
  ): void {
    if (flags & ~(RENAME_NOREPLACE | RENAME_EXCHANGE)) fail(Errno.EINVAL); // RENAME_WHITEOUT: no.
    if (flags & RENAME_NOREPLACE && flags & RENAME_EXCHANGE) fail(Errno.EINVAL);
    const from = this.dir(olddir);
    const to = this.dir(newdir);
    checkName(newname);
    const se = from.entries!.get(oldname) ?? fail(Errno.ENOENT);
    const src = this.node(se.ino);
    const de = to.entries!.get(newname);
    const dst = de ? this.node(de.ino) : undefined;
    const t = nowNs();

    if (flags & RENAME_EXCHANGE) {
      if (!dst) fail(Errno.ENOENT);
      if (src === dst) return;
      if (isDir(src) && this.isAncestor(src.ino, to.ino)) fail(Errno.EINVAL);
      if (isDir(dst!) && this.isAncestor(dst!.ino, from.ino)) fail(Errno.EINVAL);
      from.entries!.set(oldname, { ino: dst!.ino, cookie: se.cookie });
      to.entries!.set(newname, { ino: src.ino, cookie: de!.cookie });
      if (from !== to) {
        const move = (child: Inode, out: Inode, into: Inode) => {
          if (!isDir(child)) return;
          child.parent = into.ino;
          out.nlink--;
          into.nlink++;
        };
        move(src, from, to);
        move(dst!, to, from);
      }
      src.ctime = dst!.ctime = t;
      from.mtime = from.ctime = to.mtime = to.ctime = t;
      return;
    }

    if (dst) {
      if (flags & RENAME_NOREPLACE) fail(Errno.EEXIST);
      if (src === dst) return; // Two links to one inode: POSIX says do nothing.
      if (isDir(src) && !isDir(dst)) fail(Errno.ENOTDIR);
      if (!isDir(src) && isDir(dst)) fail(Errno.EISDIR);
      if (isDir(dst) && dst.entries!.size > 0) fail(Errno.ENOTEMPTY);
    }
    if (isDir(src) && this.isAncestor(src.ino, to.ino)) fail(Errno.EINVAL);
    if (from === to && oldname === newname) return;
    if (dst) this.unlinkEntry(to, newname, dst, t);
    from.entries!.delete(oldname);
    if (isDir(src)) from.nlink--;
    this.addEntry(to, newname, src, t);
    src.ctime = t;
    from.mtime = from.ctime = t;
    if (dst) this.maybeFree(dst);
  }

  private openHandle(i: Inode, flags: number): bigint {
    const fh = this.nextFh++;
    this.handles.set(fh, { ino: i.ino, flags });
    i.opens++;
    return fh;
  }

  private closeHandle(fh: bigint): void {
    const h = this.handles.get(fh);
    if (!h) return;
    this.handles.delete(fh);
    const i = this.inodes.get(h.ino);
    if (!i) return;
    i.opens--;
    this.maybeFree(i);
  }

  /** The inode a request is about: by its handle when it has one (the kernel may send nodeid 0 with it). */
  private byHandle(nodeid: bigint, fh: bigint): Inode {
    const h = this.handles.get(fh);
    return h ? this.node(h.ino) : this.node(nodeid);
  }

  open(req: RequestOf<"FUSE_OPEN">): ReplyOf<"FUSE_OPEN"> {
    const i = this.node(req.header.nodeid);
    if (isDir(i)) fail(Errno.EISDIR);
    const flags = req.open_in.flags;
    if (
      this.atomicOTrunc &&
      flags & fsc.O_TRUNC &&
      (flags & O_ACCMODE) !== fsc.O_RDONLY &&
      i.data
    ) {
      const freed = i.data.clear();
      this.usedPages -= freed;
      i.mtime = i.ctime = nowNs();
      // FUSE_HANDLE_KILLPRIV_V2: a truncating open by someone without CAP_FSETID drops setuid/setgid.
      if (req.open_in.open_flags & FUSE_OPEN_KILL_SUIDGID) this.killSuid(i);
    }
    // memfs's data changes only through this mount (the kernel sees every write, truncate and
    // punched hole first), so the page cache of a file stays right from one open to the next:
    // FOPEN_KEEP_CACHE (libfuse's kernel_cache) spares reading it again after every open.
    return {
      open_out: { fh: this.openHandle(i, flags), open_flags: FOPEN_KEEP_CACHE, backing_id: 0 },
    };
  }

  create(req: RequestOf<"FUSE_CREATE">, ctx: RequestContext): ReplyOf<"FUSE_CREATE"> {
    const mode = S_IFREG | (req.create_in.mode & 0o7777);
    const i = this.createInode(
      this.dir(req.header.nodeid),
      keyOf(req.name),
      mode,
      ctx,
      (n) => (n.data = new FileData()),
    );
    return {
      entry_out: this.entry(i),
      open_out: {
        fh: this.openHandle(i, req.create_in.flags),
        open_flags: FOPEN_KEEP_CACHE,
        backing_id: 0,
      },
    };
  }

  tmpfile(req: RequestOf<"FUSE_TMPFILE">, ctx: RequestContext): ReplyOf<"FUSE_TMPFILE"> {
    const d = this.dir(req.header.nodeid);
    if (this.inodes.size >= this.maxInodes) fail(Errno.ENOSPC);
    const i = this.newInode(
      S_IFREG | (req.create_in.mode & 0o7777),
      ctx.uid,
      d.mode & S_ISGID ? d.gid : ctx.gid,
    );
    i.ino = this.nextIno++;
    i.nlink = 0; // Unnamed until linkat() gives it a name.
    i.data = new FileData();
    this.inodes.set(i.ino, i);
    return {
      entry_out: this.entry(i),
      open_out: {
        fh: this.openHandle(i, req.create_in.flags),
        open_flags: FOPEN_KEEP_CACHE,
        backing_id: 0,
      },
    };
  }

  read(req: RequestOf<"FUSE_READ">): ReplyOf<"FUSE_READ"> {
    const i = this.byHandle(req.header.nodeid, req.read_in.fh);
    if (!i.data) fail(Errno.EISDIR);
    // Usually a view of the file's bytes (no copy): the session sends it before anything can change them.
    const data = i.data!.read(Number(req.read_in.offset), req.read_in.size);
    // relatime, as tmpfs is mounted by default: only when atime is older than mtime/ctime or a day old.
    const t = nowNs();
    if (i.atime <= i.mtime || i.atime <= i.ctime || t - i.atime > 86_400_000_000_000n) i.atime = t;
    return { data };
  }

  write(req: RequestOf<"FUSE_WRITE">): ReplyOf<"FUSE_WRITE"> {
    const i = this.byHandle(req.header.nodeid, req.write_in.fh);
    if (!i.data) fail(Errno.EISDIR);
    const offset = Number(req.write_in.offset);
    if (!Number.isSafeInteger(offset + req.data.length)) fail(Errno.EFBIG);
    this.reservePages(i.data!.pagesNeeded(offset, req.data.length));
    // req.data is a view of the request as read from /dev/fuse: copied into the file's pages here, never kept.
    this.usedPages += i.data!.write(offset, req.data);
    if (req.write_in.write_flags & FUSE_WRITE_KILL_SUIDGID) this.killSuid(i);
    i.mtime = i.ctime = nowNs();
    return { write_out: { size: req.data.length, padding: 0 } };
  }

  // No flush handler: memfs has nothing to flush at close and no POSIX locks of its own (the
  // kernel keeps them), so the ENOSYS the session answers the first FLUSH with tells the kernel
  // to send no more (fc->no_flush): one request less per close(2).

  fsync(): void {}

  fsyncdir(): void {}

  syncfs(): void {}

  release(req: RequestOf<"FUSE_RELEASE">): void {
    this.closeHandle(req.release_in.fh);
  }

  statfs(): ReplyOf<"FUSE_STATFS"> {
    const free = BigInt(Math.max(0, this.capacityPages - this.usedPages));
    return {
      statfs_out: {
        st: {
          blocks: BigInt(this.capacityPages),
          bfree: free,
          bavail: free,
          files: BigInt(this.maxInodes),
          ffree: BigInt(this.maxInodes - this.inodes.size),
          bsize: PAGE_SIZE,
          namelen: NAME_MAX,
          frsize: PAGE_SIZE,
          padding: 0,
          spare: new Uint32Array(6),
        },
      },
    };
  }

  // ---- extended attributes -------------------------------------------------

  /** Namespaces tmpfs stores; "user." only on files and directories, as on every Linux filesystem. */
  private checkXattrName(i: Inode, name: NameKey): void {
    if (name.length === 0 || name.length > XATTR_NAME_MAX) fail(Errno.ERANGE);
    if (name.startsWith("user.")) {
      if (!isReg(i) && !isDir(i)) fail(Errno.EPERM);
    } else if (!name.startsWith("trusted.") && !name.startsWith("security.")) {
      fail(Errno.EOPNOTSUPP);
    }
  }

  setxattr(req: RequestOf<"FUSE_SETXATTR">): void {
    const i = this.node(req.header.nodeid);
    const name = keyOf(req.name);
    this.checkXattrName(i, name);
    if (req.value.length > XATTR_SIZE_MAX) fail(Errno.E2BIG);
    const flags = req.setxattr_in.flags;
    const exists = i.xattrs.has(name);
    if (flags & XATTR_CREATE && exists) fail(Errno.EEXIST);
    if (flags & XATTR_REPLACE && !exists) fail(Errno.ENODATA);
    i.xattrs.set(name, req.value.slice()); // The request buffer is reused: copy.
    i.ctime = nowNs();
  }

  /** The xattr reply rule: size 0 asks for the length; a too-small buffer is ERANGE. */
  private xattrReply(value: Uint8Array, size: number): ReplyOf<"FUSE_GETXATTR"> {
    if (size === 0) return { getxattr_out: { size: value.length, padding: 0 } };
    if (size < value.length) fail(Errno.ERANGE);
    return { data: value };
  }

  getxattr(req: RequestOf<"FUSE_GETXATTR">): ReplyOf<"FUSE_GETXATTR"> {
    const i = this.node(req.header.nodeid);
    const v = i.xattrs.get(keyOf(req.name)) ?? fail(Errno.ENODATA);
    return this.xattrReply(v, req.getxattr_in.size);
  }

  listxattr(req: RequestOf<"FUSE_LISTXATTR">): ReplyOf<"FUSE_LISTXATTR"> {
    const i = this.node(req.header.nodeid);
    const names = bytesOf([...i.xattrs.keys()].map((n) => `${n}\0`).join(""));
    return this.xattrReply(names, req.getxattr_in.size);
  }

  removexattr(req: RequestOf<"FUSE_REMOVEXATTR">): void {
    const i = this.node(req.header.nodeid);
    if (!i.xattrs.delete(keyOf(req.name))) fail(Errno.ENODATA);
    i.ctime = nowNs();
  }

  /** access(2) when the kernel is not checking permissions itself (no default_permissions). */
  access(req: RequestOf<"FUSE_ACCESS">, ctx: RequestContext): void {
    const i = this.node(req.header.nodeid);
    const want = req.access_in.mask & 7;
    if (want === 0) return;
    if (ctx.uid === 0) {
      // Root may read and write anything, and execute what anyone may execute.
      if (want & 1 && !isDir(i) && (i.mode & 0o111) === 0) fail(Errno.EACCES);
      return;
    }
    const bits =
      ctx.uid === i.uid ? (i.mode >> 6) & 7 : ctx.gid === i.gid ? (i.mode >> 3) & 7 : i.mode & 7;
    if ((bits & want) !== want) fail(Errno.EACCES);
  }

  // ---- directories -------------------------------------------------------

  opendir(req: RequestOf<"FUSE_OPENDIR">): ReplyOf<"FUSE_OPENDIR"> {
    const d = this.dir(req.header.nodeid);
    return {
      open_out: { fh: this.openHandle(d, req.open_in.flags), open_flags: 0, backing_id: 0 },
    };
  }

  releasedir(req: RequestOf<"FUSE_RELEASEDIR">): void {
    this.closeHandle(req.release_in.fh);
  }

  /** Entries after cookie `offset`: ".", "..", then the names in cookie order. A removed directory lists nothing. */
  private *listFrom(
    d: Inode,
    offset: bigint,
  ): Generator<{ name: Uint8Array | string; ino: bigint; cookie: bigint; dot: boolean }> {
    if (d.nlink === 0) return;
    if (offset < 1n) yield { name: ".", ino: d.ino, cookie: 1n, dot: true };
    if (offset < 2n) yield { name: "..", ino: d.parent!, cookie: 2n, dot: true };
    for (const [name, e] of d.entries!) {
      if (e.cookie > offset)
        yield { name: bytesOf(name), ino: e.ino, cookie: e.cookie, dot: false };
    }
  }

  private typeOf(ino: bigint): number {
    const i = this.inodes.get(ino);
    return i ? (i.mode & S_IFMT) >> 12 : 0;
  }

  readdir(req: RequestOf<"FUSE_READDIR">): ReplyOf<"FUSE_READDIR"> {
    const d = this.byHandle(req.header.nodeid, req.read_in.fh);
    const out = direntList(req.read_in.size);
    for (const e of this.listFrom(d, req.read_in.offset)) {
      if (!out.add({ ino: e.ino, off: e.cookie, type: this.typeOf(e.ino), name: e.name })) break;
    }
    return { data: out.finish() };
  }

  readdirplus(req: RequestOf<"FUSE_READDIRPLUS">): ReplyOf<"FUSE_READDIRPLUS"> {
    const d = this.byHandle(req.header.nodeid, req.read_in.fh);
    const out = direntplusList(req.read_in.size);
    for (const e of this.listFrom(d, req.read_in.offset)) {
      const i = this.node(e.ino);
      // "." and ".." go without a nodeid: the kernel takes no reference for them.
      const entry_out = e.dot ? zeroFuseEntryOut() : this.entryFor(i);
      if (
        !out.add({
          entry_out,
          ino: e.ino,
          off: e.cookie,
          type: (i.mode & S_IFMT) >> 12,
          name: e.name,
        })
      )
        break;
      if (!e.dot) i.nlookup++; // Only records that made it into the reply count.
    }
    return { data: out.finish() };
  }

  // ---- space and copies ----------------------------------------------------

  fallocate(req: RequestOf<"FUSE_FALLOCATE">): void {
    const i = this.byHandle(req.header.nodeid, req.fallocate_in.fh);
    if (!i.data) fail(Errno.ENODEV);
    const { mode } = req.fallocate_in;
    const offset = Number(req.fallocate_in.offset);
    const length = Number(req.fallocate_in.length);
    if (offset < 0 || length <= 0) fail(Errno.EINVAL);
    if (!Number.isSafeInteger(offset + length)) fail(Errno.EFBIG);
    const data = i.data!;
    const t = nowNs();
    if (mode & FALLOC_FL_PUNCH_HOLE) {
      if (mode !== (FALLOC_FL_PUNCH_HOLE | FALLOC_FL_KEEP_SIZE)) fail(Errno.EOPNOTSUPP);
      this.usedPages -= data.punchHole(offset, length);
      i.mtime = i.ctime = t;
      return;
    }
    // Like tmpfs: no FALLOC_FL_ZERO_RANGE, COLLAPSE_RANGE or INSERT_RANGE.
    if (mode & ~FALLOC_FL_KEEP_SIZE) fail(Errno.EOPNOTSUPP);
    this.reservePages(data.pagesNeeded(offset, length));
    this.usedPages += data.allocate(offset, length);
    if (!(mode & FALLOC_FL_KEEP_SIZE) && offset + length > data.size) data.size = offset + length;
    i.ctime = t;
  }

  lseek(req: RequestOf<"FUSE_LSEEK">): ReplyOf<"FUSE_LSEEK"> {
    const i = this.byHandle(req.header.nodeid, req.lseek_in.fh);
    const offset = Number(req.lseek_in.offset);
    const size = this.size(i);
    let at: number;
    switch (req.lseek_in.whence) {
      case SEEK_SET:
      case SEEK_CUR: // The kernel resolves SEEK_CUR itself; what arrives is absolute.
        at = offset;
        break;
      case SEEK_END:
        at = size + offset;
        break;
      case SEEK_DATA:
        at = i.data ? i.data.seekData(offset) : offset < size ? offset : -1;
        if (at < 0) fail(Errno.ENXIO);
        break;
      case SEEK_HOLE:
        at = i.data ? i.data.seekHole(offset) : offset < size ? size : -1;
        if (at < 0) fail(Errno.ENXIO);
        break;
      default:
        fail(Errno.EINVAL);
    }
    if (at! < 0) fail(Errno.EINVAL);
    return { lseek_out: { offset: BigInt(at!) } };
  }

  /**
   * copy_file_range: at most `limit` bytes, in chunks of COPY_CHUNK with a
   * turn for other requests between them, so a copy of gigabytes never holds
   * up the mount. Holes are copied as zeros (tmpfs's splice fallback does the
   * same, so the destination's block count matches). Stops short at the
   * source's end, on ENOSPC after some progress, or when interrupted.
   */
  private async copyRange(
    req: RequestOf<"FUSE_COPY_FILE_RANGE"> | RequestOf<"FUSE_COPY_FILE_RANGE_64">,
    limit: number,
    ctx: RequestContext | undefined,
  ): Promise<number> {
    const c = req.copy_file_range_in;
    const src = this.byHandle(req.header.nodeid, c.fh_in);
    const dst = this.byHandle(c.nodeid_out, c.fh_out);
    if (!src.data || !dst.data) fail(Errno.EINVAL);
    const offIn = Number(c.off_in);
    const offOut = Number(c.off_out);
    const total = Math.max(0, Math.min(Number(c.len), limit, src.data!.size - offIn));
    if (total === 0) return 0;
    if (!Number.isSafeInteger(offOut + total)) fail(Errno.EFBIG);
    // The kernel refuses overlapping copies within one file before asking us; so do we.
    if (src === dst && offOut < offIn + total && offIn < offOut + total) fail(Errno.EINVAL);
    let done = 0;
    while (done < total) {
      if (done > 0) {
        await yieldTurn();
        if (ctx?.signal.aborted) break;
      }
      // Re-read the state each chunk: other requests ran in between (the source may have shrunk).
      const bytes = src.data!.read(offIn + done, Math.min(COPY_CHUNK, total - done));
      if (bytes.length === 0) break;
      const need = dst.data!.pagesNeeded(offOut + done, bytes.length);
      if (need > 0 && this.usedPages + need > this.capacityPages) {
        if (done === 0) fail(Errno.ENOSPC);
        break;
      }
      this.usedPages += dst.data!.write(offOut + done, bytes);
      done += bytes.length;
    }
    if (done === 0 && ctx?.signal.aborted) fail(Errno.EINTR);
    if (done > 0) dst.mtime = dst.ctime = nowNs();
    return done;
  }

  async copy_file_range(
    req: RequestOf<"FUSE_COPY_FILE_RANGE">,
    ctx?: RequestContext,
  ): Promise<ReplyOf<"FUSE_COPY_FILE_RANGE">> {
    // fuse_write_out.size is 32 bits: copy at most what it can report.
    return { write_out: { size: await this.copyRange(req, 0xfffff000, ctx), padding: 0 } };
  }

  async copy_file_range_64(
    req: RequestOf<"FUSE_COPY_FILE_RANGE_64">,
    ctx?: RequestContext,
  ): Promise<ReplyOf<"FUSE_COPY_FILE_RANGE_64">> {
    return {
      copy_file_range_out: {
        bytes_copied: BigInt(await this.copyRange(req, Number.MAX_SAFE_INTEGER, ctx)),
      },
    };
  }
}
