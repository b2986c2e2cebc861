#!/usr/bin/env bash
# Time from `tollgate plugins new` to the first synced record, cold (an empty cargo target
# directory: every dependency of the new crate compiled) and warm (a second plugin sharing that
# target directory, as an author's next plugin would). Against the sandbox's Jira Data Center.
# Usage: scripts/bench-plugin-kit.sh [WORKDIR]   (TOLLGATE=path/to/tollgate, default the
# workspace's debug build: the time is the new crate's cargo build, not Tollgate's)
set -euo pipefail
here="$(cd "$(dirname "$0")/.." && pwd)"
work="${1:-$(mktemp -d)}"
tollgate="${TOLLGATE:-$here/target/debug/tollgate}"
[ -x "$tollgate" ] || cargo build -p tollgate-host --manifest-path "$here/Cargo.toml"
rm -rf "$work/target" "$work/cold" "$work/warm"
mkdir -p "$work"
export CARGO_TARGET_DIR="$work/target" XDG_CACHE_HOME="$work/cache" KIT_TOKEN=sandbox-jira-dc-pat
"$tollgate" sandbox --addr 127.0.0.1:8917 >"$work/sandbox.log" 2>&1 &
sandbox=$!
trap 'kill $sandbox 2>/dev/null || true' EXIT
sleep 1

one() { # name dir
  local name=$1 dir=$2 start end
  start=$(date +%s.%N)
  "$tollgate" plugins new "$name" --dir "$dir" >/dev/null
  (cd "$dir" && cargo build --quiet --target wasm32-wasip2 --release)
  mkdir -p "$dir/run/plugins"
  cp "$CARGO_TARGET_DIR/wasm32-wasip2/release/${name//-/_}.wasm" "$dir/run/plugins/"
  cat > "$dir/run/tollgate.toml" <<TOML
[store]
url = "sqlite://store.db"
[runtime]
plugin_dir = "plugins"
[connections.mine]
plugin = "$name"
base_url = "http://127.0.0.1:8917/jira-dc"
auth = { kind = "bearer", token_env = "KIT_TOKEN" }
TOML
  (cd "$dir/run" && "$tollgate" sync >/dev/null 2>&1)
  end=$(date +%s.%N)
  records=$(cd "$dir/run" && "$tollgate" export --format json | grep -c '"connection": "mine"' || true)
  printf '%s: %.1f s from `plugins new` to %s synced records\n' "$3" "$(echo "$end - $start" | bc)" "$records"
}
one kit-cold "$work/cold" cold
one kit-warm "$work/warm" warm
