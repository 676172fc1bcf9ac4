#!/bin/sh
# t0501: `report --format html` writes one self-contained page that renders
# in headless Chromium (Debian package chromium) with no console message
# and no network request, shows one table row per change, and shows a file
# named `<img src=x onerror=alert(1)>` as text, never as an element. A
# screenshot goes to $BUILDDIR/t0501-report.png for a human to look at.
. "$(dirname "$0")/lib.sh"

CHROMIUM=$(command -v chromium || command -v chromium-browser || :)
[ -n "$CHROMIUM" ] || fail "chromium is required (.ci/install-deps)"
OUT=${BUILDDIR:-$T}

mkdir -p tree/etc tree/d && cd tree &&
echo keep >keep && echo perms >chm && echo gone >gone && echo moving >d/src &&
python3 -c 'import random, sys
sys.stdout.buffer.write(random.Random(5).randbytes(262144))' >etc/blob &&
chmod 644 chm && cd .. || fail "setup"
fim baseline tree >/dev/null || fail "baseline"

IMG='<img src=x onerror=alert(1)>'
echo markup >"tree/$IMG"
printf 'y' >"tree/new
line"
printf 'x' >"$(printf 'tree/bad\377name')"
# a path holding "</script>": directory "x<", file "script>"
mkdir 'tree/x<' && echo 2 >'tree/x</script>'
chmod 600 tree/chm
rm tree/gone
mv tree/d/src tree/dst
printf 'XXXXXXXX' | dd of=tree/etc/blob bs=1 seek=100000 conv=notrunc 2>/dev/null
expect_exit 7 fim scan tree >/dev/null

fim report --format json >report.json || fail "report json"
eval "$(python3 -c '
import json, sys
d = json.load(open(sys.argv[1]))
s = d["summary"]
print("N=%d DELETED=%d" % (s["added"] + s["removed"] + s["changed"], s["removed"]))
' report.json)"
[ "$N" -ge 9 ] || fail "only $N changes"

expect_exit 0 fim report --format html --title "t0501 <b>report</b>" -o report.html
[ -s report.html ] || fail "no report.html"

# --- the file itself -----------------------------------------------------------
! grep -Eiq 'https?:' report.html || fail "the page names a URL: $(grep -Eio '.{20}https?:.{20}' report.html | head -3)"
! grep -Eq 'innerHTML|outerHTML|insertAdjacentHTML|document\.write|eval\(' report.html ||
	fail "the page uses a markup sink"
! grep -q '<img' report.html || fail "an <img in the page source"
[ "$(grep -o '<script' report.html | wc -l)" -eq 2 ] || fail "script elements"
grep -q "Content-Security-Policy\" content=\"default-src 'none'" report.html ||
	fail "no CSP"

# --- rendered ------------------------------------------------------------------
# chromium URL OUTFILE [FLAGS...]: headless, offline (no name resolves),
# a fresh profile; stderr to OUTFILE.err, the net log to OUTFILE.net.
chrome() {
	url=$1 out=$2
	shift 2
	rm -rf "$T/profile"
	mkdir "$T/profile"
	timeout 120 "$CHROMIUM" --headless --no-sandbox --disable-gpu \
		--disable-quic --no-first-run --disable-background-networking \
		--disable-component-update --disable-sync --disable-dev-shm-usage \
		--host-resolver-rules='MAP * ~NOTFOUND' \
		--user-data-dir="$T/profile" --enable-logging=stderr --v=0 \
		--log-net-log="$out.net" "$@" "$url" >"$out" 2>"$out.err" ||
		fail "chromium $*: exit $?: $(tail -5 "$out.err")"
}

# Requests the page made: the net log's requests in the page's network
# partition (file://), other than the file itself. Chromium's own
# background requests are in none.
page_requests() {
	python3 - "$1" <<'PY'
import json, sys
d = json.load(open(sys.argv[1]))
types = d["constants"]["logEventTypes"]
start = types["URL_REQUEST_START_JOB"]
for e in d["events"]:
    p = e.get("params") or {}
    if e["type"] == start and "file://" in p.get("network_isolation_key", "") \
       and not p.get("url", "").startswith("file:"):
        print(p["url"])
PY
}

rows() { grep -o '<tr class="change"' "$1" | wc -l; }

URL="file://$T/report.html"
chrome "$URL" dom.html --dump-dom
grep -q '<html[^>]* data-ready="1"' dom.html || fail "the script did not finish"
! grep -q '<html[^>]* data-errors=' dom.html || fail "uncaught errors"
if grep -a ':CONSOLE' dom.html.err >console.txt; then
	fail "console messages: $(cat console.txt)"
fi
[ -s dom.html.net ] || fail "no net log"
page_requests dom.html.net >requests.txt || fail "reading the net log"
[ ! -s requests.txt ] || fail "network requests: $(cat requests.txt)"
[ "$(rows dom.html)" -eq "$N" ] || fail "$(rows dom.html) rows, expected $N"
grep -qF '&lt;img src=x onerror=alert(1)&gt;' dom.html ||
	fail "the markup-named file is not shown as text"
! grep -q '<img' dom.html || fail "an <img> element in the page"
grep -qF '<title>t0501 &lt;b&gt;report&lt;/b&gt;</title>' dom.html ||
	fail "title: $(grep -o '<title>.*</title>' dom.html)"
! grep -q '<b>report' dom.html || fail "the title became markup"
grep -qF "$T/tree/new\\x0aline" dom.html || fail "the newline name, escaped"
grep -qF "$T/tree/bad\\xffname" dom.html || fail "the invalid UTF-8 name, escaped"
grep -qF "$T/tree/x&lt;/script&gt;" dom.html || fail "the </script> path"
grep -q 'class="seg ' dom.html || fail "no byte-range map"
grep -qF 'from '"$T/tree/d/src" dom.html || fail "the move's source"
grep -q '<svg class="chart"' dom.html || fail "no charts"

# The filter, preset from the URL: the text, then the action boxes.
chrome "$URL#q=onerror" q.html --dump-dom
[ "$(rows q.html)" -eq 1 ] || fail "#q=onerror: $(rows q.html) rows"
chrome "$URL#actions=deleted" del.html --dump-dom
[ "$(rows del.html)" -eq "$DELETED" ] || fail "#actions=deleted: $(rows del.html) rows"

# A picture for a human (and a check that one is drawn).
rm -f "$OUT/t0501-report.png"
chrome "$URL" shot.log --hide-scrollbars --window-size=1280,1500 \
	--screenshot="$OUT/t0501-report.png"
[ "$(head -c 8 "$OUT/t0501-report.png" | od -An -tx1 | tr -d ' \n')" = \
  89504e470d0a1a0a ] || fail "no PNG screenshot"
[ "$(wc -c <"$OUT/t0501-report.png")" -gt 20000 ] || fail "an empty screenshot"
echo "ok: $N rows; screenshot $OUT/t0501-report.png"
