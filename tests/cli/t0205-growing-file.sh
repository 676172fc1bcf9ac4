#!/bin/sh
# t0205: a file that grows while it is hashed is either recorded with a
# hash of content it really had, or recorded and reported as "unstable"
# without a hash; never with a hash of mixed content. No fault injection
# can change a file under the reader, so a background writer appends to
# it; the check holds whichever way each read went: the file only grows,
# so any stored (size, sha256) must be the hash of the final file's first
# `size` bytes.
. "$(dirname "$0")/lib.sh"

mkdir tree && head -c 33554432 /dev/zero >tree/big && echo calm >tree/calm &&
fim baseline tree >/dev/null || fail "baseline"

# check_version FILE: the newest version in `show --format json` FILE is
# either unstable without a hash or a prefix of the file now.
check_version() {
	python3 - "$1" tree/big <<'PY'
import hashlib, json, sys
v = json.load(open(sys.argv[1]))["versions"][-1]
data = open(sys.argv[2], "rb").read()
if v["state"] == "unstable":
    assert "sha256" not in v, "an unstable version has a hash"
    print("unstable")
else:
    assert v["state"] == "ok", v
    assert v["size"] <= len(data), (v["size"], len(data))
    want = hashlib.sha256(data[:v["size"]]).hexdigest()
    assert v["sha256"] == want, ("hash of mixed content", v["size"])
    print("stable")
PY
}

# An appender, started before the scan and stopped after it.
size0=$(stat -c %s tree/big)
(while :; do echo line >>tree/big; done) &
writer=$!
trap 'kill $writer 2>/dev/null || :; cleanup' EXIT
wait_until 20 "[ \$(stat -c %s tree/big) -gt $size0 ]"
set +e
fim scan --format json tree >scan.json 2>scan.err
rc=$?
set -e
kill $writer && wait $writer 2>/dev/null || :
writer=
[ $rc -lt 16 ] || fail "scan failed: $rc: $(cat scan.err)"

fim show --format json tree/big >show.json || fail "show"
state=$(check_version show.json) || fail "stored version: $(cat show.json)"
if [ "$state" = unstable ]; then
	# reported: a state change, a warning naming the file, exit 4 | 8
	[ $rc -eq 12 ] || fail "unstable: exit $rc"
	grep -qF "$T/tree/big: changed while being read" scan.err ||
		fail "unstable: no warning: $(cat scan.err)"
	json_check scan.json \
		"[e['path'] for e in d['changed']] == ['$T/tree/big']" \
		'd["changed"][0]["details"]["state"] == {"old": "ok", "new": "unstable"}'
	fim log --format json >log.json &&
	json_check log.json 'd["snapshots"][-1]["unstable"] == 1'
else
	# it read a consistent state: reported as a plain change
	json_check scan.json \
		"[e['path'] for e in d['changed']] == ['$T/tree/big']" \
		'"state" not in d["changed"][0]["attrs"]' \
		'"sha256" in d["changed"][0]["attrs"]'
fi

# Calm again: a stable version that matches the file exactly.
expect_exit 4 fim scan tree >/dev/null
fim show --format json tree/big >show2.json &&
[ "$(check_version show2.json)" = stable ] || fail "not stable: $(cat show2.json)"
json_check show2.json 'd["versions"][-1]["state"] == "ok"'
