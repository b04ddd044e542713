# kvmkit --nested keeps doing what it does without it (issue #12 item 3),
# one L1 (7.3, kvm-arm.mode=nested) and several L2s started at EL2, with
# 2 vCPUs (the secondary started through PSCI over smc): exit codes
# (poweroff 0, reboot 3, panic 4), a device (virtio-rng), and graceful
# stops (kvmkit ctl stop, SIGTERM) heard through the power key.
# An L2 at EL2 boots in 10 to 20 s here, and its 1 MiB from virtio-rng took
# over 50 s: boot_l2's 60 s are too few (a later --timeout wins).
factor=${KVMKIT_TEST_TIME_FACTOR:-1}
t=$((300 * factor))
boot_l2 nv-poweroff poweroff --nested -c 2 --timeout $t
boot_l2 nv-reboot reboot --nested -c 2 --timeout $t
boot_l2 nv-panic panic --nested -c 2 --timeout $t
boot_l2 nv-rng rng --nested -c 2 --rng --timeout $t

start_l2 nv-ctlstop hang --nested -c 2 --timeout $t --stop-timeout $((30 * factor))
wait_for_line /tmp/nv-ctlstop.log KVMKIT-L2-POWER-KEY $((90 * factor))
# A snapshot of a --nested VM is refused (its EL2 state is not saved), and
# the VM runs on.
reply=$(ctl snapshot /tmp/nvsnap)
rc=$?
made=no
[ -e /tmp/nvsnap ] && made=yes
echo "KVMKIT-NVSNAP rc=$rc made=$made reply=$reply"
ctl stop >/dev/null
wait "$pid"
rc=$?
marker=no
grep -q KVMKIT-L2-POWEROFF /tmp/nv-ctlstop.log && marker=yes
echo "KVMKIT-NVSTOP ctlstop rc=$rc marker=$marker"

start_l2 nv-sigterm hang --nested -c 2 --timeout $t --stop-timeout $((30 * factor))
wait_for_line /tmp/nv-sigterm.log KVMKIT-L2-POWER-KEY $((90 * factor))
kill -TERM "$pid"
wait "$pid"
rc=$?
marker=no
grep -q KVMKIT-L2-POWEROFF /tmp/nv-sigterm.log && marker=yes
echo "KVMKIT-NVSTOP sigterm rc=$rc marker=$marker"
