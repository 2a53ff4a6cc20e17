#!/bin/sh
# PID 1 of the cloud guest: no systemd (too slow where every instruction is emulated), but cloud-init's four
# boot stages in the order its systemd units run them, then a shell on the serial console.
export PATH=/usr/local/sbin:/usr/local/bin:/usr/sbin:/usr/bin:/sbin:/bin HOME=/root TERM=linux
mount -t proc proc /proc; mount -t sysfs sys /sys; mount -t tmpfs -o mode=0755 tmpfs /run; mount -t tmpfs tmpfs /tmp
mkdir -p /dev/pts && mount -t devpts devpts /dev/pts
mount -o remount,rw /
ip link set lo up
uptime() { cut -d' ' -f1 /proc/uptime; }
echo "podvisor-guest: root up at $(uptime) s"
# The power button powers off cleanly, as systemd-logind makes it do on a full Debian.
button=/sys/firmware/acpi/interrupts/ff_pwr_btn
if [ -r $button ]; then
  (while read -r presses _ < $button && [ "$presses" = 0 ]; do sleep 1; done
   echo "podvisor-guest: power button: powering off"; sync; mount -o remount,ro /; echo o > /proc/sysrq-trigger) &
fi
stage() {
  cloud-init "$@"
  echo "podvisor-guest: cloud-init $* exit=$? at $(uptime) s"
}
stage init --local
# networking.service's part, between cloud-init-local and cloud-init: bring up what cloud-init-local wrote to
# /etc/network/interfaces.d from the seed's network configuration.
mkdir -p /run/network
ifup -a --read-environment
echo "podvisor-guest: ifup -a exit=$? at $(uptime) s"
stage init
stage modules --mode=config
stage modules --mode=final
echo "podvisor-guest: cloud-init done"
# The shell's exit would end PID 1 (a kernel panic); start another.
while true; do
  setsid -c -w sh -i </dev/ttyS0 >/dev/ttyS0 2>&1
done
