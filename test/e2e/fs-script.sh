#!/bin/bash
# The same programs, in the same order, on any filesystem: run in the root of
# the filesystem under test, prints what each program says and its exit code.
# test/e2e-memfs.test.ts runs it on memfs and on a fresh tmpfs and compares
# the (normalized) output. Paths are relative so error messages match too.
#
# usage: fs-script.sh <root of the filesystem> <seed file of >= 16 MiB> <dir of fsops.py>
set -u
export LC_ALL=C TZ=UTC
cd "$1" || exit 1
SEED=$2
HERE=$3
LS="ls -la --time-style=full-iso"

step() { echo; echo "## $*"; }
# Runs a command, folding stderr into stdout, and prints its exit code.
run() { "$@" 2>&1; echo "[exit $?]"; }

step "mkdir -p"
run mkdir -p a/b/c d/e/f
run mkdir -p a/b/c
run $LS a a/b

step "write and cat"
printf 'hello\n' > a/hello.txt
printf 'line1\nline2\n' > a/two.txt
run cat a/hello.txt a/two.txt
printf 'more\n' >> a/hello.txt
run cat a/hello.txt

step "dd 16 MiB and sha256sum"
run dd if="$SEED" of=big bs=1M count=16 status=none
run sha256sum big
run dd if=big of=/dev/null bs=64k status=none
run dd if="$SEED" of=big bs=4096 seek=3 count=5 conv=notrunc status=none
run sha256sum big
run stat -c '%n size=%s blocks=%b' big

step "cp"
run cp big big.copy
run cmp big big.copy
run cp -a a a.copy
run sha256sum big.copy a.copy/hello.txt

step "touch -d and times set explicitly"
run touch -d '2001-02-03 04:05:06.123456789' a/hello.txt
run touch -m -d '2012-12-12 12:12:12' a/two.txt
run touch -a -d '2010-10-10 10:10:10' a/two.txt
run touch -a a/two.txt
run stat -c '%n mtime=%y' a/hello.txt a/two.txt
run touch -c nothere
run touch newfile
run stat -c '%n %s %b %F' newfile

step "truncate"
run truncate -s 100000 t1
run truncate -s 5 a/hello.txt
run cat a/hello.txt
echo
run truncate -s 1G sparse
run truncate -s +3 t1
run stat -c '%n size=%s blocks=%b' t1 a/hello.txt sparse
run cp sparse sparse.copy
run stat -c '%n size=%s blocks=%b' sparse.copy
run sha256sum t1

step "ln -s, ln, readlink"
run ln -s hello.txt a/link
run ln -s "$(printf 'x%.0s' $(seq 1 200))" longlink
run ln a/hello.txt a/hard
run ln a/b a/b-hard
run ln -s target a/link
run readlink a/link longlink
run cat a/link
run stat -c '%n links=%h size=%s blocks=%b type=%F' a/hello.txt a/hard a/link longlink

step "mv"
run mv a/hard d/moved
run mv d/e a/e
run mv a/e a/e/f
run mv t1 a/two.txt
run mv -n newfile a/two.txt
run mv newfile d/
run stat -c '%n links=%h' a d d/moved a/hello.txt a/e

step "chmod, chown"
run chmod 4750 a/two.txt
run chmod g+s d
run stat -c '%n %a %A' a/two.txt d
run chown 1234:5678 a/two.txt
run stat -c '%n %u %g %a' a/two.txt
run mkdir d/sub
run touch d/sub-file
run stat -c '%n %a %g' d/sub d/sub-file
run mkfifo fifo
run mknod null2 c 1 3
run stat -c '%n %F %t:%T %a' fifo null2

step "setfattr, getfattr"
run setfattr -n user.color -v blue a/hello.txt
run setfattr -n user.bin -v 0x00ff10 a/hello.txt
run setfattr -n user.empty a/hello.txt
run setfattr -n trusted.t -v 1 a/hello.txt
run setfattr -n user.long -v "$(printf 'v%.0s' $(seq 1 1000))" d
run getfattr -d a/hello.txt
run getfattr -d -m - -e hex a/hello.txt
run getfattr -n user.color --only-values a/hello.txt
echo
run getfattr -n user.missing a/hello.txt
run setfattr -x user.color a/hello.txt
run setfattr -x user.color a/hello.txt
run getfattr -d a/hello.txt d
run setfattr -h -n user.x -v 1 a/link
run setfattr -n bogus.x -v 1 a/hello.txt
run getfattr -d a.copy/hello.txt

step "errors"
run mkdir a
run rmdir a
run rm a
run rmdir a/hello.txt
run cat nothere
run cat a/hello.txt/x
run ln d d2
run mkdir "$(printf 'n%.0s' $(seq 1 256))"
run touch "$(printf 'n%.0s' $(seq 1 255))"
run mv a a/b/c
run rm d
run cp a/hello.txt a/b/c/
run mv a/b/c/hello.txt d
run ls nothere

# Names are bytes: anything but '/' and NUL, UTF-8 or not. od shows the exact
# bytes (the test reads stdout as UTF-8, which would blur invalid sequences).
step "names are bytes, not UTF-8"
bytes() { "$@" 2>&1 | od -An -c; echo "[exit ${PIPESTATUS[0]}]"; }
LAT=$(printf 'caf\351')
FF=$(printf '\377\376')
run mkdir nb "nb/$(printf 'd\351')"
run touch "nb/$LAT" "nb/$FF"
printf 'data\n' > "nb/$(printf 'x\351y')"
bytes ls nb
run cat "nb/$(printf 'x\351y')"
run mv "nb/$LAT" "nb/$(printf '\351t\351')"
run ln -s "$(printf '../\377target\376')" "nb/$(printf 'l\351')"
bytes readlink "nb/$(printf 'l\351')"
run ln "nb/$FF" "nb/$(printf 'h\351')"
run stat -c '%h %s %F' "nb/$FF" "nb/$(printf 'l\351')"
run setfattr -n "user.$(printf '\351\377')" -v 0xff00e9 "nb/$FF"
bytes getfattr -d -m - -e hex "nb/$FF"
run setfattr -x "user.$(printf '\351\377')" "nb/$FF"
run rm "nb/$FF" "nb/$LAT"
run rmdir "nb/$(printf 'd\351')"
run touch "nb/$(printf '\351%.0s' $(seq 1 255))"
run touch "nb/$(printf '\351%.0s' $(seq 1 256))"
bytes ls -la --time-style=+ nb

step "system calls (python)"
if command -v python3 >/dev/null; then
  run python3 "$HERE/fsops.py"
else
  echo "python3 missing"
fi

# find and du list in readdir order, which POSIX leaves open (tmpfs lists the
# newest entry first, memfs the oldest): sorted, so only the contents count.
step "find"
run sh -c "find . -printf '%p %y size=%s links=%n mode=%m\n' | sort"
run sh -c "find . -name '*.txt' -type f | sort"
run find . -type l -lname hello.txt
run sh -c "find . -empty | sort"

step "du"
# -l: count hard-linked files at every name. Plain du counts a file once, at
# the first name it meets, and which name comes first is readdir order again.
run sh -c "du -al . | sort -k2"
run du -s --apparent-size .
run du -s .
run du -sh big

step "ls -laR"
run $LS -R .

step "stat"
for f in . a a/hello.txt a/link fifo big sparse; do run stat "$f"; done

step "rm -r"
run rm -r a.copy d
run rm -r nothere
run rm -rf a/b
run $LS . a

step "sha256sum of everything left"
find . -type f -print0 | sort -z | xargs -0 sha256sum
