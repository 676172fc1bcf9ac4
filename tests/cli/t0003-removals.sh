#!/bin/sh
# t0003: removals in every shape: the last entry of a directory, a whole
# subtree, a file replaced by a directory, and the re-addition of each.
. "$(dirname "$0")/lib.sh"

has() {
	awk -v w="$2" -v t="$3" -v p="$4" \
		'$1 == w && $2 == t && $3 == p { f = 1 } END { exit !f }' "$1"
}

mkdir -p tree/emptied tree/sub/deep/er tree/keep &&
echo last >tree/emptied/last &&
echo 1 >tree/sub/one && echo 2 >tree/sub/deep/two && echo 3 >tree/sub/deep/er/three &&
echo was-a-file >tree/keep/becomes-dir && echo k >tree/keep/k &&
fim baseline tree >/dev/null || fail "baseline"

# The only file of a directory goes: the directory is empty now.
rm tree/emptied/last
expect_exit 6 fim scan tree >out
has out removed file "$T/tree/emptied/last" ||
	fail "last entry of a directory not reported removed: $(cat out)"
has out changed dir "$T/tree/emptied" || fail "emptied dir: $(cat out)"
grep -q '^summary: 0 added, 1 removed, 1 changed$' out || fail "$(cat out)"
expect_exit 6 fim diff >/dev/null
fim show tree/emptied/last >show && grep -q '^  snapshots 1\.\.2$' show ||
	fail "show: $(cat show)"

# A whole subtree goes: each entry in it is reported removed.
rm -r tree/sub
expect_exit 6 fim scan tree >out
for p in sub sub/one sub/deep sub/deep/two sub/deep/er sub/deep/er/three; do
	grep -q "^removed .* $T/tree/$p\$" out || fail "$p not removed: $(cat out)"
done
grep -q '^summary: 0 added, 7 removed, 2 changed$' out || fail "$(cat out)"

# A file replaced by a directory holding a file.
rm tree/keep/becomes-dir && mkdir tree/keep/becomes-dir &&
echo inside >tree/keep/becomes-dir/inside
expect_exit 5 fim scan --against latest tree >out
grep -Eq "^changed +dir +$T/tree/keep/becomes-dir\$" out &&
	grep -q '^    type .* file -> dir$' out &&
	has out added file "$T/tree/keep/becomes-dir/inside" ||
	fail "file -> dir: $(cat out)"

# Everything back as it was at the baseline (same content, new inodes).
rm -r tree/keep/becomes-dir && echo was-a-file >tree/keep/becomes-dir &&
mkdir -p tree/sub/deep/er && echo last >tree/emptied/last &&
echo 1 >tree/sub/one && echo 2 >tree/sub/deep/two && echo 3 >tree/sub/deep/er/three
expect_exit 4 fim scan tree >out
! grep -q '^added\|^removed' out || fail "after restoring: $(cat out)"
has out changed file "$T/tree/emptied/last" || fail "$(cat out)"
sqlite3 "$FIMSCAN_DB" 'PRAGMA integrity_check' | grep -qx ok || fail "integrity"
