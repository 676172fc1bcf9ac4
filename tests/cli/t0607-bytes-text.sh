#!/bin/sh
# t0607: the text report of `diff --bytes --content`. A kept text file
# shows unified hunks with context, '-' old and '+' new lines (control
# bytes escaped, never sent raw); a binary file shows a hexdump of the
# old and new bytes of each range, bounded by --max-bytes (default 4096);
# a file whose bytes were not kept says so.
. "$(dirname "$0")/lib.sh"

mkdir tree &&
seq 1 3000 | sed 's/^/config line /' >tree/conf.txt &&
seq 1 300 | sed 's/^/plain /' >tree/unkept.txt &&
head -c 100000 /dev/zero | tr '\0' '\377' >tree/bin &&
head -c 100000 /dev/urandom >tree/bigbin || fail "tree"
printf 'rule %s all content\nrule %s all content\nrule %s all content\n' \
	"$T/tree/conf.txt" "$T/tree/bin" "$T/tree/bigbin" >keep.conf
export FIMSCAN_CONFIG="$T/keep.conf"
fim baseline tree >/dev/null || fail "baseline"

# in place: the same inode, so only the content changes
sed 's/^config line 1500$/config line 1500 CHANGED/
     s/^config line 2500$/config line 2500 \x1b[31mred/' tree/conf.txt >new.txt &&
cat new.txt >tree/conf.txt &&
sed 's/^plain 100$/plain 100 changed/' tree/unkept.txt >new2.txt &&
cat new2.txt >tree/unkept.txt &&
printf 'ABCDEFGHIJKLMNOPQRSTUVWXYZ0123456789abcdefghijklmnopqrstuvwxyz' |
	dd of=tree/bin bs=1 seek=50000 conv=notrunc 2>/dev/null &&
head -c 10000 /dev/urandom |
	dd of=tree/bigbin bs=1 seek=20000 conv=notrunc 2>/dev/null ||
	fail "edits"
expect_exit 4 fim scan tree >/dev/null

# text: a unified hunk, escaped
expect_exit 4 fim diff --bytes --content -- tree/conf.txt >conf.out
grep -q '^      @@ -1497,7 +1497,7 @@$' conf.out || fail "hunk: $(cat conf.out)"
grep -q '^      -config line 1500$' conf.out &&
	grep -q '^      +config line 1500 CHANGED$' conf.out &&
	grep -q '^       config line 1499$' conf.out ||
	fail "lines: $(cat conf.out)"
grep -qF '      +config line 2500 \x1b[31mred' conf.out ||
	fail "escape: $(cat conf.out)"
! grep -q "$(printf '\033')" conf.out || fail "a raw ESC reached the report"

# not kept: said, not shown
expect_exit 4 fim diff --bytes --content -- tree/unkept.txt >unkept.out
grep -q 'content not kept' unkept.out || fail "unkept: $(cat unkept.out)"
! grep -q '^      [-+]plain' unkept.out || fail "unkept shown: $(cat unkept.out)"

# hexdump_bytes FILE: the bytes shown by the hexdump lines of FILE
hexdump_bytes() {
	awk '/^      [-+][0-9a-f][0-9a-f]*  / {
		sub(/\|.*$/, ""); n += NF - 1
	} END { print n + 0 }' "$1"
}

# binary: old and new bytes of the range, in hex
expect_exit 4 fim diff --bytes --content -- tree/bin >bin.out
grep -q '^      -0000c350  ' bin.out && grep -q '^      +0000c350  41 42 43' bin.out ||
	fail "hexdump: $(cat bin.out)"
grep -qF '|ABCDEFGHIJKLMNOP|' bin.out || fail "hexdump text: $(cat bin.out)"
[ "$(hexdump_bytes bin.out)" -eq 124 ] || fail "bytes shown: $(cat bin.out)"

# bounded by --max-bytes, and by default by 4096
expect_exit 4 fim diff --bytes --content --max-bytes 40 -- tree/bin >small.out
[ "$(hexdump_bytes small.out)" -le 40 ] || fail "over 40: $(cat small.out)"
grep -q 'more than --max-bytes 40' small.out || fail "no mark: $(cat small.out)"
expect_exit 4 fim diff --bytes --content -- tree/bigbin >big.out
n=$(hexdump_bytes big.out)
[ "$n" -gt 0 ] && [ "$n" -le 4096 ] || fail "default bound: $n bytes shown"
grep -q 'more than --max-bytes 4096' big.out || fail "no mark: $(tail -3 big.out)"
expect_exit 4 fim diff --bytes --content --max-bytes 0 -- tree/bigbin >none.out
[ "$(hexdump_bytes none.out)" -eq 0 ] || fail "--max-bytes 0 showed bytes"
