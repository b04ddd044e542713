# Shared by the snapshot-* cases: the L2 guest runs test=snapcount
# (tests/guest/l2-init: a counter and, with a disk, a writer of numbered
# records), is snapshotted, and is restored by new kvmkit processes whose
# consoles must carry on where the saved one stopped. Every run LABEL has
# its console in /tmp/LABEL.log, its socket at /tmp/LABEL.sock and kvmkit's
# own output in /tmp/LABEL.err.

# snap_run LABEL KVMKIT-RUN-ARGS...: kvmkit run in the background; sets $pid
# (for the case scripts that follow this file).
# The grace time of a stop is 60 s, not 10: in a guest restored from a
# snapshot every page touched for the first time since is a stage-2 fault
# (RAM is the memory file mapped privately, in 4 KiB pages, where a booted
# guest has huge pages), slow under TCG, and a shutdown touches hundreds
# (kvmkit's minor faults during a stop: 100 to 650 restored, 2 booted):
# three restored guests stopped at once on one L1 vCPU took 1.7 to 6.7 s,
# now and then more than 10 (a hard stop, exit 5).
snap_run() {
    local label=$1
    shift
    rm -f "/tmp/$label.sock" "/tmp/$label.log" "/tmp/$label.err"
    /bin/kvmkit run "$@" --timeout 240 --stop-timeout 60 --api-socket "/tmp/$label.sock" \
        --console-log "/tmp/$label.log" --no-stdio </dev/null >"/tmp/$label.err" 2>&1 &
    # shellcheck disable=SC2034 # read by the case scripts
    pid=$!
}

# snap_boot LABEL [kvmkit args]: a fresh L2 running snapcount.
snap_boot() {
    local label=$1
    shift
    snap_run "$label" -k /guest/Image -i /guest/initramfs.cpio \
        -p "console=ttyS0 quiet panic=-1 test=snapcount" -m 256M "$@"
}

# snap_wait LABEL PID REGEX SECONDS: 0 once a line of LABEL's console
# matches REGEX (grep -E, the console's \r removed); 1 when kvmkit PID
# ended first or SECONDS passed, with the reason printed.
snap_wait() {
    local i=0
    while ! { tr -d '\r' <"/tmp/$1.log" | grep -Eq "$3"; } 2>/dev/null; do
        if ! kill -0 "$2" 2>/dev/null; then
            echo "KVMKIT-SNAP $1 FAIL: kvmkit ended before '$3' ($(cat "/tmp/$1.err"))"
            return 1
        fi
        i=$((i + 1))
        if [ $i -gt $(($4 * 20)) ]; then
            echo "KVMKIT-SNAP $1 FAIL: no '$3' within $4 s"
            return 1
        fi
        usleep 50000
    done
}

# snap_last LABEL KIND: the last n of the complete KVMKIT-L2-KIND n=<n>
# lines of LABEL's console (-1 when there is none). A last line without its
# newline is not complete: a snapshot that cut "n=12" after "n=1" must not
# read as 1, so a marker is joined to it before awk sees it.
snap_last() {
    { tr -d '\r' <"/tmp/$1.log"; echo '<end>'; } | awk -v kind="KVMKIT-L2-$2" '
        BEGIN { last = -1 }
        $0 ~ "^" kind " n=[0-9]+$" { sub(/.*n=/, ""); last = $0 }
        END { print last }'
}

# snap_ctl LABEL ARGS...: kvmkit ctl on LABEL's socket.
snap_ctl() {
    local sock=/tmp/$1.sock
    shift
    /bin/kvmkit ctl --socket "$sock" "$@"
}

# snap_show LABEL: LABEL's console and kvmkit's own output, each line
# prefixed (the runner's --reject patterns see every line of every guest),
# a last line cut short ended.
snap_show() {
    tr -d '\r' <"/tmp/$1.log" | awk -v p="L2 $1> " '{ print p $0 }'
    awk -v p="kvmkit $1> " '{ print p $0 }' "/tmp/$1.err"
}

# snap_console NAME LABEL...: the consoles of the runs LABEL... put end to
# end must be one guest's output from its ready marker on: every count and
# every disk record once, in order, from 0; nothing else but the power-off
# marker (once a press) and, after it, the kernel's last line (which may
# cut the line the counter was writing short, the rest of that line coming
# after it). Prints
#   KVMKIT-SNAP NAME console=unbroken|broken (WHY) counts=C disks=D first=F,G poweroff=yes|no
# where C and D are how many of each the run LABEL (the last one) printed,
# F and G the first count and record it printed (-1: none); a line that
# the snapshot cut short is the restored run's, which finished it.
#
# snap_continues NAME COUNT DISK LABEL...: snap_console, then
#   KVMKIT-SNAP NAME continues=yes|no from=COUNT,DISK
# yes when the last run's first count and record are COUNT+1 and DISK+1,
# DISK -1 for none (the saved run's last ones: the restored guest goes on
# exactly where the saved one stood, nothing repeated).
snap_console() {
    local name=$1 files='' l
    shift
    for l in "$@"; do
        files="$files /tmp/$l.log"
    done
    # shellcheck disable=SC2086 # the file list is split on purpose
    cat $files | tr -d '\r' | awk -v name="$name" -v skip="$(snap_lines_before "$@")" '
        function broken(why) { if (bad == "") bad = why " at line " NR ": " $0 }
        BEGIN { c = 0; d = 0; ready = 0; off = 0; down = 0; bad = ""; cl = 0; dl = 0; fc = -1; fd = -1 }
        !ready { if ($0 ~ /^KVMKIT-L2-SNAP-READY disk=(yes|no)$/) ready = 1; next }
        /^KVMKIT-L2-COUNT n=[0-9]+$/ {
            n = substr($0, 19) + 0
            if (n != c) broken("count " n " where " c " was due")
            c = n + 1
            if (NR > skip && cl++ == 0) fc = n
            next
        }
        /^KVMKIT-L2-DISK n=[0-9]+$/ {
            n = substr($0, 18) + 0
            if (n != d) broken("record " n " where " d " was due")
            d = n + 1
            if (NR > skip && dl++ == 0) fd = n
            next
        }
        # kvmkit presses the power key every second until the guest is off.
        /^KVMKIT-L2-POWEROFF$/ { off = 1; next }
        off && /^[^[]*\[ *[0-9]+\.[0-9]+\] reboot: Power down$/ { down = 1; next }
        # The rest of the line the power-down message cut into ("\r\n" left
        # in the UART buffer, maybe a digit) may come out after it.
        down && /^[0-9]*$/ { next }
        { broken("unexpected line") }
        END {
            if (!ready) bad = "no ready marker"
            printf "KVMKIT-SNAP %s console=%s counts=%d disks=%d first=%d,%d poweroff=%s\n",
                name, bad == "" ? "unbroken" : "broken (" bad ")", cl, dl, fc, fd,
                off ? "yes" : "no"
        }'
}

snap_continues() {
    local name=$1 count=$2 disk=$3 out cont=no want
    shift 3
    out=$(snap_console "$name" "$@")
    echo "$out"
    want=$((count + 1)),$((disk + 1))
    [ "$disk" -lt 0 ] && want=$((count + 1)),-1
    case $out in
        *" first=$want "*) cont=yes ;;
    esac
    echo "KVMKIT-SNAP $name continues=$cont from=$count,$disk"
    case $cont$out in
        no* | *console=broken*) snap_seam "$@" ;;
    esac
}

# snap_seam LABEL...: the bytes where the last two consoles meet (the end of
# the one before, the start of the last), for a failed check to show.
snap_seam() {
    local before='' last=''
    while [ $# -gt 0 ]; do
        before=$last
        last=$1
        shift
    done
    [ -n "$before" ] && tail -c 64 "/tmp/$before.log" | od -c | sed "s/^/KVMKIT-SEAM end of $before: /"
    head -c 64 "/tmp/$last.log" | od -c | sed "s/^/KVMKIT-SEAM start of $last: /"
}

# snap_lines_before LABEL...: how many lines the joined consoles hold before
# the last LABEL's console starts (a line cut short by the snapshot counts
# as the last run's).
snap_lines_before() {
    local n=0
    while [ $# -gt 1 ]; do
        n=$((n + $(tr -d '\r' <"/tmp/$1.log" | wc -l)))
        shift
    done
    echo $n
}

# snap_expected N: /tmp/expected.img holds records 0 to N-1, written as
# the guest writes them (tests/guest/l2-init, snapcount).
snap_expected() {
    local n
    n=$(($(stat -c %s /tmp/expected.img 2>/dev/null || echo 0) / 512))
    while [ "$n" -lt "$1" ]; do
        echo "KVMKIT-REC $n" |
            dd of=/tmp/expected.img bs=512 seek=$n count=1 conv=sync,notrunc 2>/dev/null
        n=$((n + 1))
    done
}

# snap_image NAME FILE LABEL: FILE holds records 0, 1, ... in sectors 0, 1,
# ... and zeroes after them: every record the console LABEL (or those
# before it) said was durable, and at most one more (written as the guest
# powered off, its line lost with the output still queued then).
# Prints KVMKIT-SNAP NAME image=ok|bad (WHY) records=R durable=D
snap_image() {
    local durable records bad='' rest
    durable=$(snap_last "$3" DISK)
    records=$(tr -s '\0' '\n' <"$2" | grep -c '^KVMKIT-REC ')
    if [ "$records" -le "$durable" ]; then
        bad="record $durable missing"
    elif [ "$records" -gt $((durable + 2)) ]; then
        bad="$((records - durable - 1)) records past $durable"
    else
        snap_expected "$records"
        rest=$(tail -c +$((records * 512 + 1)) "$2" | tr -d '\0' | wc -c)
        if ! cmp -s -n $((records * 512)) "$2" /tmp/expected.img; then
            bad="sectors 0 to $((records - 1)) do not hold records 0 to $((records - 1))"
        elif [ "$rest" -ne 0 ]; then
            bad="$rest bytes that are not zero after sector $((records - 1))"
        fi
    fi
    [ -n "$bad" ] && bad="bad ($bad)"
    echo "KVMKIT-SNAP $1 image=${bad:-ok} records=$records durable=$durable"
}

now_ms() {
    awk '{printf "%d", $1 * 1000}' /proc/uptime
}

# snap_stop LABEL PID: a graceful stop (the power key) and kvmkit's exit
# code; prints KVMKIT-SNAP LABEL stop rc=RC ms=MS
snap_stop() {
    local t0 rc
    t0=$(now_ms)
    snap_ctl "$1" stop >/dev/null
    wait "$2"
    rc=$?
    echo "KVMKIT-SNAP $1 stop rc=$rc ms=$(($(now_ms) - t0))"
}

# snap_fail WHY: every console so far, then the case ends (exit 1).
snap_fail() {
    local f l
    echo "KVMKIT-SNAP FAIL: $1"
    for f in /tmp/*.log; do
        [ -f "$f" ] || continue
        l=${f##*/}
        snap_show "${l%.log}"
    done
    exit 1
}
