/** The part of fuse-native 2.2.6 (which ships no types) the benchmark uses. */
declare module "fuse-native" {
  export interface Stat {
    mode: number;
    uid: number;
    gid: number;
    size: number;
    nlink: number;
    ino: number;
    blksize: number;
    blocks: number;
    /** Milliseconds since the epoch, or a Date. */
    atime: number | Date;
    mtime: number | Date;
    ctime: number | Date;
  }
  export interface Statfs {
    bsize: number;
    frsize: number;
    blocks: number;
    bfree: number;
    bavail: number;
    files: number;
    ffree: number;
    favail: number;
    fsid: number;
    flag: number;
    namemax: number;
  }
  type Done = (err: number) => void;
  /** Callbacks take 0 or a negative errno first; read and write take the byte count instead. */
  export interface Handlers {
    getattr?(path: string, cb: (err: number, stat?: Stat) => void): void;
    fgetattr?(path: string, fd: number, cb: (err: number, stat?: Stat) => void): void;
    statfs?(path: string, cb: (err: number, statfs?: Statfs) => void): void;
    readdir?(path: string, cb: (err: number, names?: string[]) => void): void;
    open?(path: string, flags: number, cb: (err: number, fd?: number) => void): void;
    create?(path: string, mode: number, cb: (err: number, fd?: number) => void): void;
    read?(
      path: string,
      fd: number,
      buf: Buffer,
      len: number,
      pos: number,
      cb: (bytes: number) => void,
    ): void;
    write?(
      path: string,
      fd: number,
      buf: Buffer,
      len: number,
      pos: number,
      cb: (bytes: number) => void,
    ): void;
    release?(path: string, fd: number, cb: Done): void;
    fsync?(path: string, fd: number, datasync: number, cb: Done): void;
    flush?(path: string, fd: number, cb: Done): void;
    truncate?(path: string, size: number, cb: Done): void;
    ftruncate?(path: string, fd: number, size: number, cb: Done): void;
    utimens?(path: string, atime: number, mtime: number, cb: Done): void;
    chmod?(path: string, mode: number, cb: Done): void;
    chown?(path: string, uid: number, gid: number, cb: Done): void;
    unlink?(path: string, cb: Done): void;
    rename?(src: string, dest: string, cb: Done): void;
    link?(src: string, dest: string, cb: Done): void;
    symlink?(target: string, path: string, cb: Done): void;
    readlink?(path: string, cb: (err: number, target?: string) => void): void;
    mkdir?(path: string, mode: number, cb: Done): void;
    rmdir?(path: string, cb: Done): void;
  }
  export interface Options {
    force?: boolean;
    mkdir?: boolean;
    debug?: boolean;
    fsname?: string;
    /** Per-op timeout in ms, or false for none (default 15 s, then the op fails). */
    timeout?: number | false;
    /** libfuse's default_permissions: the kernel checks permissions from the attributes. */
    defaultPermissions?: boolean;
    /** libfuse's kernel_cache: the page cache of a file is kept over opens. */
    kernelCache?: boolean;
  }
  export default class Fuse {
    constructor(mnt: string, handlers: Handlers, opts?: Options);
    mount(cb: (err: Error | null) => void): void;
    unmount(cb: (err: Error | null) => void): void;
    static ENOENT: number;
    static EEXIST: number;
    static ENOTDIR: number;
    static EISDIR: number;
    static ENOTEMPTY: number;
    static EINVAL: number;
    static EBADF: number;
  }
}
