#!/bin/sh
# ecs-fields.sh DIR: make sure DIR/ecs_flat.json holds the ECS 9.4.0 field
# definitions (check-ecs.js extract), installing the npm package
# @elastic/ecs@9.4.0 into DIR when it is not there yet; print the file's
# path. DIR is a cache under the build directory: the first run needs npm
# and registry.npmjs.org, later runs neither. Nothing is committed.
#
# Exits non-zero with a message when node or npm is missing or the
# install fails: a test that needs the definitions must fail then, not
# skip.
set -eu
dir=${1:?usage: ecs-fields.sh DIR}
here=$(cd "$(dirname "$0")" && pwd)
out=$dir/ecs_flat.json

command -v node >/dev/null 2>&1 ||
	{ echo "ecs-fields: node is required (.ci/install-deps)" >&2; exit 1; }
if [ -s "$out" ]; then
	echo "$out"
	exit 0
fi
command -v npm >/dev/null 2>&1 ||
	{ echo "ecs-fields: npm is required (.ci/install-deps)" >&2; exit 1; }

# Install beside the cache and rename it into place, so that an
# interrupted or concurrent run never leaves a half-made cache.
mkdir -p "$(dirname "$dir")"
tmp=$(mktemp -d "$dir.tmp.XXXXXX")
trap 'rm -rf "$tmp"' EXIT
if ! timeout 200 npm install --prefix "$tmp" --cache "$tmp/.npm-cache" \
	--no-audit --no-fund --no-save --no-package-lock --loglevel=error \
	@elastic/ecs@9.4.0 >"$tmp/npm.log" 2>&1; then
	echo "ecs-fields: npm install @elastic/ecs@9.4.0 failed" \
	     "(registry.npmjs.org must be reachable):" >&2
	tail -n 20 "$tmp/npm.log" >&2
	exit 1
fi
node "$here/check-ecs.js" extract "$tmp" "$tmp/ecs_flat.json" >&2
rm -rf "$tmp/.npm-cache"
if [ ! -s "$out" ]; then
	rm -rf "$dir"
	mv "$tmp" "$dir" 2>/dev/null || :   # a concurrent run may have won
fi
[ -s "$out" ] || { echo "ecs-fields: cannot create $out" >&2; exit 1; }
echo "$out"
