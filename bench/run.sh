#!/bin/sh
# bench/run.sh: fimscan against AIDE and the hashing limit.  See bench/README.md.
#
#   bench/run.sh [options] [TREE]        TREE defaults to /usr
#   bench/run.sh --all [options]         every figure of issue 6
#
# Installs what it needs (Debian, as root), builds fimscan in Release mode
# into bench/out/build, then runs bench/bench.py, which prints a markdown
# table (also in bench/out/work/results.md and results.json).
set -eu

usage() {
	cat <<'EOF'
usage: bench/run.sh [options] [TREE]     benchmark TREE (default /usr)
       bench/run.sh --all [options]      every figure of issue 6, one report

What to run:
  --synthetic PROFILE  benchmark a generated tree bench/out/tree/PROFILE
                       instead of TREE (bench/gentree.py): tiny (2,000
                       files), small (100,000), million-lite (50,000 like
                       million), million (1,000,000 small files), medium
                       (10,000 files, 12 GB), huge (3 x 1 GiB)
  --copy               benchmark a copy of TREE in bench/out/tree/copy
                       (made afresh with cp -ax; needs the space), so that
                       the changed-tree step may run on it
  --all                /usr (warm and cold), then the synthetic trees
                       million (thread sweep, 1% changed), medium and huge
                       (1% changed), each with fewer repetitions where the
                       runs are long; profiles that do not fit on the disk
                       are skipped.  One report: bench/out/all.md.
                       Options given with --all apply to every part.
  --parts LIST         with --all: these parts, comma-separated: usr and
                       profiles (default usr,million,medium,huge; e.g.
                       tiny,million-lite to try --all in a minute)

Repetitions (the table shows medians):
  -n N                 repetitions of the warm steps (default 3)
  --aide-reps N        aide --init repetitions (default: N)
  --aide-check-reps N  aide --check repetitions (default: 2, at most N;
                       --check is by far the slowest step)
  --no-aide            fimscan only
  --no-refs            skip the find/cat reference walks

Extra steps (after the warm repetitions):
  --threads-sweep LIST one fimscan baseline per thread count, for the peak
                       RSS target, e.g. 1,2,8,32 (the default for million
                       and million-lite; none otherwise)
  --no-threads-sweep
  --changed            change 1% of the files (gentree.py mutate), rescan
                       with both tools, then restore the tree.  On by
                       default for --synthetic and --copy; never allowed
                       on a tree that is not generated or a copy (/usr)
  --no-changed
  --changed-percent P  change P% instead of 1%
  --changed-reps N     rounds of the changed-tree step (default 1)
  --cold               cold-cache rounds: drop the page cache (sync; echo 3
                       > /proc/sys/vm/drop_caches) before a cold find, cat,
                       fimscan baseline and scans, aide --init and --check.
                       Default: on when drop_caches is writable
  --no-cold
  --cold-method M      drop (default), or fadvise: evict only the tree's
                       and the stores' file data (posix_fadvise), which
                       leaves other users' cache alone
  --cold-reps N        cold rounds (default 1)
  --perf               afterwards, profile fimscan with perf
                       (bench/profile.sh)

Build and output:
  --no-install         do not apt-get anything
  --no-build           use the existing bench/out/build/fimscan
  --fimscan BIN        use this fimscan binary (no build)
  --rev REV            build the committed revision REV (git archive into
                       bench/out/src) instead of the working tree
  --work DIR           results, logs, stores (default bench/out/work;
                       with --all: bench/out/all/PART, and the report in
                       DIR/all.md instead of bench/out/all.md)
  -o FILE              also write the markdown report to FILE
  -h, --help           this help
EOF
}

die() {
	echo "run.sh: $*" >&2
	exit 2
}

# need OPTION ARGCOUNT: the option needs a value.
need() {
	[ "$2" -ge 2 ] || die "$1 needs a value (see run.sh -h)"
}

# number OPTION VALUE: a whole number >= 1.
number() {
	case $2 in
	'' | *[!0-9]* | 0) die "$1 needs a whole number >= 1, not '$2'" ;;
	esac
}

here=$(cd "$(dirname "$0")" && pwd)
src=$(dirname "$here")
out=$here/out
tree="" synthetic="" install=1 build=1 perf=0 rev=""
commit="" copy=0 all=0 parts="usr,million,medium,huge" fimbin="" work=""
useropts="" md="" changed="" sweep=""
while [ $# -gt 0 ]; do
	case $1 in
	-n) need "$1" $#; number "$1" "$2"
		useropts="$useropts --reps $2"; shift 2 ;;
	--aide-reps) need "$1" $#; number "$1" "$2"
		useropts="$useropts --aide-reps $2"; shift 2 ;;
	--aide-check-reps) need "$1" $#; number "$1" "$2"
		useropts="$useropts --aide-check-reps $2"; shift 2 ;;
	--no-aide) useropts="$useropts --no-aide"; shift ;;
	--no-refs) useropts="$useropts --no-refs"; shift ;;
	--synthetic) need "$1" $#; synthetic=$2; shift 2 ;;
	--copy) copy=1; shift ;;
	--all) all=1; shift ;;
	--parts) need "$1" $#; parts=$2; shift 2 ;;
	--threads-sweep) need "$1" $#
		case $2 in
		'' | *[!0-9,]* | ,* | *, | *,,*)
			die "--threads-sweep needs numbers like 1,2,8,32, not '$2'" ;;
		esac
		sweep="--threads-sweep $2"; shift 2 ;;
	--no-threads-sweep) sweep="--no-threads-sweep"; shift ;;
	--changed) changed="--changed"; shift ;;
	--no-changed) changed="--no-changed"; shift ;;
	--changed-percent) need "$1" $#
		case $2 in
		'' | *[!0-9.]* | *.*.*) die "--changed-percent needs a number, not '$2'" ;;
		esac
		useropts="$useropts --changed-percent $2"; shift 2 ;;
	--changed-reps) need "$1" $#; number "$1" "$2"
		useropts="$useropts --changed-reps $2"; shift 2 ;;
	--cold) useropts="$useropts --cold yes"; shift ;;
	--no-cold) useropts="$useropts --cold no"; shift ;;
	--cold-method) need "$1" $#
		case $2 in
		drop | fadvise) ;;
		*) die "--cold-method is drop or fadvise, not '$2'" ;;
		esac
		useropts="$useropts --cold-method $2"; shift 2 ;;
	--cold-reps) need "$1" $#; number "$1" "$2"
		useropts="$useropts --cold-reps $2"; shift 2 ;;
	--perf) perf=1; shift ;;
	--no-install) install=0; shift ;;
	--no-build) build=0; shift ;;
	--fimscan) need "$1" $#; fimbin=$(realpath -m "$2"); build=0; shift 2 ;;
	--rev) need "$1" $#; rev=$2; shift 2 ;;
	--work) need "$1" $#; work=$(realpath -m "$2"); shift 2 ;;
	-o) need "$1" $#; md=$(realpath -m "$2"); shift 2 ;;
	-h | --help) usage; exit 0 ;;
	--) shift
		[ $# -eq 0 ] && break
		{ [ $# -eq 1 ] && [ -z "$tree" ]; } || die "one TREE only"
		tree=$1
		break ;;
	-*) echo "run.sh: unknown option $1" >&2; usage >&2; exit 2 ;;
	*) [ -z "$tree" ] || die "one TREE only ('$tree' and '$1')"
		tree=$1; shift ;;
	esac
done
profiles=$(python3 "$here/gentree.py" list | tr '\n' ' ')

# ---- check the combination of options --------------------------------------
if [ "$all" = 1 ]; then
	{ [ -z "$tree" ] && [ -z "$synthetic" ] && [ "$copy" = 0 ]; } ||
		die "--all runs its own trees: no TREE, --synthetic or --copy"
	[ -z "$md" ] || die "--all writes bench/out/all.md; no -o"
	[ "$perf" = 0 ] || die "--all and --perf: run --perf on its own"
	for p in $(echo "$parts" | tr ',' ' '); do
		case " usr $profiles" in
		*" $p "*) ;;
		*) die "--parts: unknown part '$p' (one of: usr ${profiles% })" ;;
		esac
	done
else
	[ "$parts" = "usr,million,medium,huge" ] || die "--parts needs --all"
	if [ -n "$synthetic" ]; then
		[ -z "$tree" ] || die "--synthetic PROFILE or TREE, not both"
		[ "$copy" = 0 ] || die "--copy copies TREE, not a --synthetic tree"
		case " $profiles" in
		*" $synthetic "*) ;;
		*) die "--synthetic: unknown profile '$synthetic' (one of:" \
			"${profiles% })" ;;
		esac
	fi
	[ -n "$tree" ] || tree=/usr
	[ -n "$synthetic" ] || [ -d "$tree" ] || die "$tree: not a directory"
	if [ "$changed" = "--changed" ] && [ -z "$synthetic" ] && [ "$copy" = 0 ]
	then
		die "--changed changes files: it runs on --synthetic trees," \
			"or with --copy on a copy of $tree, never on $tree itself"
	fi
fi
[ -z "$rev" ] || [ -z "$fimbin" ] || die "--rev or --fimscan, not both"
# What bench.py will get: let it check the values now, before any build.
# shellcheck disable=SC2086
python3 "$here/bench.py" --fimscan - --check-args $useropts $changed $sweep ||
	exit 2

# ---- tools -----------------------------------------------------------------
if [ "$install" = 1 ]; then
	"$src/.ci/install-deps"
	missing=""
	for p in aide hyperfine time openssl python3 linux-perf; do
		dpkg-query -W -f='${Status}' "$p" 2>/dev/null | grep -q 'ok installed' ||
			missing="$missing $p"
	done
	if [ -n "$missing" ]; then
		SUDO=""
		[ "$(id -u)" -eq 0 ] || SUDO=sudo
		echo "run.sh: installing$missing" >&2
		export DEBIAN_FRONTEND=noninteractive
		$SUDO apt-get update -qq
		# shellcheck disable=SC2086
		$SUDO apt-get install -y -qq --no-install-recommends $missing >&2
	fi
fi

# ---- build -----------------------------------------------------------------
# Only the fimscan target: the tests are not part of the benchmark.
# With --rev, the sources of that commit (git archive: nothing in the
# repository changes) build in a directory of their own.
commitopt=""
bsrc=$src
if [ -n "$rev" ]; then
	commit=$(git -C "$src" rev-parse --short "$rev^{commit}")
	bsrc=$out/src
	rm -rf "$bsrc"
	mkdir -p "$bsrc"
	git -C "$src" archive "$commit" | tar -x -C "$bsrc"
	commitopt="--commit $commit"
	[ "$build" = 1 ] || die "--rev needs a build"
	rm -rf "$out/build"
fi
if [ "$build" = 1 ]; then
	echo "run.sh: building fimscan (Release) in $out/build" >&2
	mkdir -p "$out"
	cmake -S "$bsrc" -B "$out/build" -DCMAKE_BUILD_TYPE=Release \
		-DBUILD_TESTING=OFF >"$out/cmake.log" 2>&1 ||
		{ cat "$out/cmake.log" >&2; exit 1; }
	cmake --build "$out/build" --target fimscan -j"$(nproc)" \
		>>"$out/cmake.log" 2>&1 || { cat "$out/cmake.log" >&2; exit 1; }
	rm -f "$out/cmake.log"
	# What the binary was built from, for a later --no-build run.
	printf '%s\n' "${commit:-}" >"$out/build/bench-commit"
elif [ -z "$fimbin" ] && [ -f "$out/build/bench-commit" ]; then
	# empty when the build was of the working tree, not of --rev
	built=$(cat "$out/build/bench-commit")
	[ -z "$built" ] || commitopt="--commit $built"
fi
fim=${fimbin:-$out/build/fimscan}
[ -x "$fim" ] || die "$fim: no such executable (build it, or drop --no-build)"

# ---- helpers ---------------------------------------------------------------

# avail DIR: free bytes on DIR's file system.
avail() {
	mkdir -p "$1"
	df -P -B1 "$1" | awk 'NR == 2 { print $4 }'
}

# fits PROFILE: the tree (unless already generated), the stores and 1 GB of
# room fit on the disk; else say so.  The stores: at most 1 KB per file
# (fimscan's store and its copy in the changed-tree step, AIDE's database).
fits() {
	# shellcheck disable=SC2046
	set -- "$1" $(python3 "$here/gentree.py" space "$1" "$out/tree/$1")
	need=$(($2 + $3 * 1024 + 1000000000))
	free=$(avail "$out")
	[ "$need" -le "$free" ] && return 0
	echo "run.sh: skipping '$1': it needs $((need / 1000000)) MB on" \
		"$out, $((free / 1000000)) MB are free" >&2
	return 1
}

# defaults PROFILE: the extra steps a generated tree gets unless the
# options say otherwise.
defaults() {
	case $1 in
	million | million-lite) echo "--changed --threads-sweep 1,2,8,32" ;;
	*) echo "--changed" ;;
	esac
}

# bench TREE WORK EXTRA...: bench.py with EXTRA, then the user's options
# (the last occurrence of an option counts, so the user's win), then
# $last.
last=""
bench() {
	t=$1 w=$2
	shift 2
	# shellcheck disable=SC2086
	python3 "$here/bench.py" --fimscan "$fim" --tree "$t" --work "$w" \
		$commitopt "$@" $useropts $changed $sweep $last
}

# ---- one tree --------------------------------------------------------------
if [ "$all" = 0 ]; then
	extra=""
	if [ -n "$synthetic" ]; then
		tree=$out/tree/$synthetic
		python3 "$here/gentree.py" "$synthetic" "$tree"
		extra=$(defaults "$synthetic")
	elif [ "$copy" = 1 ]; then
		src_tree=$(realpath "$tree")
		tree=$out/tree/copy
		# the old copy goes first: its space counts as free
		rm -rf "$tree" "$tree.json" "$tree.mutation" "$tree.mutation.json"
		used=$(du -sxB1 "$src_tree" | cut -f1)
		[ "$used" -lt "$(avail "$out")" ] ||
			die "--copy: $src_tree needs $((used / 1000000)) MB"
		echo "run.sh: copying $src_tree to $tree" >&2
		mkdir -p "$tree"
		cp -ax "$src_tree/." "$tree/"
		printf '{"copy_of": "%s"}\n' "$src_tree" >"$tree.json"
		extra="--changed"
	fi
	# shellcheck disable=SC2086
	bench "$tree" "${work:-$out/work}" $extra ${md:+--markdown "$md"}
	if [ "$perf" = 1 ]; then
		"$here/profile.sh" "$fim" "$tree"
	fi
	exit 0
fi

# ---- --all -----------------------------------------------------------------
# Each part: its tree, its repetitions, its extra steps; then the user's
# options.  The reports go to bench/out/all/PART.md and, one after the
# other, to bench/out/all.md.
allw=${work:-$out/all}
mkdir -p "$allw"
report=${work:+$work/all.md}
report=${report:-$out/all.md}

# took SECONDS: "N s" or "N min".
took() {
	if [ "$1" -lt 120 ]; then echo "$1 s"; else echo "$(( ($1 + 30) / 60 )) min"; fi
}
started=$(date -u '+%Y-%m-%d %H:%M UTC')
t0=$(date +%s)
status=""
for part in $(echo "$parts" | tr ',' ' '); do
	echo "run.sh: ---- part $part ----" >&2
	ps=$(date +%s)
	# The tree, and repetitions: fewer where the runs are long.
	case $part in
	usr)
		set -- /usr --reps 3 --aide-reps 3 --aide-check-reps 2 ;;
	million)
		set -- million --reps 2 --aide-reps 1 --aide-check-reps 1 ;;
	medium)
		set -- medium --reps 2 --aide-reps 1 --aide-check-reps 1 ;;
	huge)
		set -- huge --reps 3 --aide-reps 2 --aide-check-reps 1 ;;
	*)
		set -- "$part" --reps 1 --aide-reps 1 --aide-check-reps 1 ;;
	esac
	t=$1
	shift
	last=""
	if [ "$t" = /usr ]; then
		last="--no-changed"          # never change /usr
	else
		if ! fits "$t"; then
			status="$status
- **$part**: skipped, not enough disk space (see \`df $out\`)."
			continue
		fi
		python3 "$here/gentree.py" "$t" "$out/tree/$t"
		# shellcheck disable=SC2046
		set -- "$@" $(defaults "$t")
		t=$out/tree/$t
	fi
	# The progress goes to the terminal and to PART.log.
	rm -f "$allw/$part.md" "$allw/$part.rc" "$allw/$part/results.json"
	{
		rc=0
		bench "$t" "$allw/$part" "$@" --markdown "$allw/$part.md" \
			2>&1 >/dev/null || rc=$?
		echo "$rc" >"$allw/$part.rc"
	} | tee "$allw/$part.log" >&2
	if [ "$(cat "$allw/$part.rc")" = 0 ]; then
		status="$status
- **$part**: $(took $(($(date +%s) - ps)))."
	else
		rm -f "$allw/$part.md"
		status="$status
- **$part**: failed; see \`$allw/$part.log\`."
		tail -5 "$allw/$part.log" >&2
	fi
done
{
	echo "# fimscan benchmarks: every figure of issue 6"
	echo
	echo "- Started $started; took $(took $(($(date +%s) - t0)))."
	echo "- Command: \`bench/run.sh --all --parts $parts$useropts" \
		"$changed $sweep\` (options as bench.py got them); each" \
		"part's raw figures are in \`$allw/PART/\`."
	echo "$status"
	set --
	for part in $(echo "$parts" | tr ',' ' '); do
		[ ! -s "$allw/$part/results.json" ] ||
			set -- "$@" "$part=$allw/$part/results.json"
	done
	if [ $# -gt 0 ]; then
		echo
		echo "## Every target"
		echo
		python3 "$here/bench.py" --fimscan - --summary "$@"
	fi
	for part in $(echo "$parts" | tr ',' ' '); do
		[ -s "$allw/$part.md" ] || continue
		echo
		echo "## $part"
		echo
		cat "$allw/$part.md"
	done
} >"$report"
echo "run.sh: report: $report" >&2
cat "$report"
