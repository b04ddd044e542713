# --nested where the L1's KVM does not offer nested virtualization (the
# default 6.1 L1): refused before any guest runs, exit code 2 (bad input),
# one line naming what is missing. A bad mode is refused as bad input too.
check() {
    label=$1
    shift
    /bin/kvmkit run -k /guest/Image -i /guest/initramfs.cpio -p "console=ttyS0 quiet" "$@" \
        >/tmp/out 2>/tmp/err
    rc=$?
    echo "KVMKIT-NVBAD $label rc=$rc lines=$(wc -l </tmp/err) out=$(wc -c </tmp/out) msg=$(cat /tmp/err)"
}
check vhe --nested
check nvhe --nested=nvhe
check bad-mode --nested=el3
# The same kvmkit without --nested still boots L2 here.
boot_l2 plain poweroff
