#!/bin/sh
# t0202: FIFOs, sockets and devices are recorded without being opened (no
# hang); a file replaced by a symlink, a chmod, and a content change hidden
# by `touch -r` are each reported with the right attributes.
. "$(dirname "$0")/lib.sh"

mkdir tree && cd tree &&
mkfifo fifo &&
python3 -c 'import socket; socket.socket(socket.AF_UNIX).bind("sock")' &&
mknod null c 1 3 && mknod zero c 1 5 &&
echo target-content >target && echo will-be-link >victim &&
echo perms >chm && chmod 600 chm &&
echo aaaa >hidden && cd .. && touch -r tree/hidden hidden.ref || fail "setup"

# A reader on the FIFO would block, one on /dev/zero would never end.
expect_exit 0 timeout 20 "$FIMSCAN" baseline tree >/dev/null

fim show --format json tree/fifo >fifo.json &&
json_check fifo.json 'd["versions"][0]["type"] == "fifo"' \
	'"sha256" not in d["versions"][0]'
fim show --format json tree/sock >sock.json &&
json_check sock.json 'd["versions"][0]["type"] == "socket"'
fim show --format json tree/null >null.json &&
json_check null.json 'd["versions"][0]["type"] == "chardev"' \
	'd["versions"][0]["rdev"] == (1 << 8 | 3)' \
	'"sha256" not in d["versions"][0]'
fim show --format json tree/zero >zero.json &&
json_check zero.json 'd["versions"][0]["rdev"] == (1 << 8 | 5)' \
	'd["versions"][0]["size"] == 0'
fim show tree/null >null.txt && grep -q '^    type  *chardev$' null.txt &&
	grep -q '^    rdev  *259$' null.txt || fail "show null: $(cat null.txt)"

# An unchanged rescan with them present: prompt, nothing to report.
expect_exit 0 timeout 20 "$FIMSCAN" scan tree >out
grep -q '^summary: no differences$' out || fail "rescan: $(cat out)"

# The changes.
rm tree/victim && ln -s target tree/victim
chmod 4755 tree/chm
echo bbbb >tree/hidden && touch -r hidden.ref tree/hidden
rm tree/null && mknod tree/null c 1 7
rm tree/fifo && echo now-a-file >tree/fifo

expect_exit 4 timeout 20 "$FIMSCAN" scan --format json tree >scan.json
P="$T/tree"
json_check scan.json 'd["added"] == [] and d["removed"] == []' \
	"sorted(e['path'] for e in d['changed']) == ['$P', '$P/chm', '$P/fifo', '$P/hidden', '$P/null', '$P/victim']"
python3 - scan.json "$P" <<'PY' || fail "changed entries"
import json, sys
d = json.load(open(sys.argv[1]))
P = sys.argv[2]
ch = {e["path"]: e for e in d["changed"]}
def check(cond, what):
    if not cond:
        print("false:", what, file=sys.stderr)
        print(json.dumps(d, indent=1), file=sys.stderr)
        sys.exit(1)

v = ch[P + "/victim"]
check(v["type"] == "symlink", "victim is a symlink now")
check("type" in v["attrs"] and "target" in v["attrs"], "victim attrs")
check(v["details"]["type"] == {"old": "file", "new": "symlink"}, "type values")
check(v["details"]["target"]["old"] == "" and
      v["details"]["target"]["new"] == "target", "target values")

# chmod only: the mode (and the ctime the kernel sets), no content.
c = ch[P + "/chm"]
check(set(c["attrs"]) <= {"mode", "ctime"} and "mode" in c["attrs"],
      "chmod attrs: %s" % c["attrs"])
check(c["details"]["mode"] == {"old": "0600", "new": "4755"}, "mode values")

# Same size, mtime restored: the hash and the ctime still tell.
h = ch[P + "/hidden"]
check({"sha256", "ctime"} <= set(h["attrs"]), "touch -r attrs: %s" % h["attrs"])
check(not {"mtime", "size", "mode"} & set(h["attrs"]), "touch -r extra")

n = ch[P + "/null"]
check("rdev" in n["attrs"] and n["details"]["rdev"] == {"old": 259, "new": 263},
      "rdev")

f = ch[P + "/fifo"]
check(f["details"]["type"] == {"old": "fifo", "new": "file"}, "fifo -> file")
PY

# The text report says the same.
expect_exit 4 fim diff >out
grep -Eq "^changed +symlink +$P/victim\$" out &&
	grep -q '^    target  *(none) -> target$' out &&
	grep -q '^    type  *file -> symlink$' out || fail "text: $(cat out)"
