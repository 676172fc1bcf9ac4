#!/bin/sh
# t0604: secrets are never kept, whatever the rules and --keep-content
# say. Files named like private keys (the built-in list's unanchored
# patterns: *.pem, *.key, id_ed25519, .ssh/id_*) and files under a
# `no-content` rule get hashes and chunk lists but no content: no
# version.content, `diff --bytes --content` says content_available false,
# no chunk is added when only a secret changes, and a unique marker
# written into them is nowhere in the store files nor in any decompressed
# pack, while the marker of an ordinary file is (the check can see).
. "$(dirname "$0")/lib.sh"

command -v zstd >/dev/null || fail "zstd is required (apt-get install zstd)"

cat >keep.conf <<EOF
rule /** all content
rule $T/tree/private/** all no-content
EOF
export FIMSCAN_CONFIG="$T/keep.conf"
fim check-config >/dev/null || fail "config"

SECRETS="key.pem x.key id_ed25519 .ssh/id_rsa private/notes.txt"
marker() {
	# a marker nobody could guess, different per file and per version
	echo "MARK-$(head -c 16 /dev/urandom | od -An -tx1 | tr -d ' \n')-$1"
}
mkdir -p tree/.ssh tree/private
for f in $SECRETS ordinary.txt; do
	m=$(marker "$f")
	echo "$m" >>markers
	{ seq 1 20000; echo "$m"; seq 1 20000; } >"tree/$f"
done
fim baseline --keep-content tree >/dev/null || fail "baseline"

# content(PATH): 1 when the alive version of PATH has its bytes kept
content() {
	sqlite3 "$FIMSCAN_DB" "SELECT coalesce(v.content, 0) FROM version v
		JOIN dir d ON d.id = v.dir WHERE d.path = CAST('$(dirname "$1")'
		AS BLOB) AND v.name = CAST('$(basename "$1")' AS BLOB) AND
		v.died IS NULL"
}
for f in $SECRETS; do
	[ "$(content "$T/tree/$f")" = 0 ] || fail "$f: content kept"
done
[ "$(content "$T/tree/ordinary.txt")" = 1 ] || fail "ordinary.txt not kept"

# only a secret changes: no chunk is added
chunks0=$(sqlite3 "$FIMSCAN_DB" 'SELECT count(*) FROM chunk')
m=$(marker second) && echo "$m" >>markers && echo "$m" >>tree/x.key
expect_exit 4 fim scan --keep-content tree >/dev/null
[ "$(sqlite3 "$FIMSCAN_DB" 'SELECT count(*) FROM chunk')" -eq "$chunks0" ] ||
	fail "a chunk was added when only a secret changed"
[ "$(content "$T/tree/x.key")" = 0 ] || fail "x.key: content kept"
expect_exit 4 fim diff --bytes --content --format json >diff.json
json_check diff.json \
	"[c['path'] for c in d['changed']] == ['$T/tree/x.key']" \
	"d['changed'][0]['bytes']['content_available'] is False" \
	"all('new_data_base64' not in r for r in d['changed'][0]['ranges'])"
expect_exit 4 fim diff --bytes --content >diff.txt
grep -q 'content not kept' diff.txt || fail "text: $(cat diff.txt)"

# no marker of a secret anywhere: store files, raw or decompressed packs
python3 - "$FIMSCAN_DB" packs.raw <<'PY' || fail "extracting packs"
import sqlite3, subprocess, sys
con = sqlite3.connect("file:%s?mode=ro" % sys.argv[1], uri=True)
with open(sys.argv[2], "wb") as out:
    for (data,) in con.execute("SELECT data FROM pack"):
        out.write(subprocess.run(["zstd", "-dc"], input=data,
                                 capture_output=True, check=True).stdout)
PY
cat "$FIMSCAN_DB" "$FIMSCAN_DB-wal" packs.raw >everything 2>/dev/null || :
while read -r m; do
	case $m in
	*ordinary.txt)
		grep -qF "$m" packs.raw || fail "the ordinary marker is not in the packs: the check is blind" ;;
	*)
		! grep -qF "$m" everything || fail "secret marker $m is in the store" ;;
	esac
done <markers
