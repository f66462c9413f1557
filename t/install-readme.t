#!/bin/bash
# install-readme.t - README's "Installing on a Postfix host" agrees with
# the units, the package and the Postfix snippet, before `make
# check-install` runs its steps on a bare Debian 12 (t/install/README):
# every block of the section is a step, each step has its commands with
# and without systemd alike, README starts the daemons with the units'
# own command lines, its by-hand user and groups are the package's, and
# the milter's socket is where the snippet's smtpd_milters and README's
# directory say (issue 14: README and the units disagreed).
source "$(dirname "$0")/lib/tap.sh"
source "$SEGTLS_TOP/t/install/readme.sh"
C=$SEGTLS_TOP/conf
S=$T/steps
mkdir -p "$S"

plan 9

readme_steps "$S" "$SEGTLS_TOP/README.md" >"$T/list" 2>"$T/err"
is "$? $(cat "$T/err")" "0 " "every block of the section is a step (readme-steps.awk)"
# a step with systemd commands has them without systemd too, and back
is "$(awk '$3 != "all" { f[$2] = f[$2] " " $3 } END { for (s in f) if (f[s] != " systemd no-systemd") print s f[s] }' "$T/list")" "" \
    "each step for systemd has its counterpart without systemd"
is "$(awk '{ print $2 }' "$T/list" | uniq | tr '\n' ' ')" \
    "packages postfix start apply gui gui-start commit first-records remove stop purge " \
    "the steps, from the packages to the purge"

is "$(readme_cmd segtls-policyd "$S"/*.start.no-systemd)" "$(unit_cmd "$C/segtls-policyd.service")" \
    "README starts segtls-policyd as its unit does"
is "$(readme_cmd segtls-milter "$S"/*.start.no-systemd)" \
    "$(unit_cmd "$C/segtls-milter.service" | sed 's/^segtls-milter/segtls-milter --user segtls/')" \
    "README starts segtls-milter as its unit does, the unit's User= as --user"

# the user and groups: README's by-hand commands are the package's
pi=$SEGTLS_TOP/debian/segtls.postinst
want=$(sed -n 's/.*\(adduser --system\) --quiet \(.*\) \\$/\1 \2/p; s/^ *\(--no-create-home .*\) \\$/\1/p' "$pi" |
    sed 's/--gecos "[^"]*" *//' | tr '\n' ' ' | tr -s ' ' | sed 's/ *$/ segtls/')
got=$(tr '\n' ' ' <"$SEGTLS_TOP/README.md" | grep -o 'adduser --system --ingroup[^;`]*segtls;' | sed 's/;$//' | tr -s ' ')
is "$got" "$want" "README's adduser is the package's (postinst)"
is "$(grep -o 'for g in [a-z -]*;' "$pi") $(tr '\n' ' ' <"$SEGTLS_TOP/README.md" | grep -o 'addgroup --system [a-z-]*' | awk '{ print $3 }' | tr '\n' ' ')" \
    "for g in segtls segtls-admin segtls-read; segtls segtls-admin segtls-read " \
    "README's groups are the package's"
is "$(grep -lE 'useradd|groupadd|adduser|addgroup' "$C"/*.service)" "" \
    "the units name no user-creating command of their own (README and the package do)"

# the socket: the unit listens where smtpd_milters (relative to the queue
# directory) and README's directory say
sock=$(unit_cmd "$C/segtls-milter.service" | grep -o 'unix:[^ ]*')
snip=$(sed -n 's/^smtpd_milters = unix://p' "$C/postfix-milter.cf")
dir=$(grep -o 'install -d -o segtls -g postfix -m 0750 [^ ]*' "$S"/*.postfix.all | awk '{ print $NF }')
is "$sock $dir" "unix:/var/spool/postfix/$snip /var/spool/postfix/${snip%/*}" \
    "the milter's socket is the snippet's smtpd_milters in the queue directory, in README's directory"
done_testing
