# readme.sh - README's install steps and the units' command lines, for
# t/install/check.sh (the installed units) and t/install-readme.t (the
# source tree). Source it; no side effects.
#
#   readme_steps DIR README   README's steps into DIR (readme-steps.awk);
#                             "NN STEP FLAVOR" lines on stdout
#   unit_cmd UNIT-FILE        its ExecStart, continuation lines joined,
#                             without --foreground, the program by name
#   readme_cmd PROGRAM FILE   PROGRAM's command line in a step file, joined

readme_steps() {
    awk -v dir="$1" -f "$(dirname "${BASH_SOURCE[0]}")/readme-steps.awk" "$2"
}

unit_cmd() {
    sed -n '/^ExecStart=/,/[^\\]$/p' "$1" | sed 's/^ExecStart=//; s/\\$//' |
        tr -s ' \n' '  ' | sed 's/ --foreground//; s|^[^ ]*/\([^ /]*\)|\1|; s/ *$//'
}

readme_cmd() {
    sed -n "/^$1 /,/[^\\\\]\$/p" "$2" | sed 's/\\$//' | tr -s ' \n' '  ' | sed 's/ *$//'
}
