# vCPU and GIC state of a paused L2 saved, loaded back and saved again
# (tests/nested/programs/cpu_state_l2.c), then the guest resumed and shut
# down by its power key: its interrupts and timers survived the round trip.
# l2_cpus=N (runner --env) gives L2 N vCPUs.
/bin/kvmkit-cpu-state-l2 /guest/Image /guest/initramfs.cpio "${l2_cpus:-1}"
printf '\nKVMKIT-RC cpustate %s\n' "$?"
