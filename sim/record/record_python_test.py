# record_python_test.py: a script for record_cli_test.sh to run under
# `arenalab record --python`.
#
#   N STATUS        N bytes objects of a distinctive size (1234 bytes of
#                   data: one 1267-byte obj-domain calloc each on 64-bit
#                   CPython 3.11), threads that allocate while others hold
#                   the GIL, a fork, and exit status STATUS
#   closerange FILE closes every descriptor >= 3 (os.closerange), then
#                   writes FILE in 20 lines with allocations between them
#                   (the recorder flushes meanwhile) and checks it holds
#                   exactly those lines: "user file intact" (exit 0) or
#                   "user file CORRUPT" (exit 1)
#   closeall FILE   closes every descriptor, standard ones too, opens FILE
#                   on 0 and puts it on 1 and 2 as well (a daemon's log),
#                   then as closerange, but says nothing: exit 0 when FILE
#                   holds exactly its 20 lines, 1 when not
#   sleep N         N bytes objects, prints "ready PID", sleeps 30 s (the
#                   test interrupts it with SIGINT, or kills the recorder)
#   prodcons N      a producer thread makes N bytes objects of 1234 bytes
#                   of data and a consumer thread drops them, through a
#                   queue.Queue: frees on another thread than the
#                   allocation; prints "consumed N"
import os
import queue
import sys
import threading
import time


def closerange(path):
    os.closerange(3, 65536)
    want = ""
    with open(path, "w") as f:
        for k in range(20):
            line = "user line %d\n" % k
            f.write(line)
            f.flush()
            want += line
            junk = [bytes(1234) for _ in range(2000)]
            del junk
    with open(path) as f:
        ok = f.read() == want
    print("user file intact" if ok else "user file CORRUPT")
    return 0 if ok else 1


def closeall(path):
    os.closerange(0, 65536)
    fd = os.open(path, os.O_RDWR | os.O_CREAT | os.O_TRUNC, 0o644)
    if fd != 0:
        return 2
    os.dup2(fd, 1)
    os.dup2(fd, 2)
    want = b""
    for k in range(20):
        line = b"daemon line %d\n" % k
        os.write(fd, line)
        want += line
        junk = [bytes(1234) for _ in range(2000)]
        del junk
    return 0 if os.pread(fd, len(want) + 256, 0) == want else 1


def sleep(n):
    keep = [bytes(1234) for _ in range(n)]
    print("ready", os.getpid(), flush=True)
    time.sleep(30)
    return len(keep) and 0


def prodcons(n):
    q = queue.Queue(maxsize=64)
    got = []

    def produce():
        for i in range(n):
            q.put(bytes(1233) + bytes([i % 256]))
        q.put(None)

    def consume():
        k = 0
        while q.get() is not None:
            k += 1
        got.append(k)

    threads = [threading.Thread(target=produce), threading.Thread(target=consume)]
    for t in threads:
        t.start()
    for t in threads:
        t.join()
    print("consumed", got[0])
    return 0


def work(k):
    junk = [str(i) * (k + 1) for i in range(2000)]
    return len(junk)


def main(n, status):
    keep = [bytes(1234) for _ in range(n)]
    threads = [threading.Thread(target=work, args=(k,)) for k in range(4)]
    for t in threads:
        t.start()
    for t in threads:
        t.join()

    pid = os.fork()
    if pid == 0:
        more = [bytearray(4321) for _ in range(10)]
        os._exit(len(more) and 0)
    os.waitpid(pid, 0)
    print("python made", len(keep), "objects")
    return status


if sys.argv[1] == "closerange":
    sys.exit(closerange(sys.argv[2]))
if sys.argv[1] == "closeall":
    os._exit(closeall(sys.argv[2]))
elif sys.argv[1] == "prodcons":
    sys.exit(prodcons(int(sys.argv[2])))
elif sys.argv[1] == "sleep":
    sys.exit(sleep(int(sys.argv[2])))
else:
    sys.exit(main(int(sys.argv[1]), int(sys.argv[2])))
