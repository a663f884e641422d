#!/usr/bin/env bash
# The Swift sources follow .swift-format: `swift format lint --strict` must print nothing.
# To fix: swift format format -i -r Sources Tests/KeyCtlCoreTests Tests/KeyCtlEndToEndTests Tests/Fuzz/Targets Package.swift
set -euo pipefail
cd "$(dirname "$0")/../.."
out=$(swift format lint --strict -r Sources Tests/KeyCtlCoreTests Tests/KeyCtlEndToEndTests Tests/Fuzz/Targets Package.swift 2>&1) || true
if [ -n "$out" ]; then
    echo "$out"
    echo "format: swift format lint found the issues above" >&2
    exit 1
fi
echo "format: clean"
