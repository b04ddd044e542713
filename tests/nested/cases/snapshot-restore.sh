# Snapshot and restore of a Linux L2 (issue #11): the guest counts on its
# console and writes numbered records to its disk (test=snapcount); kvmkit
# ctl snapshot --then stop saves it, and new kvmkit processes restore it.
# Each restored console, after the saved one, must be one unbroken count
# (the line a snapshot cut short is finished by the restored guest: nothing
# lost, nothing repeated), the records go on from the next number, the image
# holds every record in order, and the guest shuts down by its power key.
# Then ten more restores of the same snapshot, each from the image as it
# was at the snapshot (a copy keeping its mtime, as kvmkit compares it),
# each prefetching the working set the first restore recorded.
# l2_cpus=N (runner --env) gives L2 N vCPUs.
cpus=${l2_cpus:-1}

dd if=/dev/zero of=/tmp/disk.img bs=1M count=1 2>/dev/null
snap_boot saved -c "$cpus" --disk /tmp/disk.img
# shellcheck disable=SC2154 # set by snap_run (snapshot-common.sh)
saved=$pid
snap_wait saved "$saved" '^KVMKIT-L2-DISK n=5$' 120 || snap_fail "the saved guest did not get going"
echo "KVMKIT-SNAP saved $(tr -d '\r' </tmp/saved.log | grep -m1 '^KVMKIT-L2-BOOT-OK')"
reply=$(snap_ctl saved snapshot /tmp/snap --then stop)
echo "KVMKIT-SNAP snapshot rc=$? reply=$reply"
wait "$saved"
echo "KVMKIT-SNAP saved rc=$?"
cp -p /tmp/disk.img /tmp/snapdisk.img
count=$(snap_last saved COUNT)
disk=$(snap_last saved DISK)
cut=no
[ "$(tail -c 1 /tmp/saved.log | od -An -tx1 | tr -d ' ')" = 0a ] || cut=yes
echo "KVMKIT-SNAP saved at count=$count disk=$disk cut=$cut"
snap_image saved /tmp/snapdisk.img saved
snap_show saved

# restore LABEL COUNTS RECORDS [kvmkit args]: a restore of /tmp/snap on a
# fresh copy of the snapshot's image, run until it printed COUNTS counts and
# RECORDS records past the snapshot's, then stopped.
restore() {
    local label=$1 counts=$2 records=$3
    shift 3
    cp -p /tmp/snapdisk.img /tmp/disk.img
    snap_run "$label" --restore /tmp/snap "$@"
    set -- "$label" "$counts" "$records"
    snap_wait "$1" "$pid" "^KVMKIT-L2-COUNT n=$((count + $2))$" 120 ||
        snap_fail "$1 did not count on"
    snap_wait "$1" "$pid" "^KVMKIT-L2-DISK n=$((disk + $3))$" 120 ||
        snap_fail "$1 did not write on"
    snap_stop "$1" "$pid"
    snap_continues "$1" "$count" "$disk" saved "$1"
    snap_image "$1" /tmp/disk.img "$1"
    grep '^kvmkit stats: working_set ' "/tmp/$1.err" >"/tmp/$1.ws"
    sed -i '/^kvmkit stats: /d' "/tmp/$1.err"
    snap_show "$1"
}

# The first restore records its working set (the pages its guest touched in
# its first 3 s, or until it stopped); the ten after it prefetch it.
# Their --stats lines are taken out of kvmkit's standard error before it is
# shown, so that anything else there (a warning) still fails the case.
restore restored 30 6 --record-working-set 3000
echo "KVMKIT-SNAP restored working-set bytes=$(wc -c </tmp/snap/working-set)"
i=1
while [ $i -le 10 ]; do
    restore "again$i" 10 2 --stats
    echo "KVMKIT-SNAP again$i $(grep -o 'working_set used=[a-z]* pages=[0-9]*' "/tmp/again$i.ws")"
    i=$((i + 1))
done
