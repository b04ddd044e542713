# Graceful stop on arm64: the power key (PL061 + gpio-keys) makes the L2
# guest run its own shutdown, which prints KVMKIT-L2-POWEROFF. Prints
#   KVMKIT-STOP LABEL rc=RC marker=yes|no ms=MS within2s=yes|no [wait=REPLY]
report() {
    marker=no
    grep -q KVMKIT-L2-POWEROFF "/tmp/$1.log" && marker=yes
    within=no
    [ "$4" -lt 2000 ] && within=yes
    echo "KVMKIT-STOP $1 rc=$2 marker=$marker ms=$4 within2s=$within wait=$3"
}

# kvmkit ctl stop, with a second client waiting for the exit reason.
start_l2 ctlstop hang --stop-timeout 30
wait_for_line /tmp/ctlstop.log KVMKIT-L2-BOOT-OK 90
ctl wait >/tmp/ctlstop.wait &
waiter=$!
sleep 0.2
start=$(now_ms)
ctl stop
wait_for_line /tmp/ctlstop.log KVMKIT-L2-POWEROFF 10
ms=$(($(now_ms) - start))
wait $pid
rc=$?
wait $waiter
report ctlstop $rc "$(cat /tmp/ctlstop.wait)" $ms
cat /tmp/ctlstop.log

# SIGTERM is a graceful stop too; kvmkit then exits 143.
start_l2 sigterm hang --stop-timeout 30
wait_for_line /tmp/sigterm.log KVMKIT-L2-BOOT-OK 90
start=$(now_ms)
kill -TERM $pid
wait_for_line /tmp/sigterm.log KVMKIT-L2-POWEROFF 10
ms=$(($(now_ms) - start))
wait $pid
report sigterm $? none $ms

# A stop as soon as kvmkit serves its socket, before the guest's kernel has
# even started: presses before the guest listens to the power key are lost,
# a later one is heard (kvmkit presses again every second of the grace time).
start_l2 early hang --stop-timeout 60
i=0
while [ ! -S /tmp/api.sock ] && [ $i -lt 3000 ]; do
    sleep 0.02
    i=$((i + 1))
done
start=$(now_ms)
ctl stop >/dev/null
wait_for_line /tmp/early.log KVMKIT-L2-POWEROFF 60
ms=$(($(now_ms) - start))
wait $pid
report early $? none $ms
grep -q "KVMKIT-L2-POWER-KEY listening" /tmp/early.log && echo "KVMKIT-STOP early listened"

# A guest that does not listen: the grace time runs out, then a hard stop.
start_l2 ignored hang --stop-timeout 2 -p "console=ttyS0 quiet panic=-1 test=hang power_key=ignore"
wait_for_line /tmp/ignored.log KVMKIT-L2-BOOT-OK 90
ctl wait >/tmp/ignored.wait &
waiter=$!
sleep 0.2
start=$(now_ms)
ctl stop >/dev/null
wait $pid
rc=$?
ms=$(($(now_ms) - start))
wait $waiter
report ignored $rc "$(cat /tmp/ignored.wait)" $ms

# kill is hard at once: the guest never hears of it.
start_l2 kill hang
wait_for_line /tmp/kill.log KVMKIT-L2-BOOT-OK 90
start=$(now_ms)
ctl kill >/dev/null
wait $pid
rc=$?
report kill $rc none $(($(now_ms) - start))
