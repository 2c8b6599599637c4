# bash completion for dropfeed: commands, options, and target names from the config
# (--config FILE on the line, else ./dropfeed.json). Installed by `make install` as
# $PREFIX/share/bash-completion/completions/dropfeed.

# The target names of the config, through `dropfeed state list --json` (reads no export).
_dropfeed_targets() {
    local config="$1"
    "${_dropfeed_bin:-dropfeed}" state list --config "$config" --json 2>/dev/null |
        sed -n 's/^ *"name": *"\(.*\)",\{0,1\}$/\1/p'
}

_dropfeed() {
    local cur prev words cword
    cur="${COMP_WORDS[COMP_CWORD]}"
    prev="${COMP_WORDS[COMP_CWORD-1]}"
    local commands="plan run validate check-connection state diff test-mapping history init help"
    local common="--quiet --verbose --progress --log-format --help"
    if [[ $COMP_CWORD -eq 1 ]]; then
        COMPREPLY=($(compgen -W "$commands --help --version" -- "$cur"))
        return
    fi
    local command="${COMP_WORDS[1]}" config="dropfeed.json" i
    for ((i = 2; i < COMP_CWORD; i++)); do
        if [[ ${COMP_WORDS[i]} == --config ]]; then config="${COMP_WORDS[i+1]}"; fi
    done
    case "$prev" in
        --target|--explain)
            COMPREPLY=($(compgen -W "$(_dropfeed_targets "$config")" -- "$cur")); return ;;
        --config|--report|--metrics|--cases|--source)
            COMPREPLY=($(compgen -f -- "$cur")); return ;;
        --out|--save|--plan)
            COMPREPLY=($(compgen -d -- "$cur")); return ;;
        --log-format)
            COMPREPLY=($(compgen -W "text json" -- "$cur")); return ;;
        --encoding)
            COMPREPLY=($(compgen -W "utf-8 windows-1252 iso-8859-1 utf-16" -- "$cur")); return ;;
        --on-success|--on-held|--on-failure)
            COMPREPLY=($(compgen -c -- "$cur")); return ;;
        --allow-deletes|--allow-updates|--limit|--wait-lock|--hook-timeout|--key|--delimiter)
            return ;;
    esac
    local options
    case "$command" in
        plan) options="--config --target --json --out --save --explain --exit-code --allow-deletes --allow-updates --allow-shrink" ;;
        run) options="--config --target --json --report --plan --allow-deletes --allow-updates --allow-shrink --metrics --on-success --on-held --on-failure --hook-timeout --wait-lock" ;;
        validate) options="--config --json" ;;
        check-connection) options="--config --target --json" ;;
        history) options="--config --target --limit --json"
            [[ $COMP_CWORD -eq 2 ]] && options="show $options" ;;
        init) options="--source --config --target --force" ;;
        diff) options="--key --delimiter --encoding --json --exit-code" ;;
        test-mapping) options="--cases" ;;
        help) COMPREPLY=($(compgen -W "$commands" -- "$cur")); return ;;
        state)
            if [[ $COMP_CWORD -eq 2 ]]; then
                COMPREPLY=($(compgen -W "list show reset rollback pending discard export" -- "$cur")); return
            fi
            if [[ $COMP_CWORD -eq 3 && ${COMP_WORDS[2]} != list && $cur != -* ]]; then
                COMPREPLY=($(compgen -W "$(_dropfeed_targets "$config")" -- "$cur")); return
            fi
            options="--config --json --wait-lock" ;;
    esac
    if [[ $cur == -* || $command == plan || $command == run || $command == validate ]]; then
        COMPREPLY=($(compgen -W "$options $common" -- "$cur"))
    else
        COMPREPLY=($(compgen -f -- "$cur"))
    fi
}

complete -F _dropfeed dropfeed
