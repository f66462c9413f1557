#!/usr/bin/env python3
"""pty-answer.py - run an interactive program in a pseudo-terminal and
answer its prompts, as an administrator at a terminal would.

    pty-answer.py ANSWERS-FILE PROGRAM [ARG...]

Each time the program's output ends in a prompt ("]> ", as sslconfig's
prompts do) the next line of ANSWERS-FILE is typed, with a newline. What
the terminal shows (the program's output and the echoed answers) is
copied to stdout. Exit status: the program's; 3 when it waits for more
than 30 seconds without a prompt, 4 when a prompt comes with no answer
left or answers are left over at its exit.
"""
import os
import pty
import select
import signal
import sys

PROMPT = b"]> "
WAIT = 30


def main():
    """run the program and answer its prompts"""
    if len(sys.argv) < 3:
        sys.stderr.write("usage: pty-answer.py ANSWERS-FILE PROGRAM [ARG...]\n")
        return 2
    with open(sys.argv[1], encoding="utf-8") as f:
        answers = [line.rstrip("\n") for line in f]
    pid, fd = pty.fork()
    if pid == 0:
        os.execvp(sys.argv[2], sys.argv[2:])
    given = 0
    pending = b""
    status = 0
    while True:
        ready, _, _ = select.select([fd], [], [], WAIT)
        if not ready:
            sys.stderr.write("pty-answer: no prompt for %d seconds\n" % WAIT)
            os.kill(pid, signal.SIGKILL)
            status = 3
            break
        try:
            data = os.read(fd, 4096)
        except OSError:             # EIO: the program closed the terminal
            data = b""
        if not data:
            break
        sys.stdout.buffer.write(data)
        sys.stdout.buffer.flush()
        pending += data
        if pending.endswith(PROMPT):
            if given == len(answers):
                sys.stderr.write("pty-answer: a prompt and no answer left\n")
                os.kill(pid, signal.SIGKILL)
                status = 4
                break
            os.write(fd, answers[given].encode() + b"\n")
            given += 1
            pending = b""
    _, wstatus = os.waitpid(pid, 0)
    if status:
        return status
    if given != len(answers):
        sys.stderr.write("pty-answer: %d answers left over\n" % (len(answers) - given))
        return 4
    return os.waitstatus_to_exitcode(wstatus)


if __name__ == "__main__":
    sys.exit(main())
