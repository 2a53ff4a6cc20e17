#!/bin/busybox sh
# /init of the emulated KVM host ("L1"), booted by Podvisor under QEMU TCG with an emulated AMD-V CPU.
# Loads kvm_amd, mounts the host's root read-only over virtio-9p with a tmpfs overlay, mounts the
# writable shares, then serves jobs: the host writes "run ID" on the podvisor.ctl port; the job script
# /l1ctl/job-ID.sh runs chrooted in the host's root with stdout/stderr on the podvisor.out/err ports
# ("run-stdin ID": with stdin on the podvisor.in port, else /dev/null);
# "\001PVDONE ID RC\001" on both ports ends it. "exit" (or the host hanging up) powers L1 off.
/bin/busybox --install -s /bin
export PATH=/bin
mount -t proc proc /proc; mount -t sysfs sys /sys; mount -t devtmpfs dev /dev
log() { echo "L1: [$(cut -d' ' -f1 /proc/uptime)] $*"; }
log "init started"
for m in $(cat /modules.list); do insmod "/modules/$(basename "$m")" || log "insmod $m failed"; done
[ -c /dev/kvm ] && log "/dev/kvm present" || log "NO /dev/kvm"
ip link set lo up || log "loopback failed"     # jobs talk to themselves over 127.0.0.1, as on any machine
mkdir -p /ctl /ro /rw /newroot
mount -t 9p -o trans=virtio,version=9p2000.L,msize=512000,cache=none ctl /ctl || log "ctl mount failed"
mount -t 9p -o trans=virtio,version=9p2000.L,msize=512000,cache=loose,ro hostfs /ro || log "hostfs mount failed"
mount -t tmpfs -o size=75% tmpfs /rw && mkdir -p /rw/upper /rw/work
if mount -t overlay -o lowerdir=/ro,upperdir=/rw/upper,workdir=/rw/work overlay /newroot; then R=/newroot
else log "overlay failed, using the read-only root"; R=/ro; fi
mount -t proc proc $R/proc; mount -t sysfs sys $R/sys; mount -t devtmpfs dev $R/dev
mkdir -p $R/dev/pts $R/dev/shm; mount -t devpts devpts $R/dev/pts; mount -t tmpfs tmpfs $R/dev/shm
mount -t tmpfs tmpfs $R/run
mkdir -p $R/l1ctl; mount --bind /ctl $R/l1ctl
i=0
while read -r path; do
  [ -n "$path" ] || continue
  mkdir -p "$R$path"
  mount -t 9p -o trans=virtio,version=9p2000.L,msize=512000,cache=mmap "rw$i" "$R$path" || log "share $path failed"
  i=$((i+1))
done < /ctl/shares
for p in /sys/class/virtio-ports/*; do n=$(cat "$p/name" 2>/dev/null); d=/dev/$(basename "$p")
  [ "$n" = podvisor.ctl ] && CTL=$d; [ "$n" = podvisor.out ] && OUT=$d; [ "$n" = podvisor.err ] && ERR=$d
  [ "$n" = podvisor.in ] && IN=$d; done
if [ -z "$CTL" ] || [ -z "$OUT" ] || [ -z "$ERR" ] || [ -z "$IN" ]; then log "virtio-serial ports missing"; poweroff -f; fi
exec 3<"$CTL" 4>"$OUT" 5>"$ERR"
log "ready"
printf '\001PVREADY %s\001' "$(cut -d' ' -f1 /proc/uptime)" >&4
while read -r cmd id <&3; do
  case "$cmd" in
    run|run-stdin)
      log "job $id started"
      if [ "$cmd" = run-stdin ]; then chroot $R /bin/sh "/l1ctl/job-$id.sh" <"$IN" >&4 2>&5
      else chroot $R /bin/sh "/l1ctl/job-$id.sh" </dev/null >&4 2>&5; fi
      rc=$?
      log "job $id exited rc=$rc"
      printf '\001PVDONE %s %s\001' "$id" "$rc" >&5
      printf '\001PVDONE %s %s\001' "$id" "$rc" >&4 ;;
    exit) break ;;
  esac
done
log "powering off"
sync
poweroff -f
