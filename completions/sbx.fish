# Print an optspec for argparse to handle cmd's options that are independent of any subcommand.
function __fish_sbx_global_optspecs
    string join \n deny-read deny-write deny-net deny-env deny-all close-fds private-tmp keep-tmp hide= hide-secrets allow-read= allow-write= protect= unprotect= allow-net= allow-unix= allow-env= p/profile= config= no-config explain= doctor best-effort v/verbose q/quiet h/help V/version
end

function __fish_sbx_needs_command
    # Figure out if the current invocation already has a command.
    set -l cmd (commandline -opc)
    set -e cmd[1]
    argparse -s (__fish_sbx_global_optspecs) -- $cmd 2>/dev/null
    or return
    if set -q argv[1]
        # Also print the command, so this can be used to figure out what it is.
        echo $argv[1]
        return 1
    end
    return 0
end

function __fish_sbx_using_subcommand
    set -l cmd (__fish_sbx_needs_command)
    test -z "$cmd"
    and return 1
    contains -- $cmd[1] $argv
end

complete -c sbx -n "__fish_sbx_needs_command" -l hide -d 'Make PATH unreadable although a read rule covers it (without --deny-read: everything else stays readable); refused inside a writable tree unless --best-effort' -r
complete -c sbx -n "__fish_sbx_needs_command" -l allow-read -d 'Allow reading PATH (a file, or a directory and everything under it); implies --deny-read' -r
complete -c sbx -n "__fish_sbx_needs_command" -l allow-write -d 'Allow reading and writing PATH (created if missing: a chain of directories only below the home or current directory); implies --deny-write' -r
complete -c sbx -n "__fish_sbx_needs_command" -l protect -d 'Keep PATH read-only inside the writable paths (a file or a directory and everything under it; it may not exist yet): sbx performs the command\'s writes in the tree around it. Needs --deny-write' -r
complete -c sbx -n "__fish_sbx_needs_command" -l unprotect -d 'Lift the default protection of PATH and everything under it (e.g. --unprotect=.git/config to let `git remote add` write it, --unprotect=. for all of a project\'s defaults)' -r
complete -c sbx -n "__fish_sbx_needs_command" -l allow-net -d 'Allow connecting to HOST: example.com[:PORT] or *.example.com[:PORT] (only these names resolve; their addresses are allowed), 1.2.3.4[:PORT], [2001:db8::1]:PORT, 10.0.0.0/8, localhost[:PORT], or a URL (https://registry.example.com/ is registry.example.com:443); 0.0.0.0:PORT or [::]:PORT allows listening on PORT on all interfaces; `*` allows all network. Implies --deny-net' -r
complete -c sbx -n "__fish_sbx_needs_command" -l allow-unix -d 'Allow connecting to the unix socket at PATH (created inside or outside the sandbox); implies --deny-net' -r
complete -c sbx -n "__fish_sbx_needs_command" -l allow-env -d 'Pass environment variables matching VAR (`*` and `?` globs, e.g. AWS_*); implies --deny-env' -r
complete -c sbx -n "__fish_sbx_needs_command" -s p -l profile -d 'Apply [profile.NAME] from the configuration files or the built-in profiles (default: $SBX_PROFILE, else a profile named default if one exists)' -r
complete -c sbx -n "__fish_sbx_needs_command" -l config -d 'Read profiles from FILE instead of the project\'s sbx.toml (FILE needs no `sbx trust`: you named it)' -r
complete -c sbx -n "__fish_sbx_needs_command" -l explain -d 'Print the policy sbx would apply (each rule, where it came from, what this kernel enforces of it) and run nothing' -r -f -a "text\t'For people'
json\t'For tools: one JSON object'"
complete -c sbx -n "__fish_sbx_needs_command" -l deny-read -d 'Deny file reads except the read defaults, --allow-read and --allow-write paths'
complete -c sbx -n "__fish_sbx_needs_command" -l deny-write -d 'Deny file writes except the write defaults (temp dirs, /dev/null…) and --allow-write paths'
complete -c sbx -n "__fish_sbx_needs_command" -l deny-net -d 'Deny network access except --allow-net/--allow-unix entries (unix sockets made inside the sandbox keep working)'
complete -c sbx -n "__fish_sbx_needs_command" -l deny-env -d 'Pass only PATH HOME USER SHELL TERM COLORTERM LANG and --allow-env matches to COMMAND'
complete -c sbx -n "__fish_sbx_needs_command" -l deny-all -d 'All of --deny-read, --deny-write, --deny-net and --deny-env'
complete -c sbx -n "__fish_sbx_needs_command" -l close-fds -d 'Close every file descriptor above stderr before COMMAND starts (fds the caller passes down are its grants; this gives a clean slate)'
complete -c sbx -n "__fish_sbx_needs_command" -l private-tmp -d 'Under --deny-write: make a fresh directory for this run (mode 0700, in $TMPDIR or /tmp) writable instead of /tmp and $TMPDIR, point TMPDIR, TMP, TEMP and TEMPDIR at it, and remove it when COMMAND ends'
complete -c sbx -n "__fish_sbx_needs_command" -l keep-tmp -d 'Keep the --private-tmp directory when COMMAND ends, and say where it is'
complete -c sbx -n "__fish_sbx_needs_command" -l hide-secrets -d 'Hide the built-in secrets set (~/.ssh, ~/.aws, ~/.gnupg, ~/.config/gh, ~/.netrc, browser profiles, …); on by default under --deny-read wherever a read rule covers an entry'
complete -c sbx -n "__fish_sbx_needs_command" -l no-config -d 'Read no configuration file (neither ~/.config/sbx/config.toml nor sbx.toml); built-in profiles stay available'
complete -c sbx -n "__fish_sbx_needs_command" -l doctor -d 'Report what this machine\'s kernel supports and what that means for each flag, then exit (status 1 if something is missing)'
complete -c sbx -n "__fish_sbx_needs_command" -l best-effort -d 'Run even when the kernel cannot enforce part of the policy, warning about each lost part'
complete -c sbx -n "__fish_sbx_needs_command" -s v -l verbose -d 'Log the rules sbx sets up to stderr'
complete -c sbx -n "__fish_sbx_needs_command" -s q -l quiet -d 'Do not report blocked attempts (network, file writes, metadata changes) on stderr, neither as they happen nor in the summary at the end; under --deny-write it also spares the round trip that names refused writes'
complete -c sbx -n "__fish_sbx_needs_command" -s h -l help -d 'Print help (see more with \'--help\')'
complete -c sbx -n "__fish_sbx_needs_command" -s V -l version -d 'Print version'
complete -c sbx -n "__fish_sbx_needs_command" -a "trust" -d 'Show the profiles of a project\'s sbx.toml and trust it: record its path and SHA-256, so that sbx uses it (until it changes). To run a program named trust, write `sbx -- trust`'
complete -c sbx -n "__fish_sbx_needs_command" -a "learn" -d 'Run COMMAND once, unrestricted, watching what it touches, and print (or write) the smallest profile that lets it pass; with --verify, run it again under that profile. To run a program named learn, write `sbx -- learn`'
complete -c sbx -n "__fish_sbx_using_subcommand trust" -s h -l help -d 'Print help'
complete -c sbx -n "__fish_sbx_using_subcommand learn" -s p -l profile -d 'Name of the learned profile (default: COMMAND\'s file name, e.g. make)' -r
complete -c sbx -n "__fish_sbx_using_subcommand learn" -s o -l output -d 'Write the profile to FILE (added to it if FILE exists; paths beneath FILE\'s directory are written relative to it) instead of printing it on stderr (stdout is COMMAND\'s alone)' -r
complete -c sbx -n "__fish_sbx_using_subcommand learn" -l extends -d 'Start from profile PROFILE: the learned profile extends it and leaves out what it already allows (PROFILE comes from FILE, your config.toml or the built-ins; learning itself still runs unrestricted)' -r
complete -c sbx -n "__fish_sbx_using_subcommand learn" -l verify -d 'Run COMMAND again under the learned profile; the profile is marked verified only if it exits the same way'
complete -c sbx -n "__fish_sbx_using_subcommand learn" -s q -l quiet -d 'Do not print what sbx learn is doing (the profile, and a failed verification, are still printed)'
complete -c sbx -n "__fish_sbx_using_subcommand learn" -s h -l help -d 'Print help'
