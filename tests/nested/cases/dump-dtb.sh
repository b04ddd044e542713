# The device tree kvmkit built, sent to the host (base64) to be checked by dtc.
boot_l2 dtb poweroff -c 2 --dump-dtb /tmp/kvmkit.dtb
echo "KVMKIT-DTB-BEGIN"
base64 /tmp/kvmkit.dtb
echo "KVMKIT-DTB-END"
