#!/bin/sh
# t0608: when the two versions' chunk lists agree although the hashes
# differ (constructed here by pointing both versions at one list, as a
# change of chunking parameters would look), or when a version has no
# list at all (a store from before byte ranges), `diff --bytes` says
# "changed, location unknown" and invents no range; the change itself is
# still reported.
. "$(dirname "$0")/lib.sh"

mkdir tree && head -c 200000 /dev/urandom >tree/f &&
head -c 200000 /dev/urandom >tree/g &&
fim baseline --keep-content tree >/dev/null || fail "baseline"
printf 'XXXX' | dd of=tree/f bs=1 seek=100000 conv=notrunc 2>/dev/null &&
printf 'XXXX' | dd of=tree/g bs=1 seek=100000 conv=notrunc 2>/dev/null &&
expect_exit 4 fim scan --keep-content tree >/dev/null

# before the surgery: exact ranges
expect_exit 4 fim diff --bytes --format json >ok.json
json_check ok.json "all(c['bytes']['state'] == 'exact' for c in d['changed'])"

sqlite3 "$FIMSCAN_DB" "
	UPDATE version SET clist = (SELECT clist FROM version WHERE
		name = CAST('f' AS BLOB) AND born = 1)
	WHERE name = CAST('f' AS BLOB) AND born = 2;
	UPDATE version SET clist = NULL
	WHERE name = CAST('g' AS BLOB) AND born = 1;" || fail "surgery"
[ "$(sqlite3 "$FIMSCAN_DB" "SELECT count(DISTINCT clist) FROM version
	WHERE name = CAST('f' AS BLOB)")" -eq 1 ] || fail "f: lists still differ"

expect_exit 4 fim diff --bytes --content --format json >unknown.json
json_check unknown.json \
	"[c['path'] for c in d['changed']] == ['$T/tree/f', '$T/tree/g']" \
	"all(c['bytes']['state'] == 'unknown' for c in d['changed'])" \
	"all(c['bytes']['location'] == 'unknown' for c in d['changed'])" \
	"all(c['ranges'] == [] for c in d['changed'])" \
	"'agree' in d['changed'][0]['bytes']['reason']" \
	"'no chunk list' in d['changed'][1]['bytes']['reason']" \
	"all('sha256' in c['attrs'] for c in d['changed'])"
expect_exit 4 fim diff --bytes >unknown.txt
[ "$(grep -c 'changed, location unknown' unknown.txt)" -eq 2 ] ||
	fail "text: $(cat unknown.txt)"
! grep -q '^      modify' unknown.txt || fail "a range: $(cat unknown.txt)"
fim show --versions --format json tree/f >show.json || fail "show"
json_check show.json "d['versions'][1]['bytes']['state'] == 'unknown'" \
	"d['versions'][1]['ranges'] == []"
