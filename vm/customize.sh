#!/bin/sh
# mmdebstrap customize hook: $1 is the guest root. Makes a fast-booting,
# disposable test guest. Keep it idempotent and offline (no downloads here).
set -eu
root="$1"
recipe="$(dirname "$0")"

# By label: root is /dev/nvme0n1 when booted cold, /dev/vda in a guest booted to be saved.
echo "LABEL=root / ext4 rw,noatime 0 1" > "$root/etc/fstab"
echo oomguest > "$root/etc/hostname"
# Passwordless root (passwd -d) for a debugging shell; done with sed because
# trixie's minimal set has no passwd(1).
sed -i 's/^root:[^:]*:/root::/' "$root/etc/shadow"

# Units a test guest never needs (each costs boot time under TCG).
# serial-getty@ttyS0 would also vhangup() the console and silence anything
# writing to it (docs/kernel-and-systemd.md#boot-traps). systemd-oomd is installed but off: a scenario
# that wants it unmasks it.
for unit in serial-getty@ttyS0.service getty@tty1.service getty.target \
            systemd-timesyncd.service apt-daily.timer apt-daily-upgrade.timer \
            e2scrub_all.timer e2scrub_reap.service fstrim.timer man-db.timer \
            logrotate.timer dpkg-db-backup.timer systemd-tmpfiles-clean.timer \
            systemd-networkd.service systemd-networkd.socket systemd-resolved.service \
            networking.service remote-fs.target \
            systemd-oomd.service systemd-oomd.socket \
            systemd-update-utmp.service systemd-update-utmp-runlevel.service \
            systemd-random-seed.service systemd-machine-id-commit.service \
            systemd-firstboot.service systemd-pstore.service systemd-journal-flush.service \
            systemd-sysusers.service systemd-journal-catalog-update.service \
            systemd-hwdb-update.service ldconfig.service systemd-update-done.service \
            systemd-binfmt.service proc-sys-fs-binfmt_misc.automount \
            sys-kernel-debug.mount sys-fs-fuse-connections.mount sys-kernel-config.mount \
            modprobe@dm_mod.service modprobe@fuse.service modprobe@loop.service \
            modprobe@drm.service modprobe@efi_pstore.service \
            systemd-ask-password-console.path systemd-ask-password-wall.path \
            systemd-pcrphase.service systemd-pcrphase-sysinit.service systemd-repart.service; do
  ln -sf /dev/null "$root/etc/systemd/system/$unit"
done

# Generators a test guest never needs (sysv scans /etc/init.d, gpt-auto probes
# disks; systemd.run= is a trap on 252 anyway). Masked like units.
mkdir -p "$root/etc/systemd/system-generators"
for gen in systemd-sysv-generator systemd-gpt-auto-generator systemd-cryptsetup-generator \
           systemd-veritysetup-generator systemd-integritysetup-generator \
           systemd-hibernate-resume-generator systemd-bless-boot-generator \
           systemd-getty-generator systemd-system-update-generator systemd-run-generator \
           systemd-rc-local-generator; do
  ln -sf /dev/null "$root/etc/systemd/system-generators/$gen"
done

# The channels' and the payload disk's drivers are modules: load them early
# instead of at udev coldplug (about a second later under TCG).
mkdir -p "$root/etc/modules-load.d"
printf 'virtio_console\nvirtio_blk\n' > "$root/etc/modules-load.d/oomharness.conf"

# Journal in RAM: the disk is a throw-away snapshot anyway.
mkdir -p "$root/etc/systemd/journald.conf.d"
printf '[Journal]\nStorage=volatile\nRateLimitBurst=0\n' > "$root/etc/systemd/journald.conf.d/oomharness.conf"

install -m 0644 "$recipe"/units/* "$root/etc/systemd/system/"
install -m 0755 "$recipe/guest/oomharness-job" "$root/usr/local/sbin/"
mkdir -p "$root/opt/oomharness" "$root/var/lib/oomharness"
