#!/usr/bin/env bash
# mcp-oauth-wasm: every task starts here.
#
#   ./build.sh               build web/mcp-oauth.wasm and copy wasm_exec.js beside it
#   ./build.sh test          run every test (what CI runs)
#   ./build.sh generate      write the engine's Contract into web/contract.js, web/mcp-oauth.d.ts, web/package.json
#   ./build.sh pack          build, then npm pack web/ into dist/mcp-oauth-wasm-<version>.tgz
#   ./build.sh conformance [--browser]   the official MCP conformance suite (auth + backcompat, and the DPoP extension scenarios)
#                            against the native client, or the wasm module in headless Chromium
#   ./build.sh fuzz [SECS]   run every fuzz target for SECS seconds each (default 60)
#   ./build.sh demo [-addr 127.0.0.1:8400]   the demo page, a local authorization server and MCP server; prints the URL
#   ./build.sh bench [-runs N]   this module beside the TypeScript SDK's auth(), v1 and v2, in headless Chromium; prints a table
#
# It installs what it needs: Node.js and npm from Debian's packages when
# missing, Node 22 from the npm package node@22 (pinned in
# conformance/package.json), and the pinned npm packages of peers/ and
# conformance/.
set -euo pipefail
cd "$(dirname "$0")"
ROOT=$PWD

log() { printf '\n== %s\n' "$*" >&2; }

apt_install() {
  log "installing Debian packages: $*"
  if [ "$(id -u)" -ne 0 ]; then echo "build.sh: need root to apt-get install $*" >&2; exit 1; fi
  apt-get update -qq >&2
  DEBIAN_FRONTEND=noninteractive apt-get install -y -qq "$@" >&2
}

# ensure_node puts Node 22 (npm package node@22) first on PATH and
# installs the pinned npm packages of peers/ and conformance/.
ensure_node() {
  command -v npm >/dev/null 2>&1 || apt_install nodejs npm
  if [ ! -x conformance/node_modules/node/bin/node ] || [ ! -d conformance/node_modules/@modelcontextprotocol/conformance ]; then
    log "npm ci in conformance/ (conformance suite, node@22)"
    (cd conformance && npm ci --no-audit --no-fund >&2)
  fi
  export PATH="$ROOT/conformance/node_modules/node/bin:$PATH"
  if [ ! -d peers/node_modules/oidc-provider ] || [ ! -d peers/node_modules/@modelcontextprotocol/sdk ]; then
    log "npm ci in peers/ (oidc-provider, MCP TypeScript SDK)"
    (cd peers && npm ci --no-audit --no-fund >&2)
  fi
  if [ ! -f e2e/jsunit/node_modules/mocha/mocha.js ] || [ ! -f e2e/jsunit/node_modules/chai/index.js ]; then
    log "npm ci in e2e/jsunit/ (mocha and chai for the unit tests of web/)"
    (cd e2e/jsunit && npm ci --no-audit --no-fund >&2)
  fi
  if [ ! -d e2e/firefox/node_modules/puppeteer-core ]; then
    log "npm ci in e2e/firefox/ (puppeteer-core, to drive Firefox over WebDriver BiDi)"
    (cd e2e/firefox && npm ci --no-audit --no-fund >&2)
  fi
  if [ ! -f web/demo/mcp-sdk.js ] || [ web/demo/package-lock.json -nt web/demo/mcp-sdk.js ]; then
    log "npm ci and build in web/demo/ (the TypeScript SDK bundled for the browser)"
    (cd web/demo && npm ci --no-audit --no-fund >&2 && npm run --silent build >&2)
  fi
}

# ensure_chromium installs Debian's chromium and wasmbrowsertest (which
# runs GOOS=js tests in it). Browser tests fail when this fails: they are
# never skipped.
ensure_chromium() {
  command -v chromium >/dev/null 2>&1 || apt_install chromium
  if [ ! -x .cache/bin/wasmbrowsertest ]; then
    log "go install wasmbrowsertest"
    GOBIN="$ROOT/.cache/bin" go install github.com/agnivade/wasmbrowsertest@v0.11.0
  fi
}

# ensure_firefox installs Debian's Firefox ESR for the Firefox scenarios
# (driven over WebDriver BiDi: no geckodriver).
ensure_firefox() {
  command -v firefox-esr >/dev/null 2>&1 || apt_install firefox-esr
}

# build compiles the browser module when it exists, and always checks that
# everything compiles for js/wasm.
build() {
  log "GOOS=js GOARCH=wasm go build ./..."
  GOOS=js GOARCH=wasm go build ./...
  if [ -d wasm ]; then
    log "building web/mcp-oauth.wasm"
    # No inlining: the engine's code waits on the network, and the wasm is
    # smaller (brotli -q 11: 1,313,159 bytes with inlining off in our own
    # packages only, 1,273,066 with it off everywhere); ./build.sh bench
    # measured no change in first connect or refresh times.
    GOOS=js GOARCH=wasm go build -trimpath -gcflags='all=-l' -ldflags='-s -w' -o web/mcp-oauth.wasm ./wasm
    cp "$(go env GOROOT)/lib/wasm/wasm_exec.js" web/wasm_exec.js
    ls -l web/mcp-oauth.wasm >&2
  fi
}

# pack writes the npm package: web/'s modules, types, callback page, test
# helper, the built wasm and the wasm_exec.js of the Go that built it.
pack() {
  command -v npm >/dev/null 2>&1 || apt_install nodejs npm
  build
  mkdir -p dist
  log "npm pack web/ into dist/"
  (cd web && npm pack --pack-destination ../dist --silent >&2)
  ls -l dist/*.tgz >&2
}

conformance() {
  ensure_node
  log "conformance suite (auth + backcompat) against the native client"
  go build -o "$ROOT/.cache/nativeclient" ./conformance/nativeclient
  local rc=0
  conformance/run.sh "$ROOT/.cache/nativeclient" || rc=1
  conformance_extensions "$ROOT/.cache/nativeclient" || rc=1
  return $rc
}

# conformance_extensions: the DPoP scenarios (SEP-1932), which only a newer
# runner has (conformance/extensions pins it).
conformance_extensions() {
  log "conformance extension scenarios (DPoP) on the runner in conformance/extensions"
  CONFORMANCE_RUNNER_DIR="$ROOT/conformance/extensions" CONFORMANCE_SCENARIOS="auth/dpop auth/dpop-nonce" conformance/run.sh "$1"
}

# conformance_browser: the same suites with the browser module (the wasm,
# mcp-oauth.js and the TypeScript SDK in headless Chromium) as the client.
conformance_browser() {
  ensure_node
  ensure_chromium
  build
  log "conformance suite (auth + backcompat) against the browser module in headless Chromium"
  go build -o "$ROOT/.cache/browserclient" ./conformance/browserclient
  local rc=0
  conformance/run.sh "$ROOT/.cache/browserclient" || rc=1
  conformance_extensions "$ROOT/.cache/browserclient" || rc=1
  return $rc
}

# count_conformance adds each of a log's "N passed, M failed" lines (one per
# run.sh run) to the totals.
count_conformance() {
  local line found=0
  while read -r line; do
    found=1
    passed=$((passed + ${line%% passed*}))
    failed=$((failed + $(echo "$line" | sed -E 's/.*, ([0-9]+) failed/\1/')))
  done < <(grep -E '^[0-9]+ passed, [0-9]+ failed$' "$1")
  if [ "$found" -eq 0 ]; then
    failed=$((failed + 1))
  fi
}

fuzz_targets() { grep -ho '^func Fuzz[A-Za-z0-9_]*' *_test.go | sed 's/^func //'; }

fuzz() {
  local secs=${1:-60}
  for f in $(fuzz_targets); do
    log "fuzzing $f for ${secs}s"
    go test -run='^$' -fuzz="^$f\$" -fuzztime="${secs}s" .
  done
}

run_tests() {
  ensure_node
  mkdir -p .cache
  local passed=0 failed=0 status=0

  log "gofmt and go vet (native and js/wasm)"
  local unformatted
  unformatted=$(gofmt -l $(git ls-files '*.go' 2>/dev/null || find . -name '*.go' -not -path './*/node_modules/*'))
  if [ -n "$unformatted" ]; then echo "--- FAIL: gofmt would change: $unformatted"; status=1; failed=$((failed + 1)); fi
  go vet ./... || { echo "--- FAIL: go vet"; status=1; failed=$((failed + 1)); }
  GOOS=js GOARCH=wasm go vet ./... || { echo "--- FAIL: go vet (js/wasm)"; status=1; failed=$((failed + 1)); }
  build || { echo "--- FAIL: build"; status=1; failed=$((failed + 1)); }

  ensure_chromium
  ensure_firefox
  log "GOOS=js go test . ./wasm (the engine's tests and the bindings, in headless Chromium)"
  set +e
  GOOS=js GOARCH=wasm go test -count=1 -v -exec="$ROOT/.cache/bin/wasmbrowsertest" . ./wasm 2>&1 \
    | grep -v 'could not unmarshal event' | tee .cache/js-test.log | grep -E '^(--- |ok|FAIL|panic)'
  local jsstatus=${PIPESTATUS[0]}
  set -e
  [ "$jsstatus" -eq 0 ] || status=1
  passed=$((passed + $(grep -c '^--- PASS' .cache/js-test.log || true)))
  failed=$((failed + $(grep -c '^--- FAIL' .cache/js-test.log || true)))
  if [ "$jsstatus" -ne 0 ] && [ "$(grep -c '^--- FAIL' .cache/js-test.log || true)" -eq 0 ]; then
    failed=$((failed + 1)); tail -20 .cache/js-test.log
  fi

  log "go test ./... (engine with fuzz seed corpora; e2e: real peers, browser end to end)"
  set +e
  go test -count=1 -v ./... 2>&1 | tee .cache/go-test.log | grep -E '^(--- |ok|FAIL|panic)' 
  local gostatus=${PIPESTATUS[0]}
  set -e
  [ "$gostatus" -eq 0 ] || status=1
  passed=$((passed + $(grep -c '^--- PASS' .cache/go-test.log || true)))
  failed=$((failed + $(grep -c '^--- FAIL' .cache/go-test.log || true)))
  if [ "$gostatus" -ne 0 ] && [ "$(grep -c '^--- FAIL' .cache/go-test.log || true)" -eq 0 ]; then
    failed=$((failed + 1)) # a build failure or panic outside a test
  fi

  log "fuzzing each target briefly"
  # A count, not a duration: when a duration ends while a worker is still
  # minimizing a new interesting input, go test reports "context deadline
  # exceeded" as a failure (seen on a loaded 2-core machine); 50,000 inputs
  # take about 4 s per target here.
  for f in $(fuzz_targets); do
    if go test -run='^$' -fuzz="^$f\$" -fuzztime=50000x . >.cache/fuzz-$f.log 2>&1; then
      passed=$((passed + 1)); echo "--- PASS: $f (50,000 inputs)"
    else
      failed=$((failed + 1)); status=1; echo "--- FAIL: $f"; tail -20 .cache/fuzz-$f.log
    fi
  done

  set +e
  conformance | tee .cache/conformance.log
  local cstatus=${PIPESTATUS[0]}
  conformance_browser | tee .cache/conformance-browser.log
  local bstatus=${PIPESTATUS[0]}
  set -e
  [ "$cstatus" -eq 0 ] && [ "$bstatus" -eq 0 ] || status=1
  count_conformance .cache/conformance.log
  count_conformance .cache/conformance-browser.log

  echo
  echo "go tests (native and in Chromium), fuzz targets and conformance scenarios (native and browser):"
  echo "$passed passed, $failed failed"
  [ "$failed" -eq 0 ] || status=1
  return $status
}

case "${1:-build}" in
  build) build ;;
  generate) go generate . ;;
  pack) pack ;;
  test) run_tests ;;
  conformance)
    shift
    if [ "${1:-}" = "--browser" ]; then conformance_browser; else conformance; fi ;;
  fuzz) shift; fuzz "${1:-60}" ;;
  demo)
    shift
    ensure_node
    build
    exec go run ./cmd/demo "$@" ;;
  bench)
    shift
    ensure_node
    ensure_chromium
    build
    exec go run ./bench "$@" ;;
  -h|--help|help) sed -n '2,16p' "$0" | sed 's/^# \{0,1\}//' ;;
  *) echo "build.sh: unknown task '$1' (try ./build.sh help)" >&2; exit 2 ;;
esac
