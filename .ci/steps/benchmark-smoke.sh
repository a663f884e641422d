#!/usr/bin/env bash
# The benchmark runs (QUICK=1: small keystores, 3 rounds, a 5 s gateway loop). This
# checks that Tests/Benchmarks/run works from a clean clone; it asserts no timing.
set -euo pipefail
cd "$(dirname "$0")/../.."
if ! command -v htpasswd >/dev/null || [ ! -x /usr/bin/time ]; then
    apt-get update -qq
    DEBIAN_FRONTEND=noninteractive apt-get install -y -qq apache2-utils time >/dev/null
fi
KEYCTL_BENCH_BIN=${KEYCTL_BIN:-} QUICK=1 Tests/Benchmarks/run
