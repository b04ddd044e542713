# Clones (issue #11): three kvmkit processes restore one snapshot of a
# counting L2 (test=snapcount, no disk: a clone cannot be given a disk of
# its own yet) at the same time. Each console, after the saved one, must be
# one unbroken count from where the saved one stood; while clone1 is paused
# the other two count on and clone1 prints nothing, then it counts on. All
# three stop by their power key and exit 0.
snap_boot saved
# shellcheck disable=SC2154 # set by snap_run (snapshot-common.sh)
saved=$pid
snap_wait saved "$saved" '^KVMKIT-L2-COUNT n=20$' 120 || snap_fail "the saved guest did not get going"
reply=$(snap_ctl saved snapshot /tmp/snap --then stop)
echo "KVMKIT-SNAP snapshot rc=$? reply=$reply"
wait "$saved"
echo "KVMKIT-SNAP saved rc=$?"
count=$(snap_last saved COUNT)
echo "KVMKIT-SNAP saved at count=$count"
snap_show saved

snap_run clone1 --restore /tmp/snap
pid1=$pid
snap_run clone2 --restore /tmp/snap
pid2=$pid
snap_run clone3 --restore /tmp/snap
pid3=$pid
for c in "clone1 $pid1" "clone2 $pid2" "clone3 $pid3"; do
    # shellcheck disable=SC2086 # "LABEL PID" split on purpose
    set -- $c
    snap_wait "$1" "$2" "^KVMKIT-L2-COUNT n=$((count + 10))$" 120 || snap_fail "$1 did not count on"
done

echo "KVMKIT-SNAP clone1 pause $(snap_ctl clone1 pause)"
# What clone1 shows once its last line reached the log (the others count
# 10 on meanwhile), against what it shows after they counted 20 more.
c2=$(snap_last clone2 COUNT)
c3=$(snap_last clone3 COUNT)
snap_wait clone2 "$pid2" "^KVMKIT-L2-COUNT n=$((c2 + 10))$" 120 || snap_fail "clone2 stopped with clone1"
paused=$(snap_last clone1 COUNT)
snap_wait clone2 "$pid2" "^KVMKIT-L2-COUNT n=$((c2 + 30))$" 120 || snap_fail "clone2 stopped with clone1"
snap_wait clone3 "$pid3" "^KVMKIT-L2-COUNT n=$((c3 + 30))$" 120 || snap_fail "clone3 stopped with clone1"
after=$(snap_last clone1 COUNT)
still=no
[ "$after" = "$paused" ] && still=yes
echo "KVMKIT-SNAP clone1 paused-at=$paused still=$still while clone2 and clone3 counted 20 on"
echo "KVMKIT-SNAP clone1 resume $(snap_ctl clone1 resume)"
snap_wait clone1 "$pid1" "^KVMKIT-L2-COUNT n=$((paused + 20))$" 120 ||
    snap_fail "clone1 did not count on after resume"

t0=$(now_ms)
for c in clone1 clone2 clone3; do
    snap_ctl "$c" stop >/dev/null
done
for c in "clone1 $pid1" "clone2 $pid2" "clone3 $pid3"; do
    # shellcheck disable=SC2086 # "LABEL PID" split on purpose
    set -- $c
    wait "$2"
    echo "KVMKIT-SNAP $1 stop rc=$? ms=$(($(now_ms) - t0))"
done
for c in clone1 clone2 clone3; do
    snap_continues "$c" "$count" -1 saved "$c"
done
for c in clone1 clone2 clone3; do
    snap_show "$c"
done
