#!/usr/bin/perl
# A prefork HTTP server that never replaces a dead worker: the master opens the
# port, forks the workers that accept on it, and then only waits. With every
# worker gone the port still accepts connections (the kernel queues them on the
# master's socket) and no request is ever answered: up for a port check, down for
# every client. perl-base is in every Debian system, so no package is needed.
#
#   prefork.pl PORT WORKERS MAX_MIB
# GET /fill adds 10 MiB to the worker's cache (what its traffic makes it hold, up to
# MAX_MIB); anything else is answered "ok" at once.
use strict;
use warnings;
use IO::Socket::INET;
$| = 1;  # each line to the journal as it is printed

my ($port, $workers, $max_mib) = @ARGV;
die "usage: prefork.pl PORT WORKERS MAX_MIB\n" unless defined $max_mib;
my $listen = IO::Socket::INET->new(LocalAddr => '127.0.0.1', LocalPort => $port, Listen => 128, ReuseAddr => 1)
  or die "prefork: cannot listen on $port: $!\n";

sub serve {
  my ($n) = @_;
  $0 = "prefork: worker $n";
  my @cache;  # 10 MiB chunks, each written once
  while (my $client = $listen->accept) {
    my $request = <$client> // '';
    while (my $line = <$client>) { last if $line =~ /^\r?\n$/ }
    if ($request =~ m{^GET /fill } && @cache * 10 < $max_mib) {
      my $chunk = '';
      vec($chunk, 10 * 1024 * 1024 - 1, 8) = 1;  # one allocation, every page written
      push @cache, \$chunk;
    }
    print $client "HTTP/1.0 200 OK\r\nContent-Type: text/plain\r\n\r\nworker $n ok, cache " . (@cache * 10) . " MiB\n";
    close $client;
  }
  exit 0;
}

for my $n (1 .. $workers) {
  my $pid = fork() // die "prefork: fork: $!\n";
  serve($n) unless $pid;
}
$0 = "prefork: master";
print "prefork: master $$ serving 127.0.0.1:$port with $workers worker(s)\n";
# Reap the dead and replace none of them; keep the port open for ever.
while (1) {
  my $dead = wait();
  if ($dead == -1) { sleep 1; next }
  print "prefork: worker $dead exited (status $?); not replaced\n";
}
