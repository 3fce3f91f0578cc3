#!/usr/bin/env python3
"""Run a command and print, every half second, how busy the machine was and what the command did.

    bench/timeline.py [--server-pid PID] -- COMMAND ARGS...

Columns: seconds since start; share of both cores busy (everyone); the command's CPU (100% = one
core); the S3 server's CPU (when --server-pid is given); bytes the command wrote per second; and
the kernel's dirty page-cache memory. It shows where a run idles: for instance, a phase of small
objects that keeps the cores only 70% busy, or a final sync that waits for the disk.
"""
import argparse
import os
import subprocess
import sys
import time

TCK = os.sysconf("SC_CLK_TCK")


def cpu(pid):
    try:
        with open(f"/proc/{pid}/stat") as f:
            fields = f.read().rsplit(")", 1)[1].split()
        return (int(fields[11]) + int(fields[12])) / TCK
    except (OSError, IndexError, ValueError):
        return 0.0


def written(pid):
    try:
        with open(f"/proc/{pid}/io") as f:
            for line in f:
                if line.startswith("wchar"):
                    return int(line.split()[1])
    except OSError:
        pass
    return 0


def machine():
    with open("/proc/stat") as f:
        a = list(map(int, f.readline().split()[1:]))
    return sum(a), a[3] + a[4]


def dirty_mb():
    with open("/proc/meminfo") as f:
        for line in f:
            if line.startswith("Dirty:"):
                return int(line.split()[1]) // 1024
    return 0


def main():
    ap = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawTextHelpFormatter)
    ap.add_argument("--server-pid", type=int, default=0)
    ap.add_argument("--every", type=float, default=0.5)
    ap.add_argument("command", nargs=argparse.REMAINDER)
    a = ap.parse_args()
    cmd = a.command[1:] if a.command[:1] == ["--"] else a.command
    if not cmd:
        ap.error("give the command to run after --")
    p = subprocess.Popen(cmd, stdout=subprocess.DEVNULL)
    t0 = time.time()
    pc, sc, w = cpu(p.pid), cpu(a.server_pid) if a.server_pid else 0.0, 0
    tot, idle = machine()
    print(" time  busy  command  server  written MB/s  dirty MB", flush=True)
    while p.poll() is None:
        time.sleep(a.every)
        c = cpu(p.pid) or pc
        s = cpu(a.server_pid) if a.server_pid else 0.0
        t2, i2 = machine()
        w2 = written(p.pid) or w
        busy = 1 - (i2 - idle) / max(1, t2 - tot)
        print(f"{time.time() - t0:5.1f}  {busy * 100:3.0f}%  {(c - pc) / a.every * 100:6.0f}%  "
              f"{(s - sc) / a.every * 100:5.0f}%  {(w2 - w) / 1e6 / a.every:12.0f}  {dirty_mb():8d}",
              flush=True)
        pc, sc, tot, idle, w = c, s, t2, i2, w2
    print(f"exit {p.returncode} after {time.time() - t0:.2f} s")
    sys.exit(p.returncode)


if __name__ == "__main__":
    main()
