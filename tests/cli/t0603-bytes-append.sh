#!/bin/sh
# t0603: append-only detection. A log that only grew is `appended`, proven
# by the scan (one exact insert at the old end), over several scans too; a
# log rewritten in the middle and then appended to is not. With a rule in
# the built-in `append` group, appends are not reported (exit 0) while a
# rewrite, even one that also grows the file, is (exit 4).
. "$(dirname "$0")/lib.sh"

mkdir tree &&
seq 1 50000 >tree/app.log && seq 1 50000 >tree/rw.log &&
cp tree/rw.log rw.orig && echo data >tree/other &&
fim baseline tree >/dev/null || fail "baseline"

# plain config: an append is reported, and said to be one
echo "appended line" >>tree/app.log &&
sed 's/^25000$/2500x/' rw.orig >tree/rw.log && echo "appended line" >>tree/rw.log &&
cmp -s rw.orig tree/rw.log && fail "rw.log not rewritten"
expect_exit 4 fim scan --bytes --format json tree >scan.json
json_check scan.json \
	"len(d['changed']) == 2" \
	"[c['path'] for c in d['changed']] == ['$T/tree/app.log', '$T/tree/rw.log']" \
	"d['changed'][0]['appended'] is True" \
	"d['changed'][0]['bytes']['state'] == 'appended'" \
	"d['changed'][0]['ranges'] == [{'op': 'insert', 'old_offset': $(stat -c %s rw.orig), 'old_length': 0, 'new_offset': $(stat -c %s rw.orig), 'new_length': 14, 'exact': True}]" \
	"'appended' not in d['changed'][1]" \
	"d['changed'][1]['bytes']['state'] == 'chunks'" \
	"d['changed'][1]['ranges'][0]['old_offset'] < 25000 * 6"
# text says so too
expect_exit 4 fim diff --bytes >diff.txt
grep -q 'appended, proven' diff.txt || fail "text: $(cat diff.txt)"
[ "$(grep -c 'appended, proven' diff.txt)" -eq 1 ] || fail "text: $(cat diff.txt)"

# a chain of appends over three scans is still one proven append from the
# baseline; one rewrite anywhere in the chain breaks it
for i in 1 2; do
	echo "more $i" >>tree/app.log && echo "more $i" >>tree/rw.log &&
	expect_exit 4 fim scan --against latest tree >/dev/null
done
expect_exit 4 fim diff --bytes --format json baseline latest >chain.json
json_check chain.json \
	"d['changed'][0]['path'] == '$T/tree/app.log'" \
	"d['changed'][0]['appended'] is True" \
	"'appended' not in d['changed'][1]"

# the append group: growth is silent, a rewrite is not
cat >append.conf <<EOF
rule $T/tree/*.log append
EOF
export FIMSCAN_CONFIG="$T/append.conf"
fim baseline tree >/dev/null || fail "second baseline"
echo "yet another line" >>tree/app.log
expect_exit 0 fim scan --bytes tree >quiet.txt
grep -q 'summary: no differences' quiet.txt && ! grep -q app.log quiet.txt ||
	fail "append reported: $(cat quiet.txt)"
# the same growth, plus a rewrite of earlier bytes
echo "and one more" >>tree/app.log &&
printf X | dd of=tree/app.log bs=1 seek=200 conv=notrunc 2>/dev/null
expect_exit 4 fim scan --bytes --format json tree >loud.json
json_check loud.json \
	"[c['path'] for c in d['changed']] == ['$T/tree/app.log']" \
	"'appended' not in d['changed'][0]" \
	"'sha256' in d['changed'][0]['attrs']"
# a truncation is no append either
head -c 1000 tree/app.log >short && cat short >tree/app.log
expect_exit 4 fim scan tree >/dev/null
