# bash completion for sgm (installed as share/bash-completion/completions/sgm).
# Everything is read from the installed CLI at completion time: the commands
# from `sgm --help`, a command's flags from `sgm <command> --help`, and the
# names of processes, samplers (with aliases), schedules and predictions from
# `sgm list`, so the completion never goes stale.

# _sgm_names SECTION: the names listed under "SECTION...:" in `sgm list`
_sgm_names() {
    local sgm=$1 section=$2
    "$sgm" list 2>/dev/null | awk -v sec="$section" '
        /^[a-z].*:$/ { on = (index($0, sec) == 1); next }
        on && /^  +aliases: / { n = split($2, a, ","); for (i = 1; i <= n; i++) print a[i]; next }
        on && /^  [a-z0-9]/ { print $1 }'
}

_sgm() {
    local cur prev sgm=${COMP_WORDS[0]} cmd="" i words=""
    cur=${COMP_WORDS[COMP_CWORD]}
    prev=${COMP_WORDS[COMP_CWORD - 1]}
    for ((i = 1; i < COMP_CWORD; i++)); do
        [[ ${COMP_WORDS[i]} != -* ]] && { cmd=${COMP_WORDS[i]}; break; }
    done
    if [[ -z $cmd ]]; then
        words="$("$sgm" --help 2>/dev/null | awk '/^  [a-z][a-z0-9-]* +[^ ]/ {print $1}') --help --version"
        COMPREPLY=($(compgen -W "$words" -- "$cur"))
        return
    fi
    case $prev in
        --sampler) words=$(_sgm_names "$sgm" samplers) ;;
        --process) words=$(_sgm_names "$sgm" processes) ;;
        --schedule) words=$(_sgm_names "$sgm" schedules) ;;
        --prediction) words=$(_sgm_names "$sgm" predictions) ;;
        --out | --init | --data | --model | --a | --b | --gmm | --csv | --plot | --png | --save-init | --resume)
            COMPREPLY=($(compgen -f -- "$cur"))
            return ;;
    esac
    if [[ -z $words ]]; then
        if [[ $cur == -* || -z $cur ]]; then
            words=$("$sgm" "$cmd" --help 2>/dev/null | awk '/^  --?[a-z]/ {print $1}')
        else
            COMPREPLY=($(compgen -f -- "$cur"))
            return
        fi
    fi
    COMPREPLY=($(compgen -W "$words" -- "$cur"))
}
complete -F _sgm sgm
