#!/usr/bin/env bash
# Import a 1,000,000-row timesheet through the hr-csv plugin and report time and peak memory.
# Usage: scripts/bench-csv-1m.sh [WORKDIR]   (needs /usr/bin/time; builds tollgate in release)
set -euo pipefail
here="$(cd "$(dirname "$0")/.." && pwd)"
work="${1:-$(mktemp -d)}"
mkdir -p "$work/hr"
python3 - "$work/hr" <<'PY'
import sys
d = sys.argv[1]
with open(f"{d}/people.csv", "w") as f:
    f.write("id,name\n")
    for i in range(300):
        f.write(f"p{i},Person {i}\n")
with open(f"{d}/timesheets.csv", "w") as f:
    # Semicolons, Finnish dates and decimal commas, as a Nordic Excel writes them.
    f.write("person;date;initiative;hours;description\n")
    for n in range(1_000_000):
        hours = str((n % 15 + 1) / 2).replace(".", ",")
        f.write(f"p{n % 300};{1 + n % 28}.{1 + n % 12}.2026;BIZ-{n % 40};{hours};row {n}\n")
PY
cat > "$work/tollgate.toml" <<TOML
[runtime]
cache_dir = "$work/cache"
[connections.hr]
plugin = "hr-csv"
data_dir = "hr"
TOML
cargo build --release -p tollgate-host --manifest-path "$here/Cargo.toml"
rm -f "$work"/tollgate.db*
/usr/bin/time -v "$here/target/release/tollgate" --config "$work/tollgate.toml" sync \
  2> "$work/time.txt" | grep timesheets
grep -E "Elapsed|Maximum resident" "$work/time.txt"
ls -l "$work/hr/timesheets.csv" "$work/tollgate.db"
