"""One request must not hold up the mount (test/e2e-memfs-stall.test.ts).

Run as `stall.py <root of a memfs mount> [number of SEEK_DATA calls, default 20]`: makes a 16 TiB sparse file with one byte of
data at its end, forks a second process that reads another file again and
again (open, read 1 MiB, close: every open reaches the server, so every read
measures the server's answer, not the page cache), and meanwhile does
SEEK_DATA/SEEK_HOLE on the big file, fallocate of 4 TiB (ENOSPC on a 1 GiB
memfs), a fallocate far past the end, a read in the middle of the hole, and a
copy_file_range of 256 MiB. Prints one JSON object: what each call answered
and how long it took, and the other process's read latencies.
"""
import ctypes
import errno
import json
import os
import sys
import time

TiB = 1 << 40
MiB = 1 << 20
BIG = 16 * TiB
FALLOC_FL_KEEP_SIZE = 1

libc = ctypes.CDLL(None, use_errno=True)
libc.fallocate.argtypes = [ctypes.c_int, ctypes.c_int, ctypes.c_long, ctypes.c_long]


def timed(fn):
    """(result or errno name, milliseconds)."""
    t = time.perf_counter()
    try:
        r = fn()
    except OSError as e:
        r = errno.errorcode.get(e.errno, e.errno)
    return r, (time.perf_counter() - t) * 1000


def fallocate(fd, mode, off, length):
    if libc.fallocate(fd, mode, off, length) < 0:
        e = ctypes.get_errno()
        raise OSError(e, os.strerror(e))
    return 0


os.chdir(sys.argv[1])
payload = bytes(range(256)) * (MiB // 256)
with open("other", "wb") as f:
    f.write(payload)
fd = os.open("big", os.O_CREAT | os.O_RDWR, 0o644)
os.ftruncate(fd, BIG)
os.pwrite(fd, b"x", BIG - 1)

stop_r, stop_w = os.pipe()
ready_r, ready_w = os.pipe()
out_r, out_w = os.pipe()
pid = os.fork()
if pid == 0:
    # The other process: cat "other" until the parent closes its end of the stop pipe.
    os.close(stop_w)
    os.close(ready_r)
    os.close(out_r)
    os.set_blocking(stop_r, False)
    latencies = []
    while True:
        t, began = time.perf_counter(), time.time()
        with open("other", "rb") as f:
            ok = f.read() == payload
        latencies.append(((time.perf_counter() - t) * 1000, ok, began, time.time()))
        if len(latencies) == 3:
            os.write(ready_w, b"r")
        try:
            if os.read(stop_r, 1) == b"":
                break
        except BlockingIOError:
            pass
    os.write(out_w, json.dumps(latencies).encode())
    os.close(out_w)
    os._exit(0)

os.close(stop_r)
os.close(ready_w)
os.close(out_w)
os.read(ready_r, 1)  # the reader is warm

result = {"calls": {}}
calls = result["calls"]
start = time.time()
seeks = [timed(lambda: os.lseek(fd, 0, os.SEEK_DATA)) for _ in range(int(sys.argv[2]) if len(sys.argv) > 2 else 20)]
calls["SEEK_DATA 0"] = {"result": seeks[0][0], "ms": [round(ms, 3) for _, ms in seeks]}
calls["SEEK_HOLE 0"] = dict(zip(("result", "ms"), timed(lambda: os.lseek(fd, 0, os.SEEK_HOLE))))
calls["SEEK_HOLE at the data"] = dict(zip(("result", "ms"), timed(lambda: os.lseek(fd, BIG - 1, os.SEEK_HOLE))))
calls["SEEK_DATA past the data"] = dict(zip(("result", "ms"), timed(lambda: os.lseek(fd, BIG, os.SEEK_DATA))))
calls["fallocate 4 TiB"] = dict(zip(("result", "ms"), timed(lambda: fallocate(fd, 0, 0, 4 * TiB))))
calls["fallocate KEEP_SIZE at 20 TiB"] = dict(zip(("result", "ms"), timed(lambda: fallocate(fd, FALLOC_FL_KEEP_SIZE, 20 * TiB, 4096))))
calls["read 8 bytes at 8 TiB"] = dict(zip(("result", "ms"), timed(lambda: os.pread(fd, 8, 8 * TiB).hex())))
calls["blocks"] = os.fstat(fd).st_blocks
seek_end = time.time()
dst = os.open("copy", os.O_CREAT | os.O_RDWR, 0o644)
calls["copy_file_range 256 MiB"] = dict(zip(("result", "ms"), timed(lambda: os.copy_file_range(fd, dst, 256 * MiB, 8 * TiB, 0))))
copy_end = time.time()
calls["copy size"] = os.fstat(dst).st_size
os.close(dst)
os.close(fd)

os.close(stop_w)
raw = b""
while chunk := os.read(out_r, 1 << 16):
    raw += chunk
os.waitpid(pid, 0)
latencies = json.loads(raw)


def overlapping(lo, hi):
    """Latencies of the reads that were under way at some point in [lo, hi]."""
    return [round(ms, 3) for ms, _, began, ended in latencies if began <= hi and ended >= lo]


result["reads"] = {
    "all_ok": all(ok for _, ok, _, _ in latencies),
    "count": len(latencies),
    "during_seeks": overlapping(start, seek_end),
    "during_copy": overlapping(seek_end, copy_end),
}
print(json.dumps(result))
