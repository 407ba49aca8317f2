#!/bin/sh
# mmdebstrap customize hook: $1 is the guest root. Makes a fast-booting,
# disposable test guest. Keep it idempotent and offline (no downloads here).
set -eu
root="$1"
recipe="$(dirname "$0")"

echo "/dev/nvme0n1 / ext4 rw,noatime 0 1" > "$root/etc/fstab"
echo oomguest > "$root/etc/hostname"
# Passwordless root for a debugging shell; trixie's minimal set has no passwd(1).
sed -i 's/^root:[^:]*:/root::/' "$root/etc/shadow"

# Units a test guest never needs. serial-getty@ttyS0 would also vhangup() the
# console and silence anything writing to it (FIELD-NOTES).
for unit in serial-getty@ttyS0.service getty@tty1.service getty.target \
            systemd-timesyncd.service apt-daily.timer apt-daily-upgrade.timer \
            e2scrub_all.timer e2scrub_reap.service fstrim.timer man-db.timer \
            logrotate.timer dpkg-db-backup.timer systemd-tmpfiles-clean.timer \
            systemd-networkd.service systemd-resolved.service \
            systemd-oomd.service systemd-oomd.socket \
            systemd-update-utmp.service systemd-update-utmp-runlevel.service \
            systemd-random-seed.service systemd-machine-id-commit.service \
            systemd-firstboot.service systemd-pstore.service; do
  ln -sf /dev/null "$root/etc/systemd/system/$unit"
done

# Journal in RAM: the disk is a throw-away snapshot anyway.
mkdir -p "$root/etc/systemd/journald.conf.d"
printf '[Journal]\nStorage=volatile\nRateLimitBurst=0\n' > "$root/etc/systemd/journald.conf.d/oomharness.conf"

install -m 0644 "$recipe"/units/* "$root/etc/systemd/system/"
install -m 0755 "$recipe/guest/oomharness-job" "$root/usr/local/sbin/oomharness-job"
mkdir -p "$root/opt/oomharness" "$root/var/lib/oomharness"

# The journal stays in RAM (Storage=volatile): nothing to flush to disk.
ln -sf /dev/null "$root/etc/systemd/system/systemd-journal-flush.service"
