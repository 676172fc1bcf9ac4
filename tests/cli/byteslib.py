"""byteslib.py: what the byte-range CLI tests (t06NN) share.

The oracles of bytediff.md: rebuilding the new file from the old one with
the reported ranges and new bytes, and checking that every region not
reported is equal in both versions; and the stored chunk lists, to say
which chunks an edit touched. Used from the tests as

    PYTHONPATH=$SRCDIR/tests/cli python3 - ... <<'PY'
    import byteslib as B
"""
import base64
import json
import os
import random
import sqlite3


def load(path):
    with open(path) as f:
        return json.load(f)


def changed(doc, path):
    """The `changed` item of `path` in a diff JSON document."""
    for it in doc["changed"]:
        if it["path"] == path:
            return it
    raise AssertionError("%s not in changed: %s" %
                         (path, [i["path"] for i in doc["changed"]]))


def rebuild(old, ranges):
    """Apply ranges with their new_data_base64 to old; the result."""
    out = bytearray()
    pos = 0
    for r in ranges:
        assert r["old_offset"] >= pos, ("ranges out of order", r)
        out += old[pos:r["old_offset"]]
        assert len(out) == r["new_offset"], ("new_offset", r, len(out))
        if r["new_length"]:
            data = base64.b64decode(r["new_data_base64"])
            assert len(data) == r["new_length"], ("new data length", r)
            out += data
        else:
            assert "new_data_base64" not in r, r
        pos = r["old_offset"] + r["old_length"]
    assert pos <= len(old), ("range past the old end", pos, len(old))
    out += old[pos:]
    return bytes(out)


def gaps_equal(old, new, ranges):
    """Everything between (and around) the ranges is equal on both sides."""
    po = pn = 0
    for r in ranges:
        assert r["old_offset"] - po == r["new_offset"] - pn, ("gap", r)
        assert old[po:r["old_offset"]] == new[pn:r["new_offset"]], \
            ("unreported difference before", r)
        assert r["old_length"] or r["new_length"], ("empty range", r)
        op = {(True, True): "modify", (False, True): "insert",
              (True, False): "delete"}[(r["old_length"] > 0,
                                        r["new_length"] > 0)]
        assert r["op"] == op, ("op", r)
        po = r["old_offset"] + r["old_length"]
        pn = r["new_offset"] + r["new_length"]
    assert old[po:] == new[pn:], "unreported difference at the end"


def bytes_changed(ranges):
    return sum(max(r["old_length"], r["new_length"]) for r in ranges)


def version_at(db, path, snap):
    """(size, chunk lengths) of path's version at snapshot `snap`."""
    d, n = os.path.split(path.encode())
    con = sqlite3.connect("file:%s?mode=ro" % db, uri=True)
    try:
        row = con.execute(
            "SELECT v.size, v.clist, c.list FROM version v "
            "JOIN dir d ON d.id = v.dir LEFT JOIN clist c ON c.id = v.clist "
            "WHERE d.path = ? AND v.name = ? AND v.born <= ? AND "
            "(v.died IS NULL OR v.died > ?)", (d, n, snap, snap)).fetchone()
    finally:
        con.close()
    assert row, ("no version", path, snap)
    size, clist, blob = row
    if not clist:
        return size, [size] if size else []
    return size, decode_list(blob)


def decode_list(blob):
    """Chunk lengths of a packed list (varint length, 16-byte id)."""
    out = []
    i = 0
    while i < len(blob):
        v = shift = 0
        while True:
            b = blob[i]
            i += 1
            v |= (b & 0x7f) << shift
            shift += 7
            if not b & 0x80:
                break
        i += 16
        out.append(v)
    return out


def window(lengths, lo, hi):
    """The bytes an edit of [lo, hi) may flag at chunk granularity: the
    chunks it touches plus one neighbour on each side. An empty region
    (an insertion point) touches the chunks on both sides of it."""
    starts = [0]
    for n in lengths:
        starts.append(starts[-1] + n)
    nch = len(lengths)

    def idx(x):
        i = 0
        while i + 1 < nch and starts[i + 1] <= x:
            i += 1
        return i
    if not nch:
        return 0, 0
    first = idx(max(lo - 1, 0)) if lo == hi else idx(lo)
    last = idx(hi) if lo == hi else idx(hi - 1)
    return starts[max(first - 1, 0)], starts[min(last + 2, nch)]


def edit(data, rng, op, at, n):
    """Apply one edit; returns (new data, old region, new region)."""
    if op == "overwrite":
        repl = bytes(b ^ (1 + rng.randrange(255)) for b in data[at:at + n])
        return data[:at] + repl + data[at + n:], (at, at + n), (at, at + n)
    if op == "insert":
        return (data[:at] + rng.randbytes(n) + data[at:], (at, at),
                (at, at + n))
    assert op == "delete"
    return data[:at] + data[at + n:], (at, at + n), (at, at)


def random_script(rng, data, edits):
    """A random edit script of `edits` edits anywhere in data."""
    for _ in range(edits):
        op = rng.choice(["overwrite", "insert", "delete"])
        at = rng.randrange(len(data) + 1)
        n = rng.choice([1, 2, 7, 100, 5000, 20000])
        if op != "insert":
            n = min(n, len(data) - at)
            if not n:
                op = "insert"
                n = 10
        data = edit(data, rng, op, at, n)[0]
    return data


__all__ = ["load", "changed", "rebuild", "gaps_equal", "bytes_changed",
           "version_at", "decode_list", "window", "edit", "random_script",
           "random"]
