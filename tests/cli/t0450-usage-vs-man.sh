#!/bin/sh
# t0450-usage-vs-man.sh: the usage that `fimscan CMD -h` prints is the
# SYNOPSIS line of fimscan(1) for CMD (git's t0450-txt-doc-vs-help.sh), and
# every option in a usage line has an `.It Fl` entry under its command in
# the man page's DESCRIPTION (curl's test 1139).
#
# Environment (from CTest): FIMSCAN, the binary; SRCDIR, the source tree.
# Needs mandoc (Debian package mandoc).  Self-contained: no lib.sh.
set -eu
set -f   # words of usage lines are split below; never glob them

: "${FIMSCAN:?FIMSCAN must name the fimscan binary}"
: "${SRCDIR:=$(cd "$(dirname "$0")/../.." && pwd)}"
MAN=$SRCDIR/man/fimscan.1

# Every command, in the order of the SYNOPSIS.  A new command goes here, in
# cli/main.c's table, and in the man page.
COMMANDS="baseline scan diff report log show accept prune watch events ship es-setup check-config"

if ! command -v mandoc >/dev/null 2>&1; then
	echo "FAIL: mandoc is required for this test (apt-get install mandoc)" >&2
	exit 1
fi
[ -r "$MAN" ] || { echo "FAIL: cannot read $MAN" >&2; exit 1; }

T=$(mktemp -d "${TMPDIR:-/tmp}/fimscan-t0450.XXXXXX")
trap 'rm -rf "$T"' EXIT
# -h needs neither a config nor a store; make sure none of the machine's
# are touched anyway.
: >"$T/empty.conf"
FIMSCAN_CONFIG=$T/empty.conf
FIMSCAN_DB=$T/store.db
export FIMSCAN_CONFIG FIMSCAN_DB

status=0
fail() {
	echo "FAIL: $*" >&2
	status=1
}

# One line per usage: blanks squeezed, none around '|' (mdoc may render
# "text | json" where the code says "text|json").
normalize() {
	sed -e 's/[[:space:]][[:space:]]*/ /g' -e 's/^ //' -e 's/ $//' \
	    -e 's/ *| */|/g'
}

# "KEY<tab>LINE": KEY is the command, or "main" for the line whose second
# word is an option ("fimscan [-qv] ...").
keyed() {
	awk '{ k = ($2 ~ /^\[/ || $2 == "") ? "main" : $2; print k "\t" $0 }'
}

# --- the SYNOPSIS as rendered ---------------------------------------------
# -Owidth=300 keeps each synopsis on one line; continuation lines are
# joined anyway.  Backspace overstrike (bold, underline) is removed the way
# `col -b` would, without needing col.
BS=$(printf '\b')
mandoc -Tascii -Owidth=300 "$MAN" >"$T/man.raw" ||
	{ echo "FAIL: mandoc cannot render $MAN" >&2; exit 1; }
sed "s/.$BS//g" "$T/man.raw" |
awk '
	/^SYNOPSIS/ { s = 1; next }
	s && /^[^ \t]/ { exit }
	s {
		sub(/^[ \t]+/, "")
		if ($0 == "")
			next
		if ($0 ~ /^fimscan( |$)/) {
			if (line != "")
				print line
			line = $0
		} else {
			line = line " " $0
		}
	}
	END { if (line != "") print line }
' | normalize | keyed >"$T/man.synopsis"
[ -s "$T/man.synopsis" ] || fail "no 'fimscan ...' lines in the SYNOPSIS of $MAN"

# --- the usage the binary prints --------------------------------------------
: >"$T/help.synopsis"
for c in main $COMMANDS; do
	if [ "$c" = main ]; then
		set -- -h
	else
		set -- "$c" -h
	fi
	rc=0
	"$FIMSCAN" "$@" >"$T/help.out" 2>"$T/help.err" || rc=$?
	if [ "$rc" -ne 0 ]; then
		fail "'fimscan $*' exited $rc, not 0"
		sed 's/^/    /' "$T/help.err" >&2
		continue
	fi
	first=$(sed -n 1p "$T/help.out")
	case $first in
	"usage: "*) ;;
	*)	fail "'fimscan $*': first line is not 'usage: ...': $first"
		continue ;;
	esac
	printf '%s\n' "${first#usage: }" | normalize |
		awk -v k="$c" '{ print k "\t" $0 }' >>"$T/help.synopsis"
done

# --- the two must agree, command by command ---------------------------------
for c in main $COMMANDS; do
	m=$(awk -F '\t' -v k="$c" '$1 == k' "$T/man.synopsis")
	h=$(awk -F '\t' -v k="$c" '$1 == k' "$T/help.synopsis")
	if [ -z "$m" ]; then
		fail "fimscan.1: no SYNOPSIS line for '$c'"
	elif [ "$(printf '%s\n' "$m" | wc -l)" -ne 1 ]; then
		fail "fimscan.1: more than one SYNOPSIS line for '$c'"
	fi
done
awk -F '\t' '{ print $1 }' "$T/man.synopsis" | while read -r k; do
	case " main $COMMANDS " in
	*" $k "*) ;;
	*)	echo "FAIL: fimscan.1 has a SYNOPSIS line for '$k', which this" \
		     "test does not know: add it to COMMANDS" >&2
		echo x >"$T/unknown" ;;
	esac
done
[ ! -e "$T/unknown" ] || status=1

for c in main $COMMANDS; do
	awk -F '\t' -v k="$c" '$1 == k' "$T/man.synopsis"
done >"$T/man.sorted"
for c in main $COMMANDS; do
	awk -F '\t' -v k="$c" '$1 == k' "$T/help.synopsis"
done >"$T/help.sorted"
if ! cmp -s "$T/man.sorted" "$T/help.sorted"; then
	fail "usage (-h) and man page SYNOPSIS differ" \
	     "(--- man/fimscan.1, +++ fimscan -h):"
	diff -u "$T/man.sorted" "$T/help.sorted" |
		sed -e '1s/^--- .*/--- man\/fimscan.1 SYNOPSIS/' \
		    -e '2s/^+++ .*/+++ fimscan CMD -h/' >&2 || :
fi

# --- every option of a usage line has an entry under its command -----------
# From the man source, in DESCRIPTION: the ".It Fl X" items of the list
# before the first subsection are the global options ("main"); in the
# subsection "Commands", an item of the outer list that names a command
# (".It Cm NAME", or ".It Xo" then ".Cm NAME") opens it, and the ".It Fl X"
# items of the list nested in it are its options.
awk '
	/^\.Sh / { desc = ($2 == "DESCRIPTION"); ss = ""; depth = 0; next }
	!desc { next }
	/^\.Ss / { ss = $2; cmd = ""; next }
	/^\.Bl( |$)/ { depth++; next }
	/^\.El( |$)/ { depth--; next }
	xo && /^\.Cm / { cmd = $2; seen[cmd] = 1; xo = 0; next }
	{ xo = 0 }
	ss == "Commands" && depth == 1 && /^\.It Xo/ { xo = 1; next }
	ss == "Commands" && depth == 1 && /^\.It Cm / {
		cmd = $3; seen[cmd] = 1; next
	}
	/^\.It Fl / {
		o = $3
		if (o == "\\-")
			next
		o = "-" o
		if (ss == "" && depth == 1)
			print "main\t" o
		else if (ss == "Commands" && depth == 2 && cmd != "")
			print cmd "\t" o
		next
	}
	END { for (c in seen) print c "\t(command)" }
' "$MAN" >"$T/man.options"

for c in $COMMANDS; do
	grep -q "^$c	(command)\$" "$T/man.options" ||
		fail "fimscan.1: DESCRIPTION has no '.It Cm $c' entry"
done
awk -F '\t' '{ print $1 "\t" $2 }' "$T/help.synopsis" |
while IFS='	' read -r k line; do
	# Words that start with '-', after '[', ']' and '|' are blanks; "--"
	# alone ends the options and is not one; "-qv" is -q and -v.
	for w in $(printf '%s\n' "$line" | sed 's/[][|]/ /g'); do
		case $w in
		--) ;;
		--?*) printf '%s\t%s\n' "$k" "$w" ;;
		-?*)
			rest=${w#-}
			while [ -n "$rest" ]; do
				tail=${rest#?}
				printf '%s\t-%s\n' "$k" "${rest%"$tail"}"
				rest=$tail
			done ;;
		esac
	done
done | sort -u >"$T/usage.options"
while IFS='	' read -r k o; do
	if ! grep -qxF "$k	$o" "$T/man.options"; then
		if [ "$k" = main ]; then
			where="the global options"
		else
			where="'.It Cm $k' (or '.It Xo' '.Cm $k')"
		fi
		echo "FAIL: option $o of '$k' is in its usage but has no" \
		     "'.It Fl ${o#-}' entry under $where in man/fimscan.1" >&2
		echo x >"$T/undocumented"
	fi
done <"$T/usage.options"
[ ! -e "$T/undocumented" ] || status=1
[ -s "$T/usage.options" ] || fail "found no options in the usage lines"

if [ "$status" -eq 0 ]; then
	echo "ok: $(wc -l <"$T/help.sorted") usage lines match fimscan.1," \
	     "$(wc -l <"$T/usage.options") options documented"
fi
exit "$status"
