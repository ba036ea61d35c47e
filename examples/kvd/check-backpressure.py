#!/usr/bin/env python3
# SPDX-License-Identifier: MIT
"""check-backpressure.py KVD: more connections at once than the inboxes hold.

Starts KVD with one worker (whose inbox holds 256 connections) and opens
1000 connections without waiting for any, so that the acceptor outruns
the worker. Checks that every connection is served (a GET round trip):
the acceptor must leave connections in the listen backlog while the
inboxes are full. Until 2026-11-26 it accepted them and closed them at
once (143 of 900 lost in one run). SIGTERM then ends kvd with status 0
and a shutdown line that counts no refused connection.
"""
import resource
import signal
import socket
import subprocess
import sys

import kvdtest

CONNS = 1000


def main():
    kvd = sys.argv[1]
    soft, hard = resource.getrlimit(resource.RLIMIT_NOFILE)
    if soft != resource.RLIM_INFINITY and soft < CONNS + 64:
        want = CONNS + 64 if hard == resource.RLIM_INFINITY else min(hard, CONNS + 64)
        resource.setrlimit(resource.RLIMIT_NOFILE, (want, hard))
    proc, port = kvdtest.start([kvd, "-w", "1", "-e", "1", "-q"], stderr=subprocess.PIPE,
                                text=True)

    socks = []
    for _ in range(CONNS):
        s = socket.socket()
        s.setblocking(False)
        try:
            s.connect(("127.0.0.1", port))
        except BlockingIOError:
            pass
        socks.append(s)
    served = 0
    for i, s in enumerate(socks):
        try:
            s.setblocking(True)
            s.settimeout(30)
            s.sendall(b"GET bp%d\n" % i)
            buf = kvdtest.read_reply(s)
        except OSError as e:
            buf = repr(e).encode()
        if buf == b"NOTFOUND\n":
            served += 1
        elif i - served < 5:
            print("connection %d: %r" % (i, buf))
        s.close()
    print("served %d of %d connections opened at once (one worker)" % (served, CONNS))
    proc.send_signal(signal.SIGTERM)
    _, err = proc.communicate(timeout=60)
    sys.stderr.write(err)
    if served != CONNS:
        sys.exit("FAIL: %d connections lost" % (CONNS - served))
    if proc.returncode != 0:
        sys.exit("FAIL: kvd exited with %d" % proc.returncode)
    if "(0 refused)" not in err:
        sys.exit("FAIL: the shutdown line counts refused connections")
    print("ok")


if __name__ == "__main__":
    main()
