#!/usr/bin/env python3
"""Generate, change and restore deterministic file trees for the benchmarks.

    python3 bench/gentree.py PROFILE DEST         generate (or reuse) a tree
    python3 bench/gentree.py mutate DEST [--percent P] [--seed S]
                                                  change P% of its files
    python3 bench/gentree.py restore DEST         undo what mutate did
    python3 bench/gentree.py space PROFILE DEST   disk still needed, files
    python3 bench/gentree.py list                 the profiles

Generate: the same PROFILE always gives the same names, sizes, contents,
modes and mtimes (random.Random seeded with the profile name; inode numbers
and ctimes differ, of course).  A stamp file DEST.json records what was
generated; when it matches, the tree is left alone, so repeated benchmark
runs reuse it.  A tree that a mutate left changed (DEST.mutation.json
exists: an interrupted run) is restored first.

Mutate: changes P% (default 1) of the regular files, chosen with a seeded
random.Random from the sorted list of files, so the same tree always gets
the same changes:

    modify   30%  overwrite up to 4 KiB (64 KiB in files over 1 MiB) in place
    append   25%  append 1 B-4 KiB (64 KiB to files over 1 MiB)
    chmod    20%  toggle the group-write bit
    replace  15%  a new file (new inode, other size) renamed over the old one,
                  as a package upgrade does
    delete    5%
    create    5%  a new file next to a chosen one

(what is left of the rounding goes to modify).  It first saves what it
needs to undo every change (the overwritten bytes, the old sizes, modes,
mtimes; replaced and deleted files are moved, not copied, into
DEST.mutation/), writes the journal DEST.mutation.json (every change, and
the counts of added, removed and changed entries a scanner should report),
then changes the tree.  Restore puts everything back (content, size, mode,
mtime; replaced and deleted files are renamed back and keep their inodes:
only ctimes differ), checks it, and deletes the journal.  If the check fails, it deletes DEST.json so that the
next generate starts again from scratch.

Profiles (see PROFILES below; add new ones there):
  tiny          2,000 small files, for testing the scripts themselves
  small       100,000 small files (0-16 KiB, about 0.16 GB), 100 per directory
  million-lite 50,000 files like million, for testing the million steps
  million   1,000,000 small files (0-2 KiB, about 0.3 GB), for peak RSS
  medium       10,000 files of 0.25-2 MiB (about 12 GB)
  huge              3 files of 1 GiB
Python standard library only.
"""
import argparse
import json
import math
import os
import random
import shutil
import stat
import sys

GEN_VERSION = 1  # bump when the generator's output changes
MUTATE_VERSION = 1  # bump when mutate's choices change

# name: (files, files per directory, min size, max size, size shape)
#   shape "small": mostly tiny files with a long tail (like /usr/share);
#   shape "uniform": uniform between min and max.
PROFILES = {
    "tiny":    dict(files=2_000, per_dir=100, lo=0, hi=16 << 10, shape="small"),
    "small":   dict(files=100_000, per_dir=100, lo=0, hi=16 << 10, shape="small"),
    "million-lite": dict(files=50_000, per_dir=200, lo=0, hi=2 << 10,
                         shape="small"),
    "million": dict(files=1_000_000, per_dir=200, lo=0, hi=2 << 10, shape="small"),
    "medium":  dict(files=10_000, per_dir=100, lo=256 << 10, hi=2 << 20,
                    shape="uniform"),
    "huge":    dict(files=3, per_dir=3, lo=1 << 30, hi=1 << 30, shape="uniform"),
}

POOL_SIZE = 4 << 20        # random bytes that file contents are cut from
MTIME_BASE = 1_700_000_000  # 2023-11-14: fixed, so mtimes are deterministic
BLOCK = 4096               # file system block, for the disk space estimate

# mutate: (operation, share in percent); modify takes what rounding leaves.
MUTATE_OPS = (("modify", 30), ("append", 25), ("chmod", 20), ("replace", 15),
              ("delete", 5), ("create", 5))
BIG = 1 << 20              # "big" file: larger edits
# Trees mutate never touches, whatever their stamp files say (bench.py's
# --changed refuses them too).
PROTECTED = ("/", "/usr", "/etc", "/var", "/home", "/opt", "/boot", "/srv",
             "/root")
CREATE_MAX = 16 << 20      # new and replacing files are at most this big


def say(msg, end="\n"):
    print(f"gentree: {msg}", end=end, file=sys.stderr, flush=True)


def die(msg):
    say(f"error: {msg}")
    sys.exit(1)


# ------------------------------------------------------------- generate

def size_of(rng, p):
    if p["shape"] == "uniform":
        return rng.randint(p["lo"], p["hi"])
    # "small": log-uniform over 1 B .. hi, plus some empty files.
    if rng.random() < 0.03:
        return 0
    return min(p["hi"], int(2 ** rng.uniform(0, p["hi"].bit_length() - 1)))


def expected_bytes(p):
    """The mean total size of a profile, without generating it."""
    if p["shape"] == "uniform":
        return p["files"] * (p["lo"] + p["hi"]) / 2
    b = p["hi"].bit_length() - 1            # sizes are 2 ** U(0, b)
    return p["files"] * 0.97 * (2 ** b - 1) / (b * math.log(2))


def write_content(f, rng, pool, size, ident):
    """Unique bytes per file: an identifying header, then slices of the pool
    at random offsets (fast, and no two files share a hash)."""
    head = ident[:size]
    f.write(head)
    left = size - len(head)
    while left > 0:
        n = min(left, 1 << 20)
        off = rng.randrange(0, POOL_SIZE - n + 1)
        f.write(pool[off:off + n])
        left -= n


def generate(profile, dest):
    p = PROFILES[profile]
    rng = random.Random(f"fimscan-bench-{profile}-{GEN_VERSION}")
    pool = random.Random(f"fimscan-bench-pool-{GEN_VERSION}").randbytes(POOL_SIZE)
    tmp = dest + ".tmp"
    shutil.rmtree(tmp, ignore_errors=True)
    os.makedirs(tmp)
    ndirs = (p["files"] + p["per_dir"] - 1) // p["per_dir"]
    total = 0
    made = 0
    dirs = []
    for d in range(ndirs):
        # Two levels: d00/d00..d99, like a package tree.
        rel = os.path.join(f"d{d // 100:03d}", f"s{d % 100:02d}")
        path = os.path.join(tmp, rel)
        os.makedirs(path, exist_ok=True)
        dirs.append(path)
        for i in range(min(p["per_dir"], p["files"] - made)):
            ext = rng.choice((".so", ".py", ".txt", ".gz", "", ".h", ".mo"))
            name = f"f{i:04d}-{rng.getrandbits(32):08x}{ext}"
            size = size_of(rng, p)
            fp = os.path.join(path, name)
            with open(fp, "wb", buffering=1 << 20) as f:
                write_content(f, rng, pool, size,
                              f"{profile}:{d}:{i}\n".encode())
            mode = rng.choice((0o644, 0o644, 0o644, 0o755, 0o600, 0o444))
            os.chmod(fp, mode)
            t = MTIME_BASE + rng.randrange(0, 86400 * 365)
            os.utime(fp, ns=(t * 10**9, t * 10**9 + rng.randrange(10**9)))
            total += size
            made += 1
        if made % 10_000 < p["per_dir"]:
            print(f"\r  {made:,} / {p['files']:,} files", end="",
                  file=sys.stderr, flush=True)
    # A few symlinks, as in a real tree.
    for k in range(0, len(dirs), 10):
        os.symlink("../s00", os.path.join(dirs[k], "link"))
    for path in reversed(dirs):
        os.utime(path, (MTIME_BASE, MTIME_BASE))
    print(file=sys.stderr)
    shutil.rmtree(dest, ignore_errors=True)
    os.rename(tmp, dest)
    return {"profile": profile, "version": GEN_VERSION, "files": made,
            "dirs": ndirs, "bytes": total}


def read_stamp(dest):
    try:
        with open(dest + ".json") as f:
            return json.load(f)
    except (OSError, ValueError):
        return None


def up_to_date(profile, dest):
    have = read_stamp(dest)
    return (have is not None and have.get("profile") == profile
            and have.get("version") == GEN_VERSION and os.path.isdir(dest))


def cmd_generate(profile, dest):
    if os.path.exists(journal_path(dest)):
        say(f"{dest} was left changed by an earlier mutate: restoring it")
        restore(dest)
    if up_to_date(profile, dest):
        say(f"{dest} is up to date ({read_stamp(dest)['files']:,} files)")
        return
    say(f"generating '{profile}' into {dest}")
    try:
        os.unlink(dest + ".json")
    except FileNotFoundError:
        pass
    info = generate(profile, dest)
    with open(dest + ".json", "w") as f:
        json.dump(info, f)
        f.write("\n")
    say(f"{info['files']:,} files, {info['bytes'] / 1e6:.1f} MB")


def cmd_space(profile, dest):
    """Print the bytes the tree still needs on disk, and its number of
    files.  The bytes: 0 when it is up to date, else its expected size with
    every file rounded up to a block (small files take a whole block
    each), plus its directories."""
    p = PROFILES[profile]
    need = 0
    if not up_to_date(profile, dest):
        ndirs = (p["files"] + p["per_dir"] - 1) // p["per_dir"]
        need = expected_bytes(p) + p["files"] * BLOCK + ndirs * 2 * BLOCK
    print(int(need), p["files"])


# --------------------------------------------------------------- mutate

def journal_path(dest):
    return dest + ".mutation.json"


def backup_dir(dest):
    return dest + ".mutation"


def list_files(dest):
    """Relative paths of the regular files under dest, sorted."""
    out = []
    stack = [""]
    while stack:
        rel = stack.pop()
        with os.scandir(os.path.join(dest, rel)) as it:
            for e in it:
                r = os.path.join(rel, e.name)
                if e.is_dir(follow_symlinks=False):
                    stack.append(r)
                elif e.is_file(follow_symlinks=False):
                    out.append(r)
    out.sort()
    return out


def plan_ops(k):
    """How many of each operation for k changes."""
    counts = {op: k * share // 100 for op, share in MUTATE_OPS}
    counts["modify"] += k - sum(counts.values())
    ops = []
    for op, _ in MUTATE_OPS:
        ops += [op] * counts[op]
    return ops


def new_size(rng, old):
    """Size of a replacing or created file: near the old one, capped."""
    if old <= 0:
        return rng.randint(0, 4096)
    return min(CREATE_MAX, max(0, old + rng.randint(-(old // 4), old // 4 + 64)))


def write_random(path, rng, size, mode):
    fd = os.open(path, os.O_WRONLY | os.O_CREAT | os.O_EXCL, mode)
    with os.fdopen(fd, "wb") as f:
        left = size
        while left > 0:
            n = min(left, 1 << 20)
            f.write(rng.randbytes(n))
            left -= n
    os.chmod(path, mode)          # the umask may have cut bits


def mutate(dest, percent, seed):
    if os.path.exists(journal_path(dest)):
        die(f"{journal_path(dest)} exists: run 'gentree.py restore {dest}'")
    if not os.path.isdir(dest):
        die(f"{dest}: not a directory")
    files = list_files(dest)
    if not files:
        die(f"{dest}: no regular files")
    k = min(len(files), max(1, round(len(files) * percent / 100)))
    rng = random.Random(f"fimscan-bench-mutate-{seed}-{percent}-"
                        f"{MUTATE_VERSION}")
    chosen = rng.sample(files, k)
    ops = plan_ops(k)
    bdir = backup_dir(dest)
    shutil.rmtree(bdir, ignore_errors=True)
    os.makedirs(bdir)

    # 1. Plan every change and save what undoing it needs; change nothing.
    changes, dirs = [], {}
    for n, (op, rel) in enumerate(zip(ops, chosen)):
        path = os.path.join(dest, rel)
        st = os.lstat(path)
        c = {"op": op, "path": rel, "size": st.st_size,
             "mode": stat.S_IMODE(st.st_mode), "atime_ns": st.st_atime_ns,
             "mtime_ns": st.st_mtime_ns}
        if op == "modify" and st.st_size == 0:
            op = c["op"] = "append"          # nothing to overwrite
        big = st.st_size > BIG
        if op == "modify":
            length = min(st.st_size, 64 << 10 if big else 4096)
            c["offset"] = rng.randrange(0, st.st_size - length + 1)
            c["length"] = length
            with open(path, "rb") as f:
                f.seek(c["offset"])
                old = f.read(length)
            c["backup"] = f"{n:06d}.bytes"
            with open(os.path.join(bdir, c["backup"]), "wb") as f:
                f.write(old)
            new = bytearray(rng.randbytes(length))
            if bytes(new) == old:
                new[0] ^= 0xFF
            c["new"] = bytes(new)
        elif op == "append":
            c["append"] = 64 << 10 if big else rng.randint(1, 4096)
        elif op == "chmod":
            c["new_mode"] = c["mode"] ^ 0o020
        elif op in ("replace", "delete"):
            c["backup"] = f"{n:06d}.file"
            if op == "replace":
                c["new_size"] = new_size(rng, st.st_size)
        elif op == "create":
            d = os.path.dirname(rel)
            c = {"op": op, "path": os.path.join(
                d, f"new-{n:06d}-{rng.getrandbits(32):08x}.txt"),
                 "new_size": new_size(rng, min(st.st_size, 64 << 10)),
                 "mode": 0o644}
        if op in ("replace", "delete", "create"):
            d = os.path.dirname(c["path"])
            if d not in dirs:
                dst = os.stat(os.path.join(dest, d))
                dirs[d] = {"path": d, "atime_ns": dst.st_atime_ns,
                           "mtime_ns": dst.st_mtime_ns}
        changes.append(c)
    counts = {op: sum(1 for c in changes if c["op"] == op)
              for op, _ in MUTATE_OPS}
    expect = {"added": counts["create"], "removed": counts["delete"],
              "changed": k - counts["create"] - counts["delete"] + len(dirs)}
    journal = {"tree": dest, "seed": seed, "percent": percent,
               "version": MUTATE_VERSION, "files_before": len(files),
               "changed_files": k, "counts": counts, "expect": expect,
               "changes": [{x: y for x, y in c.items() if x != "new"}
                           for c in changes],
               "dirs": list(dirs.values())}
    tmp = journal_path(dest) + ".tmp"
    with open(tmp, "w") as f:
        json.dump(journal, f, indent=0)
    os.replace(tmp, journal_path(dest))

    # 2. Change the tree.
    for c in changes:
        path = os.path.join(dest, c["path"])
        op = c["op"]
        if op == "modify":
            with open(path, "r+b") as f:
                f.seek(c["offset"])
                f.write(c["new"])
        elif op == "append":
            with open(path, "ab") as f:
                f.write(rng.randbytes(c["append"]))
        elif op == "chmod":
            os.chmod(path, c["new_mode"])
        elif op == "replace":
            os.rename(path, os.path.join(bdir, c["backup"]))
            write_random(path, rng, c["new_size"], c["mode"])
        elif op == "delete":
            os.rename(path, os.path.join(bdir, c["backup"]))
        elif op == "create":
            write_random(path, rng, c["new_size"], c["mode"])
    say(f"changed {k:,} of {len(files):,} files in {dest} ("
        + ", ".join(f"{n} {op}" for op, n in counts.items() if n)
        + f"; {len(dirs)} directories); journal {journal_path(dest)}")
    print(json.dumps({x: journal[x] for x in
                      ("files_before", "changed_files", "counts", "expect")}))


def restore(dest):
    """Undo a mutate.  Every step can run twice (an interrupted restore or
    mutate is finished by running restore again)."""
    jp = journal_path(dest)
    try:
        with open(jp) as f:
            j = json.load(f)
    except FileNotFoundError:
        say(f"{dest}: nothing to restore")
        return
    bdir = backup_dir(dest)
    for c in reversed(j["changes"]):
        path = os.path.join(dest, c["path"])
        op = c["op"]
        backup = os.path.join(bdir, c.get("backup", "-"))
        if op == "create":
            try:
                os.unlink(path)
            except FileNotFoundError:
                pass
            continue
        if op == "modify":
            with open(backup, "rb") as b, open(path, "r+b") as f:
                f.seek(c["offset"])
                f.write(b.read())
        elif op == "append":
            os.truncate(path, c["size"])
        elif op in ("replace", "delete") and os.path.exists(backup):
            os.replace(backup, path)
        os.chmod(path, c["mode"])
        os.utime(path, ns=(c["atime_ns"], c["mtime_ns"]))
    for d in j["dirs"]:
        os.utime(os.path.join(dest, d["path"]),
                 ns=(d["atime_ns"], d["mtime_ns"]))
    # Check: sizes, modes and mtimes are back, created files are gone.
    bad = []
    for c in j["changes"]:
        path = os.path.join(dest, c["path"])
        if c["op"] == "create":
            if os.path.lexists(path):
                bad.append(path)
            continue
        try:
            st = os.lstat(path)
        except FileNotFoundError:
            bad.append(path)
            continue
        if (st.st_size, stat.S_IMODE(st.st_mode), st.st_mtime_ns) != \
                (c["size"], c["mode"], c["mtime_ns"]):
            bad.append(path)
    if bad:
        try:
            os.unlink(dest + ".json")     # generate again next time
        except FileNotFoundError:
            pass
        die(f"{len(bad)} files not restored (first: {bad[0]}); the stamp "
            f"{dest}.json is deleted, so the next run generates the tree "
            f"again")
    shutil.rmtree(bdir, ignore_errors=True)
    os.unlink(jp)
    say(f"restored {len(j['changes']):,} changes in {dest}")


# ----------------------------------------------------------------- main

def main():
    argv = sys.argv[1:]
    if len(argv) == 2 and argv[0] in PROFILES:          # the classic form
        argv = ["generate"] + argv
    ap = argparse.ArgumentParser(
        prog="gentree.py", description=__doc__.split("\n")[0],
        epilog="profiles: " + ", ".join(PROFILES))
    sub = ap.add_subparsers(dest="cmd", required=True, metavar="COMMAND")
    g = sub.add_parser("generate", help="generate a tree (also: gentree.py "
                       "PROFILE DEST)")
    g.add_argument("profile", choices=PROFILES)
    g.add_argument("dest")
    m = sub.add_parser("mutate", help="change PERCENT%% of the files")
    m.add_argument("dest")
    m.add_argument("--percent", type=float, default=1.0)
    m.add_argument("--seed", help="default: the profile in DEST.json, else "
                   "the directory's name")
    r = sub.add_parser("restore", help="undo mutate")
    r.add_argument("dest")
    s = sub.add_parser("space", help="bytes of disk the tree still needs, "
                       "and its number of files")
    s.add_argument("profile", choices=PROFILES)
    s.add_argument("dest")
    sub.add_parser("list", help="the profile names")
    a = ap.parse_args(argv)
    if a.cmd == "list":
        print("\n".join(PROFILES))
        return
    dest = os.path.abspath(a.dest)
    if a.cmd == "generate":
        cmd_generate(a.profile, dest)
    elif a.cmd == "space":
        cmd_space(a.profile, dest)
    elif a.cmd == "mutate":
        if not 0 < a.percent <= 100:
            die("--percent must be more than 0 and at most 100")
        if os.path.realpath(dest) in PROTECTED:
            die(f"refusing to change {dest}: only generated trees or copies")
        seed = a.seed or (read_stamp(dest) or {}).get("profile") or \
            os.path.basename(dest)
        mutate(dest, a.percent, seed)
    elif a.cmd == "restore":
        restore(dest)


if __name__ == "__main__":
    main()
