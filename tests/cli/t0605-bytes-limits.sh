#!/bin/sh
# t0605: the limits on kept content. A file over content-max-file is
# hashed and chunked but not kept, and a warning names the file and the
# setting; once content-max-total is reached, one warning per snapshot
# says so and the files after it are not kept.
. "$(dirname "$0")/lib.sh"

# kept(DB): "name size" of every version whose bytes are kept
kept() {
	sqlite3 "$1" "SELECT CAST(name AS TEXT), size FROM version
		WHERE content ORDER BY name"
}

# 1. content-max-file
printf 'content-max-file = 1K\n' >file.conf
mkdir tree1 && head -c 2000 /dev/urandom >tree1/big.bin &&
head -c 1000 /dev/urandom >tree1/small.bin
FIMSCAN_DB=$T/one.db fim -c file.conf baseline --keep-content tree1 \
	>/dev/null 2>err1 || fail "baseline: $(cat err1)"
grep -F "$T/tree1/big.bin" err1 | grep -q 'content-max-file' ||
	fail "no warning naming the file and the setting: $(cat err1)"
[ "$(grep -c warning err1)" -eq 1 ] || fail "warnings: $(cat err1)"
[ "$(kept "$T/one.db")" = "small.bin|1000" ] ||
	fail "kept: $(kept "$T/one.db")"
# its changes are still located, at chunk granularity
head -c 2000 /dev/urandom >tree1/big.bin
FIMSCAN_DB=$T/one.db expect_exit 4 fim -c file.conf scan --keep-content \
	tree1 >/dev/null 2>err1b
grep -q 'content-max-file' err1b || fail "second warning: $(cat err1b)"
FIMSCAN_DB=$T/one.db expect_exit 4 fim diff --bytes --format json >d1.json
json_check d1.json "d['changed'][0]['bytes']['state'] == 'chunks'"

# 2. content-max-total: 10 KiB, files of 4000 bytes
printf 'content-max-total = 10K\n' >total.conf
mkdir tree2 && for i in 1 2 3 4 5 6; do
	head -c 4000 /dev/urandom >"tree2/f$i" || fail "f$i"
done
FIMSCAN_DB=$T/two.db fim -c total.conf baseline --keep-content tree2 \
	>/dev/null 2>err2 || fail "baseline: $(cat err2)"
[ "$(grep -c 'content-max-total' err2)" -eq 1 ] ||
	fail "want one content-max-total warning: $(cat err2)"
grep -q 'raise it' err2 || fail "the warning does not say what to do: $(cat err2)"
kept "$T/two.db" >kept2
n=$(wc -l <kept2)
[ "$n" -ge 1 ] && [ "$n" -le 2 ] || fail "kept $n files: $(cat kept2)"
raw=$(sqlite3 "$T/two.db" 'SELECT coalesce(sum(raw), 0) FROM pack')
[ "$raw" -le 10240 ] || fail "$raw bytes kept over a 10K limit"
# the next snapshot warns again, once
for i in 1 2 3 4 5 6; do head -c 4000 /dev/urandom >"tree2/f$i"; done
FIMSCAN_DB=$T/two.db expect_exit 4 fim -c total.conf scan --keep-content \
	tree2 >/dev/null 2>err3
[ "$(grep -c 'content-max-total' err3)" -eq 1 ] ||
	fail "second snapshot: $(cat err3)"
raw=$(sqlite3 "$T/two.db" 'SELECT coalesce(sum(raw), 0) FROM pack')
[ "$raw" -le 10240 ] || fail "$raw bytes kept over a 10K limit"
