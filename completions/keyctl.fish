# fish completion for keyctl.
# Generated from keyctl's command table by `keyctl completions fish`; do not edit.
# Install as ~/.config/fish/completions/keyctl.fish.

# Succeed if option $argv[2] takes a value after command $argv[1].
function __keyctl_takes_value
    switch "$argv[1]"
        case init
            contains -- $argv[2] --prefix --max-keys; and return 0
        case create
            contains -- $argv[2] --permissions --env --expires-in --expires-at --description --format; and return 0
        case list
            contains -- $argv[2] --status --expiring-within; and return 0
        case rotate
            contains -- $argv[2] --grace --expires-in --expiring-within --format; and return 0
        case update
            contains -- $argv[2] --name --description --permissions --expires-in --expires-at; and return 0
        case config
            contains -- $argv[2] --max-keys; and return 0
        case prune
            contains -- $argv[2] --revoked-before; and return 0
        case log
            contains -- $argv[2] --since; and return 0
        case verify
            contains -- $argv[2] --from-env --require; and return 0
    end
    contains -- $argv[2] --keystore
end

# Print the number of arguments after the command, then the command, if any.
function __keyctl_state
    set -l tokens (commandline -opc)
    set -l cmd
    set -l npos 0
    set -l skip 0
    set -l dashdash 0
    for w in $tokens[2..-1]
        if test $skip = 1
            set skip 0
        else if test $dashdash = 0; and string match -q -- '-?*' $w
            if test $w = --
                set dashdash 1
            else if not string match -q -- '*=*' $w; and __keyctl_takes_value "$cmd" $w
                set skip 1
            end
        else if test -z "$cmd"
            set cmd $w
        else
            set npos (math $npos + 1)
        end
    end
    echo $npos
    echo $cmd
end

function __keyctl_needs_command
    set -l state (__keyctl_state)
    test -z "$state[2]"
end

function __keyctl_using
    set -l state (__keyctl_state)
    test -n "$state[2]"; and contains -- $state[2] $argv
end

# Succeed if the argument at the cursor is of kind $argv[1].
function __keyctl_argument
    set -l state (__keyctl_state)
    set -l kind
    switch "$state[2]"
        case create
            test $state[1] -eq 0; and set kind name
        case show
            test $state[1] -eq 0; and set kind key
        case revoke
            test $state[1] -ge 0; and set kind key
        case rotate
            test $state[1] -eq 0; and set kind key
        case update
            test $state[1] -eq 0; and set kind key
        case log
            test $state[1] -eq 0; and set kind key
        case verify
            test $state[1] -eq 0; and set kind apikey
        case completions
            test $state[1] -eq 0; and set kind shell
        case help
            test $state[1] -eq 0; and set kind command
    end
    test "$kind" = "$argv[1]"
end

# Complete the last item of a comma-separated list drawn from the arguments.
function __keyctl_list
    set -l token (string replace -r -- '^--[^=]*=' '' (commandline -ct))
    set -l head (string replace -r -- '[^,]*$' '' $token)
    set -l have (string split -- , $head)
    for value in $argv
        contains -- $value $have; or echo $head$value
    end
end

# Key names in use, from the keystore named on the line or the default one.
function __keyctl_keys
    set -l tokens (commandline -opc)
    set -l ks
    set -l n (count $tokens)
    for i in (seq 2 $n)
        switch $tokens[$i]
            case --
                break
            case --keystore
                test $i -lt $n; and set ks --keystore $tokens[(math $i + 1)]
            case '--keystore=*'
                set ks --keystore (string replace -- --keystore= '' $tokens[$i])
        end
    end
    set ks (string replace -r -- '^~/' "$HOME/" $ks)
    set -l prog (string replace -r -- '^~/' "$HOME/" $tokens[1])
    command $prog $ks __complete-keys 2>/dev/null
end

complete -c keyctl -e
complete -c keyctl -f
complete -c keyctl -n __keyctl_needs_command -a init -d 'create an empty keystore'
complete -c keyctl -n __keyctl_needs_command -a create -d 'make a key and print it once'
complete -c keyctl -n __keyctl_needs_command -a list -d 'list keys, newest first'
complete -c keyctl -n __keyctl_needs_command -a show -d 'show one key\'s record'
complete -c keyctl -n __keyctl_needs_command -a revoke -d 'revoke keys, all or nothing'
complete -c keyctl -n __keyctl_needs_command -a rotate -d 'replace a key with a new one'
complete -c keyctl -n __keyctl_needs_command -a update -d 'change a key in place, keeping its secret'
complete -c keyctl -n __keyctl_needs_command -a config -d 'show the keystore\'s settings, or change its key limit'
complete -c keyctl -n __keyctl_needs_command -a prune -d 'remove the records of keys revoked long ago'
complete -c keyctl -n __keyctl_needs_command -a log -d 'show the audit log, or verify its chain'
complete -c keyctl -n __keyctl_needs_command -a verify -d 'check a key; the exit status tells the answer'
complete -c keyctl -n __keyctl_needs_command -a completions -d 'print a shell completion script'
complete -c keyctl -n __keyctl_needs_command -a help -d 'show help for keyctl or a command'
complete -c keyctl -l keystore -r -F -d 'the keystore file'
complete -c keyctl -l json -d 'machine-readable output'
complete -c keyctl -s h -l help -d 'show help for keyctl or for the command'
complete -c keyctl -l version -d 'print the version'
complete -c keyctl -n '__keyctl_using init' -l prefix -x -d 'key prefix, 2-10 lowercase letters or digits'
complete -c keyctl -n '__keyctl_using init' -l max-keys -x -d 'most keys that are not revoked, 1-100000'
complete -c keyctl -n '__keyctl_using create' -l permissions -x -a '(__keyctl_list read write admin webhook)' -d 'comma-separated permissions: read, write, admin, webhook'
complete -c keyctl -n '__keyctl_using create' -l env -x -a 'live test' -d 'environment: live (default) or test'
complete -c keyctl -n '__keyctl_using create' -l expires-in -x -d 'expire after DURATION, e.g. 90d or 1d12h'
complete -c keyctl -n '__keyctl_using create' -l expires-at -x -d 'expire at TIME, RFC 3339'
complete -c keyctl -n '__keyctl_using create' -l description -x -d 'what the key is for, up to 500 characters'
complete -c keyctl -n '__keyctl_using create' -l format -x -a 'raw bearer basic x-api-key env' -d 'print the key as raw (default), bearer, basic, x-api-key or env'
complete -c keyctl -n '__keyctl_using list' -l status -x -a '(__keyctl_list active expired retiring revoked)' -d 'only keys with this status: active, expired, retiring, revoked'
complete -c keyctl -n '__keyctl_using list' -l expiring-within -x -d 'only keys that are not revoked and expire within DURATION'
complete -c keyctl -n '__keyctl_using list' -l all -d 'also revoked keys'
complete -c keyctl -n '__keyctl_using rotate' -l grace -x -d 'keep the old key valid for DURATION'
complete -c keyctl -n '__keyctl_using rotate' -l expires-in -x -d 'expire after DURATION, e.g. 90d or 1d12h'
complete -c keyctl -n '__keyctl_using rotate' -l expiring-within -x -d 'rotate every active or expired key that expires within DURATION'
complete -c keyctl -n '__keyctl_using rotate' -l format -x -a 'raw bearer basic x-api-key env' -d 'print the key as raw (default), bearer, basic, x-api-key or env'
complete -c keyctl -n '__keyctl_using update' -l name -x -d 'a new name, 1-100 characters, unique among keys in use'
complete -c keyctl -n '__keyctl_using update' -l description -x -d 'a new description, up to 500 characters; \'\' clears it'
complete -c keyctl -n '__keyctl_using update' -l permissions -x -a '(__keyctl_list read write admin webhook)' -d 'the new permissions, comma-separated: read, write, admin, webhook'
complete -c keyctl -n '__keyctl_using update' -l expires-in -x -d 'expire DURATION from now, e.g. 90d'
complete -c keyctl -n '__keyctl_using update' -l expires-at -x -d 'expire at TIME, RFC 3339'
complete -c keyctl -n '__keyctl_using update' -l no-expiry -d 'never expire'
complete -c keyctl -n '__keyctl_using config' -l max-keys -x -d 'a new key limit, 1-100000, at least the keys in use'
complete -c keyctl -n '__keyctl_using prune' -l revoked-before -x -d 'remove keys revoked at least DURATION ago, e.g. 90d'
complete -c keyctl -n '__keyctl_using prune' -l dry-run -d 'print what would be removed; change nothing'
complete -c keyctl -n '__keyctl_using log' -l since -x -d 'only entries from the last DURATION'
complete -c keyctl -n '__keyctl_using log' -l verify -d 'check the whole chain; exit 0 and print the last hash, or 65 LOG_CORRUPT'
complete -c keyctl -n '__keyctl_using verify' -l from-env -x -d 'read the key from the environment variable VAR'
complete -c keyctl -n '__keyctl_using verify' -l require -x -a '(__keyctl_list read write admin webhook)' -d 'fail with FORBIDDEN unless the key has this permission'
complete -c keyctl -n '__keyctl_using verify' -l no-stamp -d 'do not record this check as a use of the key'
complete -c keyctl -n '__keyctl_using verify' -l batch -d 'answer each line of standard input with one line of JSON'
complete -c keyctl -n '__keyctl_argument key' -a '(__keyctl_keys)'
complete -c keyctl -n '__keyctl_argument shell' -a 'bash zsh fish'
complete -c keyctl -n '__keyctl_argument command' -a init -d 'create an empty keystore'
complete -c keyctl -n '__keyctl_argument command' -a create -d 'make a key and print it once'
complete -c keyctl -n '__keyctl_argument command' -a list -d 'list keys, newest first'
complete -c keyctl -n '__keyctl_argument command' -a show -d 'show one key\'s record'
complete -c keyctl -n '__keyctl_argument command' -a revoke -d 'revoke keys, all or nothing'
complete -c keyctl -n '__keyctl_argument command' -a rotate -d 'replace a key with a new one'
complete -c keyctl -n '__keyctl_argument command' -a update -d 'change a key in place, keeping its secret'
complete -c keyctl -n '__keyctl_argument command' -a config -d 'show the keystore\'s settings, or change its key limit'
complete -c keyctl -n '__keyctl_argument command' -a prune -d 'remove the records of keys revoked long ago'
complete -c keyctl -n '__keyctl_argument command' -a log -d 'show the audit log, or verify its chain'
complete -c keyctl -n '__keyctl_argument command' -a verify -d 'check a key; the exit status tells the answer'
complete -c keyctl -n '__keyctl_argument command' -a completions -d 'print a shell completion script'
complete -c keyctl -n '__keyctl_argument command' -a help -d 'show help for keyctl or a command'
