#!/usr/bin/env bash
# CI step: the sessions shown in README.md and man/keyctl.1 are run against the
# binary under test and must print what the docs say (ids, keys and times masked).
set -euo pipefail
cd "$(dirname "$0")/../.."
if ! command -v jq >/dev/null; then
    echo "transcripts: installing jq" >&2
    sudo=
    ((EUID == 0)) || sudo=sudo
    $sudo apt-get update -qq
    DEBIAN_FRONTEND=noninteractive $sudo apt-get install -y -qq jq >/dev/null
fi
exec python3 Tests/Transcripts/check --keyctl "${KEYCTL_BIN:-.build/debug/keyctl}" README.md man/keyctl.1
