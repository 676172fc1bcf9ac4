#!/bin/sh
# t0002: the accept workflow: --dry-run changes nothing, accepting one path
# leaves the others reported, accepting everything makes the next scan
# clean, and log lists each accept.
. "$(dirname "$0")/lib.sh"

# fim_err FILE ARGS...: fim with its stderr in FILE (redirecting around
# expect_exit would swallow expect_exit's own message).
fim_err() {
	f=$1
	shift
	"$FIMSCAN" "$@" 2>"$f"
}

has() {
	awk -v w="$2" -v t="$3" -v p="$4" \
		'$1 == w && $2 == t && $3 == p { f = 1 } END { exit !f }' "$1"
}
count() {
	sqlite3 "$FIMSCAN_DB" "SELECT count(*) FROM $1"
}

mkdir tree && echo a >tree/a && echo b >tree/b && echo c >tree/c &&
fim baseline tree >/dev/null || fail "baseline"

# Two files change in place (their directory does not).
echo more >>tree/a && echo more >>tree/b
expect_exit 4 fim scan tree >out
has out changed file "$T/tree/a" && has out changed file "$T/tree/b" &&
	grep -q '^summary: 0 added, 0 removed, 2 changed$' out ||
	fail "scan: $(cat out)"

# --dry-run lists both and changes nothing in the store.
sqlite3 "$FIMSCAN_DB" .dump >before.sql
fim accept --dry-run >dry || fail "accept --dry-run"
has dry changed file "$T/tree/a" && has dry changed file "$T/tree/b" ||
	fail "dry run: $(cat dry)"
sqlite3 "$FIMSCAN_DB" .dump >after.sql
cmp -s before.sql after.sql || fail "accept --dry-run changed the store"
expect_exit 4 fim diff >/dev/null
[ "$(count accept)" -eq 0 ] || fail "dry run recorded an accept"

# Accept a; the next scan reports only b.
fim accept tree/a || fail "accept tree/a"
[ "$(count accept)" -eq 1 ] || fail "accept not recorded"
expect_exit 4 fim diff >out
has out changed file "$T/tree/b" && ! grep -q "$T/tree/a" out ||
	fail "diff after accept a: $(cat out)"
expect_exit 4 fim scan tree >out
has out changed file "$T/tree/b" && ! grep -q "$T/tree/a" out ||
	fail "scan after accept a: $(cat out)"
grep -q '^summary: 0 added, 0 removed, 1 changed$' out || fail "$(cat out)"
# the baseline snapshot itself is not rewritten
expect_exit 4 fim diff 1 latest >out
has out changed file "$T/tree/a" || fail "diff 1 latest: $(cat out)"
# a path that has no difference accepts nothing and succeeds
fim accept tree/c || fail "accept tree/c"

# Accept everything: the next scan is clean.
fim accept || fail "accept"
expect_exit 0 fim diff >/dev/null
expect_exit 0 fim scan tree >out
grep -q '^summary: no differences$' out || fail "after accept: $(cat out)"
# ... and a new change is still reported against the accepted state
echo again >>tree/c
expect_exit 4 fim scan tree >out
has out changed file "$T/tree/c" && ! grep -q "$T/tree/[ab]" out ||
	fail "after accept, new change: $(cat out)"

# log lists the accepts, with their paths ("all" for everything).
fim log >log || fail "log"
grep -q "^accept 1 .* $T/tree/a)\$" log || fail "log accept 1: $(cat log)"
grep -q "^accept [0-9]* .*: all)\$" log || fail "log accept all: $(cat log)"
fim log --format json >log.json &&
json_check log.json 'len(d["accepts"]) >= 2' \
	"d['accepts'][0]['paths'] == '$T/tree/a'" \
	"d['accepts'][0]['count'] == 1" \
	"d['accepts'][-1]['paths'] == ''" \
	"all(a['user'] for a in d['accepts'])"
sqlite3 "$FIMSCAN_DB" 'PRAGMA integrity_check' | grep -qx ok ||
	fail "integrity_check"

# accept before any baseline: no such snapshot.
expect_exit 20 fim_err /dev/null --db "$T/fresh.db" accept
