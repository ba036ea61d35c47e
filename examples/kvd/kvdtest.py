# SPDX-License-Identifier: MIT
"""kvdtest.py: what the check-*.py tests of this directory share."""
import os
import subprocess
import sys
import tempfile
import time


def start(argv, **popen_args):
    """Run kvd (argv, without -p and -P) on an ephemeral loopback port.

    Returns (the Popen, the port) once kvd has written its port file;
    exits the test (FAIL) if kvd exits or takes over 60 s to start.
    """
    portfile = os.path.join(tempfile.mkdtemp(), "port")
    proc = subprocess.Popen(argv[:1] + ["-p", "0", "-P", portfile] + argv[1:], **popen_args)
    deadline = time.time() + 60
    while not (os.path.exists(portfile) and os.path.getsize(portfile)):
        if time.time() > deadline or proc.poll() is not None:
            proc.kill()
            sys.exit("FAIL: kvd did not start")
        time.sleep(0.05)
    with open(portfile) as f:
        return proc, int(f.read())


def read_reply(sock):
    """One reply from @sock: the bytes up to a newline, or to EOF."""
    buf = b""
    while not buf.endswith(b"\n"):
        chunk = sock.recv(100)
        if not chunk:
            break
        buf += chunk
    return buf
