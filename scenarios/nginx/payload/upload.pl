#!/usr/bin/perl
# A slow client: announces an upload of TOTAL MiB to /upload, sends SENT MiB of it
# at once, then waits, as a client on a slow link would, until the server closes
# the connection. nginx buffers the body in its worker's memory (nginx.conf).
#
#   upload.pl PORT SENT_MIB TOTAL_MIB
use strict;
use warnings;
use IO::Socket::INET;
$| = 1;

my ($port, $sent, $total) = @ARGV;
die "usage: upload.pl PORT SENT_MIB TOTAL_MIB\n" unless defined $total && $sent <= $total;
my $s = IO::Socket::INET->new(PeerAddr => '127.0.0.1', PeerPort => $port, Timeout => 5)
  or die "upload: cannot connect to port $port: $!\n";
print $s "POST /upload HTTP/1.1\r\nHost: 127.0.0.1\r\nContent-Length: " . ($total << 20) . "\r\n\r\n";
my $chunk = 'x' x (1 << 20);
for my $i (1 .. $sent) {
  print $s $chunk or die "upload: the server closed the connection after $i MiB\n";
}
print "upload: $sent of $total MiB sent; waiting\n";
my $answer = <$s>;
print "upload: connection closed by the server", (defined $answer ? ": $answer" : "\n");
