# readme-steps.awk - the steps of README.md's "Installing on a Postfix
# host", for t/install/check.sh: every fenced block whose info string is
# "sh install:STEP [systemd|no-systemd]" in that section, in order.
#
#   awk -v dir=DIR -f t/install/readme-steps.awk README.md
#
# writes DIR/NN.STEP.FLAVOR (FLAVOR: all, systemd or no-systemd) with the
# block's text, and prints "NN STEP FLAVOR" for each. A fenced block of
# the section with any other info string is an error (exit 1): every
# command there is either a step the test runs or marked systemd.
/^## / { insec = ($0 == "## Installing on a Postfix host"); next }
!insec { next }
infence && /^```[ \t]*$/ { infence = 0; close(file); next }
infence { if (file != "") print > file; next }
/^```/ {
    infence = 1; file = ""
    info = substr($0, 4)
    n = split(info, w, /[ \t]+/)
    if (w[1] == "" ) { plain++; next }          # output examples: no info string
    if (w[1] != "sh" || w[2] !~ /^install:[a-z0-9-]+$/ || n > 3 ||
        (n == 3 && w[3] != "systemd" && w[3] != "no-systemd")) {
        printf "readme-steps: line %d: a block in the section that is not a step: ```%s\n", NR, info > "/dev/stderr"
        bad = 1; next
    }
    flavor = n == 3 ? w[3] : "all"
    num++
    file = sprintf("%s/%02d.%s.%s", dir, num, substr(w[2], 9), flavor)
    printf "%02d %s %s\n", num, substr(w[2], 9), flavor
    printf "" > file
    next
}
END { if (infence) { print "readme-steps: unterminated block" > "/dev/stderr"; bad = 1 }
      if (num == 0) { print "readme-steps: no steps found" > "/dev/stderr"; bad = 1 }
      exit bad }
