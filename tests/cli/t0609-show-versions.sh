#!/bin/sh
# t0609: `show --versions PATH` lists each version with the byte ranges
# that changed from the one before, as `diff --bytes` would say them: an
# overwrite (exact when the bytes were kept, chunk-granular when not), a
# proven append, a metadata-only change (state "none", no range), and no
# ranges across a change of type. Without --versions, no ranges.
. "$(dirname "$0")/lib.sh"

# random bytes, but none of the overwritten ones is a digit already
mkdir tree && python3 -c '
import os, sys
for name in sys.argv[1:]:
    d = bytearray(os.urandom(100000))
    d[40000:40010] = b"\xff" * 10
    open(name, "wb").write(d)' tree/kept tree/hashed &&
printf 'rule %s all content\n' "$T/tree/kept" >keep.conf &&
export FIMSCAN_CONFIG="$T/keep.conf" &&
fim baseline tree >/dev/null || fail "baseline"

# 2: overwrite 10 bytes at 40000
for f in kept hashed; do
	printf '0123456789' | dd of="tree/$f" bs=1 seek=40000 conv=notrunc \
		2>/dev/null || fail "overwrite $f"
done
expect_exit 4 fim scan --against latest tree >/dev/null
# 3: append
for f in kept hashed; do echo "appended" >>"tree/$f"; done
expect_exit 4 fim scan --against latest tree >/dev/null
# 4: permissions only
chmod 600 tree/kept tree/hashed
expect_exit 4 fim scan --against latest tree >/dev/null
# 5: a symlink in its place
rm tree/hashed && ln -s kept tree/hashed
expect_exit 4 fim scan --against latest tree >/dev/null

fim show --versions --format json tree/kept >kept.json || fail "show kept"
json_check kept.json \
	"len(d['versions']) == 4" \
	"'ranges' not in d['versions'][0] and 'bytes' not in d['versions'][0]" \
	"d['versions'][1]['bytes'] == {'state': 'exact', 'bytes_changed': 10}" \
	"d['versions'][1]['ranges'] == [{'op': 'modify', 'old_offset': 40000, 'old_length': 10, 'new_offset': 40000, 'new_length': 10, 'exact': True}]" \
	"d['versions'][2]['bytes']['state'] == 'appended'" \
	"d['versions'][2]['ranges'] == [{'op': 'insert', 'old_offset': 100000, 'old_length': 0, 'new_offset': 100000, 'new_length': 9, 'exact': True}]" \
	"d['versions'][3]['bytes'] == {'state': 'none', 'bytes_changed': 0}" \
	"d['versions'][3]['ranges'] == []" \
	"d['versions'][3]['mode'] == '0600'"

fim show --versions --format json tree/hashed >hashed.json || fail "show hashed"
json_check hashed.json \
	"len(d['versions']) == 5" \
	"d['versions'][1]['bytes']['state'] == 'chunks'" \
	"len(d['versions'][1]['ranges']) == 1" \
	"d['versions'][1]['ranges'][0]['exact'] is False" \
	"d['versions'][1]['ranges'][0]['old_offset'] <= 40000" \
	"d['versions'][1]['ranges'][0]['old_offset'] + d['versions'][1]['ranges'][0]['old_length'] >= 40010" \
	"d['versions'][2]['bytes']['state'] == 'appended'" \
	"d['versions'][4]['type'] == 'symlink'" \
	"'ranges' not in d['versions'][4]"

# text
fim show --versions tree/kept >kept.txt || fail "show text"
grep -q '^    bytes   10 changed in 1 range (exact)$' kept.txt &&
	grep -q '^      modify old 40000+10  new 40000+10$' kept.txt &&
	grep -q '^    bytes   9 changed in 1 range (appended, proven)$' kept.txt ||
	fail "text: $(cat kept.txt)"
[ "$(grep -c '^    bytes ' kept.txt)" -eq 2 ] || fail "text: $(cat kept.txt)"

# without --versions: as before, no ranges
fim show --format json tree/kept >plain.json || fail "show"
json_check plain.json "all('ranges' not in v for v in d['versions'])"
fim show tree/kept >plain.txt || fail "show text"
! grep -q 'bytes' plain.txt || fail "plain: $(cat plain.txt)"
expect_exit 16 fim show --versions 2>usage.err
