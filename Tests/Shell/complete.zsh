# complete.zsh SCRIPT LINE — run by `zsh -f`: print, one per line, the candidates
# zsh's completion system offers for LINE<TAB>.
#
# zsh completes only inside its line editor, so this starts a real interactive
# zsh in a pseudo-terminal (zsh/zpty), runs compinit with SCRIPT installed as
# _keyctl in $fpath (as a user installs it), types LINE and a TAB, and records
# the matches the completion functions hand to compadd. Whatever the completion
# writes to stderr is passed on to this script's stderr.
emulate -L zsh
setopt extendedglob
zmodload zsh/zpty || { print -u2 'complete.zsh: zsh/zpty is not available'; exit 2 }

local script=$1 line=$2
local dir
dir=$(mktemp -d) || exit 2
# No EXIT trap: the child zpty forks would run it too, and remove $dir early.
finish() { zpty -d keyctl_test 2>/dev/null; rm -rf $dir; exit $1 }
cp $script $dir/_keyctl || finish 2

# The inner shell's start-up. compadd is wrapped: calls that only collect
# matches into an array (-O, -A, -D) go through untouched; the others add
# matches, and the wrapper prints each one (matched against what is on the line,
# by `compadd -A`) between markers.
cat > $dir/init.zsh <<INIT
exec 2>$dir/stderr
PS1='' RPS1='' PS2=''
fpath=($dir \$fpath)
autoload -Uz compinit && compinit -u -d $dir/zcompdump
bindkey '^I' complete-word
compadd() {
  local a
  for a in "\$@"; do
    [[ \$a == (-|--) ]] && break
    [[ \$a == -[^-]#[OAD]* ]] && { builtin compadd "\$@"; return }
  done
  local -a hits
  builtin compadd -A hits "\$@"
  local h
  for h in "\${hits[@]}"; do print -r -- "<<match>>\$h"; done
  builtin compadd "\$@"
}
_keyctl_test_done() { print -r -- '<<done>>'; exit 0 }
comppostfuncs=(_keyctl_test_done)
print -r -- '<<'ready'>>'
INIT

zpty keyctl_test zsh -f -i || { print -u2 'complete.zsh: cannot start zsh in a pty'; finish 2 }
zpty -w keyctl_test "source $dir/init.zsh"

# Read the pty until a marker shows up or time runs out.
local out= chunk
read_until() {
  local marker=$1
  integer deadline=$(( SECONDS + 20 ))
  while (( SECONDS < deadline )); do
    if zpty -rt keyctl_test chunk 2>/dev/null; then
      out+=$chunk
      [[ $out == *$marker* ]] && return 0
    else
      sleep 0.05
    fi
  done
  return 1
}
read_until '<<ready>>' || { print -u2 "complete.zsh: zsh did not start: ${out//$'\r'/}"; finish 2 }
out=
zpty -n -w keyctl_test "$line"$'\t'
read_until '<<done>>' || { print -u2 "complete.zsh: no completion finished for '$line': ${out//$'\r'/}"; finish 2 }

[[ -s $dir/stderr ]] && cat $dir/stderr >&2
local l
for l in ${(f)${out//$'\r'/}}; do
  [[ $l == *'<<match>>'* ]] && print -r -- ${l#*'<<match>>'}
done
finish 0
