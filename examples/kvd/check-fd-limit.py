#!/usr/bin/env python3
# SPDX-License-Identifier: MIT
"""check-fd-limit.py KVD: kvd out of file descriptors.

Starts KVD with RLIMIT_NOFILE at 64 and opens 150 connections at once, so
that the acceptor runs out of descriptors with connections still queued.
Checks that:
  - kvd does not spin meanwhile: at most 0.5 s of CPU time over 2 s of
    waiting (before the fix, the level-triggered listen socket kept the
    acceptor at 100% of a core while accept4() failed with EMFILE);
  - every connection is either served (a SET/GET round trip) or closed by
    kvd (EOF or reset), and some of each;
  - once those connections are closed, a new one is served;
  - SIGTERM then ends kvd with status 0 (nothing leaked, no violation).
"""
import os
import resource
import signal
import socket
import sys
import time

import kvdtest

LIMIT = 64
CONNS = 150


def cpu_seconds(pid):
    with open("/proc/%d/stat" % pid) as f:
        fields = f.read().rsplit(")", 1)[1].split()
    # utime and stime: fields 14 and 15 of stat(5), 12 and 13 after the ')'
    return (int(fields[11]) + int(fields[12])) / os.sysconf("SC_CLK_TCK")


def round_trip(s, i):
    """SET then GET on @s: True if served, False if kvd closed it."""
    try:
        s.settimeout(10)
        s.sendall(b"SET fd%d v%d\nGET fd%d\n" % (i, i, i))
        buf = b""
        while buf.count(b"\n") < 2:
            chunk = s.recv(4096)
            if not chunk:
                return False
            buf += chunk
    except (ConnectionResetError, BrokenPipeError):
        return False
    if buf != b"STORED\nVALUE v%d\n" % i:
        sys.exit("FAIL: connection %d got %r" % (i, buf))
    return True


def main():
    kvd = sys.argv[1]

    def limit():
        resource.setrlimit(resource.RLIMIT_NOFILE, (LIMIT, LIMIT))

    proc, port = kvdtest.start([kvd, "-w", "2", "-e", "2"], preexec_fn=limit)

    socks = [socket.create_connection(("127.0.0.1", port)) for _ in range(CONNS)]
    time.sleep(0.5)  # let the acceptor reach its limit
    before = cpu_seconds(proc.pid)
    time.sleep(2.0)
    spent = cpu_seconds(proc.pid) - before
    print("kvd CPU time over 2 s with %d connections at a limit of %d descriptors: %.2f s"
          % (CONNS, LIMIT, spent))
    if spent > 0.5:
        proc.kill()
        sys.exit("FAIL: kvd spins while out of descriptors")

    served = sum(round_trip(s, i) for i, s in enumerate(socks))
    print("served %d, closed by kvd %d" % (served, CONNS - served))
    for s in socks:
        s.close()
    if served == 0 or served == CONNS:
        proc.kill()
        sys.exit("FAIL: expected some connections served and some refused")

    # The descriptors come back as the workers see the closes.
    deadline = time.time() + 30
    while True:
        with socket.create_connection(("127.0.0.1", port)) as s:
            if round_trip(s, CONNS):
                break
        if time.time() > deadline:
            proc.kill()
            sys.exit("FAIL: no connection served after the others closed")
        time.sleep(0.1)

    proc.send_signal(signal.SIGTERM)
    rc = proc.wait(timeout=60)
    if rc != 0:
        sys.exit("FAIL: kvd exited with %d" % rc)
    print("ok")


if __name__ == "__main__":
    main()
