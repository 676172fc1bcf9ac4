#!/bin/sh
# bench/watch.sh: figures for `fimscan watch` (issue 4). Not a test.
#
#   latency   event-to-store latency of single writes: a file is written,
#             and the time until its event is in the store (the event table,
#             polled every millisecond through a read-only connection) is
#             taken; median and p99, with the default debounce (300 ms)
#             and with debounce = 0 (what the pipeline itself costs)
#   rate      the create rate the daemon sustains without an overflow:
#             files created (open, write 1 byte, close: 3 events each) at a
#             paced rate for some seconds in a watched directory, for
#             rising rates, inotify and fanotify (default queue sizes);
#             the highest rate with no gap event. The generator shares
#             the CPUs and the filesystem with the daemon, so also: its
#             rate alone, and the drain rate (creates queued while the
#             daemon is stopped, time until all are recorded)
#   memory    the daemon's RSS once ready on trees of 1, 10,000 and 50,000
#             directories, inotify and fanotify (the difference is what
#             the watches cost in user space), and the kernel's unreclaimable
#             slab growth while the inotify watches are in place
#
# Usage: bench/watch.sh [-b FIMSCAN] [-o OUTDIR] [latency|rate|memory ...]
# Run as root (fanotify). Default: a Release build in bench/out/build-watch,
# results in bench/out/watch/ (results.md, results.json).
set -eu
cd "$(dirname "$0")/.."
SRC=$(pwd)
OUT=$SRC/bench/out/watch
BIN=""
while getopts b:o:h opt; do
	case $opt in
	b) BIN=$OPTARG ;;
	o) OUT=$OPTARG ;;
	*) sed -n '2,22p' "$0"; exit 0 ;;
	esac
done
shift $((OPTIND - 1))
[ $# -gt 0 ] || set -- latency rate memory
if [ -z "$BIN" ]; then
	cmake -S "$SRC" -B "$SRC/bench/out/build-watch" \
		-DCMAKE_BUILD_TYPE=Release -DBUILD_TESTING=OFF >/dev/null
	cmake --build "$SRC/bench/out/build-watch" -j2 >/dev/null
	BIN=$SRC/bench/out/build-watch/fimscan
fi
mkdir -p "$OUT"
exec python3 - "$BIN" "$OUT" "$@" <<'PY'
import json, os, signal, sqlite3, statistics, subprocess, sys, time

BIN, OUT, WHAT = sys.argv[1], sys.argv[2], sys.argv[3:]
results = {"fimscan": BIN, "date": time.strftime("%Y-%m-%d"),
           "cpus": os.cpu_count(), "kernel": os.uname().release}

def sh(*a):
    subprocess.run(a, check=True)

def fresh(name):
    d = os.path.join(OUT, name)
    sh("rm", "-rf", d)
    os.makedirs(os.path.join(d, "tree"))
    return d

class Daemon:
    """fimscan watch, waited for through --ready-fd (a pipe)."""
    def __init__(self, work, backend, conf="", extra=()):
        self.work = work
        self.db = os.path.join(work, "store.db")
        cf = os.path.join(work, "w.conf")
        with open(cf, "w") as f:
            f.write("root %s/tree\n%s" % (work, conf))
        r, w = os.pipe()
        env = dict(os.environ, FIMSCAN_DB=self.db)
        self.err = open(os.path.join(work, "watch.err"), "w")
        self.p = subprocess.Popen([BIN, "-c", cf, "watch", "--backend",
                                   backend, "--ready-fd", str(w)] + list(extra),
                                  pass_fds=(w,), stderr=self.err, env=env)
        os.close(w)
        line = b""
        while not line.endswith(b"\n"):
            c = os.read(r, 1)
            if not c:
                raise SystemExit("watch died: see %s/watch.err" % work)
            line += c
        os.close(r)
        assert line == b"READY=1\n", line
    def rss_kb(self):
        for l in open("/proc/%d/status" % self.p.pid):
            if l.startswith("VmRSS:"):
                return int(l.split()[1])
    def stop(self):
        self.p.send_signal(signal.SIGTERM)
        rc = self.p.wait()
        self.err.close()
        assert rc == 0, rc
    def events(self, sql, args=()):
        c = sqlite3.connect("file:%s?mode=ro" % self.db, uri=True)
        try:
            return c.execute(sql, args).fetchall()
        finally:
            c.close()

def pct(v, p):
    v = sorted(v)
    return v[min(len(v) - 1, int(round(p / 100 * (len(v) - 1))))]

# ---- latency ---------------------------------------------------------------
def latency(debounce, n=200):
    work = fresh("latency-%d" % debounce)
    for i in range(100):
        with open(os.path.join(work, "tree", "f%03d" % i), "w") as f:
            f.write("x" * 100)
    d = Daemon(work, "inotify", "debounce = %d\n" % debounce)
    db = sqlite3.connect("file:%s?mode=ro" % d.db, uri=True)
    last = db.execute("SELECT coalesce(max(seq), 0) FROM event").fetchone()[0]
    lat = []
    for i in range(n):
        path = os.path.join(work, "tree", "f%03d" % (i % 100))
        t0 = time.monotonic()
        with open(path, "a") as f:
            f.write("y")
        deadline = t0 + 10
        while True:
            r = db.execute("SELECT max(seq) FROM event WHERE seq > ? AND "
                           "path = ?", (last, path.encode())).fetchone()[0]
            if r:
                lat.append((time.monotonic() - t0) * 1000)
                last = db.execute("SELECT max(seq) FROM event").fetchone()[0]
                break
            if time.monotonic() > deadline:
                raise SystemExit("no event for %s" % path)
            time.sleep(0.001)
    db.close()
    d.stop()
    return {"debounce_ms": debounce, "writes": n,
            "median_ms": round(statistics.median(lat), 1),
            "p99_ms": round(pct(lat, 99), 1), "max_ms": round(max(lat), 1)}

# ---- create rate -----------------------------------------------------------
def generate(base, rate, seconds):
    """Create files at `rate` per second (None: as fast as possible)."""
    t0 = time.monotonic()
    made = 0
    while True:
        el = time.monotonic() - t0
        if el >= seconds:
            break
        due = made + 64 if rate is None else int(el * rate) + 1
        for _ in range(min(due - made, 64)):
            fd = os.open(os.path.join(base, "f%07d" % made),
                         os.O_WRONLY | os.O_CREAT | os.O_EXCL, 0o644)
            os.write(fd, b"x")
            os.close(fd)
            made += 1
    return made, made / (time.monotonic() - t0)

def create_run(backend, rate, seconds=4.0):
    work = fresh("rate-%s-%d" % (backend, rate))
    os.makedirs(os.path.join(work, "tree", "burst"))
    d = Daemon(work, backend)
    base = os.path.join(work, "tree", "burst")
    made, achieved = generate(base, rate, seconds)
    d.stop()
    gaps = d.events("SELECT count(*) FROM event WHERE kind = 1 AND "
                    "action = 'overflow'")[0][0]
    added = d.events("SELECT count(*) FROM event WHERE kind = 0 AND "
                     "action = 'added'")[0][0]
    sh("rm", "-rf", work)
    return {"backend": backend, "target": rate, "achieved": int(achieved),
            "files": made, "overflows": gaps, "added_events": added}

def generator_alone(seconds=4.0):
    work = fresh("rate-alone")
    os.makedirs(os.path.join(work, "tree", "burst"))
    made, achieved = generate(os.path.join(work, "tree", "burst"), None,
                              seconds)
    sh("rm", "-rf", work)
    return int(achieved)

def drain(backend, k=5000):
    """k creates queued while the daemon is stopped (3k events: under the
    default queue of 16384), then the time from SIGCONT until all k are
    events in the store (debounce 0): what the daemon processes per
    second, whatever the generator can do."""
    work = fresh("drain-%s" % backend)
    os.makedirs(os.path.join(work, "tree", "burst"))
    d = Daemon(work, backend, "debounce = 0\n")
    d.p.send_signal(signal.SIGSTOP)
    base = os.path.join(work, "tree", "burst")
    for i in range(k):
        fd = os.open(os.path.join(base, "f%07d" % i),
                     os.O_WRONLY | os.O_CREAT | os.O_EXCL, 0o644)
        os.write(fd, b"x")
        os.close(fd)
    db = sqlite3.connect("file:%s?mode=ro" % d.db, uri=True)
    t0 = time.monotonic()
    d.p.send_signal(signal.SIGCONT)
    while db.execute("SELECT count(*) FROM event WHERE kind = 0 AND "
                     "action = 'added' AND "
                     "instr(CAST(path AS TEXT), '/burst/f') > 0"
                     ).fetchone()[0] < k:
        if time.monotonic() - t0 > 120:
            raise SystemExit("drain: not all recorded")
        time.sleep(0.002)
    dt = time.monotonic() - t0
    db.close()
    d.stop()
    gaps = d.events("SELECT count(*) FROM event WHERE kind = 1")[0][0]
    sh("rm", "-rf", work)
    return {"backend": backend, "files": k, "seconds": round(dt, 3),
            "files_per_s": int(k / dt), "overflows": gaps}

def rate(backend):
    runs, best = [], 0
    for r in (2000, 5000, 10000, 20000, 40000, 80000, 1000000):
        x = create_run(backend, r)
        runs.append(x)
        print("  %s %s" % (backend, x), file=sys.stderr)
        if x["overflows"]:
            break
        best = max(best, x["achieved"])
        if x["achieved"] < 0.9 * r:
            break          # the generator's own limit
    return {"backend": backend, "sustained_files_per_s": best,
            "events_per_file": 3, "runs": runs}

# ---- memory ----------------------------------------------------------------
def slab_kb():
    for l in open("/proc/meminfo"):
        if l.startswith("SUnreclaim:"):
            return int(l.split()[1])

def memory(ndirs, backend):
    work = fresh("mem-%d" % ndirs)
    t = os.path.join(work, "tree")
    for i in range(ndirs - 1):
        os.makedirs(os.path.join(t, "d%03d" % (i // 1000), "e%04d" % i),
                    exist_ok=True)
    sh("find", t, "-xdev", "-type", "d", "-printf", "")   # warm the caches
    dirs = sum(1 for _ in os.walk(t))
    s0 = slab_kb()
    d = Daemon(work, backend)
    rss = d.rss_kb()
    s1 = slab_kb()
    d.stop()
    sh("rm", "-rf", work)
    return {"dirs": dirs, "backend": backend, "rss_kb": rss,
            "slab_kb": s1 - s0}

for w in WHAT:
    if w == "latency":
        results["latency"] = [latency(300), latency(0)]
        print("latency", results["latency"], file=sys.stderr)
    elif w == "rate":
        results["generator_alone"] = generator_alone()
        results["rate"] = [rate("inotify"), rate("fanotify")]
        results["drain"] = [drain("inotify"), drain("fanotify")]
        print("drain", results["drain"], file=sys.stderr)
    elif w == "memory":
        m = []
        for n in (1, 10000, 50000):
            for b in ("inotify", "fanotify"):
                m.append(memory(n, b))
                print("  memory", m[-1], file=sys.stderr)
        results["memory"] = m

json.dump(results, open(os.path.join(OUT, "results.json"), "w"), indent=1)
md = ["# fimscan watch: %s, %d CPUs, Linux %s" %
      (results["date"], results["cpus"], results["kernel"]), ""]
if "latency" in results:
    md += ["| debounce | writes | median | p99 | max |", "|---|---|---|---|---|"]
    md += ["| %d ms | %d | %.1f ms | %.1f ms | %.1f ms |" %
           (x["debounce_ms"], x["writes"], x["median_ms"], x["p99_ms"],
            x["max_ms"]) for x in results["latency"]]
    md.append("")
if "rate" in results:
    md += ["| backend | sustained creates/s (3 events each), no overflow | runs (target: achieved, overflows) |",
           "|---|---|---|"]
    for x in results["rate"]:
        md.append("| %s | %d | %s |" % (x["backend"], x["sustained_files_per_s"],
                  ", ".join("%d: %d, %d" % (r["target"], r["achieved"],
                            r["overflows"]) for r in x["runs"])))
    md.append("")
    md.append("(the generator alone, no daemon: %d creates/s)" %
              results["generator_alone"])
    md.append("")
    md += ["| backend | creates queued while stopped | recorded after SIGCONT in | files/s | overflows |",
           "|---|---|---|---|---|"]
    md += ["| %s | %d | %.2f s | %d | %d |" % (x["backend"], x["files"],
           x["seconds"], x["files_per_s"], x["overflows"])
           for x in results["drain"]]
    md.append("")
if "memory" in results:
    md += ["| directories | backend | RSS when ready | kernel slab growth |",
           "|---|---|---|---|"]
    md += ["| %d | %s | %.1f MB | %.1f MB |" % (x["dirs"], x["backend"],
           x["rss_kb"] / 1024, x["slab_kb"] / 1024) for x in results["memory"]]
    md.append("")
open(os.path.join(OUT, "results.md"), "w").write("\n".join(md))
print("\n".join(md))
PY
