#!/usr/bin/env bash
# The package as a user gets it: `npm pack` (prepare builds dist/), the tarball installed into a
# scratch project outside this checkout (from the tarball, dependencies from the npm registry),
# then (a) plain node imports "hio-ts" and serves a real request (recorded, and replayed by the
# `hio-ts` command), (b) tsc checks a consumer
# file against the shipped declarations under strict settings with skipLibCheck off, once with
# nodenext resolution and Node's lib, once with bundler resolution and the DOM lib.
#
#   test/package/check.sh        (run by .ci/run after the vitest run; about a minute)
set -euo pipefail
root=$(cd "$(dirname "$0")/../.." && pwd)
fixtures="$root/test/package/consumer"
scratch=$(mktemp -d)
trap 'rm -rf "$scratch"' EXIT
cd "$root"

echo "package: npm pack (prepare builds dist/)"
if ! npm pack --silent --json --pack-destination "$scratch" >"$scratch/pack.json"; then
  cat "$scratch/pack.json" >&2 # the build's own messages land with pack's JSON on stdout
  exit 1
fi
tarball=$(node -e '
  const [info] = JSON.parse(require("fs").readFileSync(process.argv[1], "utf8"));
  const files = info.files.map((f) => f.path);
  const need = ["package.json", "README.md", "dist/src/index.js", "dist/src/index.d.ts",
    "dist/src/http/index.js", "dist/src/tcp/index.d.ts", "dist/src/testing/index.js", "dist/machines/steward.js"];
  const missing = need.filter((f) => !files.includes(f));
  const stray = files.filter((f) => !/^(package\.json|README\.md|LICENSE|dist\/|src\/|machines\/[^/]+\.ts$)/.test(f));
  const leftTs = files.filter((f) => f.startsWith("dist/") && /\.(js|d\.ts)$/.test(f) &&
    /from "\.{1,2}\/[^"]*\.ts"|import\("\.{1,2}\/[^"]*\.ts"\)/.test(require("fs").readFileSync(f, "utf8")));
  if (missing.length || stray.length || leftTs.length) {
    console.error("package: bad file list:", JSON.stringify({ missing, stray, leftTs }));
    process.exit(1);
  }
  console.error(`package: ${info.filename}: ${files.length} files, ${info.size} bytes packed, ${info.unpackedSize} unpacked`);
  console.log(info.filename);
' "$scratch/pack.json")

consumer="$scratch/consumer"
mkdir "$consumer"
cp "$fixtures"/* "$consumer"/
typescript=$(node -p 'require("./package.json").devDependencies.typescript')
types_node=$(node -p 'require("./package.json").devDependencies["@types/node"]')
cat >"$consumer/package.json" <<EOF
{ "name": "hio-ts-consumer", "private": true, "type": "module" }
EOF
echo "package: installing the tarball into a scratch project"
(cd "$consumer" && npm install --silent --no-audit --no-fund --no-package-lock --prefer-offline \
  "$scratch/$tarball" "typescript@$typescript" "@types/node@$types_node")

echo "package: (a) plain node imports hio-ts and serves a request"
(cd "$consumer" && node smoke.mjs)
echo "package: (a) the hio-ts command replays the session smoke.mjs recorded"
(cd "$consumer" && npx --no-install hio-ts replay session.log --app app.mjs)

echo "package: (b) strict consumer typecheck, nodenext"
(cd "$consumer" && npx --no-install tsc -p tsconfig.json)
echo "package: (b) strict consumer typecheck, bundler + DOM lib"
(cd "$consumer" && npx --no-install tsc -p tsconfig.bundler.json)
echo "package: ok"
