# virtio-net over a tap in L1: L2 (l2-init test=net) and L1 exchange 1 MiB
# files in both directions with busybox nc and compare md5 sums. The listeners'
# stdin is a fifo held open, so that nc does not half-close the connection
# (which ends the sender) before the transfer is done.
insmod /tun.ko || exit 1
tunctl -t tap0 >/dev/null || exit 1
ip addr add 10.0.2.1/24 dev tap0
ip link set tap0 up
head -c 1048576 /dev/urandom >/tmp/to-l2
sum=$(md5sum </tmp/to-l2)
l1_tx=${sum%% *}

mkfifo /tmp/hold
nc -l -p 5000 </tmp/hold >/tmp/from-l2 &
listener=$!
exec 3>/tmp/hold

# Sends to L2 once its listener is up (ARP and connect fail until then).
(
    tries=0
    until nc 10.0.2.2 5001 </tmp/to-l2 >/dev/null 2>&1; do
        tries=$((tries + 1))
        [ $tries -lt 90 ] || exit 1
        sleep 1
    done
) &
sender=$!

/bin/kvmkit run -k /guest/Image -i /guest/initramfs.cpio -m 256M --timeout 120 \
    -p "console=ttyS0 quiet panic=-1 test=net" --net tap=tap0,mac=02:00:00:00:00:22 \
    --console-log /tmp/l2.log
echo "KVMKIT-RC net $?"
kill $sender $listener 2>/dev/null
wait $sender
echo "KVMKIT-NET sender rc=$?"
exec 3>&-

sum=$(md5sum </tmp/from-l2)
l1_rx=${sum%% *}
l2_tx=$(sed -n 's/^KVMKIT-L2-NET tx md5=\([0-9a-f]*\).*/\1/p' /tmp/l2.log)
l2_rx=$(sed -n 's/^KVMKIT-L2-NET rx md5=\([0-9a-f]*\).*/\1/p' /tmp/l2.log)
if [ -n "$l2_tx" ] && [ "$l2_tx" = "$l1_rx" ]; then
    echo "KVMKIT-NET l2-to-l1 ok bytes=$(wc -c </tmp/from-l2)"
else
    echo "KVMKIT-NET l2-to-l1 mismatch l2=$l2_tx l1=$l1_rx bytes=$(wc -c </tmp/from-l2)"
fi
if [ -n "$l2_rx" ] && [ "$l2_rx" = "$l1_tx" ]; then
    echo "KVMKIT-NET l1-to-l2 ok"
else
    echo "KVMKIT-NET l1-to-l2 mismatch l1=$l1_tx l2=$l2_rx"
fi
echo "KVMKIT-NET tap0 $(cat /sys/class/net/tap0/statistics/rx_packets) rx packets, $(cat /sys/class/net/tap0/statistics/tx_dropped) tx dropped"
