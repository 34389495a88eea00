#!/usr/bin/perl
# hash-churn.pl: a real perl workload for `arenalab record` (perl-base is
# in every Debian, and its interpreter uses the system malloc): a hash of N
# keys holding array refs and strings of varying length, two thirds of it
# deleted, the rest rewritten, then sorted and joined.
#   perl hash-churn.pl N      (default 20000)
use strict;
use warnings;

my $n = shift // 20000;
my %h;
for my $i (1 .. $n) {
    $h{"key$i"} = [ $i, "v" x ($i % 61), { id => $i } ];
}
for my $i (1 .. $n) {
    delete $h{"key$i"} if $i % 3;
}
for my $k (keys %h) {
    $h{$k}[1] .= "w" x 17;
}
my $joined = join ",", map { $h{$_}[0] } sort keys %h;
print length($joined), " bytes from ", scalar(keys %h), " keys\n";
