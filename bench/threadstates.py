#!/usr/bin/env python3
"""Sample the state of every thread of a command while it runs.

    python3 bench/threadstates.py [-i SECONDS] -- CMD [ARG...]

Every few milliseconds it reads /proc/PID/task/TID/stat (and wchan) and
prints, per thread (numbered by creation order: fimscan's walker is 0, then
the writer, then the workers), how often it was running or runnable (R), in
a futex wait (idle: no work, or waiting on a lock), in I/O (D), etc.

This separates two reasons for a wall time above CPU time / cores: workers
that wait on the pipeline (high "S futex") and workers that are ready but
get no CPU because other processes use it (high "R", with the load average
above the core count).  Python standard library only.
"""
import collections
import os
import subprocess
import sys
import time


def main():
    args = sys.argv[1:]
    interval = 0.003
    if args[:1] == ["-i"]:
        interval, args = float(args[1]), args[2:]
    if args[:1] == ["--"]:
        args = args[1:]
    if not args:
        sys.exit(__doc__.strip().split("\n\n")[1])
    p = subprocess.Popen(args, stdout=subprocess.DEVNULL)
    seen = {}                      # tid -> creation index
    states = collections.defaultdict(collections.Counter)
    samples = 0
    while p.poll() is None:
        try:
            tids = sorted(int(t) for t in os.listdir(f"/proc/{p.pid}/task"))
        except OSError:
            break
        for tid in tids:
            base = f"/proc/{p.pid}/task/{tid}"
            try:
                with open(base + "/stat") as f:
                    st = f.read()
                s = st[st.rindex(")") + 2]
                if s == "S":
                    with open(base + "/wchan") as f:
                        w = f.read().strip()
                    s = "S futex" if "futex" in w else f"S {w or '?'}"
            except (OSError, ValueError):
                continue
            seen.setdefault(tid, len(seen))
            states[tid][s] += 1
        samples += 1
        time.sleep(interval)
    p.wait()
    print(f"{samples} samples of {len(seen)} threads, exit {p.returncode}")
    for tid, idx in sorted(seen.items(), key=lambda x: x[1]):
        c = states[tid]
        tot = sum(c.values())
        print(f"  thread {idx}: " + ", ".join(
            f"{k} {100 * v / tot:.0f}%" for k, v in c.most_common(4)))


if __name__ == "__main__":
    main()
