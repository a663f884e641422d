# complete.bash SCRIPT LINE — run by `bash --norc --noprofile`: print, one per
# line, the candidates bash offers for LINE<TAB>. Loads bash-completion and lets
# its loader find SCRIPT (installed as completions/keyctl.bash in a temporary
# BASH_COMPLETION_USER_DIR, the way a user installs it), then calls the function
# `complete -p keyctl` names with COMP_WORDS split the way readline splits them.
set -u
script=$1 line=$2

dir=$(mktemp -d) || exit 2
trap 'rm -rf "$dir"' EXIT
mkdir -p "$dir/completions"
cp "$script" "$dir/completions/keyctl.bash"
export BASH_COMPLETION_USER_DIR=$dir

bc=
for f in /usr/share/bash-completion/bash_completion /etc/bash_completion \
    /usr/local/share/bash-completion/bash_completion; do
    [[ -r $f ]] && bc=$f && break
done
[[ -n $bc ]] || { echo "complete.bash: bash-completion is not installed" >&2; exit 2; }
# shellcheck disable=SC1090
. "$bc"

__load_completion keyctl >/dev/null 2>&1 || _completion_loader keyctl >/dev/null 2>&1
spec=$(complete -p keyctl 2>/dev/null) ||
    { echo "complete.bash: bash-completion did not load a completion for keyctl from $dir/completions/keyctl.bash" >&2; exit 2; }
[[ $spec =~ -F\ ([^ ]+) ]] || { echo "complete.bash: unexpected spec: $spec" >&2; exit 2; }
func=${BASH_REMATCH[1]}

# Readline's split: blanks separate words, and each run of the other
# COMP_WORDBREAKS characters (= and : here) is a word of its own; a backslash
# or quotes keep a blank inside the word (`deploy\ bot`, `'deploy bot'`).
COMP_WORDS=()
word= breaks= q=
for ((i = 0; i < ${#line}; i++)); do
    c=${line:i:1}
    if [[ -n $q || $c == [\\\'\"] ]]; then
        [[ -n $breaks ]] && COMP_WORDS+=("$breaks")
        breaks=
        if [[ -z $q && $c == '\' ]]; then
            word+=$c${line:i+1:1}
            i=$((i + 1))
            continue
        fi
        if [[ $c == "$q" ]]; then q=; elif [[ -z $q ]]; then q=$c; fi
        word+=$c
    elif [[ $c == [[:blank:]] ]]; then
        [[ -n $word ]] && COMP_WORDS+=("$word")
        [[ -n $breaks ]] && COMP_WORDS+=("$breaks")
        word= breaks=
    elif [[ $c == [=:] ]]; then
        [[ -n $word ]] && COMP_WORDS+=("$word")
        word= breaks+=$c
    else
        [[ -n $breaks ]] && COMP_WORDS+=("$breaks")
        breaks= word+=$c
    fi
done
[[ -n $breaks ]] && COMP_WORDS+=("$breaks")
COMP_WORDS+=("$word") # the word at the cursor, maybe empty
COMP_CWORD=$((${#COMP_WORDS[@]} - 1))
COMP_LINE=$line
COMP_POINT=${#line}
COMP_TYPE=9
COMP_KEY=9
COMPREPLY=()

cur=${COMP_WORDS[COMP_CWORD]}
prev=
((COMP_CWORD > 0)) && prev=${COMP_WORDS[COMP_CWORD - 1]}
"$func" "${COMP_WORDS[0]}" "$cur" "$prev"
((${#COMPREPLY[@]})) && printf '%s\n' "${COMPREPLY[@]}"
exit 0
