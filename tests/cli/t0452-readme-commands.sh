#!/bin/sh
# t0452: README.md begins with the two set-up commands (its first two
# fenced sh blocks, one line each): set up and try on /etc, and build and
# test. .ci/run runs the second one verbatim, and the fimscan part of the
# first one works as written.
. "$(dirname "$0")/lib.sh"

python3 - "$SRCDIR/README.md" <<'PY' || fail "README.md blocks"
import re, sys
text = open(sys.argv[1]).read()
blocks = re.findall(r"^```sh\n(.*?)^```$", text, re.S | re.M)
if len(blocks) < 2:
    sys.exit("fewer than two ```sh blocks")
for i, b in enumerate(blocks[:2]):
    lines = [l for l in b.splitlines() if l.strip()]
    if len(lines) != 1:
        sys.exit("block %d is not one command line: %r" % (i + 1, b))
    open("cmd%d" % (i + 1), "w").write(lines[0] + "\n")
# they come before any other fenced block
first = text.find("```")
if not text[first:].startswith("```sh\n" + blocks[0]):
    sys.exit("the first fenced block is not the set-up command")
PY
cmd1=$(cat cmd1) && cmd2=$(cat cmd2)

case $cmd1 in
.ci/install-deps\ build\ \&\&\ *fimscan*baseline*scan*) ;;
*) fail "first command: $cmd1" ;;
esac
case $cmd2 in
.ci/install-deps\ \&\&\ *cmake*ctest*) ;;
*) fail "second command: $cmd2" ;;
esac
for c in "$cmd1" "$cmd2"; do
	sh -n -c "$c" || fail "not valid sh: $c"
done

# .ci/run runs the test command verbatim, on a line of its own.
grep -qxF "$cmd2" "$SRCDIR/.ci/run" || fail ".ci/run does not run: $cmd2"
[ -x "$SRCDIR/.ci/install-deps" ] && [ -x "$SRCDIR/.ci/run" ] ||
	fail ".ci/install-deps and .ci/run must be executable"
sh -n "$SRCDIR/.ci/install-deps" && sh -n "$SRCDIR/.ci/run" || fail "syntax"

# The fimscan part of the first command, with the binary under test.
part=${cmd1#*./build/fimscan }
[ "$part" != "$cmd1" ] || fail "no ./build/fimscan in: $cmd1"
part="./build/fimscan $part"
mkdir build && ln -s "$FIMSCAN" build/fimscan
unset FIMSCAN_DB
set +e
sh -c "$part" >try.out 2>try.err
rc=$?
set -e
[ $rc -lt 16 ] || fail "$part: exit $rc: $(cat try.err)"
[ -s fimscan.db ] || fail "no ./fimscan.db"
"$FIMSCAN" --db ./fimscan.db log >log && [ "$(grep -Ec '^ +[0-9]+[* ] ' log)" -eq 2 ] ||
	fail "log: $(cat log)"
