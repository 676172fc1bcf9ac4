#!/usr/bin/env python3
"""Generate a deterministic synthetic file tree for the benchmarks.

    python3 bench/gentree.py PROFILE DEST

The same PROFILE always gives the same names, sizes, contents, modes and
mtimes (random.Random seeded with the profile name; inode numbers and ctimes
differ, of course).  A stamp file DEST.json records what was generated; when
it matches, the tree is left alone, so repeated benchmark runs reuse it.

Profiles (see PROFILES below; add new ones there):
  small    100,000 small files (0-16 KiB, about 0.16 GB), 100 per directory
  million  1,000,000 small files (0-2 KiB, about 0.3 GB), for peak RSS
  medium   10,000 files of 0.25-2 MiB (about 12 GB)
  huge     3 files of 1 GiB
  tiny     2,000 small files, for testing the scripts themselves
Python standard library only.
"""
import json
import os
import random
import shutil
import sys

GEN_VERSION = 1  # bump when the generator's output changes

# name: (files, files per directory, min size, max size, size shape)
#   shape "small": mostly tiny files with a long tail (like /usr/share);
#   shape "uniform": uniform between min and max.
PROFILES = {
    "tiny":    dict(files=2_000, per_dir=100, lo=0, hi=16 << 10, shape="small"),
    "small":   dict(files=100_000, per_dir=100, lo=0, hi=16 << 10, shape="small"),
    "million": dict(files=1_000_000, per_dir=200, lo=0, hi=2 << 10, shape="small"),
    "medium":  dict(files=10_000, per_dir=100, lo=256 << 10, hi=2 << 20,
                    shape="uniform"),
    "huge":    dict(files=3, per_dir=3, lo=1 << 30, hi=1 << 30, shape="uniform"),
}

POOL_SIZE = 4 << 20        # random bytes that file contents are cut from
MTIME_BASE = 1_700_000_000  # 2023-11-14: fixed, so mtimes are deterministic


def size_of(rng, p):
    if p["shape"] == "uniform":
        return rng.randint(p["lo"], p["hi"])
    # "small": log-uniform over 1 B .. hi, plus some empty files.
    if rng.random() < 0.03:
        return 0
    return min(p["hi"], int(2 ** rng.uniform(0, p["hi"].bit_length() - 1)))


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


def main():
    if len(sys.argv) != 3 or sys.argv[1] not in PROFILES:
        sys.exit(f"usage: gentree.py {{{'|'.join(PROFILES)}}} DEST")
    profile, dest = sys.argv[1], os.path.abspath(sys.argv[2])
    stamp = dest + ".json"
    want = {"profile": profile, "version": GEN_VERSION}
    try:
        with open(stamp) as f:
            have = json.load(f)
        if all(have.get(k) == v for k, v in want.items()) and os.path.isdir(dest):
            print(f"gentree: {dest} is up to date ({have['files']:,} files)",
                  file=sys.stderr)
            return
    except (OSError, ValueError):
        pass
    print(f"gentree: generating '{profile}' into {dest}", file=sys.stderr)
    try:
        os.unlink(stamp)
    except FileNotFoundError:
        pass
    info = generate(profile, dest)
    with open(stamp, "w") as f:
        json.dump(info, f)
        f.write("\n")
    print(f"gentree: {info['files']:,} files, {info['bytes'] / 1e6:.1f} MB",
          file=sys.stderr)


if __name__ == "__main__":
    main()
