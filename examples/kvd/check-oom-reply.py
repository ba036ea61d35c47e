#!/usr/bin/env python3
# SPDX-License-Identifier: MIT
"""check-oom-reply.py KVD SHIM: a request kvd has no memory for.

Runs KVD with SHIM preloaded (failjob.c), which fails the second job
allocation. On one connection: SET a 1, SET a 2 (no memory: answered
"ERROR out of memory" and dropped), GET a, GET a. Each request must get
exactly its own reply, and the failed SET must not have run. Until
2026-11-26 the failed request stayed buffered and ran after its error
reply: the first GET got the SET's late "STORED" and every later reply
was one request behind. SIGTERM then ends kvd with status 0.
"""
import os
import signal
import socket
import sys

import kvdtest


def main():
    kvd, shim = sys.argv[1], os.path.abspath(sys.argv[2])
    env = dict(os.environ)
    env["LD_PRELOAD"] = shim
    env["KVD_FAIL_JOB"] = "2"
    # Under ASan the runtime must come first; the shim is not instrumented.
    env["ASAN_OPTIONS"] = ":".join(filter(None, [env.get("ASAN_OPTIONS"),
                                                 "verify_asan_link_order=0"]))
    proc, port = kvdtest.start([kvd, "-q"], env=env)

    want = [(b"SET a 1\n", b"STORED\n"), (b"SET a 2\n", b"ERROR out of memory\n"),
            (b"GET a\n", b"VALUE 1\n"), (b"GET a\n", b"VALUE 1\n")]
    failed = False
    with socket.create_connection(("127.0.0.1", port)) as s:
        s.settimeout(10)
        for req, reply in want:
            s.sendall(req)
            buf = kvdtest.read_reply(s)
            print("%r -> %r" % (req, buf))
            if buf != reply:
                print("FAIL: expected %r" % reply)
                failed = True
        # Nothing more may come: a late reply would be the old bug.
        s.settimeout(0.5)
        try:
            extra = s.recv(100)
        except socket.timeout:
            extra = b""
        if extra:
            print("FAIL: an extra reply %r" % extra)
            failed = True
    proc.send_signal(signal.SIGTERM)
    rc = proc.wait(timeout=60)
    if failed:
        sys.exit(1)
    if rc != 0:
        sys.exit("FAIL: kvd exited with %d" % rc)
    print("ok")


if __name__ == "__main__":
    main()
