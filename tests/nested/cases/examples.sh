# examples/boot-and-wait and examples/fleet, built against the installed
# libkvmkit.a through kvmkit.pc (tests/examples/build.py), boot real L2
# guests and stop them gracefully (the power key).
settings="kernel=/guest/Image initrd=/guest/initramfs.cpio"
/bin/boot-and-wait KVMKIT-L2-BOOT-OK $settings memory=256M \
    "cmdline=console=ttyS0 quiet panic=-1 test=hang"
echo "KVMKIT-EXAMPLE boot-and-wait rc=$?"
/bin/fleet 2 KVMKIT-L2-BOOT-OK $settings memory=128M \
    "cmdline=console=ttyS0 quiet panic=-1 test=hang"
echo "KVMKIT-EXAMPLE fleet rc=$?"
