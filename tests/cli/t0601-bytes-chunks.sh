#!/bin/sh
# t0601: with hashes only, `diff --bytes` reports ranges at chunk
# granularity: for an overwrite, an insertion and a deletion at the start,
# the middle and the end of a 1 MB random file (an insertion at the end is
# a proven append, exact), the ranges cover the edit,
# reach at most one chunk beyond the chunks it touched on each side (the
# stored chunk lists say where they are), every byte outside them is
# equal in both versions, and `exact` is false.
. "$(dirname "$0")/lib.sh"

py() {
	PYTHONPATH="$SRCDIR/tests/cli" python3 -B - "$@"
}

# nine files, one edit each; the edits are written down in edits.json
mkdir tree old &&
py "$T" <<'PY' || fail "making the files"
import json, sys
import byteslib as B
t = sys.argv[1]
rng = B.random.Random(601)
size = 1 << 20
edits = {}
for op in ("overwrite", "insert", "delete"):
    for where in ("start", "middle", "end"):
        name = "%s-%s" % (op, where)
        data = rng.randbytes(size)
        at = {"start": 0, "middle": size // 2 + 1234,
              "end": size - 100 if op != "insert" else size}[where]
        new, o, n = B.edit(data, rng, op, at, 100)
        open("%s/old/%s" % (t, name), "wb").write(data)
        open("%s/tree/%s" % (t, name), "wb").write(data)
        open("%s/new-%s" % (t, name), "wb").write(new)
        edits[name] = {"old": o, "new": n}
json.dump(edits, open("%s/edits.json" % t, "w"))
PY
fim baseline tree >/dev/null || fail "baseline"
for f in old/*; do
	cp "new-${f#old/}" "tree/${f#old/}" || fail "edit $f"
done
expect_exit 4 fim scan tree >/dev/null
expect_exit 4 fim diff --bytes --format json 1 2 >diff.json
expect_exit 4 fim diff --bytes 1 2 >diff.txt

py "$T" "$FIMSCAN_DB" <<'PY' || fail "ranges: $(cat diff.json)"
import json, sys
import byteslib as B
t, db = sys.argv[1:3]
doc = B.load(t + "/diff.json")
edits = json.load(open(t + "/edits.json"))
assert len(doc["changed"]) == 9, len(doc["changed"])
for name, e in sorted(edits.items()):
    path = "%s/tree/%s" % (t, name)
    it = B.changed(doc, path)
    rs = it["ranges"]
    old = open("%s/old/%s" % (t, name), "rb").read()
    new = open(path, "rb").read()
    if name == "insert-end":
        # an insertion at the end is an append, proven by the scan
        assert it["appended"] is True and it["bytes"]["state"] == "appended"
        assert rs == [{"op": "insert", "old_offset": len(old),
                       "old_length": 0, "new_offset": len(old),
                       "new_length": 100, "exact": True}], rs
        continue
    assert it["bytes"]["state"] == "chunks", (name, it["bytes"])
    assert rs and all(r["exact"] is False for r in rs), (name, rs)
    assert it["bytes"]["bytes_changed"] == B.bytes_changed(rs), name
    B.gaps_equal(old, new, rs)
    for side, snap in (("old", 1), ("new", 2)):
        lo, hi = e[side]
        size, lengths = B.version_at(db, path, snap)
        assert len(lengths) > 60, (name, "expected many chunks", lengths)
        wlo, whi = B.window(lengths, lo, hi)
        off, ln = side + "_offset", side + "_length"
        # covered: the edit's bytes (or its insertion point) lie in a range
        if lo < hi:
            assert all(any(r[off] <= x < r[off] + r[ln] for r in rs)
                       for x in (lo, hi - 1, (lo + hi) // 2)), (name, side, rs)
        else:
            assert any(r[off] <= lo <= r[off] + r[ln] for r in rs), \
                (name, side, rs)
        # precise: nothing outside the touched chunks and one neighbour
        for r in rs:
            assert wlo <= r[off] and r[off] + r[ln] <= whi, \
                (name, side, r, (wlo, whi), lengths[:3], lengths[-3:])
print("ok: 8 edits at chunk granularity, 1 append")
PY

# the text report says the same, at chunk granularity
[ "$(grep -c 'chunk granularity' diff.txt)" -eq 8 ] &&
	grep -q 'appended, proven' diff.txt ||
	fail "text: $(cat diff.txt)"
grep -q '^      modify old [0-9]*+[0-9]*  new [0-9]*+[0-9]*$' diff.txt ||
	fail "text ranges: $(cat diff.txt)"
