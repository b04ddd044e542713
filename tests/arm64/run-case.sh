# /test.sh of an arm64 suite case (tests/arm64/meson.build): runs case
# $arm64_case (from the L1 command line) of the test program $arm64_prog
# the runner put in /bin, on this L1's /dev/kvm, with the guests in /guests. L2 is a flat
# test guest under nested TCG: waits and timeouts scale by 10, as in the
# x86_64 L1 tier.
export KVMKIT_HOST_GUESTS=/guests
export KVMKIT_TEST_TIME_FACTOR=10
export CK_TIMEOUT_MULTIPLIER=10
echo "KVMKIT-ARM64 l1-kernel $(uname -r)"
"/bin/${arm64_prog:-kvmkit-arm64-guest-test}" "$arm64_case"
rc=$?
printf '\nKVMKIT-ARM64 %s rc=%s\n' "$arm64_case" "$rc"
exit "$rc"
