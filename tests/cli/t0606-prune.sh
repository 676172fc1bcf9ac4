#!/bin/sh
# t0606: `fimscan prune` drops snapshots outside the policy (never the
# baseline's, never the latest), the versions only they saw, old kept
# content, and gives the space back; the remaining snapshots compare
# exactly as before: every `diff` between them, with and without --bytes
# and --content, in text and JSON, is byte-identical before and after,
# including a proven append whose chain ran through dropped versions, an
# accepted path whose version lives only in a dropped snapshot, a move, a
# removed directory and a file added in between; `report --format ecs`
# gives the same documents with the same ids.
. "$(dirname "$0")/lib.sh"

py() {
	PYTHONPATH="$SRCDIR/tests/cli" python3 -B - "$@"
}
# step N: change the tree for scan N
step() {
	py "$T" "$1" <<'PY'
import os, sys
import byteslib as B
t, n = sys.argv[1], int(sys.argv[2])
rng = B.random.Random(606 + n)
a = bytearray(open(t + "/tree/a", "rb").read())
for _ in range(3):
    at = rng.randrange(len(a))
    a[at] ^= 0x55
open(t + "/tree/a", "r+b").write(a)            # in place: same inode
open(t + "/tree/g", "wb").write(rng.randbytes(200000))
with open(t + "/tree/log", "ab") as f:
    f.write(b"entry %d\n" % n * 100)
PY
}
# sizeof: the bytes of the store's database and WAL, as prune counts them
sizeof() {
	cat "$FIMSCAN_DB" "$FIMSCAN_DB-wal" 2>/dev/null | wc -c
}

mkdir -p tree/sub old &&
py "$T" <<'PY' || fail "tree"
import sys
import byteslib as B
t = sys.argv[1]
rng = B.random.Random(606)
for name, n in (("a", 300000), ("c", 50000), ("d", 9000), ("sub/s1", 30000),
                ("sub/s2", 100), ("g", 200000)):
    open("%s/tree/%s" % (t, name), "wb").write(rng.randbytes(n))
open(t + "/tree/log", "wb").write(b"start\n" * 1000)
PY
cp tree/a old/a.1
fim baseline --keep-content tree >/dev/null || fail "baseline"
for n in 2 3 4 5 6 7; do
	step $n || fail "step $n"
	case $n in
	3) rm tree/d ;;
	4) echo new >tree/e ;;
	5) rm -r tree/sub ;;
	6) mv tree/c tree/c2 ;;
	esac
	case $n in 3|5) want=6 ;; 4) want=5 ;; *) want=4 ;; esac
	expect_exit $want fim scan --keep-content --against latest tree >/dev/null
	if [ $n -eq 3 ]; then
		fim accept tree/a >/dev/null || fail "accept"
	fi
done
[ "$(sqlite3 "$FIMSCAN_DB" 'SELECT count(*) FROM override')" -eq 1 ] ||
	fail "no override"

# every comparison among REFS, in every form, into DIR
compare_all() {
	mkdir -p "$1"
	for a in $REFS; do
		for b in $REFS; do
			for opts in "" "--format json" "--bytes" \
				    "--bytes --content" \
				    "--bytes --content --format json"; do
				f="$1/$a.$b.$(echo "$opts" | tr -d ' -')"
				set +e
				# shellcheck disable=SC2086
				fim diff $opts "$a" "$b" >"$f" 2>"$f.err"
				echo "exit $?" >>"$f"
				set -e
			done
			# ECS documents: their ids come from the versions
			set +e
			fim report --format ecs "$a" "$b" >"$1/$a.$b.ecs" 2>&1
			echo "exit $?" >>"$1/$a.$b.ecs"
			set -e
		done
	done
}
same_as() {
	for f in "$1"/*; do
		g="$2/${f#"$1"/}"
		[ -e "$g" ] || continue
		cmp -s "$f" "$g" || {
			diff -u "$f" "$g" | head -40 >&2
			fail "$f and $g differ"
		}
	done
}

REFS="baseline 1 5 6 7"
compare_all before
[ "$(grep -c '"appended":true' before/1.7.bytescontentformatjson)" -eq 1 ] ||
	fail "log not a proven append from 1 to 7"
grep -q 'moved_from' before/5.7.formatjson || fail "no move"
grep -q '"event":{"id":"' before/1.7.ecs || fail "no ECS documents"
[ -s before/1.7.bytescontent.err ] && fail "$(cat before/1.7.bytescontent.err)"

# usage and errors
expect_exit 16 fim prune 2>usage.err
grep -q 'nothing to prune' usage.err || fail "$(cat usage.err)"
expect_exit 16 fim prune --keep 0 2>usage.err
expect_exit 16 fim prune --older-than -1 2>usage.err
expect_exit 16 fim prune --keep 2 extra 2>usage.err
FIMSCAN_DB=$T/none.db expect_exit 18 fim prune --keep 1 2>usage.err
[ ! -e "$T/none.db" ] || fail "prune created a store"

# a dry run says what would go and changes nothing
sqlite3 "$FIMSCAN_DB" .dump >dump.before
fim prune --dry-run --keep 2 >dry.txt || fail "dry run"
sqlite3 "$FIMSCAN_DB" .dump >dump.after
cmp -s dump.before dump.after || fail "the dry run changed the store"
grep -q '^would drop 4 snapshots (2-5), ' dry.txt || fail "dry: $(cat dry.txt)"
grep -q 'dry run' dry.txt || fail "dry: $(cat dry.txt)"

# keep the newest 2: 1 (the baseline), 6 and 7 remain
size0=$(sizeof)
fim prune --keep 2 >prune.txt || fail "prune: $(cat prune.txt)"
grep -q '^dropped 4 snapshots (2-5), ' prune.txt || fail "$(cat prune.txt)"
grep -q 'VACUUM' prune.txt || fail "$(cat prune.txt)"
size1=$(sizeof)
[ "$size1" -lt "$size0" ] || fail "store did not shrink: $size0 -> $size1"
grep -q "store $size0 bytes before, $size1 after" prune.txt ||
	fail "sizes: $(cat prune.txt) ($size0 $size1)"
[ "$(sqlite3 "$FIMSCAN_DB" 'SELECT group_concat(id) FROM snapshot')" = 1,6,7 ] ||
	fail "snapshots: $(sqlite3 "$FIMSCAN_DB" 'SELECT group_concat(id) FROM snapshot')"
expect_exit 20 fim diff 3 7 2>usage.err
REFS="baseline 1 6 7"
compare_all after1
same_as before after1
[ "$(sqlite3 "$FIMSCAN_DB" 'PRAGMA integrity_check')" = ok ] || fail "integrity"

# older than 0 days: everything but the baseline and the latest
fim -q prune --older-than 0 >quiet.txt || fail "prune --older-than"
[ ! -s quiet.txt ] || fail "-q printed: $(cat quiet.txt)"
[ "$(sqlite3 "$FIMSCAN_DB" 'SELECT group_concat(id) FROM snapshot')" = 1,7 ] ||
	fail "snapshots: $(sqlite3 "$FIMSCAN_DB" 'SELECT group_concat(id) FROM snapshot')"
REFS="baseline 1 7"
compare_all after2
same_as before after2
# the version the accept pointed at (born in dropped snapshot 3) stayed
[ "$(sqlite3 "$FIMSCAN_DB" "SELECT count(*) FROM version v JOIN override o
	ON o.dir = v.dir AND o.name = v.name AND o.born = v.born")" -eq 1 ] ||
	fail "the accepted version is gone"

# dropping old content: dead versions lose their bytes, so ranges from
# them are chunk-granular; what is alive is still read and verified
chunks0=$(sqlite3 "$FIMSCAN_DB" 'SELECT count(*) FROM chunk')
fim prune --content-older-than 0 >content.txt || fail "content prune"
grep -q '^dropped the kept bytes of [1-9][0-9]* dead versions$' content.txt &&
	grep -q '^dropped [1-9][0-9]* kept chunks: ' content.txt ||
	fail "$(cat content.txt)"
[ "$(sqlite3 "$FIMSCAN_DB" 'SELECT count(*) FROM chunk')" -lt "$chunks0" ] ||
	fail "no chunk dropped"
[ "$(sqlite3 "$FIMSCAN_DB" 'SELECT count(*) FROM version WHERE content AND
	died IS NOT NULL')" -eq 0 ] || fail "dead versions kept their bytes"
[ "$(sqlite3 "$FIMSCAN_DB" 'SELECT count(*) FROM version WHERE content AND
	died IS NULL')" -ge 4 ] || fail "alive versions lost their bytes"
expect_exit 7 fim diff --bytes --content --format json 1 7 >last.json
[ "$(sqlite3 "$FIMSCAN_DB" 'PRAGMA integrity_check')" = ok ] || fail "integrity"
py "$T" <<'PY' || fail "after the content prune: $(head -c 2000 last.json)"
import sys
import byteslib as B
t = sys.argv[1]
doc = B.load(t + "/last.json")
it = B.changed(doc, t + "/tree/a")
assert it["bytes"]["state"] == "chunks", it["bytes"]
assert it["bytes"]["content_available"] is True, it["bytes"]
old = open(t + "/old/a.1", "rb").read()
new = open(t + "/tree/a", "rb").read()
assert B.rebuild(old, it["ranges"]) == new
log = B.changed(doc, t + "/tree/log")
assert log["appended"] is True
print("ok: rebuilt from repacked content")
PY

# another writer holds the lock: prune waits busy-timeout, fails with 19
printf 'busy-timeout = 200\n' >busy.conf
mkfifo ctl
sqlite3 "$FIMSCAN_DB" <ctl >/dev/null 2>&1 &
sq=$!
trap 'exec 3>&-; kill $sq 2>/dev/null || :; cleanup' EXIT
exec 3>ctl
echo 'BEGIN IMMEDIATE;' >&3
wait_until 20 "! sqlite3 -cmd '.timeout 0' '$FIMSCAN_DB' 'BEGIN IMMEDIATE; ROLLBACK;' >/dev/null 2>&1"
expect_exit 19 fim -c busy.conf prune --keep 1 2>busy.err
grep -q busy busy.err || fail "busy: $(cat busy.err)"
echo 'ROLLBACK;' >&3
exec 3>&-
wait $sq || :
[ "$(sqlite3 "$FIMSCAN_DB" 'SELECT group_concat(id) FROM snapshot')" = 1,7 ] ||
	fail "a busy prune changed something"
