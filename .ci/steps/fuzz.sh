#!/usr/bin/env bash
# Fuzzes keyctl's parsers (argument parser, keystore decoder, duration/RFC 3339 time,
# API key) with libFuzzer for about a minute in all; any crash or property violation
# fails CI. Seeds and regression inputs: Tests/Fuzz/corpus/<target>/.
set -euo pipefail
cd "$(dirname "$0")/../.."
FUZZ_SECONDS=${FUZZ_SECONDS:-15} exec Tests/Fuzz/run
