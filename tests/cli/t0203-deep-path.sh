#!/bin/sh
# t0203: a path of over 6,000 bytes (76 levels, beyond PATH_MAX and beyond
# the walker's 64 open directory fds) is recorded, shown, and reported
# when a file at the bottom changes; entries walked after the descent
# (which re-opens directories through "..") are seen too.
. "$(dirname "$0")/lib.sh"

LEVELS=76
# comp N: the name of level N, 79 bytes.
comp() {
	printf 'L%02d%076d' "$1" 0
}
# godeep: cd from $T/tree to the bottom, one relative step at a time (the
# full path is too long for any single system call; -P keeps the shell
# from building it).
godeep() {
	cd "$T/tree" &&
	i=1 &&
	while [ $i -le $LEVELS ]; do
		cd -P "$(comp $i)" || return 1
		i=$((i + 1))
	done
}

mkdir tree && (
	cd tree && i=1 &&
	while [ $i -le $LEVELS ]; do
		mkdir "$(comp $i)" && cd -P "$(comp $i)" || exit 1
		[ $i -ne 40 ] || echo middle >middle
		i=$((i + 1))
	done &&
	echo bottom >bottom
) || fail "making the deep tree"
mkdir tree/zz && echo after >tree/zz/after && echo top >tree/top

deep=$T/tree
i=1
while [ $i -le $LEVELS ]; do deep=$deep/$(comp $i); i=$((i + 1)); done
[ ${#deep} -gt 6000 ] || fail "path only ${#deep} bytes"

fim baseline --format json tree >base.json 2>err || fail "baseline: $(cat err)"
[ ! -s err ] || fail "baseline warned: $(cat err)"
# tree, top, zz, zz/after, LEVELS directories, middle, bottom
json_check base.json "d['entries'] == 4 + $LEVELS + 2" 'd["warnings"] == 0'

fim show --format json "$deep/bottom" >show.json || fail "show"
json_check show.json "base64.b64decode(d['path_base64']) == b'$deep/bottom'" \
	'len(d["versions"]) == 1 and d["versions"][0]["size"] == 7'

expect_exit 0 fim scan tree >out

# Change the bottom file, and entries walked after the descent.
(godeep && echo changed >>bottom) || fail "cannot reach the bottom"
echo changed >>tree/zz/after && echo new >tree/zz/new
expect_exit 5 fim scan --format json tree >scan.json
json_check scan.json \
	"[e['path'] for e in d['changed']] == ['$deep/bottom', '$T/tree/zz', '$T/tree/zz/after']" \
	"[e['path'] for e in d['added']] == ['$T/tree/zz/new']" \
	'"sha256" in d["changed"][0]["attrs"]' \
	"len(base64.b64decode(d['changed'][0]['path_base64'])) == ${#deep} + 7"
# the text report carries the whole path on one line
expect_exit 5 fim diff >out
grep -qxF "changed file $deep/bottom" out || fail "text report: $(cut -c1-200 out)"

# Removing the deep tree reports every level removed.
rm -rf "tree/$(comp 1)" || fail "cannot remove the deep tree"
expect_exit 6 fim scan --against latest --format json tree >rm.json
json_check rm.json "len(d['removed']) == $LEVELS + 2" \
	"'$deep/bottom' in [e['path'] for e in d['removed']]"
