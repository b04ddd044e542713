# A snapshot of an L2 booted with --pmu (a machine setting the snapshot
# keeps): the restore builds the vCPUs with their PMU again (KVM_ARM_VCPU_PMU_V3,
# the PPI, INIT after the vGIC), loads their registers, the PMU's among them
# (a vCPU without a PMU has no such registers, and the load checks every id
# against the vCPU before it sets any), and the guest (l2-init
# test=snapcount) counts on.
snap_boot saved --pmu
# shellcheck disable=SC2154 # set by snap_run (snapshot-common.sh)
saved=$pid
snap_wait saved "$saved" '^KVMKIT-L2-COUNT n=5$' 120 || snap_fail "the saved guest did not get going"
reply=$(snap_ctl saved snapshot /tmp/snap --then stop)
echo "KVMKIT-SNAPPMU snapshot rc=$? reply=$reply"
wait "$saved"
echo "KVMKIT-SNAPPMU saved rc=$?"
count=$(snap_last saved COUNT)
snap_run restored --restore /tmp/snap
snap_wait restored "$pid" "^KVMKIT-L2-COUNT n=$((count + 10))$" 120 || snap_fail "the restored guest did not count on"
echo "KVMKIT-SNAPPMU restored counted from $count to $((count + 10))"
snap_stop restored "$pid"
snap_show restored
