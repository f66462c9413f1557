#!/usr/bin/perl
# grok.pl - parse syslog messages with grok patterns, as Elastic's grok
# processor does (first matching pattern wins), for t/siem.t.
#
#   grok.pl BASE.grok PATTERNS.grok <MESSAGES
#
# PATTERNS has "header" (the syslog frame), "mail" (tried in order) and
# "catchall" lines. For each message prints one line:
#   <mail pattern number, or "catchall", or "noheader"> TAB field=value TAB ...
# with the header's fields first.
use strict;
use warnings;

my (%base, @mail, $header, $catchall);
sub load {
    my ($file) = @_;
    open(my $fh, '<:encoding(UTF-8)', $file) or die "$file: $!\n";
    while (my $l = <$fh>) {
        chomp $l;
        next if $l =~ /^(#|$)/;
        my ($kind, $rest) = split / /, $l, 2;
        if ($kind eq 'base') { my ($n, $p) = split / /, $rest, 2; $base{$n} = $p; }
        elsif ($kind eq 'header') { $header = $rest; }
        elsif ($kind eq 'mail') { push @mail, $rest; }
        elsif ($kind eq 'catchall') { $catchall = $rest; }
    }
}
load($_) for @ARGV[0, 1];

# compile - a grok pattern as a Perl regex; field names by group
sub compile {
    my ($p) = @_;
    my @names;
    my $expand;
    $expand = sub {
        my ($s, $depth) = @_;
        die "grok: too deep\n" if $depth > 20;
        $s =~ s{%\{(\w+)(?::([\w.@]+))?(?::\w+)?\}}{
            my ($n, $f) = ($1, $2);
            die "grok: no pattern $n\n" unless defined $base{$n};
            my $inner = $expand->($base{$n}, $depth + 1);
            if (defined $f) { push @names, $f; "(?<g" . $#names . ">$inner)" } else { "(?:$inner)" }
        }ge;
        return $s;
    };
    my $re = $expand->($p, 0);
    return [qr/$re/, [@names]];
}
my $h = compile($header);
my @m = map { compile($_) } @mail;
my $c = compile($catchall);

sub fields {
    my ($re) = @_;
    my @out;
    for my $i (0 .. $#{$re->[1]}) {
        push @out, "$re->[1][$i]=" . ($+{"g$i"} // '');
    }
    return @out;
}
while (my $msg = <STDIN>) {
    chomp $msg;
    unless ($msg =~ $h->[0]) { print "noheader\n"; next; }
    my @hf = fields($h);
    my ($text) = map { /^cisco_secure_email_gateway\.log\.message=(.*)/ ? $1 : () } @hf;
    $text =~ s/^\s+|\s+$//g;            # the pipeline's trim
    my $which = 'catchall';
    my @mf;
    for my $i (0 .. $#m) {
        if ($text =~ $m[$i][0]) { $which = $i + 1; @mf = fields($m[$i]); last; }
    }
    print join("\t", $which, @hf, @mf), "\n";
}
