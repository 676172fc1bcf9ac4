#!/bin/sh
# t0204: entries that cannot be read are warnings (exit bit 8, the path on
# stderr) and never make stored entries look removed; a file that
# vanishes between the walk and its open is simply absent.
. "$(dirname "$0")/lib.sh"

# status VAR CMD...: run CMD, its exit status in VAR.
status() {
	_v=$1
	shift
	set +e
	"$@"
	eval "$_v=\$?"
	set -e
}
# warned STATUS: bit 8 set, nothing removed, not a failure.
warned() {
	[ "$1" -lt 16 ] && [ $(($1 & 8)) -eq 8 ] && [ $(($1 & 2)) -eq 0 ]
}

mkdir -p tree/sub && echo a >tree/a && echo b >tree/b &&
echo x >tree/sub/x && echo y >tree/sub/y &&
fim baseline tree >/dev/null || fail "baseline"

# Every open of a regular file fails.
status rc env FIMSCAN_FAULT=open:1+:EACCES "$FIMSCAN" scan --format json tree \
	>open.json 2>open.err
warned $rc || fail "open EACCES: exit $rc"
[ $rc -eq 12 ] || fail "open EACCES: exit $rc, want 12 (changed state + warnings)"
for f in a b sub/x sub/y; do
	grep -qxF "fimscan: warning: cannot read $T/tree/$f: Permission denied" open.err ||
		fail "no warning for $f: $(cat open.err)"
done
json_check open.json 'd["removed"] == [] and d["added"] == []' \
	'd["summary"]["warnings"] == 4' \
	"sorted(e['path'] for e in d['changed']) == ['$T/tree/a', '$T/tree/b', '$T/tree/sub/x', '$T/tree/sub/y']" \
	'all(e["details"]["state"] == {"old": "ok", "new": "unreadable"} for e in d["changed"])' \
	'all("sha256" not in e["attrs"] for e in d["changed"])'
fim log >log && grep -q ' 4 warnings ' log || fail "log: $(cat log)"
# Readable again: the stored contents were kept, nothing to report.
expect_exit 0 fim scan tree >out

# Every directory open fails: the root cannot be read at all.
status rc env FIMSCAN_FAULT=opendir:1+:EACCES "$FIMSCAN" scan --format json tree \
	>dir.json 2>dir.err
warned $rc || fail "opendir EACCES: exit $rc"
grep -q "^fimscan: warning: cannot read $T/tree: Permission denied\$" dir.err ||
	fail "no warning for the directory: $(cat dir.err)"
json_check dir.json 'd["removed"] == [] and d["added"] == []'
fim show --format json tree/sub/x >show.json &&
json_check show.json 'd["versions"][-1]["died"] is None'
expect_exit 0 fim scan tree >out

# The real thing, as root without CAP_DAC_OVERRIDE/CAP_DAC_READ_SEARCH: a
# mode-000 file and directory.
nodac() {
	setpriv --bounding-set -dac_override,-dac_read_search \
		--inh-caps -dac_override,-dac_read_search "$@"
}
if nodac true 2>/dev/null; then
	chmod 000 tree/a tree/sub
	status rc nodac "$FIMSCAN" scan --format json tree >perm.json 2>perm.err
	warned $rc || fail "mode 000: exit $rc"
	grep -qF "cannot read $T/tree/a: Permission denied" perm.err &&
		grep -qF "cannot read $T/tree/sub: Permission denied" perm.err ||
		fail "mode 000 warnings: $(cat perm.err)"
	json_check perm.json 'd["removed"] == [] and d["added"] == []' \
		"'$T/tree/sub/x' not in [e['path'] for e in d['removed']]"
	chmod 755 tree/sub && chmod 644 tree/a
	# only the ctime of the chmod'ed entries differs from the baseline
	expect_exit 4 fim scan --format json tree >back.json
	json_check back.json 'd["removed"] == [] and d["added"] == []' \
		"sorted(e['path'] for e in d['changed']) == ['$T/tree/a', '$T/tree/sub']" \
		'all(e["attrs"] == ["ctime"] for e in d["changed"])'
else
	echo "skipping the mode-000 case: cannot drop capabilities here" >&2
fi

# A file that vanishes between the walk and the open (the only file of
# its tree, so that it is the first open): absent, a warning, no crash.
mkdir v && echo only >v/only && fim baseline v >/dev/null || fail "baseline v"
status van_rc env FIMSCAN_FAULT=open:1:ENOENT "$FIMSCAN" scan --format json v \
	>van.json 2>van.err
[ $van_rc -lt 16 ] || fail "vanished: exit $van_rc: $(cat van.err)"
json_check van.json "[e['path'] for e in d['removed']] == ['$T/v/only']" \
	'd["added"] == [] and d["changed"] == []'
expect_exit 1 fim scan --against latest v >/dev/null
sqlite3 "$FIMSCAN_DB" 'PRAGMA integrity_check' | grep -qx ok || fail "integrity"

# An unread file's unknown attributes are not changes: only its state
# changed (not "flags extents -> (none)").
json_check open.json 'all(e["attrs"] == ["state"] for e in d["changed"])'
# A vanished entry is a warning like the others (fimscan(1), "How files
# are read": printed with the path, counted, bit 8).
[ $van_rc -eq 10 ] || fail "vanished: exit $van_rc, want 10 (removed + warning)"
grep -qF "$T/v/only" van.err || fail "vanished: no warning: $(cat van.err)"
