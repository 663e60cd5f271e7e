#!/usr/bin/env bash
# Soak test (issue #4 item 9): DURATION seconds (default 600) of dnsperf load
# at RATE q/s (default 20000) with flapping backends and a SIGHUP every 3 s.
# Not part of `cargo test`. Needs dnsperf and python3:
#   apt-get install dnsperf python3
#   benches/soak/soak.sh                 # 10 minutes
#   DURATION=60 benches/soak/soak.sh     # a quick one
set -euo pipefail
HERE=$(cd "$(dirname "$0")" && pwd)
REPO=$(cd "$HERE/../.." && pwd)
for tool in dnsperf python3 cargo; do
    command -v "$tool" >/dev/null || { echo "missing $tool (apt-get install dnsperf python3)" >&2; exit 1; }
done
if [[ -z ${HALE_BIN:-} ]]; then
    (cd "$REPO" && cargo build --release --quiet)
    HALE_BIN="$REPO/target/release/hale"
fi
mkdir -p "$HERE/results"
exec python3 "$HERE/soak.py" --hale "$HALE_BIN" --duration "${DURATION:-600}" \
    --rate "${RATE:-20000}" --out "$HERE/results/soak-$(date +%Y%m%d-%H%M%S).json"
