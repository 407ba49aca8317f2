#!/usr/bin/perl
# The traffic that makes the server's worker grow: COUNT requests to GET /fill, one
# after the other. It stops at the first request that gets no answer within 2 s
# (the worker is gone), as a client library would give up.
#
#   warm.pl PORT COUNT
use strict;
use warnings;
use IO::Socket::INET;
$| = 1;

my ($port, $count) = @ARGV;
die "usage: warm.pl PORT COUNT\n" unless defined $count;
for my $i (1 .. $count) {
  my $s = IO::Socket::INET->new(PeerAddr => '127.0.0.1', PeerPort => $port, Timeout => 2);
  my $answer;
  if ($s) {
    print $s "GET /fill HTTP/1.0\r\n\r\n";
    my $ready = '';
    vec($ready, fileno($s), 1) = 1;
    $answer = <$s> if select($ready, undef, undef, 2);
  }
  unless (defined $answer && $answer =~ m{^HTTP/1\.[01] 200}) {
    print "warm: request $i got no answer; giving up\n";
    exit 1;
  }
}
print "warm: $count requests answered\n";
