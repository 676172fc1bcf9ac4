#!/bin/sh
# t0610: a store keeps the chunking parameters it was made with. New
# stores cut with min 7 KiB (every chunk but the last at least 7168
# bytes); a store made by the first releases (min 4 KiB, recorded as
# such in its meta table) goes on being cut with its own parameters, so
# its old and new lists still line up and `diff --bytes` stays precise;
# a store with parameters this fimscan does not know is refused (exit
# 18) before anything is written.
. "$(dirname "$0")/lib.sh"

py() {
	PYTHONPATH="$SRCDIR/tests/cli" python3 -B - "$@"
}
V1='gear-v1 min=4096 max=65536 bits=12 table=96e6e82606fc8847'

mkdir tree empty &&
py "$T" <<'PY' || fail "making the file"
import sys, random
open(sys.argv[1] + "/tree/f", "wb").write(random.Random(610).randbytes(1 << 20))
PY

# lengths DB SNAP MIN: the chunks of tree/f in snapshot SNAP, every one but
# the last at least MIN bytes; prints how many are shorter than 6144
lengths() {
	py "$1" "$T/tree/f" "$2" "$3" <<'PY'
import sys
import byteslib as B
db, path, snap, least = sys.argv[1], sys.argv[2], int(sys.argv[3]), int(sys.argv[4])
size, ls = B.version_at(db, path, snap)
assert sum(ls) == size == 1 << 20, (size, sum(ls))
assert all(n >= least for n in ls[:-1]), (least, ls)
print(sum(1 for n in ls[:-1] if n < 6144))
PY
}
meta() {
	python3 - "$1" "$2" <<'PY'
import sqlite3, sys
db = sqlite3.connect(sys.argv[1])
if len(sys.argv[2]):
    db.execute("UPDATE meta SET value = ? WHERE key = 'chunk_params'",
               (sys.argv[2],))
    db.commit()
print(db.execute("SELECT value FROM meta WHERE key = 'chunk_params'").fetchone()[0])
PY
}

# a new store: the current parameters
fim baseline tree >/dev/null || fail "baseline"
[ "$(meta "$FIMSCAN_DB" '')" = 'gear-v1 min=7168 max=65536 bits=10 table=96e6e82606fc8847' ] ||
	fail "new store records $(meta "$FIMSCAN_DB" '')"
[ "$(lengths "$FIMSCAN_DB" 1 7168)" = 0 ] || fail "new store: short chunks"

# a store from the first releases: its own parameters, still
fim --db old.db baseline empty >/dev/null || fail "old baseline"
meta old.db "$V1" >/dev/null
fim --db old.db scan tree >/dev/null || :
short=$(lengths old.db 2 4096) || fail "old store: chunks under 4096"
[ "$short" -gt 0 ] || fail "old store was cut with the new parameters"
[ "$(meta old.db '')" = "$V1" ] || fail "old store's parameters changed"
py "$T" <<'PY' || fail "editing"
import sys
p = sys.argv[1] + "/tree/f"
d = bytearray(open(p, "rb").read())
d[500000:500010] = b"0123456789"
open(p, "wb").write(d)
PY
# scan compares with the baseline (of empty/): f is still "added"
expect_exit 1 fim --db old.db scan tree >/dev/null
expect_exit 4 fim --db old.db diff --bytes --format json 2 3 >diff.json
json_check diff.json \
	'len(d["changed"]) == 1' \
	'd["changed"][0]["bytes"]["state"] == "chunks"' \
	'd["changed"][0]["bytes"]["bytes_changed"] <= 3 * 65536' \
	'all(r["old_offset"] <= 500000 < r["old_offset"] + r["old_length"] + 65536 for r in d["changed"][0]["ranges"])'

# unknown parameters: refused, nothing written
meta old.db 'gear-v1 min=1000 max=65536 bits=12 table=96e6e82606fc8847' >/dev/null
before=$(fim --db old.db log | wc -l)
set +e
fim --db old.db scan tree >out 2>err
rc=$?
set -e
[ $rc -eq 18 ] || fail "unknown parameters: exit $rc"
grep -q "was chunked with 'gear-v1 min=1000" err || fail "message: $(cat err)"
[ "$(fim --db old.db log | wc -l)" = "$before" ] || fail "a snapshot was written"
