"""System calls the shell tools do not reach, with their errno, run in the
root of the filesystem under test (see fs-script.sh): renameat2 flags,
xattr flags and buffer sizes, fallocate modes, SEEK_DATA/SEEK_HOLE,
copy_file_range, O_TMPFILE, utimensat with UTIME_NOW/UTIME_OMIT."""
import ctypes
import errno
import os
import stat

libc = ctypes.CDLL(None, use_errno=True)
AT_FDCWD = -100
RENAME_NOREPLACE, RENAME_EXCHANGE, RENAME_WHITEOUT = 1, 2, 4
FALLOC_FL_KEEP_SIZE, FALLOC_FL_PUNCH_HOLE, FALLOC_FL_ZERO_RANGE = 1, 2, 0x10

libc.fallocate.argtypes = [ctypes.c_int, ctypes.c_int, ctypes.c_long, ctypes.c_long]
libc.getxattr.argtypes = [ctypes.c_char_p, ctypes.c_char_p, ctypes.c_void_p, ctypes.c_size_t]
libc.getxattr.restype = ctypes.c_ssize_t
libc.listxattr.argtypes = [ctypes.c_char_p, ctypes.c_void_p, ctypes.c_size_t]
libc.listxattr.restype = ctypes.c_ssize_t


def show(label, fn):
    try:
        r = fn()
        print(f"{label}: ok{'' if r is None else ' ' + repr(r)}")
    except OSError as e:
        print(f"{label}: {errno.errorcode.get(e.errno, e.errno)}")


def check(r):
    if r < 0:
        e = ctypes.get_errno()
        raise OSError(e, os.strerror(e))
    return r


def renameat2(a, b, flags):
    return check(libc.renameat2(AT_FDCWD, os.fsencode(a), AT_FDCWD, os.fsencode(b), flags))


def fallocate(fd, mode, off, length):
    return check(libc.fallocate(fd, mode, off, length))


def write(path, data):
    with open(path, "wb") as f:
        f.write(data)


def read(path):
    with open(path, "rb") as f:
        return f.read()


def st(path):
    s = os.lstat(path)
    return f"size={s.st_size} blocks={s.st_blocks} links={s.st_nlink} mode={oct(s.st_mode)}"


os.mkdir("py")
os.chdir("py")
write("x", b"X")
write("y", b"Y")
os.mkdir("dx")
os.mkdir("dy")
write("dy/inner", b"inner")

print("-- renameat2")
show("NOREPLACE onto existing", lambda: renameat2("x", "y", RENAME_NOREPLACE))
show("NOREPLACE onto new", lambda: renameat2("x", "x2", RENAME_NOREPLACE))
show("EXCHANGE files", lambda: renameat2("x2", "y", RENAME_EXCHANGE))
print("x2 =", read("x2"), "y =", read("y"))
show("EXCHANGE with missing", lambda: renameat2("x2", "nothere", RENAME_EXCHANGE))
show("EXCHANGE file and dir", lambda: renameat2("x2", "dx", RENAME_EXCHANGE))
print("x2:", st("x2"), "dx:", st("dx"))
show("EXCHANGE dir into other dir", lambda: renameat2("x2", "dy/inner", RENAME_EXCHANGE))
print("dy/inner:", st("dy/inner"), "x2:", st("x2"), "dy:", st("dy"))
show("NOREPLACE|EXCHANGE", lambda: renameat2("x2", "y", RENAME_NOREPLACE | RENAME_EXCHANGE))
show("bad flag", lambda: renameat2("x2", "z", 0x80))
show("dir over non-empty dir", lambda: renameat2("dy/inner", "dy", 0))
show("dir over file", lambda: os.rename("dy/inner", "y"))
show("file over dir", lambda: os.rename("y", "dy/inner"))
show("dir into itself", lambda: os.rename("dy", "dy/inner/deeper"))
os.link("y", "y-link")
show("rename onto own hard link", lambda: os.rename("y", "y-link"))
print("y:", st("y"), "y-link:", st("y-link"))
print(sorted(os.listdir(".")))

print("-- unlink/rmdir/link errors")
show("unlink dir", lambda: os.unlink("dy"))
show("rmdir file", lambda: os.rmdir("y"))
show("rmdir non-empty", lambda: os.rmdir("dy"))
show("link dir", lambda: os.link("dy", "dy2"))
show("mkdir existing", lambda: os.mkdir("y"))
show("open dir for writing", lambda: os.open("dy", os.O_WRONLY))
show("O_CREAT|O_EXCL existing", lambda: os.open("y", os.O_CREAT | os.O_EXCL | os.O_WRONLY))
show("name too long", lambda: os.open("n" * 256, os.O_CREAT | os.O_WRONLY))
show("symlink loop", lambda: (os.symlink("loop", "loop"), os.stat("loop")))
show("not a dir in path", lambda: os.stat("y/z"))

print("-- xattr flags and sizes")
write("xa", b"")
show("CREATE new", lambda: os.setxattr("xa", "user.a", b"1", os.XATTR_CREATE))
show("CREATE existing", lambda: os.setxattr("xa", "user.a", b"2", os.XATTR_CREATE))
show("REPLACE existing", lambda: os.setxattr("xa", "user.a", b"three", os.XATTR_REPLACE))
show("REPLACE missing", lambda: os.setxattr("xa", "user.b", b"2", os.XATTR_REPLACE))
show("get", lambda: os.getxattr("xa", "user.a"))
show("get missing", lambda: os.getxattr("xa", "user.nothere"))
show("size query", lambda: check(libc.getxattr(b"xa", b"user.a", None, 0)))
buf = ctypes.create_string_buffer(64)
show("buffer too small", lambda: check(libc.getxattr(b"xa", b"user.a", buf, 2)))
show("list size query", lambda: check(libc.listxattr(b"xa", None, 0)))
show("list buffer too small", lambda: check(libc.listxattr(b"xa", buf, 3)))
show("list", lambda: sorted(os.listxattr("xa")))
show("remove missing", lambda: os.removexattr("xa", "user.nothere"))
show("name too long", lambda: os.setxattr("xa", "user." + "n" * 251, b"1"))
show("empty value", lambda: (os.setxattr("xa", "user.e", b""), os.getxattr("xa", "user.e"))[1])

print("-- fallocate, SEEK_DATA/SEEK_HOLE, copy_file_range")
fd = os.open("fa", os.O_CREAT | os.O_RDWR, 0o644)
show("posix_fallocate 10000", lambda: os.posix_fallocate(fd, 0, 10000))
print("fa:", st("fa"))
show("SEEK_DATA 0 (reserved only)", lambda: os.lseek(fd, 0, os.SEEK_DATA))
# Reserved ranges never overlap: tmpfs initialises (turns into data) a page
# fallocated twice, a detail of its page cache, not of the interface.
show("keep size", lambda: fallocate(fd, FALLOC_FL_KEEP_SIZE, 32768, 32768))
print("fa:", st("fa"))
os.pwrite(fd, b"D" * 5000, 20000)
print("fa:", st("fa"))
show("SEEK_DATA 0", lambda: os.lseek(fd, 0, os.SEEK_DATA))
show("SEEK_HOLE 0", lambda: os.lseek(fd, 0, os.SEEK_HOLE))
show("SEEK_HOLE 16384", lambda: os.lseek(fd, 16384, os.SEEK_HOLE))
show("SEEK_HOLE 20000", lambda: os.lseek(fd, 20000, os.SEEK_HOLE))
show("SEEK_DATA past end", lambda: os.lseek(fd, 30000, os.SEEK_DATA))
show("punch hole", lambda: fallocate(fd, FALLOC_FL_PUNCH_HOLE | FALLOC_FL_KEEP_SIZE, 20480, 4096))
print("fa:", st("fa"), os.pread(fd, 8, 20476))
show("SEEK_DATA 20480 after punch", lambda: os.lseek(fd, 20480, os.SEEK_DATA))
show("punch without keep size", lambda: fallocate(fd, FALLOC_FL_PUNCH_HOLE, 0, 4096))
show("zero range", lambda: fallocate(fd, FALLOC_FL_ZERO_RANGE, 0, 4096))
show("zero length", lambda: fallocate(fd, 0, 0, 0))
dst = os.open("cfr", os.O_CREAT | os.O_RDWR, 0o644)
show("copy_file_range", lambda: os.copy_file_range(fd, dst, 6000, 19000, 100))
show("copy_file_range past end", lambda: os.copy_file_range(fd, dst, 100, 99999, 0))
print("cfr:", st("cfr"), os.pread(dst, 4, 100 + 999), os.pread(dst, 4, 100 + 1000))
show("copy_file_range same file", lambda: os.copy_file_range(dst, dst, 10, 1100, 0))
print("cfr head:", os.pread(dst, 12, 0))
os.close(dst)
os.close(fd)

print("-- O_TMPFILE")
try:
    tfd = os.open(".", os.O_TMPFILE | os.O_RDWR, 0o600)
    os.write(tfd, b"temporary")
    print("tmpfile links:", os.fstat(tfd).st_nlink, "size:", os.fstat(tfd).st_size)
    show("linkat", lambda: os.link(f"/proc/self/fd/{tfd}", "was-tmp", follow_symlinks=True))
    os.close(tfd)
    print("was-tmp:", st("was-tmp"), read("was-tmp"))
except OSError as e:
    print("O_TMPFILE:", errno.errorcode.get(e.errno, e.errno))

print("-- utimensat")
write("ut", b"")
os.utime("ut", ns=(1_000_000_123, 2_000_000_456))
s = os.stat("ut")
print("atime/mtime ns:", s.st_atime_ns, s.st_mtime_ns)
UTIME_NOW, UTIME_OMIT = (1 << 30) - 1, (1 << 30) - 2


class Timespec(ctypes.Structure):
    _fields_ = [("tv_sec", ctypes.c_long), ("tv_nsec", ctypes.c_long)]


times = (Timespec * 2)(Timespec(0, UTIME_NOW), Timespec(0, UTIME_OMIT))
check(libc.utimensat(AT_FDCWD, b"ut", times, 0))
s2 = os.stat("ut")
print("UTIME_NOW atime moved:", s2.st_atime_ns > s.st_atime_ns, "UTIME_OMIT mtime kept:", s2.st_mtime_ns == s.st_mtime_ns)

print("-- unlinked but open")
fd = os.open("gone", os.O_CREAT | os.O_RDWR, 0o644)
os.write(fd, b"still here")
os.unlink("gone")
print("after unlink:", os.fstat(fd).st_nlink, os.pread(fd, 10, 0), os.path.exists("gone"))
os.close(fd)

print("-- names are bytes: not UTF-8, anything but '/' and NUL")
os.mkdir(b"nb")
LAT, FF, CUT = b"caf\xe9", b"\xff\xfe", b"a\xe2\x82"  # Latin-1, no encoding, truncated UTF-8
for n in (LAT, FF, CUT):
    write(b"nb/" + n, n)
show("mkdir", lambda: os.mkdir(b"nb/dir\xe9"))
print("listdir:", sorted(os.listdir(b"nb")))
print("stat:", st(b"nb/" + LAT), read(b"nb/" + LAT))
show("lookup of a missing one", lambda: os.stat(b"nb/caf\xc3\xa9"))  # UTF-8 "cafe" is another name
show("rename", lambda: os.rename(b"nb/" + LAT, b"nb/\xe9t\xe9"))
show("RENAME_EXCHANGE", lambda: renameat2(b"nb/" + FF, b"nb/" + CUT, RENAME_EXCHANGE))
print("after exchange:", read(b"nb/" + FF), read(b"nb/" + CUT))
show("RENAME_NOREPLACE", lambda: renameat2(b"nb/" + FF, b"nb/" + CUT, RENAME_NOREPLACE))
show("link", lambda: os.link(b"nb/" + FF, b"nb/hard\xff"))
show("symlink", lambda: os.symlink(b"\xff/target\xfe/../caf\xe9", b"nb/sym\xe9"))
show("readlink", lambda: os.readlink(b"nb/sym\xe9"))
show("symlink target of 128+ bytes", lambda: os.symlink(b"\xe9" * 200, b"nb/long\xe9"))
print("long:", st(b"nb/long\xe9"), os.readlink(b"nb/long\xe9") == b"\xe9" * 200)
XN = b"user.\xe9\xff\x01"
show("setxattr", lambda: os.setxattr(b"nb/" + FF, XN, b"\xff\x00\xe9 value"))
show("setxattr CREATE", lambda: os.setxattr(b"nb/" + FF, XN, b"x", os.XATTR_CREATE))
show("setxattr trusted", lambda: os.setxattr(b"nb/" + FF, b"trusted.\xfe", b"t"))
show("getxattr", lambda: os.getxattr(b"nb/" + FF, XN))
show("getxattr of the UTF-8 look-alike", lambda: os.getxattr(b"nb/" + FF, "user.\u00e9\u00ff\x01".encode()))
print("listxattr:", sorted(os.fsencode(n) for n in os.listxattr(b"nb/" + FF)))
show("xattr name of 255 bytes", lambda: os.setxattr(b"nb/" + FF, b"user." + b"\xe9" * 250, b"1"))
show("xattr name of 256 bytes", lambda: os.setxattr(b"nb/" + FF, b"user." + b"\xe9" * 251, b"1"))
show("removexattr", lambda: os.removexattr(b"nb/" + FF, XN))
show("removexattr again", lambda: os.removexattr(b"nb/" + FF, XN))
show("name of 255 bytes", lambda: write(b"nb/" + b"\xff" * 255, b""))
show("name of 256 bytes", lambda: write(b"nb/" + b"\xff" * 256, b""))
show("unlink", lambda: os.unlink(b"nb/" + CUT))
show("unlink missing", lambda: os.unlink(b"nb/" + CUT))
show("rmdir", lambda: os.rmdir(b"nb/dir\xe9"))
print("listdir:", sorted(os.listdir(b"nb")))
for name in sorted(os.listdir(b"nb")):
    print(name, st(b"nb/" + name))

print("-- statvfs")
v = os.statvfs(".")
print("namemax:", v.f_namemax)

print(sorted(os.listdir(".")))
for name in sorted(os.listdir(".")):
    print(name, st(name))
