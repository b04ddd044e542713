# Shared by the nested cases: boots the L2 guest with kvmkit and prints
# "KVMKIT-RC <label> <exit code>". Arguments after the label go to kvmkit.
# The result starts on a line of its own: a guest stopped by --expect or a
# timeout may have been in the middle of a line.
boot_l2() {
    label=$1
    test_name=$2
    shift 2
    /bin/kvmkit run -k /guest/Image -i /guest/initramfs.cpio \
        -p "console=ttyS0 quiet panic=-1 test=$test_name" -m 256M --timeout 60 "$@"
    rc=$?
    printf '\nKVMKIT-RC %s %s\n' "$label" "$rc"
}
