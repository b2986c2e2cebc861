#!/usr/bin/env bash
# Full and incremental sync of a synthetic Azure DevOps project above WIQL's 20,000-result cap,
# through the azure-devops plugin against the sandbox; time and peak memory of each.
# Usage: scripts/bench-ado-sync.sh [EPICS] [WORKDIR]
#   EPICS: synthetic epics (default 1900: 1,900 epics + 19,000 work items = 20,900 items)
#   PROFILE=release (default dev) picks the build; LATENCY=150 makes every request wait that
#   many milliseconds (±25 %), as a service across the internet does; needs /usr/bin/time.
set -euo pipefail
here="$(cd "$(dirname "$0")/.." && pwd)"
epics="${1:-1900}"
work="${2:-$(mktemp -d)}"
profile="${PROFILE:-dev}"
dir=$([ "$profile" = dev ] && echo debug || echo "$profile")
cargo build --profile "$profile" -p tollgate-host --manifest-path "$here/Cargo.toml"
bin="$here/target/$dir/tollgate"
mkdir -p "$work/secrets"
printf 'sandbox-ado-pat' > "$work/secrets/ado.token"
port=$((20000 + RANDOM % 20000))
"$bin" sandbox --addr "127.0.0.1:$port" --dataset "synthetic:$epics" --latency "${LATENCY:-0}" \
  > "$work/sandbox.log" 2>&1 &
sandbox=$!
trap 'kill $sandbox 2>/dev/null || true' EXIT
for _ in $(seq 1 600); do
  curl -s -o /dev/null "http://127.0.0.1:$port/ado/tollgate-demo/_apis/projects" && break
  sleep 0.5
done
cat > "$work/tollgate.toml" <<TOML
[runtime]
cache_dir = "$work/cache"
[connections.azure-devops]
plugin = "azure-devops"
base_url = "http://127.0.0.1:$port/ado"
auth = { kind = "basic", user = "", token_file = "secrets/ado.token" }
[connections.azure-devops.settings]
organization = "tollgate-demo"
project = "Portfolio"
TOML
rm -f "$work"/tollgate.db*
"$bin" --config "$work/tollgate.toml" plugins list > /dev/null   # compile the plugin once
for pass in full incremental; do
  flag=$([ $pass = full ] && echo --full || echo "")
  /usr/bin/time -v "$bin" --config "$work/tollgate.toml" sync $flag > "$work/$pass.out" 2> "$work/$pass.time"
  echo "== $pass"
  cat "$work/$pass.out"
  grep -E "Elapsed|Maximum resident" "$work/$pass.time"
done
ls -l "$work/tollgate.db"
