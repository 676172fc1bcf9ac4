#!/bin/sh
# t0001: the basic cycle: baseline, scan, log, show, diff, and the exit
# statuses of each (bitmask for findings, 16 and up for failures).
. "$(dirname "$0")/lib.sh"

# fim_err FILE ARGS...: fim with its stderr in FILE (redirecting around
# expect_exit would swallow expect_exit's own message).
fim_err() {
	f=$1
	shift
	"$FIMSCAN" "$@" 2>"$f"
}

# has FILE WORD TYPE PATH: the text report has the line "WORD TYPE PATH".
has() {
	awk -v w="$2" -v t="$3" -v p="$4" \
		'$1 == w && $2 == t && $3 == p { f = 1 } END { exit !f }' "$1"
}

mkdir -p tree/sub &&
echo one >tree/a && echo two >tree/b && echo three >tree/c &&
echo four >tree/sub/d || fail "setup"

# A baseline exits 0; an unchanged scan exits 0 and says so.
fim baseline tree >out || fail "baseline"
expect_exit 0 fim scan tree >out
grep -q '^summary: no differences$' out || fail "unchanged scan: $(cat out)"

# Snapshot 3: one added, one removed, one changed (and their directory).
echo new >tree/new && rm tree/b && echo changed >>tree/c
expect_exit 7 fim scan tree >out
grep -q '^summary: 1 added, 1 removed, 2 changed$' out ||
	fail "summary: $(cat out)"
has out added file "$T/tree/new" || fail "added: $(cat out)"
has out removed file "$T/tree/b" || fail "removed: $(cat out)"
has out changed file "$T/tree/c" || fail "changed: $(cat out)"
# the directory that gained and lost a name changed too
has out changed dir "$T/tree" || fail "dir: $(cat out)"
grep -q '^    sha256  *[0-9a-f]\{64\} -> [0-9a-f]\{64\}$' out ||
	fail "sha256 line: $(cat out)"
! has out changed file "$T/tree/a" || fail "a reported"
! grep -q "$T/tree/sub" out || fail "sub reported"

# log: three snapshots, the first marked as the baseline.
fim log >log || fail "log"
grep -Eq '^ +1\* baseline ' log || fail "log baseline: $(cat log)"
grep -Eq '^ +2  scan ' log && grep -Eq '^ +3  scan ' log ||
	fail "log scans: $(cat log)"
[ "$(grep -Ec '^ +[0-9]+[* ] ' log)" -eq 3 ] || fail "log count: $(cat log)"
grep -q "+1 -1 ~2" log || fail "log counts: $(cat log)"
fim log --format json >log.json &&
json_check log.json 'len(d["snapshots"]) == 3' \
	'[s["kind"] for s in d["snapshots"]] == ["baseline", "scan", "scan"]' \
	'[s["baseline"] for s in d["snapshots"]] == [True, False, False]' \
	'd["accepts"] == []'
fim log -n 1 >log1 && [ "$(grep -Ec '^ +[0-9]+[* ] ' log1)" -eq 1 ] &&
grep -Eq '^ +3  scan ' log1 || fail "log -n 1: $(cat log1)"

# show: c has two versions (1..3 and 3..), b one that died at 3.
fim show tree/c >show || fail "show"
head -n 1 show | grep -qxF "$T/tree/c" || fail "show header: $(cat show)"
grep -q '^  snapshots 1\.\.3$' show && grep -q '^  snapshots 3\.\.$' show ||
	fail "show versions: $(cat show)"
fim show --format json "$T/tree/b" >show.json &&
json_check show.json 'len(d["versions"]) == 1' \
	'd["versions"][0]["born"] == 1 and d["versions"][0]["died"] == 3' \
	'd["versions"][0]["type"] == "file" and d["versions"][0]["size"] == 4'

# diff: defaults are baseline and latest; explicit ids; either order.
expect_exit 7 fim diff >d1
grep -v '^fimscan: comparing' out >o.body && grep -v '^fimscan: comparing' d1 >d1.body &&
cmp -s o.body d1.body || fail "diff default differs from the scan report"
head -n 1 d1 | grep -q '^fimscan: comparing 1 (baseline, .*) with 3 (scan, ' ||
	fail "diff header: $(head -n 1 d1)"
expect_exit 0 fim diff 1 2 >d2
grep -q '^summary: no differences$' d2 || fail "diff 1 2"
expect_exit 7 fim diff 2 3 >d3
expect_exit 7 fim diff 3 1 >d4
has d4 added file "$T/tree/b" && has d4 removed file "$T/tree/new" ||
	fail "reversed diff: $(cat d4)"
expect_exit 0 fim diff latest latest >/dev/null
expect_exit 7 fim diff previous latest >/dev/null
# paths after "--" narrow the comparison
expect_exit 4 fim diff 1 3 -- tree/c >d5
has d5 changed file "$T/tree/c" && ! grep -q "$T/tree/new" d5 ||
	fail "diff -- path: $(cat d5)"

# References that do not resolve: 20; a malformed one is a usage error.
expect_exit 20 fim_err err diff 1 99
grep -q 'no snapshot 99' err || fail "message: $(cat err)"
expect_exit 16 fim_err err diff bogus
grep -q "bad snapshot reference 'bogus'" err || fail "message: $(cat err)"
expect_exit 16 fim_err /dev/null diff 1 2 3

# scan --against latest/previous: what changed since the last snapshot.
echo again >>tree/a
expect_exit 4 fim scan --against latest tree >out
has out changed file "$T/tree/a" && ! grep -q "$T/tree/new" out ||
	fail "--against latest: $(cat out)"
head -n 1 out | grep -q '^fimscan: comparing 3 (scan, .*) with 4 (scan, ' ||
	fail "--against latest header: $(head -n 1 out)"
expect_exit 0 fim scan --against previous tree >/dev/null
expect_exit 7 fim scan --against 1 tree >/dev/null
expect_exit 7 fim scan tree >/dev/null
n=$(sqlite3 "$FIMSCAN_DB" 'SELECT count(*) FROM snapshot') && [ "$n" -eq 7 ] ||
	fail "snapshots: $n"
expect_exit 20 fim_err err scan --against 42 tree
grep -q 'no snapshot 42' err || fail "message: $(cat err)"
[ "$(sqlite3 "$FIMSCAN_DB" 'SELECT count(*) FROM snapshot')" -eq 7 ] ||
	fail "a scan against a missing reference took a snapshot"

# No baseline yet: scan and diff fail with 20.
expect_exit 20 fim_err err --db "$T/fresh.db" scan tree
grep -q 'no baseline' err || fail "message: $(cat err)"
expect_exit 20 fim_err /dev/null --db "$T/fresh.db" diff

# Usage errors: 16, with the usage on stderr and nothing on stdout.
expect_exit 16 fim_err err frobnicate >out
[ ! -s out ] && grep -q "unknown command 'frobnicate'" err || fail "unknown command"
expect_exit 16 fim_err err scan --bogus tree >out
[ ! -s out ] && grep -q "unknown option '--bogus'" err &&
	grep -q '^usage: fimscan scan ' err || fail "unknown option: $(cat err)"
expect_exit 16 fim_err /dev/null --bogus log
expect_exit 16 fim_err /dev/null scan --format xml tree
expect_exit 16 fim_err err s tree
grep -q "ambiguous command 's'" err || fail "ambiguous: $(cat err)"
expect_exit 16 fim_err /dev/null
expect_exit 16 fim_err /dev/null --db "$T/x.db" baseline "$T/no/such/dir"
# ... and -h is not a mistake
fim scan -h >out && grep -q '^usage: fimscan scan ' out || fail "scan -h"
fim -h >out && grep -q '^usage: fimscan ' out || fail "-h"
# an unambiguous prefix works
expect_exit 0 fim sc --against latest tree >/dev/null

# No store at all: a reader fails with 18 (fimscan(1): "A command that
# writes creates the store when it does not exist; the others fail with
# exit status 18") and does not create it.
expect_exit 18 fim_err err --db "$T/none.db" log
grep -q "none.db" err || fail "message: $(cat err)"
[ ! -e "$T/none.db" ] || fail "a reader created the store"
