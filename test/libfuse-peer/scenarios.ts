/**
 * What the libfuse peer tests send. peer_fs starts every session with the same tree
 * (1 "/", 2 "/hello.txt" = "hello, world\n" with user.color=blue, 3 "/dir", 4 "/dir/inner",
 * 5 "/link" -> hello.txt) and numbers new inodes from 6 and file handles from 100, so the
 * inode numbers and handles below follow from the order of the ops.
 */

/* eslint-disable @typescript-eslint/no-explicit-any -- revision modules are imported by path */
type Gen = Record<string, any>;

export const O_RDONLY = 0;
export const O_RDWR = 2;
export const O_CREAT = 0o100;
export const O_EXCL = 0o200;
export const S_IFREG = 0o100000;
export const S_IFIFO = 0o10000;
export const F_RDLCK = 0;
export const F_WRLCK = 1;
export const F_UNLCK = 2;
export const SEEK_DATA = 3;
export const POLLIN = 1;
export const R_OK = 4;
export const W_OK = 2;
export const FATTR_MODE = 1;
export const FATTR_SIZE = 8;
export const FATTR_ATIME = 16;
export const FATTR_MTIME = 32;
export const RENAME_NOREPLACE = 1;
export const RENAME_EXCHANGE = 2;
export const FUSE_LK_FLOCK = 1;
export const FUSE_POLL_SCHEDULE_NOTIFY = 1;
export const PAGE = 4096;
/** ioctl commands peer_fs.c answers. */
export const PEER_IOC_REVERSE = 0x7001;
export const PEER_IOC_NOTIFY = 0x7002;

/** A sub-request for `CompoundBuilder.add` (plus `dependsOn` where the revision has dependencies). */
export type Sub = { op: string; nodeid: bigint; [part: string]: unknown };

const lk = (g: Gen, type: number) => ({
  ...g.zeroFuseFileLock(),
  start: 0n,
  end: 99n,
  type,
  pid: 42,
});

/**
 * Compounds of the ops a compound of RFC v1-v3 may carry that libfuse 7cb226c implements
 * (its builder has 45: all but INIT, CUSE_INIT, DESTROY and the five 7cb226c lacks, whose
 * NULL handler it would call). All succeed: 7cb226c fails a whole compound on the first
 * error (../shared/peers/README.md). A variable-size reply shorter than asked for goes last
 * in its compound, since the RFC kernels step over each sub-reply by the size they asked
 * for (kernel defect `advance-ignores-len`); so does a reply whose payload goes to pages
 * (READ, READLINK, READDIR, READDIRPLUS): the RFC kernels step over its header alone
 * (`outPages` "not-copied"), and would read the next sub-reply inside the payload.
 */
export function baseCompounds(g: Gen): Sub[][] {
  return [
    [
      { op: "FUSE_LOOKUP", nodeid: 1n, name: "hello.txt" },
      { op: "FUSE_GETATTR", nodeid: 2n, getattr_in: g.zeroFuseGetattrIn() },
      { op: "FUSE_OPEN", nodeid: 2n, open_in: { ...g.zeroFuseOpenIn(), flags: O_RDWR } }, // fh 100
      { op: "FUSE_STATFS", nodeid: 1n },
      { op: "FUSE_ACCESS", nodeid: 2n, access_in: { ...g.zeroFuseAccessIn(), mask: R_OK } },
      {
        op: "FUSE_GETXATTR",
        nodeid: 2n,
        getxattr_in: { ...g.zeroFuseGetxattrIn(), size: 0 },
        name: "user.color",
        outSize: 0,
      },
      {
        op: "FUSE_GETXATTR",
        nodeid: 2n,
        getxattr_in: { ...g.zeroFuseGetxattrIn(), size: 4 },
        name: "user.color",
        outSize: 4,
      },
      {
        op: "FUSE_LISTXATTR",
        nodeid: 2n,
        getxattr_in: { ...g.zeroFuseGetxattrIn(), size: 0 },
        outSize: 0,
      },
      {
        op: "FUSE_LISTXATTR",
        nodeid: 2n,
        getxattr_in: { ...g.zeroFuseGetxattrIn(), size: 11 },
        outSize: 11,
      },
      {
        op: "FUSE_FLUSH",
        nodeid: 2n,
        flush_in: { ...g.zeroFuseFlushIn(), fh: 100n, lock_owner: 7n },
      },
      { op: "FUSE_FSYNC", nodeid: 2n, fsync_in: { ...g.zeroFuseFsyncIn(), fh: 100n } },
      {
        op: "FUSE_GETLK",
        nodeid: 2n,
        lk_in: { ...g.zeroFuseLkIn(), fh: 100n, owner: 7n, lk: lk(g, F_WRLCK) },
      },
      {
        op: "FUSE_SETLK",
        nodeid: 2n,
        lk_in: { ...g.zeroFuseLkIn(), fh: 100n, owner: 7n, lk: lk(g, F_WRLCK) },
      },
      {
        op: "FUSE_BMAP",
        nodeid: 2n,
        bmap_in: { ...g.zeroFuseBmapIn(), block: 3n, blocksize: 4096 },
      },
      {
        op: "FUSE_READ",
        nodeid: 2n,
        read_in: { ...g.zeroFuseReadIn(), fh: 100n, size: 13 },
        outSize: 13,
      },
    ],
    [
      {
        op: "FUSE_MKNOD",
        nodeid: 1n,
        mknod_in: { ...g.zeroFuseMknodIn(), mode: S_IFREG | 0o644 },
        name: "node",
      }, // 6
      {
        op: "FUSE_MKDIR",
        nodeid: 1n,
        mkdir_in: { ...g.zeroFuseMkdirIn(), mode: 0o755 },
        name: "sub",
      }, // 7
      { op: "FUSE_SYMLINK", nodeid: 7n, name: "sl", target: "../hello.txt" }, // 8
      {
        op: "FUSE_LINK",
        nodeid: 1n,
        link_in: { ...g.zeroFuseLinkIn(), oldnodeid: 2n },
        newname: "hard",
      },
      {
        op: "FUSE_CREATE",
        nodeid: 7n,
        create_in: { ...g.zeroFuseCreateIn(), flags: O_RDWR | O_CREAT, mode: S_IFREG | 0o600 },
        name: "made",
      }, // 9, fh 101
      {
        op: "FUSE_SETATTR",
        nodeid: 9n,
        setattr_in: {
          ...g.zeroFuseSetattrIn(),
          valid: FATTR_MODE | FATTR_SIZE,
          mode: S_IFREG | 0o640,
          size: 100n,
        },
      },
      {
        op: "FUSE_FALLOCATE",
        nodeid: 9n,
        fallocate_in: { ...g.zeroFuseFallocateIn(), fh: 101n, offset: 0n, length: 200n },
      },
      {
        op: "FUSE_LSEEK",
        nodeid: 9n,
        lseek_in: { ...g.zeroFuseLseekIn(), fh: 101n, offset: 10n, whence: SEEK_DATA },
      },
      {
        op: "FUSE_COPY_FILE_RANGE",
        nodeid: 2n,
        copy_file_range_in: {
          ...g.zeroFuseCopyFileRangeIn(),
          fh_in: 100n,
          off_in: 0n,
          nodeid_out: 9n,
          fh_out: 101n,
          off_out: 0n,
          len: 13n,
        },
      },
      {
        op: "FUSE_RENAME",
        nodeid: 1n,
        rename_in: { ...g.zeroFuseRenameIn(), newdir: 7n },
        oldname: "node",
        newname: "moved",
      },
      {
        op: "FUSE_RENAME2",
        nodeid: 7n,
        rename2_in: { ...g.zeroFuseRename2In(), newdir: 7n, flags: RENAME_NOREPLACE },
        oldname: "moved",
        newname: "moved2",
      },
      { op: "FUSE_POLL", nodeid: 2n, poll_in: { ...g.zeroFusePollIn(), fh: 100n, events: POLLIN } },
      {
        op: "FUSE_SETLKW",
        nodeid: 2n,
        lk_in: { ...g.zeroFuseLkIn(), fh: 100n, owner: 7n, lk: lk(g, F_UNLCK) },
      },
      { op: "FUSE_REMOVEXATTR", nodeid: 2n, name: "user.color" },
      // The kernel names an O_TMPFILE dentry "/".
      {
        op: "FUSE_TMPFILE",
        nodeid: 7n,
        create_in: { ...g.zeroFuseCreateIn(), flags: O_RDWR, mode: S_IFREG | 0o600 },
        name: "/",
      }, // 10, fh 102
      { op: "FUSE_OPENDIR", nodeid: 7n, open_in: g.zeroFuseOpenIn() }, // fh 103
    ],
    [
      { op: "FUSE_FSYNCDIR", nodeid: 7n, fsync_in: { ...g.zeroFuseFsyncIn(), fh: 103n } },
      {
        op: "FUSE_MKDIR",
        nodeid: 1n,
        mkdir_in: { ...g.zeroFuseMkdirIn(), mode: 0o700 },
        name: "gone",
      }, // 11
      { op: "FUSE_RMDIR", nodeid: 1n, name: "gone" },
      { op: "FUSE_UNLINK", nodeid: 1n, name: "hard" },
      { op: "FUSE_RELEASE", nodeid: 2n, release_in: { ...g.zeroFuseReleaseIn(), fh: 100n } },
      { op: "FUSE_RELEASE", nodeid: 10n, release_in: { ...g.zeroFuseReleaseIn(), fh: 102n } },
      {
        op: "FUSE_READDIR",
        nodeid: 7n,
        read_in: { ...g.zeroFuseReadIn(), fh: 103n, size: PAGE },
        outSize: PAGE,
      },
    ],
    [
      {
        op: "FUSE_READDIRPLUS",
        nodeid: 7n,
        read_in: { ...g.zeroFuseReadIn(), fh: 103n, size: PAGE },
        outSize: PAGE,
      },
    ],
    [
      { op: "FUSE_RELEASEDIR", nodeid: 7n, release_in: { ...g.zeroFuseReleaseIn(), fh: 103n } },
      { op: "FUSE_RELEASE", nodeid: 9n, release_in: { ...g.zeroFuseReleaseIn(), fh: 101n } },
      { op: "FUSE_READLINK", nodeid: 5n, outSize: PAGE },
    ],
  ];
}
