# Nested virtualization (issue #12): kvmkit --nested boots an L2 Linux at
# EL2 (l2-init test=hypervisor), whose KVM comes up with a vGIC; inside it
# the same kvmkit boots an L3 Linux (l2-init test=l3). Exit codes travel
# up: L3 powers off -> L2's kvmkit exits 0 -> L2 powers off -> this kvmkit
# exits 0. l2_cpus / l3_cpus (from the runner's --env) size L2 and L3;
# nv_mode=nvhe starts L2 with --nested=nvhe (E2H0), whose bounds nv_factor
# multiplies.
# Upper bounds: an L3 boot took 6 to 56 s here (NESTED-ARM64.md), an L2 at
# EL2 about 10 s; both scaled by KVMKIT_TEST_TIME_FACTOR. Under nvhe, L2's
# KVM came up after a soft lockup of ~90 s and its L3 took ~160 s.
factor=$((${KVMKIT_TEST_TIME_FACTOR:-1} * ${nv_factor:-1}))
# shellcheck disable=SC2046 # md5sum prints "<sum>  <file>"
set -- $(md5sum /bin/kvmkit)
echo "KVMKIT-NV l1 kvmkit-md5=$1"
/bin/kvmkit run -k /guest/Image -i /guest/l2hv.cpio --nested${nv_mode:+=$nv_mode} -c "${l2_cpus:-1}" -m 768M \
    -p "console=ttyS0 quiet panic=-1 test=hypervisor l1_kvmkit_md5=$1 l3_cpus=${l3_cpus:-1} l3_timeout=$((240 * factor))" \
    --timeout $((360 * factor))
rc=$?
printf '\nKVMKIT-RC nv %s\n' "$rc"
