# arm64-specific bad input: each run must fail with exit code 2 and one message
# naming the file, before any guest runs.
check() {
    label=$1
    shift
    /bin/kvmkit run "$@" >/tmp/out 2>/tmp/err
    rc=$?
    echo "KVMKIT-BAD $label rc=$rc lines=$(wc -l </tmp/err) msg=$(cat /tmp/err)"
}
head -c 1000000 /guest/Image >/tmp/truncated
check truncated -k /tmp/truncated
check not-an-image -k /guest/initramfs.cpio
head -c 40 /guest/Image >/tmp/tiny
check tiny -k /tmp/tiny
dd if=/dev/zero of=/tmp/big-initrd bs=1M count=80 2>/dev/null
check initrd-too-big -k /guest/Image -i /tmp/big-initrd -m 64M
check kernel-too-big -k /guest/Image -m 16M
check cpus-over-limit -k /guest/Image -c 65
: >/tmp/empty
check raw-empty -k /tmp/empty --kernel-format raw
check raw-too-big -k /tmp/big-initrd --kernel-format raw -m 64M
check kernel-format-bad -k /guest/Image --kernel-format elf
