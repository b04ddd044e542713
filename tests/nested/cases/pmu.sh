# --pmu: the L2 Linux finds the PMU kvmkit describes (an armv8_pmuv3 perf
# source, its PPI 7 = INTID 23 interrupt) and counts a loop's cycles
# with perf_event_open (kvmkit-pmu-count, handed to L2 as a
# disk: l2-init test=pmu runs /dev/vda). Without --pmu it finds none.
dd if=/bin/kvmkit-pmu-count of=/tmp/pmu-count.img bs=512 conv=sync 2>/dev/null
boot_l2 pmu pmu --pmu --disk /tmp/pmu-count.img,ro
boot_l2 nopmu pmu
