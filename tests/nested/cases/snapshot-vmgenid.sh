# VM generation ID (issue #11, clones): the L2 is bookworm-backports' 6.12
# kernel (/guest/Image-6.12: Debian 12's 6.1 knows the ID only from ACPI),
# running test=snaprand (tests/guest/l2-init: the vmgenid interrupts so far,
# the kernel's "virtual machine fork" reseeds so far and the md5 of 16 bytes
# of /dev/urandom, ten lines a second). It is snapshotted and three clones
# restore the snapshot at once. With the ID (the default) every clone is
# told of a new generation once (one interrupt, one reseed) and the three
# draw three different byte strings at the same point of their count. The
# same with --no-vmgenid: no device, no reseed, and whether the clones draw
# the same bytes is printed, not required (a timed reseed may come first).

# rand_line LABEL N: LABEL's KVMKIT-L2-RAND line for count N, or nothing.
rand_line() {
    tr -d '\r' <"/tmp/$1.log" | grep -E "^KVMKIT-L2-RAND n=$2 .* urandom=[0-9a-f]{32}$" | tail -n 1
}

# rand_last LABEL: the count of LABEL's last complete RAND line (-1: none).
rand_last() {
    local n
    n=$(tr -d '\r' <"/tmp/$1.log" | grep -E '^KVMKIT-L2-RAND n=[0-9]+ .* urandom=[0-9a-f]{32}$' |
        tail -n 1 | sed 's/^KVMKIT-L2-RAND n=\([0-9]*\) .*/\1/')
    echo "${n:--1}"
}

# field LINE NAME: the value of NAME=VALUE in LINE.
field() {
    echo "$1" | tr ' ' '\n' | sed -n "s/^$2=//p"
}

for mode in on off; do
    opt=
    [ $mode = off ] && opt=--no-vmgenid
    # shellcheck disable=SC2086 # $opt is empty or one word
    snap_run "saved-$mode" -k /guest/Image-6.12 -i /guest/initramfs.cpio \
        -p "console=ttyS0 quiet panic=-1 test=snaprand" -m 256M $opt
    saved=$pid
    snap_wait "saved-$mode" "$saved" '^KVMKIT-L2-RAND n=20 ' 180 ||
        snap_fail "the $mode guest did not get going"
    ready=$(tr -d '\r' <"/tmp/saved-$mode.log" | grep -m1 '^KVMKIT-L2-SNAP-READY')
    echo "KVMKIT-VMGENID $mode booted $(echo "$ready" | cut -d' ' -f2)"
    reply=$(snap_ctl "saved-$mode" snapshot "/tmp/snap-$mode" --then stop)
    rc=$?
    wait "$saved"
    echo "KVMKIT-VMGENID $mode snapshot rc=$rc exit=$? ok=$(echo "$reply" | grep -c '"ok":true')"
    count=$(rand_last "saved-$mode")
    line=$(rand_line "saved-$mode" "$count")
    echo "KVMKIT-VMGENID $mode before-snapshot vmgenid-irqs=$(field "$line" vmgenid-irqs) forks=$(field "$line" forks)"
    pids=
    for c in 1 2 3; do
        snap_run "$mode-clone$c" --restore "/tmp/snap-$mode"
        pids="$pids $pid"
    done
    c=0
    for p in $pids; do
        c=$((c + 1))
        snap_wait "$mode-clone$c" "$p" "^KVMKIT-L2-RAND n=$((count + 10)) " 180 ||
            snap_fail "$mode-clone$c did not count on"
    done
    for c in 1 2 3; do
        snap_ctl "$mode-clone$c" kill >/dev/null
    done
    for p in $pids; do
        wait "$p"
    done
    # Five lines after the restore: past a line the snapshot may have cut.
    at=$((count + 5))
    draws=
    for c in 1 2 3; do
        line=$(rand_line "$mode-clone$c" "$at")
        [ -n "$line" ] || snap_fail "$mode-clone$c has no line n=$at"
        echo "KVMKIT-VMGENID $mode clone$c n=+5 vmgenid-irqs=$(field "$line" vmgenid-irqs) forks=$(field "$line" forks)"
        draws="$draws $(field "$line" urandom)"
    done
    # shellcheck disable=SC2086 # one draw a word
    distinct=$(printf '%s\n' $draws | sort -u | wc -l)
    echo "KVMKIT-VMGENID $mode distinct-draws=$distinct of 3:$draws"
done
for l in saved-on on-clone1 saved-off off-clone1; do
    snap_show "$l"
done
