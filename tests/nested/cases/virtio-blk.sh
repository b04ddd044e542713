# virtio-blk: the L2 guest (tests/guest/l2-init, test=blk) reads a pattern
# from a raw image and writes others at known offsets; L1 applies the same
# writes to a copy with its own tools and compares every byte. A read-only
# disk refuses a write and stays as it was. A bad image is refused up front.

# md5 of the first MiB of FILE
first_mib_md5() {
    sum=$(head -c 1048576 "$1" | md5sum)
    echo "${sum%% *}"
}

# 8 MiB: a random first MiB, "X" lines at 5-6 MiB (to be discarded), zeroes.
dd if=/dev/urandom of=/tmp/pattern-a bs=1M count=1 2>/dev/null
dd if=/dev/zero of=/tmp/disk.img bs=1M count=8 2>/dev/null
dd if=/tmp/pattern-a of=/tmp/disk.img conv=notrunc 2>/dev/null
yes X | head -c 1048576 | dd of=/tmp/disk.img bs=1M seek=5 conv=notrunc 2>/dev/null
cp /tmp/disk.img /tmp/ro.img

# What the guest's writes must make of it (the same commands as l2-init's).
cp /tmp/disk.img /tmp/expected.img
yes KVMKIT-L2-PATTERN-B | head -c 1048576 |
    dd of=/tmp/expected.img bs=512 seek=4099 conv=notrunc 2>/dev/null
dd if=/tmp/pattern-a of=/tmp/expected.img bs=4096 count=16 seek=1792 conv=notrunc 2>/dev/null
dd if=/dev/zero of=/tmp/expected.img bs=1M count=1 seek=5 conv=notrunc 2>/dev/null

boot_l2 blk blk --disk /tmp/disk.img,serial=kvmkit-disk-0 --console-log /tmp/blk.log
if grep -q "read-md5=$(first_mib_md5 /tmp/pattern-a)" /tmp/blk.log; then
    echo "KVMKIT-BLK read ok"
fi
if cmp /tmp/expected.img /tmp/disk.img; then
    echo "KVMKIT-BLK image ok"
fi

before=$(md5sum </tmp/ro.img)
boot_l2 blkro blkro --disk /tmp/ro.img,ro --console-log /tmp/ro.log
if grep -q "read-md5=$(first_mib_md5 /tmp/ro.img)" /tmp/ro.log; then
    echo "KVMKIT-BLKRO read ok"
fi
if [ "$(md5sum </tmp/ro.img)" = "$before" ]; then
    echo "KVMKIT-BLKRO image unchanged"
fi

head -c 1000 /dev/zero >/tmp/odd.img
/bin/kvmkit run -k /guest/Image --disk /tmp/odd.img >/tmp/out 2>/tmp/err
echo "KVMKIT-BLK-BAD rc=$? lines=$(wc -l </tmp/err) msg=$(cat /tmp/err)"
