# Shared by the api-*, stop-* and example cases: start an L2 guest in the
# background with its console in a file, wait for lines of it, time things.
# start_l2 LABEL TEST [kvmkit args...]: sets $pid; console in /tmp/LABEL.log.
start_l2() {
    label=$1
    test_name=$2
    shift 2
    rm -f /tmp/api.sock
    /bin/kvmkit run -k /guest/Image -i /guest/initramfs.cpio \
        -p "console=ttyS0 quiet panic=-1 test=$test_name" -m 256M --timeout 120 \
        --api-socket /tmp/api.sock "$@" </dev/null >"/tmp/$label.log" 2>&1 &
    pid=$!
}

# wait_for_line FILE TEXT SECONDS: 0 once FILE holds TEXT, 1 after SECONDS.
wait_for_line() {
    i=0
    while ! grep -q "$2" "$1" 2>/dev/null; do
        i=$((i + 1))
        [ $i -gt $(($3 * 50)) ] && return 1
        sleep 0.02
    done
}

now_ms() {
    awk '{printf "%d", $1 * 1000}' /proc/uptime
}

ctl() {
    /bin/kvmkit ctl --socket /tmp/api.sock "$@"
}
