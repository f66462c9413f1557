#!/usr/bin/env python3
"""subreaper.py - run a command as a child subreaper: the daemons it
starts (they detach, as README tells an administrator to start them)
become this process's children instead of PID 1's, are reaped when they
exit, and any still running when the command has finished are stopped
by their pids and named.

    subreaper.py COMMAND [ARG...]

Exit status: the command's; 1 when it left daemons running (each gets
SIGTERM, then SIGKILL after 10 seconds).
"""
import ctypes
import os
import signal
import sys
import time

PR_SET_CHILD_SUBREAPER = 36


def children():
    """the pids whose parent is this process (from /proc)"""
    me = os.getpid()
    kids = []
    for name in os.listdir("/proc"):
        if not name.isdigit():
            continue
        try:
            with open("/proc/%s/stat" % name, encoding="ascii", errors="replace") as f:
                stat = f.read()
        except OSError:
            continue
        fields = stat[stat.rfind(")") + 2:].split()
        if int(fields[1]) == me and fields[0] != "Z":
            kids.append(int(name))
    return kids


def reap():
    """collect every child that has exited"""
    while True:
        try:
            pid, _ = os.waitpid(-1, os.WNOHANG)
        except ChildProcessError:
            return
        if pid == 0:
            return


def cmdline(pid):
    """a process's command line, for the message"""
    try:
        with open("/proc/%d/cmdline" % pid, "rb") as f:
            return f.read().replace(b"\0", b" ").decode(errors="replace").strip()
    except OSError:
        return "?"


def main():
    """run the command, reap, stop what it left"""
    if len(sys.argv) < 2:
        sys.stderr.write("usage: subreaper.py COMMAND [ARG...]\n")
        return 2
    if ctypes.CDLL(None, use_errno=True).prctl(PR_SET_CHILD_SUBREAPER, 1, 0, 0, 0) != 0:
        sys.stderr.write("subreaper: prctl: %s\n" % os.strerror(ctypes.get_errno()))
        return 2
    child = os.fork()
    if child == 0:
        os.execvp(sys.argv[1], sys.argv[1:])
    while True:
        pid, wstatus = os.waitpid(-1, 0)
        if pid == child:
            status = os.waitstatus_to_exitcode(wstatus)
            break
    reap()
    left = children()
    had_left = bool(left)
    for pid in left:
        sys.stderr.write("subreaper: left running, stopped: pid %d: %s\n" % (pid, cmdline(pid)))
        os.kill(pid, signal.SIGTERM)
    deadline = time.monotonic() + 10
    while left and time.monotonic() < deadline:
        time.sleep(0.1)
        reap()
        left = children()
    for pid in left:
        os.kill(pid, signal.SIGKILL)
    time.sleep(0.2)
    reap()
    return status if status else (1 if had_left else 0)


if __name__ == "__main__":
    sys.exit(main())
