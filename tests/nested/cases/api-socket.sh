# Every control-socket command over a real socket, through kvmkit ctl, on a
# running L2 guest; a malformed request gets a JSON error and the VM is
# unharmed (it still stops gracefully afterwards). Prints
#   KVMKIT-API NAME rc=RC reply=REPLY
api() {
    name=$1
    shift
    reply=$(ctl "$@")
    echo "KVMKIT-API $name rc=$? reply=$reply"
}

start_l2 api hang --stop-timeout 30
wait_for_line /tmp/api.log KVMKIT-L2-BOOT-OK 90
ls -l /tmp/api.sock | awk '{print "KVMKIT-API mode " $1}'
api status status
api pause pause
api status-paused status
api resume resume
api malformed --send '{"command": "status"'
api not-json --send 'status please'
api unknown frobnicate
api no-command --send '{"id": 1}'
api status-after status
ctl wait >/tmp/api.wait &
waiter=$!
sleep 0.2
api stop stop
wait $pid
echo "KVMKIT-API exit rc=$?"
wait $waiter
echo "KVMKIT-API wait reply=$(cat /tmp/api.wait)"
grep -q KVMKIT-L2-POWEROFF /tmp/api.log && echo "KVMKIT-API guest shut itself down"
[ -e /tmp/api.sock ] || echo "KVMKIT-API socket removed"
