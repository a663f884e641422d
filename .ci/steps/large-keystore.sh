#!/usr/bin/env bash
# keyctl on 1,000,000 records (about 370 MB), untimed: create, verify, show, list,
# rotate and revoke against the binary CI built ($KEYCTL_BIN, set by .ci/run).
set -euo pipefail
cd "$(dirname "$0")/../.."
KEYCTL_LARGE_TESTS=1 swift test --skip-build --filter MillionRecordTests 2>&1 | tee /tmp/keyctl-large.log
grep -q "Test run with 1 test" /tmp/keyctl-large.log || { echo "the million-record test did not run" >&2; exit 1; }
