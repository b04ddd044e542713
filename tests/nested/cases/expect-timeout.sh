# --expect ends a guest that would run forever as soon as the text shows;
# --timeout ends it with 124.
boot_l2 expect hang --expect KVMKIT-L2-BOOT-OK
start=$(date +%s)
/bin/kvmkit run -k /guest/Image -i /guest/initramfs.cpio -p "console=ttyS0 quiet test=hang" --timeout 6
rc=$?
echo; echo "KVMKIT-RC timeout $rc after $(( $(date +%s) - start ))s"
