#!/usr/bin/env bash
# Run the official MCP conformance suite (client side) against an MCP client.
#
#   conformance/run.sh [--] <client command> [args...]
#
# Runs, one at a time, every scenario of the client `auth` suite for spec
# version 2025-11-25 and of the `backcompat` suite (2025-03-26 auth fallbacks)
# from the pinned @modelcontextprotocol/conformance package. For each scenario
# the suite starts its own HTTP servers and runs
#     <client command> [args...] <server url>
# with MCP_CONFORMANCE_SCENARIO=<scenario name> and, for scenarios that need
# it, MCP_CONFORMANCE_CONTEXT=<json> in the environment.
#
# Prints one line per scenario (PASS/FAIL, name, short reason), the log
# directories of failing scenarios, and finally exactly one line
# "N passed, M failed". A scenario passes only if the suite reports no
# FAILURE and no WARNING check and the suite itself exits 0.
# Exit status: 0 if all passed, 1 if any failed, 2 on usage/setup errors.
#
# Environment knobs (all optional):
#   CONFORMANCE_TIMEOUT      seconds the client may run per scenario (default 30)
#   CONFORMANCE_SCENARIOS    space-separated scenario names to run instead of
#                            the full auth+backcompat list
#   CONFORMANCE_RESULTS_DIR  where to keep per-scenario logs
#                            (default: a fresh mktemp dir under $TMPDIR or /tmp)
#   CONFORMANCE_BIND_HOST    address the suite's servers bind to (default 127.0.0.1)
#   CONFORMANCE_VERBOSE=1    also echo each failing scenario's failing checks
#
# Tip: build the client once and pass the binary, e.g.
#   go build -o /tmp/nativeclient ./conformance/nativeclient && conformance/run.sh /tmp/nativeclient
# (`go run` works too, but its build time counts against the per-scenario timeout).
set -euo pipefail

HERE="$(cd "$(dirname "${BASH_SOURCE[0]}")" && pwd)"
SPEC_VERSION="2025-11-25"
BACKCOMPAT_SPEC_VERSION="2025-03-26"

usage() {
  sed -n '2,/^set -euo/{/^set -euo/d;s/^# \{0,1\}//;p}' "${BASH_SOURCE[0]}" >&2
  exit 2
}

if [[ $# -gt 0 && "$1" == "--" ]]; then shift; fi
if [[ $# -eq 0 || "$1" == "-h" || "$1" == "--help" ]]; then usage; fi

client_timeout="${CONFORMANCE_TIMEOUT:-30}"
if ! [[ "$client_timeout" =~ ^[0-9]+$ ]] || (( client_timeout < 1 )); then
  echo "run.sh: CONFORMANCE_TIMEOUT must be a positive integer (seconds)" >&2
  exit 2
fi

# --- toolchain -------------------------------------------------------------
CONF_JS="$HERE/node_modules/@modelcontextprotocol/conformance/dist/index.js"
NODE_BIN_DIR="$HERE/node_modules/node/bin"
if [[ ! -f "$CONF_JS" || ! -x "$NODE_BIN_DIR/node" ]]; then
  echo "run.sh: installing pinned conformance toolchain (npm ci) in $HERE" >&2
  (cd "$HERE" && npm ci --no-audit --no-fund >&2) || { echo "run.sh: npm ci failed" >&2; exit 2; }
  if [[ ! -x "$NODE_BIN_DIR/node" ]]; then
    echo "run.sh: $NODE_BIN_DIR/node missing after npm ci; the node@22 package needs its preinstall" \
         "script (see \"allowScripts\" in package.json / 'npm install-scripts approve node')" >&2
    exit 2
  fi
fi
export PATH="$NODE_BIN_DIR:$HERE/node_modules/.bin:$PATH"
NODE="$NODE_BIN_DIR/node"
# CONFORMANCE_RUNNER_DIR: another pinned runner (conformance/extensions, for
# the extension scenarios the pinned one lacks), on the same Node.
if [[ -n "${CONFORMANCE_RUNNER_DIR:-}" ]]; then
  CONF_JS="$CONFORMANCE_RUNNER_DIR/node_modules/@modelcontextprotocol/conformance/dist/index.js"
  if [[ ! -f "$CONF_JS" ]]; then
    echo "run.sh: installing the runner in $CONFORMANCE_RUNNER_DIR (npm ci)" >&2
    (cd "$CONFORMANCE_RUNNER_DIR" && npm ci --no-audit --no-fund >&2) || { echo "run.sh: npm ci failed" >&2; exit 2; }
  fi
fi
node_major="$("$NODE" -p 'process.versions.node.split(".")[0]')"
if [[ "$node_major" != "22" ]]; then
  echo "run.sh: expected Node 22 from node_modules/node, got $("$NODE" --version)" >&2
  exit 2
fi
conf() {
  "$NODE" --import "$HERE/bind-loopback.mjs" "$CONF_JS" "$@"
}

# --- results dir and client wrapper --------------------------------------
if [[ -n "${CONFORMANCE_RESULTS_DIR:-}" ]]; then
  results="$CONFORMANCE_RESULTS_DIR"
  mkdir -p "$results"
  results="$(cd "$results" && pwd)"
else
  results="$(mktemp -d "${TMPDIR:-/tmp}/mcp-conformance.XXXXXX")"
fi
# The suite runs `--command` as: spawn(cmd.split(" ")[0], [...rest, url], {shell: true}),
# i.e. it splits on spaces and hands the result to /bin/sh. To pass an arbitrary
# argv through unharmed, we generate a wrapper script and give the suite
# "exec <wrapper>" (exec so that the suite's SIGTERM on timeout reaches the wrapper).
wrapper="$results/client-wrapper.sh"
if [[ "$wrapper" =~ [[:space:]\'\"\\\$\`\;\&\|\<\>\(\)\*\?] ]]; then
  echo "run.sh: results dir path must not contain spaces or shell metacharacters: $results" >&2
  exit 2
fi
# The wrapper runs the client in its own process group and forwards the
# suite's SIGTERM (sent on --timeout) to the whole group (SIGKILL 5s later), so that clients that
# fork (go run, sh -c ...) are really stopped and do not keep the suite's
# stdout pipe open; leftovers in the group are also killed when the client exits.
{
  echo '#!/usr/bin/env bash'
  echo '# generated by conformance/run.sh'
  echo 'set -m'
  printf '%q ' "$@"
  printf '"$@" &\n'
  cat <<'EOS'
child=$!
on_term() {
  kill -TERM -- "-$child" 2>/dev/null || true
  { sleep 5; kill -KILL -- "-$child" 2>/dev/null; } </dev/null >/dev/null 2>&1 &
}
trap on_term TERM INT HUP
while :; do
  wait "$child"; rc=$?
  kill -0 "$child" 2>/dev/null || break
done
kill -TERM -- "-$child" 2>/dev/null || true
exit "$rc"
EOS
} > "$wrapper"
chmod +x "$wrapper"

# --- scenario list -----------------------------------------------------------
list_auth() { # $1 = spec version; client scenarios named auth/* tagged with it
  conf list --client --spec-version "$1" | sed -n 's/^[[:space:]]*- \(auth\/[^ ]*\) \[.*$/\1/p'
}
if [[ -n "${CONFORMANCE_SCENARIOS:-}" ]]; then
  read -r -a scenarios <<< "$CONFORMANCE_SCENARIOS"
else
  # `--suite auth` of the pinned version = all auth/* scenarios tagged 2025-11-25;
  # `--suite backcompat` = the auth/* scenarios tagged 2025-03-26. The suite
  # option itself runs scenarios in parallel, so we enumerate and run singly.
  mapfile -t auth_scenarios < <(list_auth "$SPEC_VERSION")
  mapfile -t backcompat_scenarios < <(list_auth "$BACKCOMPAT_SPEC_VERSION")
  if (( ${#auth_scenarios[@]} == 0 || ${#backcompat_scenarios[@]} == 0 )); then
    echo "run.sh: could not enumerate scenarios from 'conformance list --client'" >&2
    exit 2
  fi
  scenarios=("${auth_scenarios[@]}" "${backcompat_scenarios[@]}")
fi

echo "conformance $(conf --version) on node $("$NODE" --version); ${#scenarios[@]} scenarios; logs in $results"

# --- per-scenario evaluation -----------------------------------------------
# Prints "PASS" or "FAIL<TAB>short reason" for a checks.json; reads
# suite stderr for client exit/timeout information.
read -r -d '' EVAL_JS <<'EOF' || true
const fs = require('fs');
const [checksPath, stderrPath, exitCode] = process.argv.slice(1);
let checks = null;
try { checks = JSON.parse(fs.readFileSync(checksPath, 'utf8')); } catch {}
let stderr = '';
try { stderr = fs.readFileSync(stderrPath, 'utf8'); } catch {}
const reasons = [];
if (exitCode === '124' || exitCode === '137') reasons.push('runner timeout (suite process killed)');
const to = stderr.match(/Client timed out after (\d+)ms/);
if (to) reasons.push(`client timed out after ${to[1]}ms`);
const ex = stderr.match(/Client exited with code (-?\d+)/);
if (!Array.isArray(checks)) {
  reasons.push('no checks.json produced');
  if (ex) reasons.push(`client exit ${ex[1]}`);
  const err = stderr.match(/Client test error:.*|Error: .*/);
  if (err) reasons.push(err[0].slice(0, 160));
} else {
  const bad = checks.filter(c => c.status === 'FAILURE' || c.status === 'WARNING');
  for (const c of bad.slice(0, 3)) {
    const d = (c.errorMessage || c.description || '').replace(/\s+/g, ' ').slice(0, 140);
    reasons.push(`${c.status} ${c.id}: ${d}`);
  }
  if (bad.length > 3) reasons.push(`+${bad.length - 3} more`);
  if (!to && exitCode !== '0' && ex) reasons.push(`client exit ${ex[1]}`);
}
if (reasons.length === 0 && exitCode !== '0') reasons.push(`suite exit status ${exitCode}`);
const pass = reasons.length === 0 && exitCode === '0';
process.stdout.write(pass ? 'PASS\n' : 'FAIL\t' + reasons.join('; ') + '\n');
EOF

passed=0
failed=0
failed_dirs=()
client_timeout_ms=$(( client_timeout * 1000 ))
runner_timeout=$(( client_timeout + 45 ))

for s in "${scenarios[@]}"; do
  sdir="$results/$(printf '%s' "$s" | tr '/' '_')"
  mkdir -p "$sdir/out"
  rc=0
  # Outer timeout guards against a hung suite/server; the suite's own
  # --timeout kills the client. GNU timeout signals its whole process group.
  CONFORMANCE_BIND_HOST="${CONFORMANCE_BIND_HOST:-127.0.0.1}" \
    timeout --kill-after=10 "$runner_timeout" \
      "$NODE" --import "$HERE/bind-loopback.mjs" "$CONF_JS" client \
        --command "exec $wrapper" --scenario "$s" \
        --timeout "$client_timeout_ms" -o "$sdir/out" \
      > "$sdir/suite-stdout.txt" 2> "$sdir/suite-stderr.txt" < /dev/null || rc=$?
  checks="$(find "$sdir/out" -name checks.json -print -quit 2>/dev/null || true)"
  [[ -n "$checks" ]] && cp "$checks" "$sdir/checks.json"
  verdict="$("$NODE" -e "$EVAL_JS" "${checks:-/nonexistent}" "$sdir/suite-stderr.txt" "$rc")"
  if [[ "$verdict" == PASS ]]; then
    passed=$((passed + 1))
    echo "PASS $s"
  else
    failed=$((failed + 1))
    failed_dirs+=("$sdir")
    echo "FAIL $s - ${verdict#FAIL$'\t'}"
    if [[ "${CONFORMANCE_VERBOSE:-0}" == 1 ]]; then
      sed -n '/^Failed Checks:/,/^$/p;/^Warning Checks:/,/^$/p' "$sdir/suite-stderr.txt" | sed 's/^/    /'
    fi
  fi
done

if (( failed > 0 )); then
  echo "Logs of failing scenarios (suite-stderr.txt, checks.json, out/**/stdout.txt|stderr.txt of the client):"
  for d in "${failed_dirs[@]}"; do echo "  $d"; done
fi
echo "$passed passed, $failed failed"
(( failed == 0 ))
