#!/bin/sh
# t0500: `report --format ecs` prints one ECS 9.4 document per change, and
# every field outside fimscan.* exists in ECS 9.4 (the npm package
# @elastic/ecs@9.4.0, cached under the build directory) with a compatible
# type; event.type matches event.action; data_stream and event.dataset
# agree. Also: the documents' content for each kind of change, stable ids,
# --namespace, text/json as `diff` prints them, exit 0, and -o writing
# atomically (a failure leaves no partial file and exits 21).
. "$(dirname "$0")/lib.sh"

ECS=$SRCDIR/tests/ecs
# The ECS field definitions: npm must work the first time (no skipping).
FIELDS=$(sh "$ECS/ecs-fields.sh" "${BUILDDIR:-$T}/ecs-9.4.0") ||
	fail "cannot get the ECS 9.4.0 field definitions (see above)"

# md5 and sha1 too, for Auditbeat's test vectors.
printf 'hashes = md5, sha1, sha256\n' >"$T/hashes.conf"
export FIMSCAN_CONFIG="$T/hashes.conf"

mkdir -p tree/d tree/etc && cd tree &&
echo keep >keep && echo content >mod && echo perms >chm &&
echo gone >gone && echo moving >d/src && echo both >both &&
ln -s keep link && chmod 644 chm both &&
python3 -c 'import sys; sys.stdout.buffer.write(bytes(range(256)) * 64)' >etc/blob &&
cd .. || fail "setup"
fim baseline tree >/dev/null || fail "baseline"

old_gone=$(sha256sum tree/gone | cut -d' ' -f1)
echo 'more content' >>tree/mod
chmod 4755 tree/chm
rm tree/gone
mv tree/d/src tree/dst
echo fresh >tree/new.txt
printf 'hello world!\n' >tree/hello
ln -sfn mod tree/link
echo edited >>tree/both && chmod 600 tree/both
printf 'x' >"$(printf 'tree/bad\377name')"
printf 'y' >"tree/new
line"
# an overwrite in the middle of a 16 KiB file: a changed byte range
printf 'XXXXXXXX' | dd of=tree/etc/blob bs=1 seek=9000 conv=notrunc 2>/dev/null
expect_exit 7 fim scan tree >/dev/null

# The number of changes, from the JSON report.
fim report --format json >report.json || fail "report json"
N=$(python3 -c '
import json, sys
s = json.load(open(sys.argv[1]))["summary"]
print(s["added"] + s["removed"] + s["changed"])' report.json)
[ "$N" -ge 12 ] || fail "only $N changes"

# --- every document against ECS 9.4 -----------------------------------------
expect_exit 0 fim report --format ecs >out.ndjson
node "$ECS/check-ecs.js" check "$FIELDS" out.ndjson --namespace default \
	--count "$N" || fail "ECS check"

# --- what each kind of change says ------------------------------------------
python3 - out.ndjson "$T/tree" "$old_gone" <<'PY' || fail "document content"
import base64, json, sys
docs = [json.loads(l) for l in open(sys.argv[1], encoding="utf-8")]
P, old_gone = sys.argv[2:4]
by = {base64.b64decode(d["fimscan"]["path_base64"]): d for d in docs}
def check(c, what):
    if not c:
        print("false:", what, file=sys.stderr)
        sys.exit(1)
def doc(name):
    d = by.get((P + "/" + name).encode("utf-8", "surrogateescape"))
    check(d is not None, "a document for " + name)
    return d
def actions(d): return d["event"]["action"]

h = doc("hello")
check(actions(h) == ["created"] and h["event"]["type"] == ["creation"], "created")
check(h["file"]["hash"] == {
    "sha256": "ecf701f727d9e2d77c4aa49ac6fbbcc997278aca010bddeeb961c10cf54d435a",
    "sha1": "f951b101989b2c3b7471710b4e78fc4dbdfa0ca6",
    "md5": "c897d1410af8f2c74fba11b1db511e9e"}, "Auditbeat's hash vectors")
check(h["file"]["size"] == 13 and h["file"]["type"] == "file", "size, type")
check(h["file"]["owner"] == "root" or h["file"]["uid"] != "0", "owner name")

g = doc("gone")
check(actions(g) == ["deleted"] and g["event"]["type"] == ["deletion"], "deleted")
check(g["file"]["hash"]["sha256"] == old_gone and g["file"]["size"] == 5,
      "a removal describes the old version")

m = doc("mod")
check(actions(m) == ["updated"], "content change: %s" % actions(m))
check({"sha256", "size"} <= set(m["fimscan"]["changed_attributes"]), "attrs")
check(m["fimscan"]["previous"]["size"] == 8 and m["file"]["size"] == 21, "sizes")
check(m["fimscan"]["diff"]["bytes_changed"] > 0, "byte ranges of an append")

c = doc("chm")
check(actions(c) == ["attributes_modified"], "chmod")
check(c["fimscan"]["previous"]["mode"] == "0644" and c["file"]["mode"] == "4755", "mode")

b = doc("both")
check(actions(b) == ["attributes_modified", "updated"], "edit + chmod: %s" % actions(b))
check(b["event"]["type"] == ["change"], "one type")

mv = doc("dst")
check(actions(mv) == ["moved"], "moved: %s" % actions(mv))
check(mv["fimscan"]["moved_from"] == P + "/d/src", "moved_from")
check(base64.b64decode(mv["fimscan"]["moved_from_base64"]) == (P + "/d/src").encode(), "b64")

l = doc("link")
check(l["file"]["type"] == "symlink" and l["file"]["target_path"] == "mod", "target")
check(l["fimscan"]["previous"]["target_path"] == "keep", "old target")

bl = doc("etc/blob")
r = bl["fimscan"]["diff"]["ranges"]
check(r and all(x["new_offset"] <= 9000 < x["new_offset"] + x["new_length"] for x in r[:1]),
      "the range covers the overwrite: %s" % r)
check(bl["fimscan"]["diff"]["exact"] is False, "chunk granularity without kept content")

bad = by[(P + "/bad\xffname").encode("latin-1")]
check(bad["file"]["path"] == P + "/bad\ufffdname", "lossy file.path")
nl = doc("new\nline")
check(nl["file"]["name"] == "new\nline", "newline name")
check(len({d["event"]["id"] for d in docs}) == len(docs), "ids unique")
PY

# --- stable: the same documents and ids every time ---------------------------
fim report --format ecs >again.ndjson && cmp -s out.ndjson again.ndjson ||
	fail "a second rendering differs"
fim report --format ecs 1 2 >explicit.ndjson && cmp -s out.ndjson explicit.ndjson ||
	fail "baseline latest is 1 2 here"

# --- the namespace -------------------------------------------------------------
expect_exit 0 fim report --format ecs --namespace prod_eu >ns.ndjson
node "$ECS/check-ecs.js" check "$FIELDS" ns.ndjson --namespace prod_eu \
	--count "$N" >/dev/null || fail "ECS check with --namespace"
for bad in Prod prod-eu "" "a b" "$(printf '%0101d' 0)"; do
	expect_exit 16 fim report --format ecs --namespace "$bad" >/dev/null 2>err
	grep -q 'invalid namespace' err || fail "namespace '$bad': $(cat err)"
done
expect_exit 16 fim report --format xml 2>err
grep -q "unknown format 'xml'" err || fail "format message: $(cat err)"
expect_exit 16 fim report 1 2 3 2>/dev/null

# --- nothing changed: no document, exit 0 --------------------------------------
expect_exit 0 fim report --format ecs 2 2 >none.ndjson
[ ! -s none.ndjson ] || fail "documents for no change"

# --- text and json read as diff's; report exits 0 ------------------------------
expect_exit 7 fim diff --format json >diff.json
cmp -s report.json diff.json || fail "report --format json differs from diff"
expect_exit 7 fim diff >diff.txt
expect_exit 0 fim report >report.txt
cmp -s report.txt diff.txt || fail "report (text) differs from diff"

# --- -o: atomic ---------------------------------------------------------------
mkdir outdir
expect_exit 0 fim report --format ecs -o outdir/events.ndjson
cmp -s outdir/events.ndjson out.ndjson || fail "-o content"
[ "$(ls -A outdir)" = events.ndjson ] || fail "left behind: $(ls -A outdir)"
[ "$(stat -c %a outdir/events.ndjson)" = 600 ] || fail "mode of a new report"
chmod 644 outdir/events.ndjson
expect_exit 0 fim report --format json --output outdir/events.ndjson
cmp -s outdir/events.ndjson report.json || fail "--output replaces"
[ "$(stat -c %a outdir/events.ndjson)" = 644 ] || fail "a replaced file keeps its mode"

expect_exit 21 fim report --format ecs -o nodir/x.ndjson 2>err
[ ! -e nodir ] || fail "created nodir"
grep -q 'cannot write nodir/x.ndjson' err || fail "message: $(cat err)"

# A full disk: the old file stays, no temporary file is left.
mount_tmpfs "$T/small" 64k || fail "cannot mount a tmpfs (run as root)"
echo old >"$T/small/r.html"
head -c 40000 /dev/zero >"$T/small/fill" 2>/dev/null || :
expect_exit 21 fim report --format html -o "$T/small/r.html" 2>err
[ "$(cat "$T/small/r.html")" = old ] || fail "the old report was damaged"
[ "$(ls -A "$T/small" | sort | tr '\n' ' ')" = "fill r.html " ] ||
	fail "left behind: $(ls -A "$T/small")"
grep -Eq 'no space left|cannot write' err || fail "message: $(cat err)"
[ "$(grep -c . err)" -eq 1 ] || fail "said more than once: $(cat err)"
echo "ok: $N documents"
