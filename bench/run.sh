#!/bin/sh
# bench/run.sh: fimscan against AIDE and the hashing limit.  See bench/README.md.
#
#   bench/run.sh [options] [TREE]        TREE defaults to /usr
#
# Installs what it needs (Debian, as root), builds fimscan in Release mode
# into bench/out/build, then runs bench/bench.py, which prints a markdown
# table (also in bench/out/work/results.md and results.json).
set -eu

usage() {
	cat <<'EOF'
usage: bench/run.sh [options] [TREE]

  -n N                 repetitions (default 3; the table shows medians)
  --aide-reps N        aide --init repetitions (default: N)
  --aide-check-reps N  aide --check repetitions (default: 2, at most N;
                       --check is by far the slowest step)
  --no-aide            fimscan only
  --synthetic PROFILE  benchmark a generated tree bench/out/tree/PROFILE
                       instead of TREE: tiny (2,000 files), small (100,000
                       small files), million, medium, huge (bench/gentree.py)
  --no-refs            skip the find/cat reference walks
  --perf               afterwards, profile fimscan with perf
                       (bench/profile.sh)
  --no-install         do not apt-get anything
  --no-build           use the existing bench/out/build/fimscan
  --rev REV            build the committed revision REV (git archive into
                       bench/out/src) instead of the working tree
  -o FILE              also write the markdown report to FILE
  -h                   this help
EOF
}

here=$(cd "$(dirname "$0")" && pwd)
src=$(dirname "$here")
out=$here/out
reps=3 aide_reps="" tree=/usr synthetic="" install=1 build=1 perf=0 rev=""
commit=""
pyargs="" md=""
while [ $# -gt 0 ]; do
	case $1 in
	-n) reps=$2; shift 2 ;;
	--aide-reps) aide_reps=$2; shift 2 ;;
	--aide-check-reps) pyargs="$pyargs --aide-check-reps $2"; shift 2 ;;
	--no-aide) pyargs="$pyargs --no-aide"; shift ;;
	--no-refs) pyargs="$pyargs --no-refs"; shift ;;
	--synthetic) synthetic=$2; shift 2 ;;
	--perf) perf=1; shift ;;
	--no-install) install=0; shift ;;
	--no-build) build=0; shift ;;
	--rev) rev=$2; shift 2 ;;
	-o) md=$(realpath "$2"); shift 2 ;;
	-h|--help) usage; exit 0 ;;
	-*) echo "run.sh: unknown option $1" >&2; usage >&2; exit 2 ;;
	*) tree=$1; shift ;;
	esac
done
[ -n "$aide_reps" ] || aide_reps=$reps

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
bsrc=$src
if [ -n "$rev" ]; then
	commit=$(git -C "$src" rev-parse --short "$rev^{commit}")
	bsrc=$out/src
	rm -rf "$bsrc"
	mkdir -p "$bsrc"
	git -C "$src" archive "$commit" | tar -x -C "$bsrc"
	pyargs="$pyargs --commit $commit"
	[ "$build" = 1 ] || { echo "run.sh: --rev needs a build" >&2; exit 2; }
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
elif [ -s "$out/build/bench-commit" ]; then
	pyargs="$pyargs --commit $(cat "$out/build/bench-commit")"
fi
fim=$out/build/fimscan
[ -x "$fim" ] || { echo "run.sh: $fim not built" >&2; exit 1; }

# ---- tree ------------------------------------------------------------------
if [ -n "$synthetic" ]; then
	tree=$out/tree/$synthetic
	python3 "$here/gentree.py" "$synthetic" "$tree"
fi

# ---- run -------------------------------------------------------------------
# shellcheck disable=SC2086
python3 "$here/bench.py" --fimscan "$fim" --tree "$tree" --work "$out/work" \
	--reps "$reps" --aide-reps "$aide_reps" ${md:+--markdown "$md"} $pyargs

if [ "$perf" = 1 ]; then
	"$here/profile.sh" "$fim" "$tree"
fi
