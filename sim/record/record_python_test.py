# record_python_test.py: a script for record_cli_test.sh to run under
# `arenalab record --python`: N bytes objects of a distinctive size (1234
# bytes of data: one 1267-byte obj-domain calloc each on 64-bit CPython
# 3.11), threads that allocate while others hold the GIL, a fork, and a
# chosen exit status.  Usage: record_python_test.py N STATUS
import os
import sys
import threading

n, status = int(sys.argv[1]), int(sys.argv[2])
keep = [bytes(1234) for _ in range(n)]


def work(k):
    junk = [str(i) * (k + 1) for i in range(2000)]
    return len(junk)


threads = [threading.Thread(target=work, args=(k,)) for k in range(4)]
for t in threads:
    t.start()
for t in threads:
    t.join()

pid = os.fork()
if pid == 0:
    more = [bytearray(4321) for _ in range(10)]
    os._exit(0)
os.waitpid(pid, 0)
print("python made", len(keep), "objects")
sys.exit(status)
