#!/usr/bin/env python3
"""Run fimscan and AIDE side by side on one tree and print a markdown table.

Called by bench/run.sh (which installs the tools and builds fimscan); see
bench/README.md.  Python standard library only.

    python3 bench/bench.py --fimscan bench/out/build/fimscan --tree /usr

One run, in this order:

 1. hashing limit (openssl speed), tree statistics;
 2. warm the page cache (one untimed read of every file), reference walks
    (find, cat);
 3. N repetitions, each running every warm step once, alternating the
    tools; then more unchanged rescans for the mean store growth;
 4. --threads-sweep: one fimscan baseline per thread count (peak RSS);
 5. --changed: change P% of the files (gentree.py mutate), rescan with
    fimscan (rehash = changed, and rehash = all) and aide --check, restore
    the tree (gentree.py restore);
 6. --cold: the baseline, --init, the scans, --check and the reference
    walks again, each right after dropping the page cache;
 7. table of medians.

Everything a step printed goes to WORK/logs/; the results also go to
WORK/results.json and WORK/results.md.  To add a measurement, add a step
(a method that calls self.timed) to one of the phases in run() and a row to
table_rows(); the rest is generic.
"""
import argparse
import datetime
import json
import os
import platform
import re
import shlex
import shutil
import signal
import sqlite3
import statistics
import subprocess
import sys
import time

import gentree  # bench/, next to this script

RULE = "p+i+n+u+g+s+m+c+sha256"
TIME = "/usr/bin/time"
KB16 = 16 * 1024
MB64 = 64 * 1024 * 1024
PAGE = 4096
DROP = "/proc/sys/vm/drop_caches"
GENTREE = os.path.join(os.path.dirname(os.path.abspath(__file__)),
                       "gentree.py")
# Trees that --changed never touches, whatever the stamp files say.
PROTECTED = gentree.PROTECTED


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

    def timed(self, step, rep, cmd, ok=range(0, 16), note=None):
        """Run cmd under GNU time; return wall, user, sys, rss, rc."""
        out = os.path.join(self.logs, f"{step}.{rep}.out")
        tf = os.path.join(self.logs, f"{step}.{rep}.time")
        self.commands.setdefault(step, shlex.join(cmd))
        # In a process group of its own, so that an interruption (^C,
        # SIGTERM) ends the command too, not only GNU time.
        with open(out, "wb") as f:
            p = subprocess.Popen([TIME, "-f", "%e %U %S %M", "-o", tf, "--"]
                                 + cmd, stdout=f, stderr=subprocess.STDOUT,
                                 env=self.env, start_new_session=True)
            try:
                p.wait()
            except BaseException:
                os.killpg(p.pid, signal.SIGKILL)
                p.wait()
                raise
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
        if note:
            r["note"] = note
        r["cpu"] = r["user"] + r["sys"]
        self.runs.append(r)
        log(f"  rep {rep + 1} {step:<24} {r['wall']:7.2f} s wall "
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
        cmd = self.ref_commands()["cat_parallel"]
        t = time.monotonic()
        subprocess.run(["sh", "-c", cmd], env=self.env,
                       stderr=subprocess.DEVNULL)
        return {"command": cmd, "seconds": round(time.monotonic() - t, 2)}

    def ref_commands(self):
        """The floor for any scanner: a full-stat walk, and a parallel
        read of every file."""
        q = shlex.quote(self.tree)
        return {
            "find_stat": f"find {q} -xdev -printf '%i %m %n %U %G %s %T@ "
                         f"%C@ %l\\n' > /dev/null",
            "cat_parallel": f"find {q} -xdev -type f -print0 | xargs -0 -r "
                            f"-P {self.ncpu} -n 512 cat > /dev/null",
        }

    def references(self):
        """The floors with a warm cache, with hyperfine when it is
        there."""
        res = {}
        for name, cmd in self.ref_commands().items():
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

    def sweep_conf(self, threads):
        """A config like all.conf with another thread count."""
        path = self.path("fimscan", f"threads-{threads}.conf")
        with open(path, "w") as f:
            f.write("# generated by bench/bench.py\n"
                    f"hashes = sha256\nthreads = {threads}\n"
                    "one-filesystem = yes\nrehash = all\n")
        os.chmod(path, 0o644)
        return path

    def fimcmd(self, conf, *args, db=None):
        return [self.fim, "-c", conf, "--db", db or self.fim_db] + list(args)

    def store_files(self, db=None):
        db = db or self.fim_db
        return [db + s for s in ("", "-wal", "-shm") if os.path.exists(db + s)]

    def store_bytes(self, db=None):
        return sum(os.path.getsize(p) for p in self.store_files(db))

    def remove_store(self, db=None):
        for p in self.store_files(db):
            os.unlink(p)

    @staticmethod
    def open_store(db):
        """Open a store read-only.  Immutable (nothing created, nothing
        locked; no fimscan runs now) unless its WAL holds pages, which an
        immutable connection would not see."""
        wal = db + "-wal"
        if os.path.exists(wal) and os.path.getsize(wal) > 0:
            return sqlite3.connect(f"file:{db}?mode=ro", uri=True)
        return sqlite3.connect(f"file:{db}?immutable=1", uri=True)

    def store_used(self, db=None):
        """Bytes in pages the store uses (page_count - freelist_count):
        what the file size would be without reusable free pages."""
        try:
            c = self.open_store(db or self.fim_db)
            try:
                q = lambda p: c.execute(f"PRAGMA {p}").fetchone()[0]
                return (q("page_count") - q("freelist_count")) * q("page_size")
            finally:
                c.close()
        except sqlite3.Error as e:
            log(f"cannot read the store's page counts: {e}")
            return None

    def store_breakdown(self, db=None):
        """Bytes of the store by table and index, and the share
        of the chunk lists (table clist and its UNIQUE index).  SQLite's
        dbstat virtual table when this Python's SQLite has it, else
        sqlite3_analyzer when it is installed, else an estimate from the
        payload: SUM(length(list)), the keys twice (the table and its
        index) and 16 B per row."""
        db = db or self.fim_db
        want = self.a.breakdown
        res = {"method": None, "tables": {}}
        try:
            c = self.open_store(db)
        except sqlite3.Error as e:
            log(f"cannot open the store for its breakdown: {e}")
            return res
        try:
            try:
                n, lists, keys = c.execute(
                    "SELECT COUNT(*), COALESCE(SUM(length(list)), 0), "
                    "COALESCE(SUM(length(key)), 0) FROM clist").fetchone()
                res.update(clist_rows=n, clist_payload=lists)
            except sqlite3.Error:
                n = None                 # no chunk lists in this store
                res.update(clist_rows=0, clist_payload=0)
            if want in ("auto", "dbstat"):
                try:
                    res["tables"] = dict(c.execute(
                        "SELECT name, SUM(pgsize) FROM dbstat GROUP BY name"))
                    res["method"] = "dbstat"
                except sqlite3.Error as e:
                    log(f"no dbstat in this SQLite ({e})")
        finally:
            c.close()
        if res["method"]:
            t = res["tables"]
            res["clist_bytes"] = t.get("clist", 0) + \
                t.get("sqlite_autoindex_clist_1", 0)
        elif want in ("auto", "analyzer") and shutil.which("sqlite3_analyzer"):
            out = subprocess.run(["sqlite3_analyzer", db], capture_output=True,
                                 text=True).stdout
            m = re.search(r"\*\*\* Table CLIST and all its indices.*?"
                          r"Bytes of storage consumed\.*\s*(\d+)", out,
                          re.S | re.I)
            if m:
                res["method"] = "sqlite3_analyzer"
                res["clist_bytes"] = int(m.group(1))
        if not res["method"] and n is not None:
            res["method"] = "payload estimate"
            res["clist_bytes"] = lists + 2 * keys + 16 * n
        elif not res["method"]:
            res["method"] = "no clist table"
            res["clist_bytes"] = 0
        return res

    def fim_log(self, db=None):
        out = subprocess.run(self.fimcmd(self.fim_conf, "log", "--format",
                                         "json", db=db), capture_output=True,
                             text=True, env=self.env, check=True).stdout
        return json.loads(out)["snapshots"]

    def fim_entries(self, db=None):
        snaps = self.fim_log(db)
        base = [s for s in snaps if s.get("baseline")] or snaps[:1]
        return base[-1]["entries"], base[-1].get("bytes_hashed")

    def aide_entries(self, db):
        n = 0
        with open(db, "rb") as f:
            for line in f:
                if line.strip() and not line.startswith((b"@@", b"#")):
                    n += 1
        return n

    def aide_summary(self):
        """Added, removed and changed entries from the last --check's
        report (report_url=file:), or None."""
        try:
            with open(self.path("aide", "report.txt"), errors="replace") as f:
                text = f.read()
        except OSError:
            return None
        got = {k.lower(): int(v) for k, v in re.findall(
            r"^\s*(Added|Removed|Changed) entries:\s*(\d+)", text, re.M)}
        if not got and "NO differences" in text:
            got = {"added": 0, "removed": 0, "changed": 0}
        return got or None

    # -------------------------------------------------------------- steps
    #
    # A step is a method that takes the repetition number and calls
    # self.timed() once.  cold=True: the same step right after emptying the
    # page cache, recorded under the name cold_STEP.

    def steps_for(self, rep, cold=False):
        """The steps of one repetition, in order.  AIDE and fimscan
        alternate; odd repetitions start with fimscan, so that a drift in
        the machine's load does not always favour the same tool."""
        if cold:
            aide = check = not self.a.no_aide
        else:
            aide = not self.a.no_aide and rep < self.a.aide_reps
            check = not self.a.no_aide and rep < self.a.aide_check_reps
        fim_first = rep % 2 == 1
        a1 = [self.aide_init] if aide else []
        a2 = [self.aide_check] if check else []
        f1 = [self.fim_baseline]
        f2 = [self.fim_scan, self.fim_scan_changed]
        steps = (f1 + a1 + f2 + a2) if fim_first else (a1 + f1 + a2 + f2)
        return [lambda r, s=s: s(r, cold=cold) for s in steps]

    def drop_caches(self):
        """Empty the page cache before a cold step.  sync, then either
        write 3 to /proc/sys/vm/drop_caches (every clean page, dentry and
        inode of the machine), or, with --cold-method fadvise,
        posix_fadvise(POSIX_FADV_DONTNEED) on every regular file of the
        tree and of WORK (their data only: directories and inodes stay
        cached, and other processes keep their cache)."""
        subprocess.run(["sync"], check=False)
        if self.a.cold_method == "drop":
            with open(DROP, "w") as f:
                f.write("3\n")
            return
        for top in (self.tree, self.work):
            stack = [top]
            while stack:
                try:
                    it = os.scandir(stack.pop())
                except OSError:
                    continue
                with it:
                    for e in it:
                        if e.is_dir(follow_symlinks=False):
                            stack.append(e.path)
                        elif e.is_file(follow_symlinks=False):
                            try:
                                fd = os.open(e.path, os.O_RDONLY |
                                             os.O_NOFOLLOW | os.O_NONBLOCK)
                            except OSError:
                                continue
                            try:
                                os.posix_fadvise(fd, 0, 0,
                                                 os.POSIX_FADV_DONTNEED)
                            finally:
                                os.close(fd)

    def cool(self, cold):
        if cold:
            self.drop_caches()

    def aide_init(self, rep, cold=False):
        if os.path.exists(self.aide_new):
            os.unlink(self.aide_new)
        self.cool(cold)
        r = self.timed(("cold_" if cold else "") + "aide_init", rep,
                       ["aide", "--init", "-c", self.aide_conf], ok=(0,))
        os.replace(self.aide_new, self.aide_db)
        r["db_bytes"] = os.path.getsize(self.aide_db)
        r["entries"] = self.aide_entries(self.aide_db)

    def aide_check(self, rep, cold=False, step="aide_check"):
        # 0: no change; 1|2|4: changes (the tree moved under us, or the
        # N%-changed step): still a valid timing, and the table says so;
        # 14 and up: errors.
        self.cool(cold)
        r = self.timed(("cold_" if cold else "") + step, rep,
                       ["aide", "--check", "-c", self.aide_conf],
                       ok=range(0, 8))
        r["reported"] = self.aide_summary()
        return r

    def fim_baseline(self, rep, cold=False):
        self.remove_store()
        self.cool(cold)
        r = self.timed(("cold_" if cold else "") + "fim_baseline", rep,
                       self.fimcmd(self.fim_conf, "baseline", self.tree),
                       ok=(0, 8))
        r["store_bytes"] = self.store_bytes()
        r["store_used"] = self.store_used()
        r["entries"], r["bytes_hashed"] = self.fim_entries()
        if not cold:
            r["breakdown"] = self.store_breakdown()

    def fim_scan(self, rep, cold=False, changed=False, db=None, step=None,
                 note=None):
        """A scan (rehash = all, or = changed) into the store db; its
        growth and what it reported."""
        step = step or ("fim_scan_changed" if changed else "fim_scan")
        conf = self.fim_conf_changed if changed else self.fim_conf
        before, used = self.store_bytes(db), self.store_used(db)
        self.cool(cold)
        r = self.timed(("cold_" if cold else "") + step, rep,
                       self.fimcmd(conf, "scan", self.tree, db=db),
                       note=note)
        r["store_bytes"] = self.store_bytes(db)
        r["growth"] = r["store_bytes"] - before
        r["store_used"] = self.store_used(db)
        if used is not None and r["store_used"] is not None:
            r["growth_used"] = r["store_used"] - used
        last = self.fim_log(db)[-1]
        r["bytes_hashed"] = last.get("bytes_hashed")
        r["reported"] = {k: last.get(k) for k in
                         ("added", "removed", "changed")}
        return r

    def fim_scan_changed(self, rep, cold=False):
        self.fim_scan(rep, cold=cold, changed=True)

    def growth_series(self):
        """K more unchanged rescans (rehash = changed, cheap) of the last
        store: the mean growth per rescan, free of the page quantization
        that makes a single rescan read 0 or 4096 bytes."""
        k = self.a.growth_scans
        b0, u0 = self.store_bytes(), self.store_used()
        for i in range(k):
            rc = subprocess.run(self.fimcmd(self.fim_conf_changed, "scan",
                                            self.tree), env=self.env,
                                stdout=subprocess.DEVNULL).returncode
            # 1-15 are findings; from 16 up the scan failed, and a growth
            # of 0 would pass for what it is not
            if rc >= 16:
                die(f"growth series: rescan {i + 1} of {k} exited {rc}")
        b1, u1 = self.store_bytes(), self.store_used()
        return {"scans": k, "bytes": b1 - b0,
                "used": None if u0 is None or u1 is None else u1 - u0}

    # ------------------------------------------------------ thread sweep

    def threads_sweep(self):
        """One fimscan baseline per thread count, each into a fresh store
        of its own (the main store stays as it is): peak RSS and wall."""
        db = self.path("fimscan", "sweep.db")
        for n in self.a.threads_sweep:
            self.remove_store(db)
            r = self.timed(f"sweep_baseline_t{n}", 0,
                           self.fimcmd(self.sweep_conf(n), "baseline",
                                       self.tree, db=db),
                           ok=(0, 8), note=f"threads = {n}")
            r["threads"] = n
            r["store_bytes"] = self.store_bytes(db)
            r["entries"], r["bytes_hashed"] = self.fim_entries(db)
        self.remove_store(db)

    # --------------------------------------------------- N% of files changed

    def gentree(self, *args):
        cmd = [sys.executable, GENTREE] + list(args)
        self.commands.setdefault("gentree " + args[0], shlex.join(cmd))
        t = time.monotonic()
        p = subprocess.run(cmd, capture_output=True, text=True, env=self.env)
        if p.returncode:
            die(f"{shlex.join(cmd)} exited {p.returncode}:\n{p.stderr}")
        return p.stdout, round(time.monotonic() - t, 2)

    def changed_round(self, rep):
        """Change P% of the files (gentree.py mutate: seeded, so every
        round and every run makes the same changes), then rescan:

        - fimscan scan, rehash = changed, and fimscan scan, rehash = all,
          each into a copy of the store as the unchanged steps left it
          (baseline plus unchanged rescans), so each shows the growth that
          these changes cause;
        - aide --check against the last aide --init.

        Then restore the tree (gentree.py restore), even when a step
        failed, so that later steps and runs see the original tree."""
        scratch = self.path("fimscan", "pct.db")
        info = {}

        def fim(r, changed):
            note = f"{info['changed_files']:,} files changed"
            self.remove_store(scratch)
            for f in self.store_files():
                shutil.copyfile(f, scratch + f[len(self.fim_db):])
            x = self.fim_scan(r, changed=changed, db=scratch, note=note,
                              step="pct_fim_scan_changed" if changed
                              else "pct_fim_scan")
            x["changed_files"] = info["changed_files"]
            self.remove_store(scratch)

        def aide(r):
            if self.a.no_aide or not os.path.exists(self.aide_db):
                return
            x = self.aide_check(r, step="pct_aide_check")
            x["note"] = f"{info['changed_files']:,} files changed"
            x["changed_files"] = info["changed_files"]

        steps = [lambda r: fim(r, True), lambda r: fim(r, False)]
        steps = steps + [aide] if rep % 2 == 0 else [aide] + steps
        try:
            out, mutate_s = self.gentree("mutate", self.tree, "--percent",
                                         f"{self.a.changed_percent:g}")
            info.update(json.loads(out.strip().splitlines()[-1]),
                        percent=self.a.changed_percent,
                        mutate_seconds=mutate_s)
            for step in steps:
                step(rep)
        finally:
            _, info["restore_seconds"] = self.gentree("restore", self.tree)
        self.res["changed"] = info

    # ---------------------------------------------------------- cold cache

    def cold_round(self, rep):
        """The reference walks, then every step of a repetition, each
        right after drop_caches()."""
        if not self.a.no_refs:
            for name, cmd in self.ref_commands().items():
                self.drop_caches()
                self.timed(f"cold_{name}", rep, ["sh", "-c", cmd],
                           ok=range(0, 256))
        for step in self.steps_for(rep, cold=True):
            step(rep)

    # ----------------------------------------------------------------- run

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
        if self.a.threads_sweep:
            log("thread sweep: one baseline at threads = "
                + ", ".join(map(str, self.a.threads_sweep)))
            self.threads_sweep()
        for rep in range(self.a.changed_reps if self.a.changed else 0):
            log(f"{self.a.changed_percent:g}% of the files changed, round "
                f"{rep + 1} of {self.a.changed_reps}")
            self.changed_round(rep)
        for rep in range(self.a.cold_reps if self.a.cold else 0):
            log(f"cold page cache ({self.a.cold_method}), round {rep + 1} "
                f"of {self.a.cold_reps}")
            self.cold_round(rep)
        self.res["machine"]["loadavg_end"] = \
            open("/proc/loadavg").read().split()[:3]
        self.res["runs"] = self.runs
        self.res["commands"] = self.commands
        self.res["configs"] = {
            "aide.conf": open(self.aide_conf).read(),
            "fimscan all.conf": open(self.fim_conf).read(),
            "fimscan changed.conf": open(self.fim_conf_changed).read()}
        if self.a.threads_sweep:
            self.res["configs"]["fimscan threads-N.conf (N = "
                                + ", ".join(map(str, self.a.threads_sweep))
                                + ")"] = open(self.sweep_conf(
                                    self.a.threads_sweep[-1])).read() \
                .replace(f"threads = {self.a.threads_sweep[-1]}",
                         "threads = N")
        self.res["reps"] = {
            "fimscan": self.a.reps,
            "aide": 0 if self.a.no_aide else min(self.a.aide_reps,
                                                 self.a.reps),
            "aide_check": 0 if self.a.no_aide else
            min(self.a.aide_check_reps, self.a.reps),
            "changed": self.a.changed_reps if self.a.changed else 0,
            "cold": self.a.cold_reps if self.a.cold else 0}
        self.res["threads_sweep"] = self.a.threads_sweep
        self.res["cold_method"] = self.a.cold_method if self.a.cold else None
        return self.res


# ---------------------------------------------------------------- report

def med(runs, step, field):
    v = [r[field] for r in runs if r["step"] == step and r.get(field)
         is not None]
    return statistics.median(v) if v else None


def worst(runs, step, field):
    v = [r[field] for r in runs if r["step"] == step and r.get(field)
         is not None]
    return max(v) if v else None


def fmt(v, unit="", nd=2):
    if v is None:
        return "-"
    if isinstance(v, int) or nd == 0:
        return f"{round(v):,}{unit}"
    return f"{v:,.{nd}f}{unit}"


def counts(rep):
    """'added/removed/changed' of a run's "reported" dict."""
    if not rep:
        return "-"
    return "/".join(str(rep.get(k, "?")) for k in
                    ("added", "removed", "changed"))


def derived(res):
    """Per-run figures that need more than one field, added to the runs:
    the store breakdown of each baseline."""
    for r in res["runs"]:
        b = r.get("breakdown")
        if not b or not r.get("entries"):
            continue
        r["bpe_all"] = r["store_bytes"] / r["entries"]
        r["bpe_no_clist"] = (r["store_bytes"] - b["clist_bytes"]) / \
            r["entries"]
        if res["tree"]["bytes"]:
            r["clist_pct"] = 100 * b["clist_bytes"] / res["tree"]["bytes"]


def table_rows(res):
    """(measure, fimscan, AIDE, AIDE/fimscan, target, result) rows."""
    R = res["runs"]
    t = res["tree"]
    lim_s = t["bytes"] / res["limit"]["limit"]
    derived(res)
    rows = []

    def ratio(a, f):
        return f"{a / f:.1f}x" if a is not None and f else "-"

    def verdict(ok):
        return "-" if ok is None else ("**pass**" if ok else "**FAIL**")

    def triple(label, fstep, astep, field, scale=1.0, unit=" s", nd=2,
               target="", need=None):
        f, a = med(R, fstep, field), med(R, astep, field) if astep else None
        if f is None and a is None:
            return                       # the step did not run
        f = f * scale if f is not None else None
        a = a * scale if a is not None else None
        ok = None
        if need is not None and f is not None:
            ok = need(f, a)
        rows.append((label, fmt(f, unit, nd), fmt(a, unit, nd),
                     ratio(a, f), target,
                     ok if isinstance(ok, str) else verdict(ok)))

    def faster(n2, n6):
        """Verdicts for 'n times faster than AIDE' (issue 2 and 6)."""
        def need(f, a):
            if a is None:
                return None
            if n2 is None:
                return a / f >= n6
            return f"{verdict(a / f >= n2)} (#2), {verdict(a / f >= n6)} (#6)"
        return need

    # -- warm page cache
    triple("baseline / --init: wall", "fim_baseline", "aide_init", "wall",
           target=">= 3x faster than AIDE (#2); >= 5x (#6)",
           need=faster(3, 5))
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
           need=faster(None, 10))
    triple("unchanged scan / --check: CPU user+sys", "fim_scan",
           "aide_check", "cpu")
    triple("unchanged scan / --check: peak RSS", "fim_scan", "aide_check",
           "rss_kb", 1 / 1024, " MB", 1)
    triple("unchanged scan, `rehash = changed`: wall", "fim_scan_changed",
           None, "wall", target="<= 1 s (#6)", need=lambda f, a: f <= 1.0)
    triple("unchanged scan, `rehash = changed`: peak RSS",
           "fim_scan_changed", None, "rss_kb", 1 / 1024, " MB", 1)

    # -- store
    fe, ae = med(R, "fim_baseline", "entries"), med(R, "aide_init", "entries")
    fs, adb = med(R, "fim_baseline", "store_bytes"), \
        med(R, "aide_init", "db_bytes")
    fpe = fs / fe if fs and fe else None
    ape = adb / ae if adb and ae else None
    rows.append(("store after baseline: bytes/entry (all)",
                 fmt(fpe, "", 1), fmt(ape, "", 1), ratio(ape, fpe),
                 "<= 160 (#2, #6)",
                 verdict(fpe <= 160 if fpe else None)))
    nc = med(R, "fim_baseline", "bpe_no_clist")
    if nc is not None:
        rows.append(("store after baseline: bytes/entry without chunk lists",
                     fmt(nc, "", 1), "-", "-", "", "-"))
    cp = med(R, "fim_baseline", "clist_pct")
    if cp is not None:
        rows.append(("store after baseline: chunk lists as % of data",
                     f"{cp:.3f}%", "-", "-", "<= 0.3% (#3)",
                     verdict(cp <= 0.3)))
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

    # -- thread sweep
    sweep = [r for r in R if r["step"].startswith("sweep_baseline_t")]
    if sweep:
        top = max(sweep, key=lambda r: r["rss_kb"])
        ns = ", ".join(str(r["threads"]) for r in sweep)
        over = top["rss_kb"] * 1024 > MB64
        rows.append((f"baseline peak RSS, max over `threads` = {ns}",
                     f"{top['rss_kb'] / 1024:.1f} MB (threads = "
                     f"{top['threads']})", "-", "-",
                     "<= 64 MB at 1,000,000 files, any thread count (#6)",
                     verdict(False if over else
                             True if t["files"] >= 1_000_000 else None)))

    # -- N% of the files changed
    ch = res.get("changed")
    if ch:
        p = f"{ch['percent']:g}% changed"
        triple(f"{p}: scan, `rehash = changed`: wall",
               "pct_fim_scan_changed", None, "wall")
        triple(f"{p}: scan, full re-hash / --check: wall", "pct_fim_scan",
               "pct_aide_check", "wall")
        triple(f"{p}: scan, full re-hash / --check: CPU user+sys",
               "pct_fim_scan", "pct_aide_check", "cpu")
        rep_f = next((r.get("reported") for r in R
                      if r["step"] == "pct_fim_scan_changed"), None)
        rep_a = next((r.get("reported") for r in R
                      if r["step"] == "pct_aide_check"), None)
        exp = ch["expect"]
        rows.append((f"{p}: entries reported added/removed/changed",
                     counts(rep_f), counts(rep_a), "-",
                     f"gentree journal: {counts(exp)}",
                     "-" if not rep_f else
                     "matches" if counts(rep_f) == counts(exp) else
                     "**differs**"))
        for step, label in (("pct_fim_scan_changed", "`rehash = changed`"),
                            ("pct_fim_scan", "full re-hash")):
            g, gu = med(R, step, "growth"), med(R, step, "growth_used")
            if g is None:
                continue
            n = sum((rep_f or {}).get(k) or 0 for k in
                    ("added", "removed", "changed")) or ch["changed_files"]
            shown = f"{g:,.0f} B"
            if gu is not None:
                shown += f" (pages in use: {gu:+,.0f} B)"
            rows.append((f"{p}: store growth ({label})", shown, "-", "-",
                         "", "-"))
            per = max(g, gu or 0) / n
            rel = f", {per / fpe:.1f}x the baseline's" if fpe else ""
            rows.append((f"{p}: store growth per changed entry ({label}; "
                         f"{n:,} entries)", f"{per:,.0f} B{rel}", "-", "-",
                         "proportional to the changes (#6): "
                         f"<= {PAGE:,} B, one page, per changed entry",
                         verdict(per <= PAGE)))

    # -- cold page cache
    if any(r["step"].startswith("cold_") for r in R):
        triple("cold: baseline / --init: wall", "cold_fim_baseline",
               "cold_aide_init", "wall")
        triple("cold: baseline / --init: CPU user+sys", "cold_fim_baseline",
               "cold_aide_init", "cpu")
        triple("cold: unchanged scan, full re-hash / --check: wall",
               "cold_fim_scan", "cold_aide_check", "wall")
        triple("cold: unchanged scan, `rehash = changed`: wall",
               "cold_fim_scan_changed", None, "wall")
        cat = med(R, "cold_cat_parallel", "wall")
        if cat:
            for label, fstep, astep in (
                    ("baseline / --init", "cold_fim_baseline",
                     "cold_aide_init"),
                    ("full re-hash scan / --check", "cold_fim_scan",
                     "cold_aide_check")):
                f, a = med(R, fstep, "wall"), med(R, astep, "wall")
                floor = max(cat, lim_s)
                rows.append((f"cold: {label} wall / max(parallel `cat`, "
                             f"hashing limit) = {floor:.2f} s",
                             f"{f / floor:.2f}x" if f else "-",
                             f"{a / floor:.2f}x" if a else "-", "-",
                             "1.0x = as fast as the disk or the CPU allow",
                             "-"))
    return rows, lim_s


def markdown(res):
    m, t, L = res["machine"], res["tree"], res["limit"]
    rows, lim_s = table_rows(res)
    reps = res["reps"]
    R = res["runs"]
    o = []
    extra = ""
    if reps.get("changed"):
        extra += f"; {reps['changed']} round(s) of the changed tree"
    if reps.get("cold"):
        extra += f"; {reps['cold']} cold round(s)"
    o.append(f"### {t['path']}: {t['entries']:,} entries, {t['files']:,} "
             f"regular files, {t['bytes'] / 1e9:.2f} GB; warm page cache "
             f"unless the row says cold; medians of {reps['fimscan']} "
             f"fimscan repetitions, {reps['aide']} of `aide --init` and "
             f"{reps.get('aide_check', reps['aide'])} of `aide --check`"
             f"{extra}\n")
    o.append("| measure | fimscan | AIDE | AIDE / fimscan | target | result |")
    o.append("|---|---:|---:|---:|---|---|")
    for r in rows:
        o.append("| " + " | ".join(str(c) for c in r) + " |")
    o.append("")
    fb = med(R, "fim_baseline", "wall")
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
    if res.get("cold_method"):
        how = ("`sync; echo 3 > /proc/sys/vm/drop_caches` (page cache, "
               "dentries and inodes of the whole machine)"
               if res["cold_method"] == "drop" else
               "`sync` and posix_fadvise(POSIX_FADV_DONTNEED) on every "
               "file of the tree and of the work directory (file data "
               "only: directories and inodes stay cached)")
        cc, cf = med(R, "cold_cat_parallel", "wall"), \
            med(R, "cold_find_stat", "wall")
        o.append(f"- Cold rows: before each, {how}.  Cold floors: "
                 f"reading every file with {m['nproc']} parallel `cat`: "
                 f"{fmt(cc, ' s')} ({fmt(t['bytes'] / cc / 1e6 if cc else None, ' MB/s', 0)}); "
                 f"full-stat `find`: {fmt(cf, ' s')}.")
    sweep = [r for r in R if r["step"].startswith("sweep_baseline_t")]
    if sweep:
        o.append("- Thread sweep, one `fimscan baseline` per thread count "
                 "(fresh store, warm cache): " + "; ".join(
                     f"threads = {r['threads']}: {r['wall']:.2f} s, "
                     f"{r['cpu']:.2f} s CPU, **{r['rss_kb'] / 1024:.1f} MB**"
                     for r in sweep) + ".")
    ch = res.get("changed")
    if ch:
        c = ch["counts"]
        o.append(f"- Changed tree: `gentree.py mutate` changed "
                 f"{ch['changed_files']:,} of {ch['files_before']:,} "
                 f"regular files ("
                 + ", ".join(f"{n} {op}" for op, n in c.items() if n)
                 + f"; {ch['mutate_seconds']} s), and `gentree.py restore` "
                 f"put them back afterwards ({ch.get('restore_seconds')} s)."
                 " Each fimscan scan ran into a copy of the store as the "
                 "unchanged steps left it; `aide --check` against the last "
                 "`--init`. Bytes hashed: "
                 + ", ".join(f"{r['step']} "
                             f"{r['bytes_hashed'] / 1e6:,.3f} MB"
                             for r in R if r["step"].startswith("pct_fim")
                             and r.get("bytes_hashed") is not None) + ".")
    bd = next((r["breakdown"] for r in reversed(R)
               if r["step"] == "fim_baseline" and r.get("breakdown")), None)
    if bd and bd.get("tables"):
        tot = sum(bd["tables"].values())
        big = sorted(bd["tables"].items(), key=lambda x: -x[1])[:6]
        o.append(f"- Store pages by table and index ({bd['method']}, last "
                 f"baseline, {tot / 1e6:,.1f} MB in pages): " + ", ".join(
                     f"{n} {v / 1e6:,.2f} MB ({100 * v / tot:.0f}%)"
                     for n, v in big)
                 + f"; chunk lists (clist and its index): "
                 f"{bd['clist_bytes'] / 1e6:,.2f} MB, {bd['clist_rows']:,} "
                 f"lists, {bd['clist_payload'] / 1e6:,.2f} MB of list data.")
    elif bd:
        o.append(f"- Chunk lists ({bd['method']}): "
                 f"{bd['clist_bytes'] / 1e6:,.2f} MB, {bd['clist_rows']:,} "
                 f"lists.")
    changed = [r for r in R if r["rc"] and r["step"] in
               ("aide_check", "fim_scan", "fim_scan_changed",
                "cold_aide_check", "cold_fim_scan", "cold_fim_scan_changed")]
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
             "| store/db bytes | growth B | in-use growth B | hashed GB "
             "| reported a/r/c | note |")
    o.append("|---:|---|---:|---:|---:|---:|---:|---:|---:|---:|---:|---|---|")
    for r in R:
        sz = r.get("store_bytes", r.get("db_bytes"))
        hashed = r["bytes_hashed"] / 1e9 if r.get("bytes_hashed") \
            is not None else None
        o.append(f"| {r['rep'] + 1} | {r['step']} | {r['wall']:.2f} | "
                 f"{r['user']:.2f} | {r['sys']:.2f} | "
                 f"{r['rss_kb'] / 1024:.1f} | {r['rc']} | "
                 f"{fmt(sz, '', 0)} | {fmt(r.get('growth'), '', 0)} | "
                 f"{fmt(r.get('growth_used'), '', 0)} | "
                 f"{fmt(hashed, '', 3)} | "
                 f"{counts(r.get('reported'))} | {r.get('note', '')} |")
    o.append("\n</details>\n")
    o.append("<details><summary>commands and configs</summary>\n")
    o.append("Each timed command ran as `/usr/bin/time -f '%e %U %S %M' -- "
             "CMD`.  Before each `fimscan baseline` the store was deleted; "
             "`aide --init` writes `aide.db.new`, renamed to `aide.db` for "
             "`--check`.  Steps named cold_* ran right after emptying the "
             "page cache; pct_* on the changed tree, between `gentree.py "
             "mutate` and `gentree.py restore`.\n")
    o.append("```sh")
    o.append(f"{L['command']}   # and with -multi {L['cores']}")
    o.append(res["warm"]["command"] + "   # warm, untimed")
    for r in (refs or {}).values():
        o.append(f"hyperfine --runs {r.get('runs', 'N')} "
                 f"{shlex.quote(r['command'])}")
    for step, c in res["commands"].items():
        o.append(f"{c}   # {step}")
    o.append("```\n")
    for name, text in res["configs"].items():
        o.append(f"{name}:\n```\n{text.rstrip()}\n```")
    o.append("\n</details>")
    return "\n".join(o) + "\n"


def summary(parts):
    """One table, over several runs (run.sh --all), of the rows that have
    a verdict, and the cold rows against the floor; parts are
    NAME=results.json."""
    o = ["| part | measure | fimscan | AIDE | AIDE / fimscan | target "
         "| result |", "|---|---|---:|---:|---:|---|---|"]
    for part in parts:
        name, _, path = part.partition("=")
        with open(path) as f:
            rows, _ = table_rows(json.load(f))
        for r in rows:
            if r[5] != "-" or "/ max(" in r[0]:
                o.append(f"| {name} | " + " | ".join(map(str, r)) + " |")
    return "\n".join(o) + "\n"


def count(s):
    """argparse type: an integer >= 0."""
    try:
        n = int(s)
    except ValueError:
        raise argparse.ArgumentTypeError(f"not a number: {s!r}")
    if n < 0:
        raise argparse.ArgumentTypeError(f"must be 0 or more: {s!r}")
    return n


def positive(s):
    n = count(s)
    if n < 1:
        raise argparse.ArgumentTypeError(f"must be 1 or more: {s!r}")
    return n


def thread_list(s):
    """argparse type: '1,2,8,32' (fimscan takes threads = 0 to 256)."""
    try:
        v = [int(x) for x in s.split(",")]
    except ValueError:
        raise argparse.ArgumentTypeError(
            f"not a comma-separated list of numbers: {s!r}")
    if not v or any(not 0 <= n <= 256 for n in v):
        raise argparse.ArgumentTypeError(f"thread counts are 0 to 256: {s!r}")
    return v


def percent(s):
    try:
        p = float(s)
    except ValueError:
        raise argparse.ArgumentTypeError(f"not a number: {s!r}")
    if not 0 < p <= 100:
        raise argparse.ArgumentTypeError(f"must be in (0, 100]: {s!r}")
    return p


def can_drop_caches():
    """Whether this process may write drop_caches (opening it for writing
    drops nothing; only a write does)."""
    try:
        os.close(os.open(DROP, os.O_WRONLY))
        return True
    except OSError:
        return False


def mutable_tree(tree):
    """--changed changes the tree: only trees that gentree.py generated or
    run.sh --copy copied (both leave a stamp TREE.json) qualify."""
    real = os.path.realpath(tree)
    if real in PROTECTED:
        return f"{tree} is a system tree"
    if not os.path.exists(real + ".json"):
        return (f"{tree} has no stamp {real}.json: only trees made by "
                "gentree.py (run.sh --synthetic) or copies (run.sh --copy) "
                "are changed")
    return None


def main():
    ap = argparse.ArgumentParser(
        description=__doc__.split("\n")[0],
        epilog="See bench/README.md.  run.sh passes these options on.  "
               "When an option is given twice, the last one counts.")
    ap.add_argument("--fimscan", required=True, help="the fimscan binary")
    ap.add_argument("--tree", default="/usr")
    ap.add_argument("--work", default=os.path.join(
        os.path.dirname(os.path.abspath(__file__)), "out", "work"))
    ap.add_argument("--reps", type=positive, default=3)
    ap.add_argument("--aide-reps", type=count, default=None,
                    help="aide --init repetitions (default: --reps)")
    ap.add_argument("--aide-check-reps", type=count, default=None,
                    help="aide --check repetitions (default: 2, or --reps "
                         "when smaller; --check is the slowest step)")
    ap.add_argument("--growth-scans", type=count, default=10,
                    help="extra unchanged rescans for the mean growth")
    ap.add_argument("--aide-workers", type=positive, default=2)
    ap.add_argument("--no-aide", action="store_true")
    ap.add_argument("--no-refs", action="store_true",
                    help="skip the find/cat reference walks")
    ap.add_argument("--ref-runs", type=positive, default=3)
    ap.add_argument("--openssl-seconds", type=positive, default=2)
    ap.add_argument("--threads-sweep", type=thread_list, default=[],
                    metavar="N,N,...",
                    help="one fimscan baseline per thread count, for peak "
                         "RSS (e.g. 1,2,8,32)")
    ap.add_argument("--no-threads-sweep", dest="threads_sweep",
                    action="store_const", const=[])
    ap.add_argument("--changed", action="store_true",
                    help="change --changed-percent of the files, rescan "
                         "with both tools, restore (generated trees and "
                         "copies only)")
    ap.add_argument("--no-changed", dest="changed", action="store_false")
    ap.add_argument("--changed-percent", type=percent, default=1.0)
    ap.add_argument("--changed-reps", type=positive, default=1,
                    help="rounds of the changed-tree step (default 1)")
    ap.add_argument("--cold", choices=("auto", "yes", "no"), default="auto",
                    help="cold-cache rounds; auto (default): when "
                         "drop_caches is writable (or --cold-method "
                         "fadvise)")
    ap.add_argument("--cold-method", choices=("drop", "fadvise"),
                    default="drop",
                    help="drop: sync; echo 3 > drop_caches (default); "
                         "fadvise: evict the tree's and the stores' pages "
                         "only (no root needed; spares other users)")
    ap.add_argument("--cold-reps", type=positive, default=1)
    ap.add_argument("--breakdown", default="auto",
                    choices=("auto", "dbstat", "analyzer", "payload"),
                    help="how to split the store by table (default: dbstat "
                         "if there, else sqlite3_analyzer, else payload)")
    ap.add_argument("--markdown", help="also write the report here")
    ap.add_argument("--commit", help="the commit fimscan was built from "
                    "(default: git rev-parse HEAD, plus a note when the "
                    "working tree differs)")
    ap.add_argument("--report-only", metavar="JSON",
                    help="print the report of an earlier results.json")
    ap.add_argument("--summary", nargs="+", metavar="NAME=JSON",
                    help="print one table of the targets of several "
                         "results.json")
    ap.add_argument("--check-args", action="store_true",
                    help="only check the options (run.sh does, before it "
                         "builds anything)")
    a = ap.parse_args()
    if a.check_args:
        return
    if a.summary:
        sys.stdout.write(summary(a.summary))
        return
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
    if not os.access(a.fimscan, os.X_OK):
        die(f"{a.fimscan}: not an executable")
    if not os.access(TIME, os.X_OK):
        die(f"{TIME} missing (apt-get install time)")
    if not a.no_aide and not shutil.which("aide"):
        die("aide missing (apt-get install aide, or --no-aide)")
    if a.changed:
        why = mutable_tree(a.tree)
        if why:
            die(f"--changed: {why}")
    if os.path.exists(os.path.realpath(a.tree) + ".mutation.json"):
        log("the tree was left changed by an interrupted run: restoring it")
        subprocess.run([sys.executable, GENTREE, "restore", a.tree],
                       check=True)
    # SIGTERM (kill, a CI timeout) unwinds like ^C, so that the changed
    # tree is restored.
    signal.signal(signal.SIGTERM, lambda *_: sys.exit(143))
    if a.cold_method == "drop" and a.cold != "no" and not can_drop_caches():
        if a.cold == "yes":
            die(f"--cold yes: cannot write {DROP} (run as root, on a "
                "machine that allows it; or --cold-method fadvise)")
        log(f"{DROP} is not writable: no cold-cache rows (--cold-method "
            "fadvise evicts the tree's pages without it)")
        a.cold = "no"
    a.cold = a.cold != "no"
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
