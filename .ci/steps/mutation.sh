#!/usr/bin/env bash
# CI step: the pin tests catch what they pin. Tests/Mutation/run breaks the fast
# keystore scanner's acceptance, rotate's carry-over of the description and the
# index's inode check, one at
# a time, in a copy of the tree, and fails if a mutant passes its tests.
set -euo pipefail
cd "$(dirname "$0")/../.."
# perl is Debian's perl-base, an essential package: nothing to install.
exec Tests/Mutation/run
