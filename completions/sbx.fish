complete -c sbx -l allow-read -d 'Allow reading PATH (a file, or a directory and everything under it); implies --deny-read' -r
complete -c sbx -l allow-write -d 'Allow reading and writing PATH (created if missing); implies --deny-write' -r
complete -c sbx -l allow-net -d 'Allow connecting to HOST: example.com[:PORT] or *.example.com[:PORT] (only these names resolve; their addresses are allowed), 1.2.3.4[:PORT], [2001:db8::1]:PORT, 10.0.0.0/8, localhost[:PORT]; `*` allows all network. Implies --deny-net' -r
complete -c sbx -l allow-unix -d 'Allow connecting to the unix socket at PATH (created inside or outside the sandbox); implies --deny-net' -r
complete -c sbx -l allow-env -d 'Pass environment variables matching VAR (`*` and `?` globs, e.g. AWS_*); implies --deny-env' -r
complete -c sbx -l deny-read -d 'Deny file reads except the read defaults, --allow-read and --allow-write paths'
complete -c sbx -l deny-write -d 'Deny file writes except the write defaults (temp dirs, /dev/null…) and --allow-write paths'
complete -c sbx -l deny-net -d 'Deny network access except --allow-net/--allow-unix entries (unix sockets made inside the sandbox keep working)'
complete -c sbx -l deny-env -d 'Pass only PATH HOME USER SHELL TERM COLORTERM LANG and --allow-env matches to COMMAND'
complete -c sbx -l deny-all -d 'All of --deny-read, --deny-write, --deny-net and --deny-env'
complete -c sbx -l best-effort -d 'Run even when the kernel cannot enforce part of the policy, warning about each lost part'
complete -c sbx -s v -l verbose -d 'Log the rules sbx sets up to stderr'
complete -c sbx -s q -l quiet -d 'Do not report blocked network attempts on stderr'
complete -c sbx -s h -l help -d 'Print help (see more with \'--help\')'
complete -c sbx -s V -l version -d 'Print version'
