# Data safety: the L2 guest (test=blksync) writes 1 MiB with conv=fsync and
# then prints a marker; kvmkit is killed with SIGKILL as soon as the marker
# reaches its console log, and the data must be in the image.
dd if=/dev/zero of=/tmp/sync.img bs=1M count=4 2>/dev/null
/bin/kvmkit run -k /guest/Image -i /guest/initramfs.cpio \
    -p "console=ttyS0 quiet panic=-1 test=blksync" -m 256M --timeout 60 \
    --disk /tmp/sync.img --console-log /tmp/sync.log --no-stdio &
pid=$!
i=0
while ! grep -q KVMKIT-L2-BLKSYNC /tmp/sync.log 2>/dev/null && [ $i -lt 600 ]; do
    usleep 100000
    i=$((i + 1))
done
kill -9 $pid
wait $pid
echo "KVMKIT-RC sigkill $?"
grep -a KVMKIT-L2-BLKSYNC /tmp/sync.log | tr -d '\r'
yes KVMKIT-L2-SYNCED-DATA | head -c 1048576 >/tmp/sync.expected
if dd if=/tmp/sync.img bs=65536 skip=16 count=16 2>/dev/null | cmp - /tmp/sync.expected; then
    echo "KVMKIT-BLKSYNC data ok"
fi
