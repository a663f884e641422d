#!/usr/bin/env bash
# Issue 8 item 17: the README's CI rotation recipe, as written, against the binary
# under test ($KEYCTL_BIN, the static release build in CI), with a secret store that
# fails halfway: the step must fail loudly, keep no key on disk, and be recoverable
# the way the README says.
set -euo pipefail
cd "$(dirname "$0")/../.."
missing=()
for tool in jq python3; do command -v "$tool" >/dev/null || missing+=("$tool"); done
if ((${#missing[@]})); then
    sudo=
    ((EUID == 0)) || sudo=sudo
    $sudo apt-get update -qq
    DEBIAN_FRONTEND=noninteractive $sudo apt-get install -y -qq "${missing[@]}" >/dev/null
fi
bin="${KEYCTL_BIN:-}"
if [ -z "$bin" ]; then
    swift build 2>&1 | tail -n 1
    bin="$(swift build --show-bin-path)/keyctl"
fi
exec Tests/Shell/test-rotation-recipe "$bin"
