#!/bin/sh
# t0201: hostile file names (newline, terminal escapes, printf directives,
# invalid UTF-8, 255 bytes, backslash) are stored as bytes, escaped as \xNN
# in every text output, and round-trip exactly through JSON path_base64.
. "$(dirname "$0")/lib.sh"

# fim_err FILE ARGS...: fim with its stderr in FILE (redirecting around
# expect_exit would swallow expect_exit's own message).
fim_err() {
	f=$1
	shift
	"$FIMSCAN" "$@" 2>"$f"
}

mkdir tree && echo plain >tree/plain && fim baseline tree >/dev/null ||
	fail "baseline"

# The names, one per line in base64 (they may hold newlines themselves).
python3 - <<'PY' || fail "making the names"
import base64, os
names = [
    b"new\nline",
    b"\033[2J\033[31mfake",
    b"%n%s%x%p",
    b"\377\376",
    b"x" * 255,
    b"back\\slash",
    b"caf\xc3\xa9 \xe2\x80\xae",        # valid UTF-8, then a bidi override
    b"\r\tcr-tab\x7f",
    b"d\nir",                            # a directory...
    b"d\nir/\033]0;title\007",           # ...and a file inside it
]
os.mkdir(b"tree/d\nir")
for n in names:
    p = b"tree/" + n
    if not os.path.isdir(p):
        with open(p, "wb") as f:
            f.write(n)
with open("names.b64", "w") as f:
    for n in names:
        f.write(base64.b64encode(n).decode() + "\n")
PY

cat >check.py <<'PY'
# check.py MODE FILE ROOT: MODE is text (a text report) or json.
import base64, json, os, sys

mode, file, root = sys.argv[1], sys.argv[2], os.fsencode(sys.argv[3])
names = [base64.b64decode(l) for l in open("names.b64")]
paths = [root + b"/" + n for n in names]

def fail(msg):
    print("FAIL:", msg, file=sys.stderr)
    sys.stderr.buffer.write(open(file, "rb").read()[:4000] + b"\n")
    sys.exit(1)

def escape(b):
    """fimscan's escaping: \\ for backslash, \\xNN for control bytes, C1
    controls, line/bidi separators and invalid UTF-8."""
    out, i = [], 0
    while i < len(b):
        c = b[i]
        if c == 0x5c:
            out.append(b"\\\\"); i += 1; continue
        for n in (1, 2, 3, 4):
            try:
                s = b[i:i + n].decode("utf-8")
                break
            except UnicodeDecodeError:
                s = None
        if s is not None and len(s) == 1:
            cp = ord(s)
            if not (cp < 0x20 or 0x7f <= cp <= 0x9f or
                    0x2028 <= cp <= 0x202e or 0x2066 <= cp <= 0x2069):
                out.append(b[i:i + n]); i += n; continue
            seq = b[i:i + n]; i += n
        else:
            seq = b[i:i + 1]; i += 1
        out += [b"\\x%02x" % x for x in seq]
    return b"".join(out)

data = open(file, "rb").read()
if mode == "text" or mode == "stderr":
    bad = [c for c in data if (c < 0x20 and c != 0x0a) or c == 0x7f]
    if bad:
        fail("raw control bytes in the output: %r" % bad[:10])
    try:
        data.decode("utf-8")
    except UnicodeDecodeError as e:
        fail("output is not valid UTF-8: %s" % e)
    for p in paths:
        if escape(p) not in data:
            fail("escaped name missing: %r" % escape(p))
    if mode == "text":
        lines = data.split(b"\n")
        added = [l for l in lines if l.startswith(b"added ")]
        if len(added) != len(names):
            fail("%d added lines for %d names" % (len(added), len(names)))
        for p in paths:
            if not any(l.endswith(b" " + escape(p)) for l in added):
                fail("no added line for %r" % p)
        # Nothing but our own lines: no name started a line of its own.
        for l in lines:
            if l and not (l.startswith((b"fimscan: comparing ", b"summary: ",
                                        b"added ", b"changed ", b"    "))):
                fail("unexpected line %r" % l)
else:
    d = json.loads(data.decode("utf-8"))
    got = {base64.b64decode(e["path_base64"]): e for e in d["added"]}
    if sorted(got) != sorted(paths):
        fail("added paths differ: %r" % sorted(got))
    for p, e in got.items():
        if base64.b64decode(e["path_base64"]) != os.fsencode(os.fsdecode(p)):
            fail("fsencode round trip %r" % p)
        want = p.decode("utf-8", errors="replace")
        if e["path"] != want:
            fail("path %r, want %r" % (e["path"], want))
    if [base64.b64decode(e["path_base64"]) for e in d["added"]] != sorted(paths):
        fail("added not sorted by path bytes")
    if any(c < 0x20 and c != 0x0a for c in data):
        fail("raw control bytes in JSON")
PY

expect_exit 5 fim_err err.txt scan tree >out.txt
python3 check.py text out.txt "$T/tree" || fail "text report"
[ ! -s err.txt ] || fail "stderr: $(cat err.txt)"
expect_exit 5 fim diff --format json >out.json
python3 check.py json out.json "$T/tree" || fail "json report"

# The stored names are the exact bytes.
python3 - "$FIMSCAN_DB" <<'PY' || fail "store bytes"
import base64, sqlite3, sys
db = sqlite3.connect(sys.argv[1])
names = [base64.b64decode(l) for l in open("names.b64")]
stored = {bytes(r[0]) for r in db.execute("SELECT name FROM version")}
base = {n.rsplit(b"/", 1)[-1] for n in names}
missing = base - stored
if missing:
    print("not stored as bytes:", missing); sys.exit(1)
PY

# show, log and warnings escape too.
esc_name=$(printf 'tree/\033[2J\033[31mfake')
fim show "$esc_name" >show.txt || fail "show"
python3 - show.txt <<'PY' || fail "show output: $(od -c show.txt | head)"
import sys
d = open(sys.argv[1], "rb").read()
assert b"\033" not in d and b"\\x1b[2J\\x1b[31mfake\n" in d, d
PY
fim show --format json "$esc_name" >show.json &&
json_check show.json "base64.b64decode(d['path_base64']).endswith(b'/tree/\x1b[2J\x1b[31mfake')" \
	'len(d["versions"]) == 1'

# A hostile root, as log and the report header show it.
root=$(printf 'root\033[31m\nx')
mkdir "$root" && fim --db "$T/r.db" baseline "$root" >/dev/null &&
fim --db "$T/r.db" log >rlog.txt || fail "hostile root"
python3 - rlog.txt <<'PY' || fail "log output: $(od -c rlog.txt | head)"
import sys
d = open(sys.argv[1], "rb").read()
assert b"\033" not in d and d.count(b"\n") == 1, d
assert d.endswith(b"/root\\x1b[31m\\x0ax\n"), d
PY

# A warning names the file escaped (open fails for every file).
(
	export FIMSCAN_FAULT=open:1+:EACCES
	expect_exit 13 fim_err warn.txt scan tree >/dev/null
)
python3 check.py stderr warn.txt "$T/tree" || fail "warnings"

# Removing them all: every name reported removed, escaped.
expect_exit 5 fim scan tree >/dev/null
cd tree && python3 -c '
import base64, os, shutil
for l in open("../names.b64"):
    n = base64.b64decode(l)
    if os.path.isdir(n): shutil.rmtree(n)
    elif os.path.lexists(n): os.unlink(n)' && cd .. || fail "cleanup names"
expect_exit 6 fim scan --against latest tree >gone.txt
n=$(grep -c '^removed ' gone.txt) && [ "$n" -eq 10 ] || fail "removed: $n"
! grep -q "$(printf '\033')" gone.txt || fail "escape byte in removal report"
