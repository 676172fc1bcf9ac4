#!/bin/sh
# t0306: a store is never reached through a symbolic link (an attacker
# who can plant one next to root's store must not redirect its writes):
# exit 18 with a message that says so, for writers and readers alike, and
# the real store is untouched. A new store is created 0600; opening an
# existing one leaves its mode alone.
. "$(dirname "$0")/lib.sh"

mkdir tree && echo a >tree/a
umask 022
fim --db real.db baseline tree >/dev/null || fail "baseline"
[ "$(stat -c %a real.db)" = 600 ] || fail "new store is $(stat -c %a real.db)"
chmod 640 real.db
before=$(sha256sum real.db | cut -d' ' -f1)
ln -s real.db link.db
for cmd in "scan tree" "log" "baseline tree"; do
	set +e
	# shellcheck disable=SC2086
	fim --db link.db $cmd >out 2>err
	rc=$?
	set -e
	[ $rc -eq 18 ] || fail "$cmd through a link: exit $rc"
	grep -q "link.db: it is a symbolic link" err || fail "$cmd: $(cat err)"
done
[ "$(sha256sum real.db | cut -d' ' -f1)" = "$before" ] || fail "store changed"
fim --db real.db scan tree >/dev/null || fail "scan"
[ "$(stat -c %a real.db)" = 640 ] || fail "reopening changed the mode"
