#!/bin/sh
# t0101: the JSON report of scan and diff has the contract's shape: arrays
# added/removed/changed, path + path_base64 (exact bytes), type, attrs and
# details old/new, moved_from for a rename.
. "$(dirname "$0")/lib.sh"

mkdir -p tree/d && cd tree &&
echo keep >keep && echo content >mod && echo perms >chm &&
echo gone >gone && echo moving >d/src && echo stays >d/stays &&
ln -s keep link &&
chmod 644 chm && cd .. || fail "setup"
fim baseline tree >/dev/null || fail "baseline"

old_mod=$(sha256sum tree/mod | cut -d' ' -f1)
echo 'more content' >>tree/mod && new_mod=$(sha256sum tree/mod | cut -d' ' -f1)
chmod 4755 tree/chm
rm tree/gone
mv tree/d/src tree/dst
echo fresh >tree/new
ln -sfn mod tree/link

expect_exit 7 fim scan --format json tree >scan.json
P="$T/tree"
json_check scan.json \
	'd["fimscan"] == 1' \
	'd["a"]["id"] == 1 and d["a"]["kind"] == "baseline"' \
	'd["b"]["id"] == 2 and d["b"]["kind"] == "scan"' \
	'd["a"]["time"].endswith("Z") and d["b"]["time"] >= d["a"]["time"]' \
	'all(isinstance(d[k], list) for k in ("added", "removed", "changed"))' \
	"[e['path'] for e in d['added']] == ['$P/new']" \
	"[e['path'] for e in d['removed']] == ['$P/gone']" \
	'd["added"][0]["type"] == "file" and d["removed"][0]["type"] == "file"' \
	"sorted(e['path'] for e in d['changed']) == sorted(['$P', '$P/chm', '$P/d', '$P/dst', '$P/link', '$P/mod'])" \
	'[e["path"] for e in d["changed"]] == sorted(e["path"] for e in d["changed"])' \
	'd["summary"] == {"added": 1, "removed": 1, "changed": 6, "moved": 1, "warnings": 0}' \
	'all(base64.b64decode(e["path_base64"]) == e["path"].encode() for k in ("added", "removed", "changed") for e in d[k])' \
	'all(set(e["attrs"]) == set(e["details"]) for e in d["changed"])' \
	'all(set(v) >= {"old", "new"} for e in d["changed"] for v in e["details"].values())'

# Each changed entry in detail.
python3 - scan.json "$P" "$old_mod" "$new_mod" <<'PY' || fail "changed entries"
import base64, json, sys
d = json.load(open(sys.argv[1]))
P, old_mod, new_mod = sys.argv[2:5]
ch = {e["path"]: e for e in d["changed"]}
def check(cond, what):
    if not cond:
        print("false:", what, file=sys.stderr)
        print(json.dumps(d, indent=1), file=sys.stderr)
        sys.exit(1)

m = ch[P + "/mod"]
check(m["type"] == "file", "mod type")
check({"sha256", "size", "mtime", "ctime"} <= set(m["attrs"]), "mod attrs")
check("mode" not in m["attrs"] and "inode" not in m["attrs"], "mod extra")
check(m["details"]["sha256"] == {"old": old_mod, "new": new_mod}, "sha256")
check(m["details"]["size"] == {"old": 8, "new": 21}, "size")
check(m["details"]["mtime"]["old"] < m["details"]["mtime"]["new"], "mtime")
check("moved_from" not in m, "mod moved_from")

c = ch[P + "/chm"]
check("mode" in c["attrs"] and not {"sha256", "size", "mtime"} & set(c["attrs"]),
      "chmod attrs")
check(c["details"]["mode"] == {"old": "0644", "new": "4755"}, "mode values")

mv = ch[P + "/dst"]
check(mv["moved_from"] == P + "/d/src", "moved_from")
check(base64.b64decode(mv["moved_from_base64"]) == (P + "/d/src").encode(),
      "moved_from_base64")
check(not {"sha256", "inode", "size"} & set(mv["attrs"]), "move attrs")
check(P + "/d/src" not in [e["path"] for e in d["removed"]],
      "the move's source is not also removed")

l = ch[P + "/link"]
check(l["type"] == "symlink", "link type")
check("target" in l["attrs"], "target attr")
t = l["details"]["target"]
check(t["old"] == "keep" and t["new"] == "mod", "target values")
check(base64.b64decode(t["old_base64"]) == b"keep" and
      base64.b64decode(t["new_base64"]) == b"mod", "target base64")

dr = ch[P + "/d"]
check(dr["type"] == "dir" and "mtime" in dr["attrs"], "dir d")
PY

# diff --format json: the same document (the same two snapshots).
expect_exit 7 fim diff --format json >diff.json
python3 -c '
import json, sys
a, b = (json.load(open(f)) for f in sys.argv[1:3])
sys.exit(a != b)' scan.json diff.json || fail "diff json differs from scan json"
expect_exit 7 fim diff --format json 1 2 >diff12.json && cmp -s diff.json diff12.json ||
	fail "diff 1 2"

# Nothing changed: empty arrays, exit 0, still valid JSON.
expect_exit 0 fim scan --against latest --format json tree >none.json
json_check none.json 'd["added"] == d["removed"] == d["changed"] == []' \
	'd["summary"]["added"] == d["summary"]["changed"] == 0'
expect_exit 0 fim diff --format json 2 3 >none2.json
json_check none2.json 'd["changed"] == [] and d["a"]["id"] == 2 and d["b"]["id"] == 3'

# A path narrowing the diff.
expect_exit 4 fim diff --format json 1 2 -- tree/mod >one.json
json_check one.json "[e['path'] for e in d['changed']] == ['$P/mod']" \
	'd["added"] == d["removed"] == []'

# baseline --format json prints a summary object.
fim --db "$T/other.db" baseline --format json tree >base.json || fail "baseline json"
json_check base.json 'd["snapshot"] == 1 and d["kind"] == "baseline"' \
	'd["entries"] == 9 and d["warnings"] == 0'
