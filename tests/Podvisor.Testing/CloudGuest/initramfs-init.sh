#!/bin/busybox sh
# The cloud guest's initramfs: Debian's kernel has virtio and ext4 as modules, so load them (in modules.dep
# order), then switch to the root disk, /dev/vda, and its /sbin/podvisor-guest-init.
/bin/busybox --install -s /bin
mount -t proc proc /proc; mount -t sysfs sys /sys; mount -t devtmpfs dev /dev
# insmod, unlike modprobe, does not take a module's parameters from the kernel command line: pass them on.
for path in $(cat /modules.list); do
  file=${path##*/}; name=${file%%.ko*}; params=""
  for word in $(cat /proc/cmdline); do case "$word" in "$name".*=*) params="$params ${word#"$name".}";; esac; done
  insmod "/modules/$file" $params || echo "podvisor-initramfs: insmod $file failed"
done
i=0
while [ ! -b /dev/vda ] && [ $i -lt 50 ]; do sleep 0.1; i=$((i + 1)); done
if ! mount -t ext4 /dev/vda /newroot; then
  echo "podvisor-initramfs: no root disk on /dev/vda; virtio devices: $(ls /sys/bus/virtio/devices)"
  echo o > /proc/sysrq-trigger
fi
umount /proc /sys
mount --move /dev /newroot/dev
exec switch_root /newroot /sbin/podvisor-guest-init
