#!/bin/sh
# t0401: the configuration file: roots as the default paths, exclude and
# include, the store setting, check-config's warnings, FILE:LINE errors
# (exit 17), and a rule group that ignores a log's growth but not a chmod.
. "$(dirname "$0")/lib.sh"

fim_err() {
	f=$1
	shift
	"$FIMSCAN" "$@" 2>"$f"
}

mkdir -p tree/etc tree/cache/keep tree/logs other &&
echo conf >tree/etc/conf && echo junk >tree/cache/junk &&
echo kept >tree/cache/keep/kept && echo start >tree/logs/app.log &&
echo other >other/file && chmod 644 tree/logs/app.log || fail "setup"

cat >fimscan.conf <<EOF
# roots, filters and rules for this test
root $T/tree
root $T/other   # a second root
exclude $T/tree/cache/*
include $T/tree/cache/keep
rule $T/tree/logs/*.log log
busy-timeout = 1000
EOF
chmod 600 fimscan.conf

fim -c fimscan.conf check-config >cc.out 2>cc.err || fail "check-config: $(cat cc.err)"
[ ! -s cc.err ] || fail "check-config warned: $(cat cc.err)"
grep -qx 'roots: 2' cc.out && grep -qxF "  $T/tree" cc.out &&
	grep -q '^filters: 2, groups: 5, rules: 1$' cc.out || fail "summary: $(cat cc.out)"

# No PATH operands: the config's roots.
fim -c fimscan.conf baseline --format json >base.json || fail "baseline"
fim log --format json >log.json &&
json_check log.json "d['snapshots'][0]['roots'] == ['$T/other', '$T/tree'] or d['snapshots'][0]['roots'] == ['$T/tree', '$T/other']"
# cache/junk is excluded; cache itself and cache/keep are in
fim show --format json tree/cache/junk >junk.json &&
json_check junk.json 'd["versions"] == []'
fim show --format json tree/cache/keep/kept >kept.json &&
json_check kept.json 'len(d["versions"]) == 1'
fim show --format json other/file >other.json &&
json_check other.json 'len(d["versions"]) == 1'
# the same config from FIMSCAN_CONFIG
FIMSCAN_CONFIG="$T/fimscan.conf" "$FIMSCAN" scan >out && grep -q '^summary: no differences$' out ||
	fail "FIMSCAN_CONFIG: $(cat out)"

# Changes in excluded places are not reported; the rest is.
echo more >>tree/cache/junk && echo new >tree/cache/new2 &&
echo more >>tree/cache/keep/kept && echo more >>other/file
expect_exit 4 fim -c fimscan.conf scan --format json >s1.json
json_check s1.json 'd["added"] == [] and d["removed"] == []' \
	"sorted(e['path'] for e in d['changed']) == ['$T/other/file', '$T/tree/cache', '$T/tree/cache/keep/kept']" \
	"not any('/cache/junk' in e['path'] or '/cache/new2' in e['path'] for k in ('added', 'removed', 'changed') for e in d[k])"
fim -c fimscan.conf accept >/dev/null || fail "accept"

# The log rule: growth is not a finding, a chmod is.
echo line >>tree/logs/app.log && echo line >>tree/logs/app.log
expect_exit 0 fim -c fimscan.conf scan >out
grep -q '^summary: no differences$' out || fail "a growing log was reported: $(cat out)"
chmod 666 tree/logs/app.log && echo line >>tree/logs/app.log
expect_exit 4 fim -c fimscan.conf scan --format json >s2.json
json_check s2.json "[e['path'] for e in d['changed']] == ['$T/tree/logs/app.log']" \
	'd["changed"][0]["attrs"] == ["mode"]' \
	'd["changed"][0]["details"]["mode"] == {"old": "0644", "new": "0666"}'
# without the config (no rule, no filter), the growth shows
expect_exit 5 fim scan "$T/tree" "$T/other" >out
grep -q '^    sha256 ' out && grep -q '^    size ' out || fail "without the rule: $(cat out)"

# The store setting, when FIMSCAN_DB is not set.
printf 'store = %s\nroot %s\n' "$T/from-config.db" "$T/other" >store.conf
(unset FIMSCAN_DB && "$FIMSCAN" -c store.conf baseline >/dev/null) || fail "store ="
[ -s "$T/from-config.db" ] || fail "the store setting was not used"
# FIMSCAN_DB wins over it
fim -c store.conf scan >/dev/null || fail "scan"
[ "$(sqlite3 "$T/from-config.db" 'SELECT count(*) FROM snapshot')" -eq 1 ] ||
	fail "FIMSCAN_DB did not take precedence over store ="

# check-config warns about an unanchored exclude inside a root.
cat >warn.conf <<EOF
root $T/tree
exclude /**/*.log
EOF
chmod 600 warn.conf
fim -c warn.conf check-config >/dev/null 2>warn.err || fail "check-config (warnings only)"
grep -q "^fimscan: warning: warn.conf:2: exclude '/\*\*/\*\.log' matches files anywhere under root $T/tree" warn.err ||
	fail "no warning: $(cat warn.err)"
# ... and the exclude does apply: *.log under the root is not recorded
fim --db "$T/w.db" -c warn.conf baseline >/dev/null 2>&1 || fail "baseline warn.conf"
fim --db "$T/w.db" show --format json tree/logs/app.log >w.json &&
json_check w.json 'd["versions"] == []'

# Errors: FILE:LINE: message, every error, exit 17 for any command.
cat >bad.conf <<EOF
root $T/tree
# a comment

frobnicate yes
exclude relative/path
hashes = sha256, md9
EOF
expect_exit 17 fim_err bad.err -c bad.conf check-config
grep -q '^fimscan: error: bad.conf:4: ' bad.err && grep -q '^fimscan: error: bad.conf:5: ' bad.err &&
	grep -q '^fimscan: error: bad.conf:6: .*md9' bad.err || fail "messages: $(cat bad.err)"
expect_exit 17 fim_err bad.err -c bad.conf scan
grep -q '^fimscan: error: bad.conf:4: ' bad.err || fail "scan: $(cat bad.err)"
expect_exit 17 fim_err /dev/null -c bad.conf log
expect_exit 17 fim_err bad.err -c "$T/missing.conf" check-config
grep -q "missing.conf" bad.err || fail "missing config: $(cat bad.err)"
[ "$(sqlite3 "$FIMSCAN_DB" 'SELECT count(*) FROM snapshot')" -eq 7 ] ||
	fail "a command with a bad config touched the store"
