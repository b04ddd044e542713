# A snapshot while the L2 Linux streams over virtio-net (issue #11, devices
# that were mid-work): L2 (l2-init test=netstream) sends NET_MIB MiB of
# random bytes to L1 over TCP while L1 sends it as many, through a tap in L1.
# Once both streams are well under way (below), kvmkit snapshots the VM:
#   stop:   --then stop, and a new kvmkit restores it on the same tap;
#   resume: --then resume, the same VM goes on.
# Either way both streams must arrive whole (md5 equal to the sender's), with
# no transmit watchdog or Oops in the guest. TCP retransmits what was lost in
# flight (frames queued in the tap when kvmkit closed it), so this proves the
# device's state came back without anything stuck: no kick or buffer lost.
# Prints KVMKIT-SNAPNET lines; the guest's console follows each round.
net_mib=${net_mib:-32}
bytes=$((net_mib * 1048576))
# The snapshot waits for an eighth of each stream.
mid=$((bytes / 8))

insmod /tun.ko || exit 1
tunctl -t tap0 >/dev/null || exit 1
ip addr add 10.0.2.1/24 dev tap0
ip link set tap0 up
head -c $bytes /dev/urandom >/tmp/to-l2
sum=$(md5sum </tmp/to-l2)
l1_tx=${sum%% *}

size_of() {
    wc -c <"$1" 2>/dev/null || echo 0
}

tap_tx_bytes() {
    cat /sys/class/net/tap0/statistics/tx_bytes
}

# feed: L1's stream for nc, 1 MiB piece k once k MiB of L2's have come
# in (or /tmp/feed-stop exists). Left to itself L1's stream runs 8 to 30
# times as fast as L2's (L2 sends segments of about one MSS where L1 hands
# the tap 64 KiB GSO frames), so it would be over before L2's had got under
# way; kept in step, both are in the middle when the snapshot comes.
feed() {
    k=0
    while [ $k -lt "$net_mib" ]; do
        while [ "$(size_of /tmp/from-l2)" -lt $((k * 1048576)) ] && [ ! -e /tmp/feed-stop ]; do
            sleep 0.02
        done
        [ -e /tmp/feed-stop ] && return
        dd if=/tmp/to-l2 bs=1048576 skip=$k count=1 2>/dev/null
        k=$((k + 1))
    done
}

# wait_mid SECONDS: 0 once L1 has received $mid bytes from L2 and the tap
# has carried $mid bytes to it (this round's, from $tap_base on), 1 when
# SECONDS passed or the guest ended first.
wait_mid() {
    i=0
    while [ "$(size_of /tmp/from-l2)" -lt $mid ] ||
        [ $(($(tap_tx_bytes) - tap_base)) -lt $mid ]; do
        kill -0 $pid 2>/dev/null || return 1
        i=$((i + 1))
        [ $i -gt $(($1 * 50)) ] && return 1
        sleep 0.02
    done
}

# round LABEL THEN: one transfer with a snapshot --then THEN in the middle.
round() {
    label=$1
    then=$2
    log=/tmp/$label.log
    rm -rf /tmp/from-l2 /tmp/hold /tmp/api.sock /tmp/feed-stop "/tmp/snap-$label"
    mkfifo /tmp/hold
    nc -l -p 5000 </tmp/hold >/tmp/from-l2 &
    listener=$!
    exec 3>/tmp/hold
    tap_base=$(tap_tx_bytes)
    t0=$(now_ms)
    /bin/kvmkit run -k /guest/Image -i /guest/initramfs.cpio -m 256M --timeout 600 \
        -p "console=ttyS0 quiet panic=-1 test=netstream net_mib=$net_mib" \
        --net tap=tap0,mac=02:00:00:00:00:22 --api-socket /tmp/api.sock \
        </dev/null >"$log" 2>&1 &
    pid=$!
    sender=
    after_snapshot=
    after_tap=
    if wait_for_line "$log" "KVMKIT-L2-NETSTREAM listening" 120; then
        feed | nc 10.0.2.2 5001 >/dev/null 2>&1 &
        sender=$!
        echo "KVMKIT-SNAPNET $label streams start after $(($(now_ms) - t0)) ms"
    else
        echo "KVMKIT-SNAPNET FAIL $label: the guest did not listen"
    fi
    if [ -n "$sender" ] && wait_mid 120; then
        before="l2-to-l1=$(size_of /tmp/from-l2) l1-to-l2=$(($(tap_tx_bytes) - tap_base))"
        ts=$(now_ms)
        reply=$(ctl snapshot "/tmp/snap-$label" --then "$then")
        rc=$?
        echo "KVMKIT-SNAPNET $label snapshot rc=$rc ms=$(($(now_ms) - ts)) at $before after $(($(now_ms) - t0)) ms"
        if [ $rc != 0 ]; then
            echo "KVMKIT-SNAPNET FAIL $label snapshot: $reply"
            ctl kill >/dev/null
        fi
        after_snapshot=$(size_of /tmp/from-l2)
        after_tap=$(($(tap_tx_bytes) - tap_base))
    else
        echo "KVMKIT-SNAPNET FAIL $label: no transfer to snapshot in the middle of"
    fi
    if [ "$then" = stop ]; then
        wait $pid
        echo "KVMKIT-SNAPNET $label saved rc=$?"
        # What L2 sent is all in L1 now (the VM is gone).
        after_snapshot=$(size_of /tmp/from-l2)
        after_tap=$(($(tap_tx_bytes) - tap_base))
        log=/tmp/$label-restored.log
        rm -f /tmp/api.sock
        restored=yes
        /bin/kvmkit run --restore "/tmp/snap-$label" --api-socket /tmp/api.sock --timeout 600 \
            </dev/null >"$log" 2>&1 &
        pid=$!
    fi
    # Mid-transfer both ways once the snapshot was written: L2 had not sent
    # all of its stream, nor the tap carried all of L1's.
    if [ "${after_snapshot:-$bytes}" -lt $bytes ] && [ "${after_tap:-$bytes}" -lt $bytes ]; then
        echo "KVMKIT-SNAPNET $label mid-transfer yes"
    else
        echo "KVMKIT-SNAPNET FAIL $label: not mid-transfer (l2-to-l1=$after_snapshot l1-to-l2=$after_tap of $bytes)"
    fi
    wait $pid
    rc=$?
    echo "KVMKIT-SNAPNET $label guest rc=$rc ms=$(($(now_ms) - t0))"
    # L2 powers off once L1's stream has all come in: a sender still there
    # never finishes.
    if [ -n "$sender" ]; then
        if [ $rc != 0 ]; then
            touch /tmp/feed-stop
            kill $sender 2>/dev/null
        fi
        wait $sender
        echo "KVMKIT-SNAPNET $label sender rc=$?"
    fi
    kill $listener 2>/dev/null
    wait $listener
    exec 3>&-

    sum=$(md5sum </tmp/from-l2)
    l1_rx=${sum%% *}
    cat "/tmp/$label.log" ${restored:+"/tmp/$label-restored.log"} >/tmp/console
    l2_tx=$(sed -n 's/^KVMKIT-L2-NETSTREAM tx md5=\([0-9a-f]*\).*/\1/p' /tmp/console)
    l2_rx=$(sed -n 's/^KVMKIT-L2-NETSTREAM rx md5=\([0-9a-f]*\).*/\1/p' /tmp/console)
    if [ -n "$l2_tx" ] && [ "$l2_tx" = "$l1_rx" ]; then
        echo "KVMKIT-SNAPNET $label l2-to-l1 ok bytes=$(size_of /tmp/from-l2)"
    else
        echo "KVMKIT-SNAPNET FAIL $label l2-to-l1: l2=$l2_tx l1=$l1_rx bytes=$(size_of /tmp/from-l2)"
    fi
    if [ -n "$l2_rx" ] && [ "$l2_rx" = "$l1_tx" ]; then
        echo "KVMKIT-SNAPNET $label l1-to-l2 ok"
    else
        echo "KVMKIT-SNAPNET FAIL $label l1-to-l2: l1=$l1_tx l2=$l2_rx"
    fi
    echo "KVMKIT-SNAPNET $label console follows"
    cat /tmp/console
    echo
    echo "KVMKIT-SNAPNET $label console ends"
    restored=
    rm -rf "/tmp/snap-$label"
}

restored=
# snapnet_rounds=stop or resume runs one round alone (runner.py --env).
for r in $(echo "${snapnet_rounds:-stop,resume}" | tr , ' '); do
    round $r $r
done
echo "KVMKIT-SNAPNET tap0 $(cat /sys/class/net/tap0/statistics/tx_dropped) tx dropped"
