# Diff snapshots of a real L2 Linux (issue #11): a full snapshot, two diffs
# over it and a full snapshot at the second diff's point. The restore of
# base + diffs, started --paused and snapshotted at once, must hold the
# same memory, byte for byte, as that full snapshot; resumed, the guest runs and
# shuts itself down at the power key. Prints KVMKIT-DIFF lines.

# snap NAME [ctl args]: prints the result and the diff's page count.
snap() {
    name=$1
    shift
    reply=$(ctl snapshot "/tmp/$name" "$@")
    rc=$?
    pages=$(echo "$reply" | sed -n 's/.*"diff-pages":\([0-9]*\).*/\1/p')
    echo "KVMKIT-DIFF $name rc=$rc${pages:+ diff-pages=$pages}"
    [ $rc = 0 ] || echo "KVMKIT-DIFF FAIL $name: $reply"
}

# same_ram A B: the guest RAM in two snapshots' memory files is the same
# (their header pages, which name the snapshot, left out).
same_ram() {
    cmp -s "/tmp/$1/memory" "/tmp/$2/memory" 4096 4096
}

start_l2 saved hang --diff-snapshots
wait_for_line /tmp/saved.log KVMKIT-L2-BOOT-OK 90 || echo "KVMKIT-DIFF FAIL no boot"
snap base
snap d1 --diff
ctl pause >/dev/null
snap d2 --diff
snap full
ctl kill >/dev/null
wait $pid
echo "KVMKIT-DIFF saved rc=$?"

rm -f /tmp/api.sock
/bin/kvmkit run --restore /tmp/d2 --paused --api-socket /tmp/api.sock --timeout 120 \
    </dev/null >/tmp/restored.log 2>&1 &
pid=$!
i=0
while [ ! -S /tmp/api.sock ] && [ $i -lt 3000 ] && kill -0 $pid 2>/dev/null; do
    i=$((i + 1))
    sleep 0.02
done
echo "KVMKIT-DIFF restored $(ctl status | sed -n 's/.*"state":"\([a-z]*\)".*/state=\1/p')"
snap again
if same_ram again full; then
    echo "KVMKIT-DIFF memory equal"
else
    echo "KVMKIT-DIFF FAIL base + diffs restored to other memory than the full snapshot's"
fi
same_ram base full || echo "KVMKIT-DIFF base differs"
ctl resume >/dev/null
ctl stop >/dev/null
wait $pid
rc=$?
grep -q KVMKIT-L2-POWEROFF /tmp/restored.log && marker=yes || marker=no
echo "KVMKIT-DIFF restored rc=$rc poweroff=$marker"
