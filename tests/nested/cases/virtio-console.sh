# hvc0 as the L2 console (--console virtio, console=hvc0): the guest reports
# the active console, reads a line typed on kvmkit's stdin, and --expect sees
# text that only went through virtio-console.
echo "hello-from-l1" | /bin/kvmkit run -k /guest/Image -i /guest/initramfs.cpio -m 256M \
    --timeout 60 --console virtio -p "console=hvc0 quiet panic=-1 test=hvc"
rc=$?
echo; echo "KVMKIT-RC hvc $rc"
/bin/kvmkit run -k /guest/Image -i /guest/initramfs.cpio -m 256M --timeout 60 \
    --console virtio -p "console=hvc0 quiet panic=-1 test=hang" \
    --expect "KVMKIT-L2-BOOT-OK" --console-log /tmp/hvc.log >/dev/null
rc=$?
echo; echo "KVMKIT-RC hvc-expect $rc"
echo "KVMKIT-HVC log: $(grep -c KVMKIT-L2-BOOT-OK /tmp/hvc.log)"
