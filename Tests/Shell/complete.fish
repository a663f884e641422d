# complete.fish SCRIPT LINE — run by `fish --no-config`: print, one per line, the
# candidates fish offers for LINE<TAB>, via `complete -C` (descriptions dropped).
set -l script $argv[1]
set -l line $argv[2]
source $script; or exit 2
complete -C"$line" | string replace -r '\t.*' ''
exit 0
