#!/usr/bin/env bash
# docs/mrxcl.1 against the program: every option (long and short) that `mrxcl --help` and
# each command's --help print must appear in the man page, each command must have its
# entry, the header must name the program's version, and the page must render without a
# warning (groff -ww).
# usage: test_manpage.sh MRXCL_BINARY MAN_PAGE
set -uo pipefail
bin=$1
page=$2
fail=0

helps=$("$bin" --help) || { echo "FAIL: $bin --help exited $?"; exit 1; }
# The commands, as the usage lines name them: "  mrxcl CMD ...".
cmds=$(printf '%s\n' "$helps" | sed -n 's/^  mrxcl \([a-z][a-z]*\).*/\1/p' | sort -u)
[ -n "$cmds" ] || { echo "FAIL: no command found in mrxcl --help"; exit 1; }
for c in $cmds; do
    h=$("$bin" "$c" --help) || { echo "FAIL: mrxcl $c --help exited $?"; fail=1; }
    helps+=$'\n'"$h"
done

# Options: -x or --word after a space, '[', '(', '|' or ',' or at a line's start, so that
# "cross-faded" or "-27 LUFS" are not taken for one.
opts=$(printf '%s\n' "$helps" |
       grep -oE '(^|[][ (|,])--?[A-Za-z][A-Za-z0-9_-]*' | sed 's/^[][ (|,]//' | sort -u)
n=$(printf '%s\n' "$opts" | grep -c .)
[ "$n" -ge 10 ] || { echo "FAIL: only $n options found in the help texts:" $opts; exit 1; }

# The page's text as written: roff's \- is a hyphen, font changes \fB \fI \fR \fP go.
text=$(sed -e 's/\\-/-/g' -e 's/\\f[BIRP]//g' -e 's/\\(em/ /g' "$page")
for o in $opts; do
    # (a here-string: grep -q stops at the first match, which under pipefail would fail a
    # pipe from printf with SIGPIPE)
    if ! grep -qE -- "(^|[^A-Za-z0-9_-])${o}([^A-Za-z0-9_-]|$)" <<<"$text"; then
        echo "FAIL: $o is in --help but not in $page"
        fail=1
    fi
done
# ... and every command has an entry: a .TP paragraph whose tag is ".B command".
for c in $cmds; do
    awk -v c="$c" 'prev == ".TP" && $1 == ".B" && $2 == c { found = 1 } { prev = $0 }
                   END { exit !found }' <<<"$text" ||
        { echo "FAIL: command $c has no entry in $page"; fail=1; }
done

# The page's header names the program's version.
version=$("$bin" --version | sed -n '1s/^mrxcl \([0-9][0-9.]*\).*/\1/p')
grep -qE "^\.TH MRXCL 1 .*\"mrxcl $version\"" "$page" ||
    { echo "FAIL: $page's .TH does not name mrxcl $version (mrxcl --version)"; fail=1; }

if command -v groff >/dev/null; then
    warn=$(groff -man -ww -z "$page" 2>&1)
    [ -z "$warn" ] || { echo "FAIL: groff warns on $page:"; echo "$warn"; fail=1; }
else
    echo "FAIL: groff not found (Debian: groff-base), cannot check that $page renders"
    fail=1
fi

[ $fail -eq 0 ] && echo "ok: $n options of $(echo $cmds | wc -w) commands' --help in $page:" $opts
exit $fail
