#!/bin/sh
# t0602: with --keep-content, `diff --bytes` is exact to the byte.
#   - Overwrites only (random spots, 1-byte edits at both ends, one across
#     a chunk boundary, repetitive content): the ranges cover exactly the
#     offsets `cmp -l` reports.
#   - One insertion and one deletion: a single exact range of that size.
#   - Random edit scripts, plus empty files, growth from 0, truncation to
#     0, 1-byte files and sizes around the minimum and maximum chunk size:
#     `diff --bytes --content` JSON rebuilds every new file from the old
#     one byte for byte, and every region not reported is equal.
. "$(dirname "$0")/lib.sh"

py() {
	PYTHONPATH="$SRCDIR/tests/cli" python3 -B - "$@"
}

mkdir tree old
py "$T" <<'PY' || fail "making the old files"
import sys
import byteslib as B
t = sys.argv[1]
rng = B.random.Random(602)
files = {
    "ow-random": rng.randbytes(1000000),
    "ow-boundary": rng.randbytes(300000),
    "ow-repetitive": b"abcdefgh" * 100000,
    "insert": rng.randbytes(500000),
    "delete": rng.randbytes(500000),
    "empty-stays": b"", "from-empty": b"", "to-empty": rng.randbytes(70000),
    "one-byte": b"x", "min-chunk": rng.randbytes(4095),
    "max-chunk": rng.randbytes(65537),
    "text": b"".join(b"line %d of a config file\n" % i for i in range(20000)),
}
for i in range(8):
    files["script-%d" % i] = rng.randbytes(rng.choice([9000, 70000, 400000]))
for name, data in files.items():
    for d in ("tree", "old"):
        open("%s/%s/%s" % (t, d, name), "wb").write(data)
PY
fim baseline --keep-content tree >/dev/null || fail "baseline"
[ "$(sqlite3 "$FIMSCAN_DB" 'SELECT count(*) FROM version WHERE content')" \
  -eq 18 ] || fail "not every non-empty file was kept"

py "$T" "$FIMSCAN_DB" <<'PY' || fail "editing"
import sys
import byteslib as B
t, db = sys.argv[1:3]
rng = B.random.Random(6021)
def rd(n): return open("%s/old/%s" % (t, n), "rb").read()
def wr(n, d): open("%s/tree/%s" % (t, n), "wb").write(d)
def ow(d, at, n): return B.edit(d, rng, "overwrite", at, n)[0]

d = rd("ow-random")
for at, n in ((0, 1), (len(d) - 1, 1), (1000, 3), (400000, 700), (400900, 50),
              (777777, 1)):
    d = ow(d, at, n)
wr("ow-random", d)
# across the boundary between the 10th and 11th stored chunks
size, lengths = B.version_at(db, "%s/tree/ow-boundary" % t, 1)
cut = sum(lengths[:10])
wr("ow-boundary", ow(rd("ow-boundary"), cut - 20, 40))
d = rd("ow-repetitive")
wr("ow-repetitive", ow(ow(d, 123456, 1), 654321, 9))
d = rd("insert")
wr("insert", d[:250000] + rng.randbytes(37) + d[250000:])
d = rd("delete")
wr("delete", d[:250000] + d[250037:])
wr("from-empty", rng.randbytes(20000))
wr("to-empty", b"")
wr("one-byte", b"y")
wr("min-chunk", B.edit(rd("min-chunk"), rng, "insert", 2000, 1)[0])
wr("max-chunk", B.edit(rd("max-chunk"), rng, "delete", 65000, 2)[0])
d = rd("text")
d = d.replace(b"line 5000 of", b"LINE 5000 of").replace(
    b"line 12000 of a config file\n", b"")
wr("text", d + b"one more line\n")
for i in range(8):
    n = "script-%d" % i
    wr(n, B.random_script(rng, rd(n), 1 + i % 4))
PY
expect_exit 4 fim scan --keep-content tree >/dev/null
expect_exit 4 fim diff --bytes --format json 1 2 >bytes.json
expect_exit 4 fim diff --bytes --content --format json 1 2 >content.json

# overwrites: exactly the bytes cmp -l names
for f in ow-random ow-boundary ow-repetitive; do
	cmp -l "old/$f" "tree/$f" | awk '{ print $1 - 1 }' >"cmp-$f" || :
	[ -s "cmp-$f" ] || fail "$f: no difference made"
done
py "$T" <<'PY' || fail "overwrites: $(cat bytes.json)"
import sys
import byteslib as B
t = sys.argv[1]
doc = B.load(t + "/bytes.json")
for f in ("ow-random", "ow-boundary", "ow-repetitive"):
    it = B.changed(doc, "%s/tree/%s" % (t, f))
    assert it["bytes"]["state"] == "exact", (f, it["bytes"])
    want = set(int(x) for x in open("%s/cmp-%s" % (t, f)))
    got = set()
    for r in it["ranges"]:
        assert r["op"] == "modify" and r["exact"] is True, (f, r)
        assert r["old_offset"] == r["new_offset"], (f, r)
        assert r["old_length"] == r["new_length"], (f, r)
        got |= set(range(r["old_offset"], r["old_offset"] + r["old_length"]))
    assert got == want, (f, sorted(got ^ want)[:20])
    assert it["bytes"]["bytes_changed"] == len(want), f
for f, op in (("insert", "insert"), ("delete", "delete")):
    it = B.changed(doc, "%s/tree/%s" % (t, f))
    rs = it["ranges"]
    assert len(rs) == 1 and rs[0]["op"] == op and rs[0]["exact"], (f, rs)
    assert max(rs[0]["old_length"], rs[0]["new_length"]) == 37, (f, rs)
    assert min(rs[0]["old_length"], rs[0]["new_length"]) == 0, (f, rs)
    assert abs(rs[0]["old_offset"] - 250000) <= 37, (f, rs)
print("ok: overwrites match cmp -l; insert and delete are exact")
PY

# every file rebuilt from its old copy with the reported ranges and bytes
py "$T" <<'PY' || fail "rebuilding: $(head -c 3000 content.json)"
import os, sys
import byteslib as B
t = sys.argv[1]
doc = B.load(t + "/content.json")
n = 0
for name in sorted(os.listdir(t + "/tree")):
    old = open("%s/old/%s" % (t, name), "rb").read()
    new = open("%s/tree/%s" % (t, name), "rb").read()
    if old == new:
        assert not any(i["path"].endswith("/" + name)
                       for i in doc["changed"]), name
        continue
    it = B.changed(doc, "%s/tree/%s" % (t, name))
    # an empty file has no bytes to keep (and needs none)
    assert it["bytes"]["content_available"] is bool(new), (name, it["bytes"])
    B.gaps_equal(old, new, it["ranges"])
    assert B.rebuild(old, it["ranges"]) == new, name
    if old and new:
        assert it["bytes"]["state"] in ("exact", "appended"), (name, it["bytes"])
        assert all(r["exact"] for r in it["ranges"]), name
    n += 1
assert n == 19, n
print("ok: %d files rebuilt byte for byte" % n)
PY
