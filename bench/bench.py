#!/usr/bin/env python3
"""Run fimscan and AIDE side by side on one tree and print a markdown table.

Called by bench/run.sh (which installs the tools and builds fimscan); see
bench/README.md.  Python standard library only.

    python3 bench/bench.py --fimscan bench/out/build/fimscan --tree /usr

One run = hashing limit (openssl speed) -> tree statistics -> warm the page
cache (one untimed read of every file) -> reference walks (find, cat) ->
N repetitions, each running every step once, alternating the tools ->
table of medians.  Everything a step printed goes to WORK/logs/; the
results also go to WORK/results.json and WORK/results.md.

To add a measurement (issue 6: more trees, a 1%-changed tree, cold cache),
add a step to steps_for() and a row to table_rows(); the rest is generic.
"""
import argparse
import datetime
import json
import os
import platform
import re
import shlex
import shutil
import sqlite3
import statistics
import subprocess
import sys
import time

RULE = "p+i+n+u+g+s+m+c+sha256"
TIME = "/usr/bin/time"
KB16 = 16 * 1024


def log(msg):
    print(f"bench: {msg}", file=sys.stderr, flush=True)


def die(msg):
    log(f"error: {msg}")
    sys.exit(1)


# ---------------------------------------------------------------- running

class Bench:
    def __init__(self, a):
        self.a = a
        self.work = os.path.abspath(a.work)
        self.logs = os.path.join(self.work, "logs")
        self.tree = os.path.abspath(a.tree)
        self.fim = os.path.abspath(a.fimscan)
        self.ncpu = os.cpu_count() or 1
        self.runs = []           # every timed run, in order
        self.commands = {}       # step -> the exact command line
        self.env = {k: v for k, v in os.environ.items()
                    if k not in ("FIMSCAN_CONFIG", "FIMSCAN_DB")}
        self.env["LC_ALL"] = "C"

    def path(self, *p):
        return os.path.join(self.work, *p)

    def timed(self, step, rep, cmd, ok=range(0, 16)):
        """Run cmd under GNU time; return wall, user, sys, rss, rc."""
        out = os.path.join(self.logs, f"{step}.{rep}.out")
        tf = os.path.join(self.logs, f"{step}.{rep}.time")
        self.commands.setdefault(step, shlex.join(cmd))
        with open(out, "wb") as f:
            p = subprocess.run([TIME, "-f", "%e %U %S %M", "-o", tf, "--"]
                               + cmd, stdout=f, stderr=subprocess.STDOUT,
                               env=self.env)
        with open(tf) as f:
            last = f.read().strip().splitlines()[-1].split()
        if p.returncode not in ok:
            with open(out, errors="replace") as f:
                tail = f.read()[-2000:]
            die(f"{step} (rep {rep}) exited {p.returncode}: "
                f"{shlex.join(cmd)}\n{tail}")
        r = {"step": step, "rep": rep, "wall": float(last[0]),
             "user": float(last[1]), "sys": float(last[2]),
             "rss_kb": int(last[3]), "rc": p.returncode, "out": out}
        r["cpu"] = r["user"] + r["sys"]
        self.runs.append(r)
        log(f"  rep {rep + 1} {step:<18} {r['wall']:7.2f} s wall "
            f"{r['cpu']:7.2f} s cpu {r['rss_kb'] / 1024:7.1f} MB rss"
            f"  rc {p.returncode}")
        return r

    # ------------------------------------------------------------ machine

    def machine(self):
        cpu = "?"
        with open("/proc/cpuinfo") as f:
            for line in f:
                if line.startswith("model name"):
                    cpu = line.split(":", 1)[1].strip()
                    break
        commit = self.a.commit or self.source_commit()
        mem = 0
        with open("/proc/meminfo") as f:
            for line in f:
                if line.startswith("MemTotal:"):
                    mem = int(line.split()[1]) // 1024
        aide_v = "-"
        if shutil.which("aide"):
            p = subprocess.run(["aide", "--version"], capture_output=True,
                               text=True)
            aide_v = (p.stdout or p.stderr).split("\n")[0].strip()
        fim_v = subprocess.run([self.fim, "--version"], capture_output=True,
                               text=True).stdout.strip()
        return {"date": datetime.datetime.now(datetime.timezone.utc)
                .strftime("%Y-%m-%d %H:%M UTC"),
                "nproc": self.ncpu, "cpu": cpu, "mem_mb": mem,
                "kernel": platform.release(), "commit": commit,
                "fimscan": fim_v, "aide": aide_v,
                "loadavg_start": open("/proc/loadavg").read().split()[:3]}

    @staticmethod
    def source_commit():
        """HEAD of the checkout bench/ is in, and whether the sources
        outside bench/ differ from it (run.sh --rev avoids that)."""
        src = os.path.dirname(os.path.dirname(os.path.abspath(__file__)))
        try:
            commit = subprocess.run(
                ["git", "-C", src, "rev-parse", "--short", "HEAD"],
                capture_output=True, text=True, check=True).stdout.strip()
        except (OSError, subprocess.CalledProcessError):
            return "uncommitted"
        dirty = subprocess.run(
            ["git", "-C", src, "status", "--porcelain", "--", ".",
             ":!bench"], capture_output=True, text=True).stdout
        return commit + (" plus uncommitted changes" if dirty.strip()
                         else "")

    def hash_limit(self):
        """OpenSSL SHA-256 speed on 16 KiB blocks, one process, times the
        number of CPUs (the definition in issue 6); and, for information,
        the measured speed of one process per CPU at once (-multi)."""
        def speed(multi):
            cmd = ["openssl", "speed"] + (["-multi", str(multi)] if multi
                                          else []) + \
                  ["-evp", "sha256", "-bytes", "16384", "-seconds",
                   str(self.a.openssl_seconds)]
            out = subprocess.run(cmd, capture_output=True, text=True).stdout
            m = re.findall(r"^sha256\s+([\d.]+)k", out, re.M)
            if not m:
                die(f"cannot parse: {shlex.join(cmd)}\n{out[-500:]}")
            return float(m[-1]) * 1000
        one = speed(0)
        multi = speed(self.ncpu) if self.ncpu > 1 else one
        return {"per_core": one, "cores": self.ncpu,
                "limit": one * self.ncpu, "multi": multi,
                "command": "openssl speed -evp sha256 -bytes 16384 -seconds "
                           f"{self.a.openssl_seconds}"}

    # ------------------------------------------------------------- tree

    def tree_stats(self):
        """Entries (the root included), regular files and their bytes, on
        the root's file system only, as fimscan's one-filesystem default
        and AIDE (no mount points under /usr) see it."""
        root_dev = os.lstat(self.tree).st_dev
        entries, files, size, dirs = 1, 0, 0, 0
        stack = [self.tree]
        while stack:
            d = stack.pop()
            try:
                it = os.scandir(d)
            except OSError:
                continue
            with it:
                for e in it:
                    st = e.stat(follow_symlinks=False)
                    entries += 1
                    if e.is_dir(follow_symlinks=False):
                        dirs += 1
                        if st.st_dev == root_dev:
                            stack.append(e.path)
                    elif e.is_file(follow_symlinks=False):
                        files += 1
                        size += st.st_size
        return {"path": self.tree, "entries": entries, "files": files,
                "dirs": dirs + 1, "bytes": size}

    def warm(self):
        q = shlex.quote(self.tree)
        cmd = (f"find {q} -xdev -type f -print0 | "
               f"xargs -0 -r -P {self.ncpu} -n 512 cat > /dev/null")
        t = time.monotonic()
        subprocess.run(["sh", "-c", cmd], env=self.env,
                       stderr=subprocess.DEVNULL)
        return {"command": cmd, "seconds": round(time.monotonic() - t, 2)}

    def references(self):
        """The floor for any scanner: a full-stat walk and a parallel read
        of every file (warm cache), with hyperfine when it is there."""
        q = shlex.quote(self.tree)
        refs = {
            "find_stat": f"find {q} -xdev -printf '%i %m %n %U %G %s %T@ "
                         f"%C@ %l\\n' > /dev/null",
            "cat_parallel": f"find {q} -xdev -type f -print0 | xargs -0 -r "
                            f"-P {self.ncpu} -n 512 cat > /dev/null",
        }
        res = {}
        for name, cmd in refs.items():
            if shutil.which("hyperfine"):
                js = os.path.join(self.logs, f"ref-{name}.json")
                with open(os.path.join(self.logs, f"ref-{name}.out"), "w") as f:
                    subprocess.run(["hyperfine", "--style", "basic", "-i",
                                    "--runs", str(self.a.ref_runs),
                                    "--export-json", js, cmd],
                                   stdout=f, stderr=subprocess.STDOUT,
                                   env=self.env, check=True)
                with open(js) as f:
                    h = json.load(f)["results"][0]
                res[name] = {"command": cmd, "median": h["median"],
                             "runs": self.a.ref_runs,
                             "cpu": h["user"] + h["system"]}  # means
            else:
                t = time.monotonic()
                subprocess.run(["sh", "-c", cmd], env=self.env,
                               stderr=subprocess.DEVNULL)
                res[name] = {"command": cmd,
                             "median": time.monotonic() - t, "cpu": None}
            log(f"  {name}: {res[name]['median']:.2f} s")
        return res

    # ------------------------------------------------------------ configs

    def write_configs(self):
        os.makedirs(self.path("aide"), exist_ok=True)
        os.makedirs(self.path("fimscan"), exist_ok=True)
        if re.search(r"\s", self.tree):
            die("AIDE cannot take a tree path with white space")
        rx = re.sub(r"([.^$*+?()\[\]{}|\\])", r"\\\1", self.tree)
        self.aide_conf = self.path("aide", "aide.conf")
        self.aide_db = self.path("aide", "aide.db")
        self.aide_new = self.path("aide", "aide.db.new")
        with open(self.aide_conf, "w") as f:
            f.write(f"""# generated by bench/bench.py
database_in=file:{self.aide_db}
database_out=file:{self.aide_new}
gzip_dbout=no
num_workers={self.a.aide_workers}
report_url=file:{self.path("aide", "report.txt")}
log_level=warning
BENCH = {RULE}
{rx}$ BENCH
{rx}/ BENCH
""")
        self.fim_db = self.path("fimscan", "fimscan.db")
        common = ("# generated by bench/bench.py\n"
                  "hashes = sha256\nthreads = 0\none-filesystem = yes\n")
        self.fim_conf = self.path("fimscan", "all.conf")
        self.fim_conf_changed = self.path("fimscan", "changed.conf")
        with open(self.fim_conf, "w") as f:
            f.write(common + "rehash = all\n")
        with open(self.fim_conf_changed, "w") as f:
            f.write(common + "rehash = changed\n")
        for c in (self.fim_conf, self.fim_conf_changed, self.aide_conf):
            os.chmod(c, 0o644)

    def fimcmd(self, conf, *args):
        return [self.fim, "-c", conf, "--db", self.fim_db] + list(args)

    def store_bytes(self):
        return sum(os.path.getsize(self.fim_db + s)
                   for s in ("", "-wal", "-shm")
                   if os.path.exists(self.fim_db + s))

    def store_used(self):
        """Bytes in pages the store uses (page_count - freelist_count):
        what the file size would be without reusable free pages.  Opened
        immutable, so nothing is created or locked; no writer runs now."""
        try:
            c = sqlite3.connect(f"file:{self.fim_db}?immutable=1", uri=True)
            try:
                q = lambda p: c.execute(f"PRAGMA {p}").fetchone()[0]
                return (q("page_count") - q("freelist_count")) * q("page_size")
            finally:
                c.close()
        except sqlite3.Error as e:
            log(f"cannot read the store's page counts: {e}")
            return None

    def fim_log(self):
        out = subprocess.run(self.fimcmd(self.fim_conf, "log", "--format",
                                         "json"), capture_output=True,
                             text=True, env=self.env, check=True).stdout
        return json.loads(out)["snapshots"]

    def fim_entries(self):
        snaps = self.fim_log()
        base = [s for s in snaps if s.get("baseline")] or snaps[:1]
        return base[-1]["entries"], base[-1].get("bytes_hashed")

    def aide_entries(self, db):
        n = 0
        with open(db, "rb") as f:
            for line in f:
                if line.strip() and not line.startswith((b"@@", b"#")):
                    n += 1
        return n

    # -------------------------------------------------------------- steps

    def steps_for(self, rep):
        """The steps of one repetition, in order.  AIDE and fimscan
        alternate; odd repetitions start with fimscan, so that a drift in
        the machine's load does not always favour the same tool."""
        aide = not self.a.no_aide and rep < self.a.aide_reps
        check = not self.a.no_aide and rep < self.a.aide_check_reps
        fim_first = rep % 2 == 1
        a1 = [self.aide_init] if aide else []
        a2 = [self.aide_check] if check else []
        f1 = [self.fim_baseline]
        f2 = [self.fim_scan, self.fim_scan_changed]
        return (f1 + a1 + f2 + a2) if fim_first else (a1 + f1 + a2 + f2)

    def aide_init(self, rep):
        for p in (self.aide_new,):
            if os.path.exists(p):
                os.unlink(p)
        r = self.timed("aide_init", rep, ["aide", "--init", "-c",
                                          self.aide_conf], ok=(0,))
        os.replace(self.aide_new, self.aide_db)
        r["db_bytes"] = os.path.getsize(self.aide_db)
        r["entries"] = self.aide_entries(self.aide_db)

    def aide_check(self, rep):
        # 0: no change; 1|2|4: changes (the tree moved under us): still a
        # valid timing, and the table says so; 14 and up: errors.
        self.timed("aide_check", rep, ["aide", "--check", "-c",
                                       self.aide_conf], ok=range(0, 8))

    def fim_baseline(self, rep):
        for s in ("", "-wal", "-shm"):
            if os.path.exists(self.fim_db + s):
                os.unlink(self.fim_db + s)
        r = self.timed("fim_baseline", rep,
                       self.fimcmd(self.fim_conf, "baseline", self.tree),
                       ok=(0, 8))
        r["store_bytes"] = self.store_bytes()
        r["store_used"] = self.store_used()
        r["entries"], r["bytes_hashed"] = self.fim_entries()

    def fim_scan(self, rep, step="fim_scan", conf=None):
        before, used = self.store_bytes(), self.store_used()
        r = self.timed(step, rep, self.fimcmd(conf or self.fim_conf, "scan",
                                              self.tree))
        r["store_bytes"] = self.store_bytes()
        r["growth"] = r["store_bytes"] - before
        r["store_used"] = self.store_used()
        if used is not None and r["store_used"] is not None:
            r["growth_used"] = r["store_used"] - used
        r["bytes_hashed"] = self.fim_log()[-1].get("bytes_hashed")

    def fim_scan_changed(self, rep):
        self.fim_scan(rep, "fim_scan_changed", self.fim_conf_changed)

    def growth_series(self):
        """K more unchanged rescans (rehash = changed, cheap) of the last
        store: the mean growth per rescan, free of the page quantization
        that makes a single rescan read 0 or 4096 bytes."""
        k = self.a.growth_scans
        b0, u0 = self.store_bytes(), self.store_used()
        for i in range(k):
            subprocess.run(self.fimcmd(self.fim_conf_changed, "scan",
                                       self.tree), env=self.env,
                           stdout=subprocess.DEVNULL, check=False)
        b1, u1 = self.store_bytes(), self.store_used()
        return {"scans": k, "bytes": b1 - b0,
                "used": None if u0 is None or u1 is None else u1 - u0,
                "snapshots": len(self.fim_log())}

    def run(self):
        os.makedirs(self.logs, exist_ok=True)
        self.res = {"machine": self.machine()}
        log(f"fimscan {self.res['machine']['fimscan']}, "
            f"{self.res['machine']['aide']}, {self.ncpu} CPUs")
        self.write_configs()
        log("hashing limit (openssl speed)")
        self.res["limit"] = self.hash_limit()
        log("tree statistics")
        self.res["tree"] = self.tree_stats()
        t = self.res["tree"]
        log(f"  {t['entries']:,} entries, {t['files']:,} files, "
            f"{t['bytes'] / 1e9:.2f} GB")
        log("warming the page cache (one untimed read of every file)")
        self.res["warm"] = self.warm()
        if not self.a.no_refs:
            log("reference walks")
            self.res["refs"] = self.references()
        for rep in range(self.a.reps):
            log(f"repetition {rep + 1} of {self.a.reps}")
            for step in self.steps_for(rep):
                step(rep)
        if self.a.growth_scans:
            log(f"{self.a.growth_scans} more unchanged rescans "
                "(rehash = changed) for the mean store growth")
            self.res["growth_series"] = self.growth_series()
        self.res["machine"]["loadavg_end"] = \
            open("/proc/loadavg").read().split()[:3]
        self.res["runs"] = self.runs
        self.res["commands"] = self.commands
        self.res["configs"] = {
            "aide.conf": open(self.aide_conf).read(),
            "fimscan all.conf": open(self.fim_conf).read(),
            "fimscan changed.conf": open(self.fim_conf_changed).read()}
        self.res["reps"] = {
            "fimscan": self.a.reps,
            "aide": 0 if self.a.no_aide else min(self.a.aide_reps,
                                                 self.a.reps),
            "aide_check": 0 if self.a.no_aide else
            min(self.a.aide_check_reps, self.a.reps)}
        return self.res


# ---------------------------------------------------------------- report

def med(runs, step, field):
    v = [r[field] for r in runs if r["step"] == step and field in r]
    return statistics.median(v) if v else None


def worst(runs, step, field):
    v = [r[field] for r in runs if r["step"] == step and field in r]
    return max(v) if v else None


def fmt(v, unit="", nd=2):
    if v is None:
        return "-"
    if isinstance(v, int) or nd == 0:
        return f"{round(v):,}{unit}"
    return f"{v:,.{nd}f}{unit}"


def table_rows(res):
    """(measure, fimscan, AIDE, AIDE/fimscan, target, result) rows."""
    R = res["runs"]
    t = res["tree"]
    lim_s = t["bytes"] / res["limit"]["limit"]
    rows = []

    def ratio(a, f):
        return f"{a / f:.1f}x" if a is not None and f else "-"

    def verdict(ok):
        return "-" if ok is None else ("**pass**" if ok else "**FAIL**")

    def triple(label, fstep, astep, field, scale=1.0, unit=" s", nd=2,
               target="", need=None):
        f, a = med(R, fstep, field), med(R, astep, field) if astep else None
        f = f * scale if f is not None else None
        a = a * scale if a is not None else None
        ok = None
        if need is not None and f is not None:
            ok = need(f, a)
        rows.append((label, fmt(f, unit, nd), fmt(a, unit, nd),
                     ratio(a, f), target, verdict(ok)))

    triple("baseline / --init: wall", "fim_baseline", "aide_init", "wall",
           target=">= 3x faster than AIDE (#2); >= 5x (#6)",
           need=lambda f, a: None if a is None else a / f >= 3)
    triple("baseline / --init: CPU user+sys", "fim_baseline", "aide_init",
           "cpu")
    triple("baseline / --init: peak RSS", "fim_baseline", "aide_init",
           "rss_kb", 1 / 1024, " MB", 1)
    fb = med(R, "fim_baseline", "wall")
    ab = med(R, "aide_init", "wall")
    rows.append(("baseline wall / hashing limit",
                 f"{fb / lim_s:.2f}x" if fb else "-",
                 f"{ab / lim_s:.2f}x" if ab else "-", "-",
                 "<= 1.5x (#6, for /usr)",
                 verdict(fb / lim_s <= 1.5 if fb and t["path"] == "/usr"
                         else None)))
    triple("unchanged scan, full re-hash / --check: wall", "fim_scan",
           "aide_check", "wall", target=">= 10x faster than AIDE (#6)",
           need=lambda f, a: None if a is None else a / f >= 10)
    triple("unchanged scan / --check: CPU user+sys", "fim_scan",
           "aide_check", "cpu")
    triple("unchanged scan / --check: peak RSS", "fim_scan", "aide_check",
           "rss_kb", 1 / 1024, " MB", 1)
    triple("unchanged scan, `rehash = changed`: wall", "fim_scan_changed",
           None, "wall", target="<= 1 s (#6)", need=lambda f, a: f <= 1.0)
    triple("unchanged scan, `rehash = changed`: peak RSS",
           "fim_scan_changed", None, "rss_kb", 1 / 1024, " MB", 1)
    fe, ae = med(R, "fim_baseline", "entries"), med(R, "aide_init", "entries")
    fs, adb = med(R, "fim_baseline", "store_bytes"), \
        med(R, "aide_init", "db_bytes")
    fpe = fs / fe if fs and fe else None
    ape = adb / ae if adb and ae else None
    rows.append(("store after baseline: bytes per entry",
                 fmt(fpe, "", 1), fmt(ape, "", 1), ratio(ape, fpe),
                 "<= 160 (#2, #6)",
                 verdict(fpe <= 160 if fpe else None)))
    rows.append(("store after baseline: total",
                 fmt(fs / 1e6 if fs else None, " MB", 1),
                 fmt(adb / 1e6 if adb else None, " MB", 1),
                 ratio(adb, fs), "", "-"))
    rows.append(("entries in the store", fmt(fe, "", 0), fmt(ae, "", 0),
                 "-", f"tree: {t['entries']:,}", "-"))
    for step, label in (("fim_scan", "full re-hash"),
                        ("fim_scan_changed", "`rehash = changed`")):
        g = worst(R, step, "growth")
        gu = worst(R, step, "growth_used")
        shown = fmt(g, " B", 0)
        if gu is not None:
            shown += f" (pages in use: {gu:+,} B)"
        ok = None if g is None else g <= KB16 and (gu is None or gu <= KB16)
        rows.append((f"store growth, unchanged rescan ({label}), worst rep",
                     shown, "-", "-", "<= 16,384 B (#2, #6)", verdict(ok)))
    gs = res.get("growth_series")
    if gs and gs["scans"]:
        per = gs["bytes"] / gs["scans"]
        shown = f"{per:,.0f} B"
        if gs["used"] is not None:
            shown += f" (pages in use: {gs['used'] / gs['scans']:+,.0f} B)"
        ok = per <= KB16 and (gs["used"] is None or
                              gs["used"] / gs["scans"] <= KB16)
        rows.append((f"store growth per unchanged rescan, mean of "
                     f"{gs['scans']} more (`rehash = changed`)", shown, "-",
                     "-", "<= 16,384 B (#2, #6)", verdict(ok)))
    return rows, lim_s


def markdown(res):
    m, t, L = res["machine"], res["tree"], res["limit"]
    rows, lim_s = table_rows(res)
    reps = res["reps"]
    o = []
    o.append(f"### {t['path']}: {t['entries']:,} entries, {t['files']:,} "
             f"regular files, {t['bytes'] / 1e9:.2f} GB; warm page cache; "
             f"medians of {reps['fimscan']} fimscan repetitions, "
             f"{reps['aide']} of `aide --init` and "
             f"{reps.get('aide_check', reps['aide'])} of `aide --check`\n")
    o.append("| measure | fimscan | AIDE | AIDE / fimscan | target | result |")
    o.append("|---|---:|---:|---:|---|---|")
    for r in rows:
        o.append("| " + " | ".join(str(c) for c in r) + " |")
    o.append("")
    fb = med(res["runs"], "fim_baseline", "wall")
    o.append(f"- Hashing limit: OpenSSL SHA-256 {L['per_core'] / 1e9:.2f} GB/s"
             f" per core x {L['cores']} = {L['limit'] / 1e9:.2f} GB/s, so "
             f"{t['bytes'] / 1e9:.2f} GB need **{lim_s:.2f} s**; fimscan's "
             f"baseline takes **{fb / lim_s:.2f}x** that. "
             f"(`openssl speed -multi {L['cores']}`, all cores at once on "
             f"this shared machine: {L['multi'] / 1e9:.2f} GB/s, "
             f"{t['bytes'] / L['multi']:.2f} s.)")
    refs = res.get("refs")
    if refs:
        o.append(f"- Floors (warm cache, median): full-stat `find`: "
                 f"{refs['find_stat']['median']:.2f} s; reading every file "
                 f"with {m['nproc']} parallel `cat`: "
                 f"{refs['cat_parallel']['median']:.2f} s.")
    changed = [r for r in res["runs"] if r["rc"] and r["step"] in
               ("aide_check", "fim_scan", "fim_scan_changed")]
    if changed:
        o.append("- **Note:** " + ", ".join(
            f"{r['step']} rep {r['rep'] + 1} exited {r['rc']}"
            for r in changed) + ": the tree changed during the run, or "
            "entries could not be read (see WORK/logs).")
    o.append(f"- Page cache warmed first by one untimed read of every file "
             f"({res['warm']['seconds']} s).  Load average "
             f"{' '.join(m['loadavg_start'])} at the start, "
             f"{' '.join(m['loadavg_end'])} at the end.")
    o.append(f"- Machine: {m['nproc']} x {m['cpu']}, {m['mem_mb']:,} MB, "
             f"Linux {m['kernel']}; {m['fimscan']} ({m['commit']}); "
             f"{m['aide']}; {m['date']}.")
    o.append("")
    o.append("<details><summary>every run</summary>\n")
    o.append("| rep | step | wall s | user s | sys s | peak RSS MB | exit "
             "| store/db bytes | growth B | in-use growth B | hashed GB |")
    o.append("|---:|---|---:|---:|---:|---:|---:|---:|---:|---:|---:|")
    for r in res["runs"]:
        sz = r.get("store_bytes", r.get("db_bytes"))
        o.append(f"| {r['rep'] + 1} | {r['step']} | {r['wall']:.2f} | "
                 f"{r['user']:.2f} | {r['sys']:.2f} | "
                 f"{r['rss_kb'] / 1024:.1f} | {r['rc']} | "
                 f"{fmt(sz, '', 0)} | {fmt(r.get('growth'), '', 0)} | "
                 f"{fmt(r.get('growth_used'), '', 0)} | "
                 f"{fmt(r['bytes_hashed'] / 1e9 if r.get('bytes_hashed') is not None else None, '', 3)} |")
    o.append("\n</details>\n")
    o.append("<details><summary>commands and configs</summary>\n")
    o.append("Each timed command ran as `/usr/bin/time -f '%e %U %S %M' -- "
             "CMD`.  Before each `fimscan baseline` the store was deleted; "
             "`aide --init` writes `aide.db.new`, renamed to `aide.db` for "
             "`--check`.\n")
    o.append("```sh")
    o.append(f"{L['command']}   # and with -multi {L['cores']}")
    o.append(res["warm"]["command"] + "   # warm, untimed")
    for r in (refs or {}).values():
        o.append(f"hyperfine --runs {r.get('runs', 'N')} "
                 f"{shlex.quote(r['command'])}")
    for step, c in res["commands"].items():
        o.append(c)
    o.append("```\n")
    for name, text in res["configs"].items():
        o.append(f"{name}:\n```\n{text.rstrip()}\n```")
    o.append("\n</details>")
    return "\n".join(o) + "\n"


def main():
    ap = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    ap.add_argument("--fimscan", required=True, help="the fimscan binary")
    ap.add_argument("--tree", default="/usr")
    ap.add_argument("--work", default=os.path.join(
        os.path.dirname(os.path.abspath(__file__)), "out", "work"))
    ap.add_argument("--reps", type=int, default=3)
    ap.add_argument("--aide-reps", type=int, default=None,
                    help="aide --init repetitions (default: --reps)")
    ap.add_argument("--aide-check-reps", type=int, default=None,
                    help="aide --check repetitions (default: 2, or --reps "
                         "when smaller; --check is the slowest step)")
    ap.add_argument("--growth-scans", type=int, default=10,
                    help="extra unchanged rescans for the mean growth")
    ap.add_argument("--aide-workers", type=int, default=2)
    ap.add_argument("--no-aide", action="store_true")
    ap.add_argument("--no-refs", action="store_true",
                    help="skip the find/cat reference walks")
    ap.add_argument("--ref-runs", type=int, default=3)
    ap.add_argument("--openssl-seconds", type=int, default=2)
    ap.add_argument("--markdown", help="also write the report here")
    ap.add_argument("--commit", help="the commit fimscan was built from "
                    "(default: git rev-parse HEAD, plus a note when the "
                    "working tree differs)")
    ap.add_argument("--report-only", metavar="JSON",
                    help="print the report of an earlier results.json")
    a = ap.parse_args()
    if a.report_only:
        with open(a.report_only) as f:
            sys.stdout.write(markdown(json.load(f)))
        return
    if a.aide_reps is None:
        a.aide_reps = a.reps
    if a.aide_check_reps is None:
        a.aide_check_reps = min(2, a.reps)
    if not os.path.isdir(a.tree):
        die(f"{a.tree}: not a directory")
    if not os.access(TIME, os.X_OK):
        die(f"{TIME} missing (apt-get install time)")
    if not a.no_aide and not shutil.which("aide"):
        die("aide missing (apt-get install aide, or --no-aide)")
    b = Bench(a)
    res = b.run()
    md = markdown(res)
    # results.* is the latest run; results-DATE.* keeps every run.
    stamp = time.strftime("%Y%m%d-%H%M%S")
    for name in ("results", f"results-{stamp}"):
        with open(b.path(name + ".json"), "w") as f:
            json.dump(res, f, indent=1)
        with open(b.path(name + ".md"), "w") as f:
            f.write(md)
    if a.markdown:
        with open(a.markdown, "w") as f:
            f.write(md)
    log(f"results: {b.path('results.md')}, {b.path('results.json')}")
    sys.stdout.write(md)


if __name__ == "__main__":
    main()
