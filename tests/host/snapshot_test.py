#!/usr/bin/env python3
"""Snapshot and restore through the command line: `kvmkit ctl snapshot DIR`
of a running x86_64 test guest (guests/counter.S, which prints its count
for ever and checks a RAM pattern), then `kvmkit run --restore DIR` in new
processes. The consoles of the saved and the restored runs, put end to end,
must be one unbroken count: nothing lost, nothing repeated.

    snapshot_test.py --kvmkit build/src/kvmkit --guests build/tests/host/guests [CASE ...]

Exit status 0 when all pass, 1 otherwise, 77 when /dev/kvm cannot be opened.
"""

import glob
import json
import os
import re
import signal
import socket
import subprocess
import sys
import time

import testlib
from testlib import Cases, Client, Failure, expect, scaled, wait_for

CASES = Cases()
case = CASES.case
MEMORY = "128M"
LINE = re.compile(r"c=([0-9a-f]{16})$")
TSC_LINE = re.compile(r"t=([0-9a-f]{16})$")
EXIT_USAGE = 2
CLOCK_WAIT = 5.0   # restore-clock: the host's time between save and restore
CLOCK_SLACK = 1.0  # of guest time around a save or a restore


class Run:
    """One kvmkit run (a boot or a restore) with a console log and a socket."""

    def __init__(self, env, name, *args):
        self.env = env
        self.log = os.path.join(env.tmp, name + ".log")
        self.sock = os.path.join(env.tmp, name + ".sock")
        self.proc = subprocess.Popen(
            [env.kvmkit, "run", *args, "--console-log", self.log, "--no-stdio",
             "--api-socket", self.sock, "--timeout", "60"],
            stdin=subprocess.DEVNULL, stdout=subprocess.DEVNULL, stderr=subprocess.PIPE,
            cwd=env.tmp)
        if not wait_for(lambda: os.path.exists(self.sock) or self.proc.poll() is not None, 10):
            raise Failure(f"{self.sock} never appeared")
        self.alive()

    def alive(self):
        if self.proc.poll() is not None:  # stderr is read only then: it blocks until exit
            raise Failure(f"kvmkit ended ({self.proc.returncode}): {self.stderr()}")

    def text(self):
        try:
            with open(self.log, encoding="ascii", errors="replace") as f:
                return f.read()
        except FileNotFoundError:
            return ""

    def wait_count(self, lines):
        """Waits for the guest to print @lines more lines than it had."""
        if not wait_for(lambda: self.text().count("\n") >= lines or self.proc.poll() is not None,
                        20):
            raise Failure(f"{self.log}: fewer than {lines} lines in time")
        self.alive()

    def ctl(self, *args):
        code, out, err = self.env.ctl(self.sock, *args, timeout=scaled(60))
        expect(code == 0, f"ctl {' '.join(args)}: exit {code}: {out} {err}")
        return json.loads(out)

    def snapshot(self, path, *then):
        reply = self.ctl("snapshot", path, *then)
        expect(reply.get("ok") is True and "snapshot" in reply, f"snapshot reply {reply}")
        return reply

    def stderr(self):
        return self.proc.stderr.read().decode(errors="replace") if self.proc.stderr else ""

    def finish(self, code):
        try:
            rc = self.proc.wait(timeout=scaled(10))
        except subprocess.TimeoutExpired:
            self.proc.kill()
            self.proc.wait()
            raise Failure(f"kvmkit ({self.log}) did not exit")
        err = self.stderr()
        expect(rc == code, f"kvmkit exited with {rc}, expected {code}; stderr {err!r}")
        return err

    def kill(self):
        self.ctl("kill")
        self.err = self.finish(5)


def boot(env, name="saved", *extra):
    return Run(env, name, "-k", env.guest("counter"), "--memory", MEMORY, *extra)


def restore(env, name, path, *extra):
    return Run(env, name, "--restore", path, *extra)


def guest_memory(snap):
    """The guest RAM a snapshot's memory file holds (its header page, which
    names the snapshot, left out)."""
    with open(os.path.join(snap, "memory"), "rb") as f:
        f.seek(4096)
        return f.read()


def counts(text, first=1):
    """The counts in @text (its last line may be cut short); they must run
    on from @first without a gap or a repeat."""
    lines = text.split("\n")[:-1]
    expect(lines, "no complete line")
    for i, line in enumerate(lines):
        m = LINE.match(line)
        if not m:
            raise Failure(f"line {i + 1} is {line!r}, not a count" +
                          (" (the guest found RAM it had written changed)" if "BAD" in line
                           else ""))
        expect(int(m.group(1), 16) == first + i,
               f"line {i + 1} counts {int(m.group(1), 16)}, expected {first + i}")
    return first + len(lines) - 1


def continues(saved_text, restored):
    """The restored run's console, after the saved one's, is one count."""
    restored.wait_count(50)
    restored.kill()
    return counts(saved_text + restored.text())


@case("continues")
def _(env):
    saved = boot(env)
    saved.wait_count(256)
    snap = os.path.join(env.tmp, "snap")
    reply = saved.snapshot(snap, "--then", "stop")
    saved.finish(0)
    info = reply["snapshot"]
    expect(info["memory-bytes"] == 128 << 20, f"memory-bytes {info['memory-bytes']}")
    # The guest stamped 64 MiB; the rest of its RAM is holes.
    st = os.stat(os.path.join(snap, "memory"))
    expect(st.st_blocks * 512 < 80 << 20,
           f"the memory file takes {st.st_blocks * 512} bytes: not sparse")
    expect(st.st_blocks * 512 >= 64 << 20, "the memory file lacks the stamped pages")
    expect(sorted(os.listdir(snap)) == ["memory", "state"], f"snapshot has {os.listdir(snap)}")
    expect(not glob.glob(snap + ".*"), f"left behind: {glob.glob(snap + '.*')}")
    restored = restore(env, "restored", snap, "--stats")
    continues(saved.text(), restored)
    # --stats times a restore from the snapshot opened to the first KVM_RUN.
    m = re.search(r"^kvmkit stats: restore_to_first_run_us=(\d+)$", restored.err, re.M)
    expect(m and 0 < int(m.group(1)) < scaled(10) * 1000000,
           f"no plausible restore_to_first_run_us in {restored.err!r}")


@case("ten-restores")
def _(env):
    saved = boot(env)
    saved.wait_count(64)
    snap = os.path.join(env.tmp, "snap")
    saved.snapshot(snap, "--then", "stop")
    saved.finish(0)
    for i in range(10):
        continues(saved.text(), restore(env, f"restored{i}", snap))


@case("snapshot-of-restored")
def _(env):
    """A restored VM is snapshotted again (its RAM is the first snapshot's
    file, mapped private) and that snapshot, into the same directory,
    replaces the first."""
    saved = boot(env)
    saved.wait_count(64)
    snap = os.path.join(env.tmp, "snap")
    saved.snapshot(snap, "--then", "stop")
    saved.finish(0)
    second = restore(env, "second", snap)
    second.wait_count(64)
    second.snapshot(snap, "--then", "stop")
    second.finish(0)
    continues(saved.text() + second.text(), restore(env, "third", snap))


@case("memfd")
def _(env):
    """--memory-backend memfd: guest RAM is a shared memfd mapping (another
    process could map it); a snapshot of it restores, into private RAM (the
    memory file mapped) or into a memfd again (the file read in), and the
    count goes on either way."""

    def memfd_bytes(run):
        """How much of @run's address space is the guest's memfd, shared."""
        with open(f"/proc/{run.proc.pid}/maps", encoding="ascii") as f:
            maps = [line.split() for line in f if "/memfd:kvmkit-ram" in line]
        expect(all(m[1] == "rw-s" for m in maps), f"memfd mapped not shared: {maps}")
        return sum(int(m[0].split("-")[1], 16) - int(m[0].split("-")[0], 16) for m in maps)

    saved = boot(env, "saved", "--memory-backend", "memfd")
    saved.wait_count(64)
    size = memfd_bytes(saved)
    expect(size == 128 << 20, f"the memfd mappings hold {size} bytes, not 128 MiB")
    snap = os.path.join(env.tmp, "snap")
    saved.snapshot(snap, "--then", "stop")
    saved.finish(0)
    st = os.stat(os.path.join(snap, "memory"))
    expect(64 << 20 <= st.st_blocks * 512 < 80 << 20,
           f"the memory file takes {st.st_blocks * 512} bytes, not the 64 MiB stamped")
    code, _, err, _ = env.run("run", "-k", env.guest("counter"), "--no-stdio",
                              "--memory-backend", "hugetlb", timeout=20)
    expect(code == EXIT_USAGE and "--memory-backend 'hugetlb': expected anon or memfd" in err,
           f"--memory-backend hugetlb: exit {code}: {err!r}")
    private = restore(env, "private", snap)
    expect(memfd_bytes(private) == 0, "a plain restore's RAM is a memfd")
    continues(saved.text(), private)
    shared = restore(env, "shared", snap, "--memory-backend", "memfd")
    size = memfd_bytes(shared)
    expect(size == 128 << 20, f"the restored memfd mappings hold {size} bytes, not 128 MiB")
    continues(saved.text(), shared)


@case("as-was")
def _(env):
    """Without --then the VM runs on after the snapshot; a paused VM stays
    paused; --then resume resumes it."""
    saved = boot(env)
    saved.wait_count(64)
    snap = os.path.join(env.tmp, "snap")
    reply = saved.snapshot(snap)
    expect(reply["state"] == "running", f"state after snapshot {reply['state']}")
    before = saved.text().count("\n")
    saved.wait_count(before + 64)
    expect(saved.ctl("pause")["state"] == "paused", "pause")
    reply = saved.snapshot(snap)
    expect(reply["state"] == "paused", f"a paused VM's state after snapshot {reply['state']}")
    reply = saved.snapshot(snap, "--then", "resume")
    expect(reply["state"] == "running", f"--then resume left it {reply['state']}")
    saved.kill()
    # The last snapshot was taken paused, where the saved console stood
    # when "pause" answered (the guest printed nothing after until resumed).
    text = saved.text()
    restored = restore(env, "restored", snap)
    restored.wait_count(50)
    restored.kill()
    head = restored.text()
    cut = head.index("\n") + 1  # the rest of a line cut short, if any
    first = LINE.match(head[cut:].split("\n")[0])
    expect(first, f"restored console starts {head[:80]!r}")
    n = int(first.group(1), 16)
    expect(f"c={n - 1:016x}\n" in text, f"the restore continues at {n}, not after the saved count")
    counts(head[cut:], n)


@case("refused")
def _(env):
    saved = boot(env)
    saved.wait_count(16)
    snap = os.path.join(env.tmp, "snap")
    saved.snapshot(snap, "--then", "stop")
    saved.finish(0)

    def refused(path, words, *extra):
        code, _, err, _ = env.run("run", "--restore", path, "--no-stdio", *extra, timeout=20)
        expect(code == EXIT_USAGE, f"restore of {path}: exit {code}, expected 2: {err!r}")
        for w in words:
            expect(w in err, f"restore of {path}: no {w!r} in {err!r}")

    def copy(name):
        dst = os.path.join(env.tmp, name)
        subprocess.run(["cp", "-a", "--sparse=always", snap, dst], check=True)
        return dst

    # One flipped byte anywhere in the state file.
    size = os.path.getsize(os.path.join(snap, "state"))
    for at in (0, 9, size // 2, size - 1):
        bad = copy(f"flip{at}")
        with open(os.path.join(bad, "state"), "r+b") as f:
            f.seek(at)
            b = f.read(1)
            f.seek(at)
            f.write(bytes([b[0] ^ 0x20]))
        refused(bad, [bad])
    # Cut short.
    bad = copy("short-state")
    os.truncate(os.path.join(bad, "state"), size - 7)
    refused(bad, [bad])
    bad = copy("short-memory")
    os.truncate(os.path.join(bad, "memory"), os.path.getsize(os.path.join(bad, "memory")) - 4096)
    refused(bad, ["memory"])
    # Another snapshot's memory file.
    saved2 = boot(env, "other")
    saved2.wait_count(16)
    other = os.path.join(env.tmp, "other-snap")
    saved2.snapshot(other, "--then", "stop")
    saved2.finish(0)
    bad = copy("mixed")
    os.replace(os.path.join(other, "memory"), os.path.join(bad, "memory"))
    refused(bad, ["another snapshot"])
    # Missing.
    refused(os.path.join(env.tmp, "none"), ["none"])
    # The machine comes from the snapshot only.
    refused(snap, ["--memory", "--restore"], "--memory", "256M")
    refused(snap, ["--kernel", "--restore"], "-k", env.guest("counter"))
    # And the good one still restores.
    continues(saved.text(), restore(env, "restored", snap))


def tscs(text):
    """The TSCs of guests/clock.S's whole lines in @text."""
    lines = text.split("\n")[:-1]
    values = []
    for i, line in enumerate(lines):
        m = TSC_LINE.match(line)
        expect(m, f"line {i + 1} is {line!r}, not a TSC")
        values.append(int(m.group(1), 16))
    return values


def wait_until(when):
    """Waits for the host's wall clock to reach @when (not a sleep of a
    length: the clock must have got there)."""
    while time.time() < when:
        time.sleep(0.01)


def restored_tsc(env, name, snap, how):
    """Restores @snap with --restore-clock @how: the TSC of the guest's first
    line printed after the restore, and the host's time just before the
    restore began and once that line was in."""
    start = time.time()
    run = restore(env, name, snap, "--restore-clock", how, "--log-level", "info")
    # The first line may be the rest of one the save cut short; the second
    # began after the restore.
    run.wait_count(2)
    line_in = time.time()
    run.kill()
    return tscs(run.text().split("\n", 1)[1])[0], start, line_in


@case("restore-clock")
def _(env):
    """--restore-clock with guests/clock.S, which prints its TSC: saved, the
    host's clock waited CLOCK_WAIT on, then restored. continue: the TSC went
    on by no more than the time the guest ran (the restore's own time and a
    slack for the lines around the save), not the wait. advance: by at least
    the host's time between the save and the restore, and not more than all
    of it. The TSC's rate comes from the saved run's own lines."""
    code, _, err, _ = env.run("run", "-k", env.guest("clock"), "--restore-clock", "advance",
                              "--no-stdio", timeout=20)
    expect(code == EXIT_USAGE and "--restore-clock" in err and "--restore:" in err,
           f"--restore-clock without --restore: exit {code}, {err!r}")
    code, _, err, _ = env.run("run", "--restore", "snap", "--restore-clock", "sideways",
                              "--no-stdio", timeout=20)
    expect(code == EXIT_USAGE and "--restore-clock 'sideways'" in err,
           f"--restore-clock sideways: exit {code}, {err!r}")

    saved = Run(env, "saved", "-k", env.guest("clock"), "--memory", "16M")
    saved.wait_count(16)
    t_a, tsc_a = time.time(), tscs(saved.text())[-1]
    wait_until(t_a + 2.0)
    t_b, tsc_b = time.time(), tscs(saved.text())[-1]
    hz = (tsc_b - tsc_a) / (t_b - t_a)
    expect(hz > 1e6, f"the TSC ran at {hz:.0f} Hz")
    snap = os.path.join(env.tmp, "snap")
    t_save0 = time.time()
    saved.snapshot(snap, "--then", "stop")
    t_save1 = time.time()
    saved.finish(0)
    tsc_saved = tscs(saved.text())[-1]
    wait_until(t_save1 + CLOCK_WAIT)

    tsc, start, line_in = restored_tsc(env, "continue", snap, "continue")
    jump = (tsc - tsc_saved) / hz
    print(f"restore-clock: TSC {hz / 1e6:.1f} MHz; continue: +{jump:.3f} s over the save, "
          f"restore took {line_in - start:.3f} s, host time since the save {start - t_save1:.3f} s")
    expect(line_in - start + CLOCK_SLACK < CLOCK_WAIT - 1.0,
           f"the restore took {line_in - start:.3f} s: too slow to tell continue from advance")
    expect(jump > 0, f"continue: the TSC went back {-jump:.3f} s")
    # 10% for the rate measured over 2 s of lines.
    expect(jump < 1.1 * (line_in - start + CLOCK_SLACK),
           f"continue: the TSC moved {jump:.3f} s, the guest ran {line_in - start:.3f} s "
           "since the restore")

    tsc, start, line_in = restored_tsc(env, "advance", snap, "advance")
    jump = (tsc - tsc_saved) / hz
    print(f"restore-clock: advance: +{jump:.3f} s over the save, host time from the save "
          f"to the restore {start - t_save1:.3f} s, to the line {line_in - t_save0:.3f} s")
    expect(jump >= 0.9 * (start - t_save1),
           f"advance: the TSC moved {jump:.3f} s, the host's clock {start - t_save1:.3f} s "
           "or more")
    expect(jump < 1.1 * (line_in - t_save0 + CLOCK_SLACK),
           f"advance: the TSC moved {jump:.3f} s, the host's clock {line_in - t_save0:.3f} s "
           "at most")


@case("sigkill-mid-write")
def _(env):
    """kvmkit killed while it writes a snapshot over an older one: the older
    one is whole and restores."""
    saved = boot(env)
    saved.wait_count(64)
    snap = os.path.join(env.tmp, "snap")
    saved.snapshot(snap, "--then", "stop")
    saved.finish(0)
    with open(os.path.join(snap, "state"), "rb") as f:
        first_state = f.read()
    second = restore(env, "second", snap)
    second.wait_count(64)
    ctl = subprocess.Popen([env.kvmkit, "ctl", "--socket", second.sock, "snapshot", snap],
                           stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL)
    # The write has begun once its temporary directory exists.
    if not wait_for(lambda: glob.glob(snap + ".tmp-*"), 20, step=0.0005):
        raise Failure("the snapshot's temporary directory never appeared")
    second.proc.send_signal(signal.SIGKILL)
    second.proc.wait()
    ctl.wait(timeout=scaled(10))
    with open(os.path.join(snap, "state"), "rb") as f:
        expect(f.read() == first_state,
               "the snapshot directory changed: the kill came after the write ended")
    continues(saved.text(), restore(env, "third", snap))
    # A later snapshot to the same place works, leftovers or not.
    third = restore(env, "fourth", snap)
    third.wait_count(16)
    third.snapshot(snap, "--then", "stop")
    third.finish(0)
    continues(saved.text() + third.text(), restore(env, "fifth", snap))


def connect(run):
    """A connection to @run's control socket, made before it is needed, so
    that asking costs no process start."""
    sock = socket.socket(socket.AF_UNIX, socket.SOCK_STREAM)
    sock.settimeout(scaled(10))
    sock.connect(run.sock)
    return Client(sock)


def writing(env):
    """A counting guest whose snapshot's write has begun: (the run, a
    connection to it, the snapshot's path, the `kvmkit ctl` asking)."""
    saved = boot(env)
    saved.wait_count(64)
    client = connect(saved)
    snap = os.path.join(env.tmp, "snap")
    return saved, client, snap, snapshot_begun(saved, snap)


def snapshot_begun(run, snap):
    """Starts `kvmkit ctl snapshot @snap` of @run and returns once its write
    has begun (its temporary directory exists): the guest stamped 64 MiB,
    whose writing and syncing take far longer than a question on a socket
    connected already."""
    ctl = subprocess.Popen([run.env.kvmkit, "ctl", "--socket", run.sock, "snapshot", snap],
                           stdout=subprocess.PIPE, stderr=subprocess.PIPE)
    if not wait_for(lambda: glob.glob(snap + ".tmp-*") or ctl.poll() is not None, 20,
                    step=0.0005):
        raise Failure("the snapshot's temporary directory never appeared")
    expect(ctl.poll() is None, "the snapshot was answered before its write was seen")
    return ctl


def ctl_result(ctl):
    out, err = ctl.communicate(timeout=scaled(60))
    return ctl.returncode, out.decode(errors="replace"), err.decode(errors="replace")


@case("written-off-loop")
def _(env):
    """The files are written on a thread of their own: meanwhile the socket
    answers (paused, snapshot-writing), a resume is refused (the guest must
    not run while its memory is written), and a pause asked then keeps the
    VM paused after the write. The snapshot continues the count."""
    saved, client, snap, ctl = writing(env)
    status = client.command("status")
    expect(status.get("state") == "paused" and status.get("snapshot-writing") is True,
           f"status while the snapshot is written: {status}")
    refused = client.command("resume")
    expect(refused.get("ok") is False and
           refused.get("error", {}).get("code") == "EINPROGRESS",
           f"resume while the snapshot is written: {refused}")
    paused = client.command("pause")
    expect(paused.get("ok") is True, f"pause while the snapshot is written: {paused}")
    expect(ctl.poll() is None, "the snapshot was answered before the questions: the write "
           "was too short to tell")
    code, out, err = ctl_result(ctl)
    expect(code == 0, f"ctl snapshot: exit {code}: {out} {err}")
    reply = json.loads(out)
    expect(reply.get("state") == "paused", f"the pause asked meanwhile was lost: {reply}")
    status = client.command("status")
    expect(status.get("state") == "paused" and status.get("snapshot-writing") is False,
           f"status after the write: {status}")
    client.close()
    saved.kill()
    continues(saved.text(), restore(env, "restored", snap))


@case("kill-mid-write")
def _(env):
    """A kill while the files are written ends kvmkit at once: the write is
    cancelled, nothing is left at the snapshot's place, and the client is
    told."""
    saved, client, snap, ctl = writing(env)
    killed = client.command("kill")
    expect(killed.get("ok") is True, f"kill while the snapshot is written: {killed}")
    saved.finish(5)
    code, out, err = ctl_result(ctl)
    expect(code != 0 and "cancelled" in out + err,
           f"ctl snapshot of a killed VM: exit {code}: {out} {err}")
    expect(not os.path.exists(snap), "a snapshot was kept: the kill came after the write")
    expect(not glob.glob(snap + ".*"), f"left behind: {glob.glob(snap + '.*')}")
    client.close()


@case("client-gone-mid-write")
def _(env):
    """The client that asked for a snapshot goes away while it is written:
    the loop does not wait for the write (status is answered meanwhile),
    the write completes, the VM runs on as it was, and the snapshot
    restores."""
    saved, client, snap, ctl = writing(env)
    ctl.kill()
    ctl.wait()
    status = client.command("status")
    expect(status.get("snapshot-writing") is True,
           f"status while the gone client's snapshot is written: {status}")

    def written():
        status = client.command("status")
        return not status.get("snapshot-writing") and status.get("state") == "running"

    expect(wait_for(written, 60), "the VM did not run on after the write")
    client.close()
    lines = saved.text().count("\n")
    saved.wait_count(lines + 16)
    saved.kill()
    restored = restore(env, "restored", snap)
    restored.wait_count(50)
    restored.kill()
    counts(saved_upto(saved.text(), restored.text()) + restored.text())


@case("stop-mid-write")
def _(env):
    """SIGTERM while the files are written: the stop waits for the write,
    which completes and restores; then kvmkit stops as SIGTERM asks."""
    saved, client, snap, ctl = writing(env)
    client.close()
    saved.proc.send_signal(signal.SIGTERM)
    code, out, err = ctl_result(ctl)
    expect(code == 0, f"ctl snapshot with a stop asked meanwhile: exit {code}: {out} {err}")
    saved.finish(128 + signal.SIGTERM)
    # The guest may have counted on between the write and the stop: the
    # saved console is cut where the restored one takes over.
    restored = restore(env, "restored", snap)
    restored.wait_count(50)
    restored.kill()
    counts(saved_upto(saved.text(), restored.text()) + restored.text())


def saved_upto(saved_text, restored_text):
    """@saved_text cut where @restored_text, which begins at the snapshot
    (maybe in the middle of a line), takes over from it."""
    head, rest = restored_text.split("\n", 1)
    whole = LINE.match(head)
    if whole:  # saved after a whole line
        seam, tail = int(whole.group(1), 16) - 1, ""
    else:  # the rest of line seam, and its newline, are @head
        m = LINE.match(rest.split("\n", 1)[0])
        expect(m, f"the restored guest printed {restored_text[:80]!r}")
        seam, tail = int(m.group(1), 16) - 1, head + "\n"
    line = f"c={seam:016x}\n"
    # What the saved run printed of that line before the snapshot. It may
    # have ended inside that line: right after the write, or after printing
    # some more of it (resumed, then stopped hard) but not all.
    prefix = line[:len(line) - len(tail)]
    end = saved_text.find(line)
    last = saved_text[saved_text.rfind("\n") + 1:]
    if end < 0 and len(last) >= len(prefix) and line.startswith(last):
        end = len(saved_text) - len(last)
    expect(end >= 0 and line.endswith(tail),
           f"the saved run never printed {prefix!r} (of {line!r})")
    return saved_text[:end + len(prefix)]


@case("diff-chain")
def _(env):
    """Diff snapshots: base, a diff that fails (its pages must stay for the
    next), two diffs, and a full snapshot at the same point as the second
    diff. The restore of base + diffs is paused at once and snapshotted in
    full: its memory must equal the full snapshot's byte for byte; resumed,
    it continues the count."""
    saved = boot(env, "saved", "--diff-snapshots")
    snap = {n: os.path.join(env.tmp, n) for n in ("base", "d1", "d2", "full", "again")}
    saved.wait_count(64)
    saved.snapshot(snap["base"])
    lines = saved.text().count("\n")
    saved.wait_count(lines + 64)
    # A regular file where the diff should go: refused, pages kept.
    blocker = os.path.join(env.tmp, "not-a-snapshot")
    with open(blocker, "w") as f:
        f.write("mine\n")
    code, out, err = env.ctl(saved.sock, "snapshot", blocker, "--diff", timeout=scaled(60))
    expect(code != 0 and "not a snapshot" in out + err, f"diff over a file: {code} {out} {err}")
    lines = saved.text().count("\n")
    saved.wait_count(lines + 64)
    d1 = saved.snapshot(snap["d1"], "--diff")["snapshot"]
    lines = saved.text().count("\n")
    saved.wait_count(lines + 64)
    expect(saved.ctl("pause")["state"] == "paused", "pause")
    d2 = saved.snapshot(snap["d2"], "--diff")["snapshot"]
    saved.snapshot(snap["full"])
    saved.kill()
    for name, info in (("d1", d1), ("d2", d2)):
        # Each count writes a page: more than 64 since the last snapshot
        # (128 for d1, across the failed diff), far fewer than RAM's 32768.
        expect(64 < info["diff-pages"] < 4096, f"{name} holds {info['diff-pages']} pages")
        expect(info["stored-bytes"] < 4 << 20, f"{name} takes {info['stored-bytes']} bytes")
    restored = restore(env, "from-diffs", snap["d2"], "--paused")
    reply = restored.ctl("status")
    expect(reply["state"] == "paused", f"--paused: the restored VM is {reply['state']}")
    restored.snapshot(snap["again"])
    want = guest_memory(snap["full"])
    expect(guest_memory(snap["again"]) == want,
           "base + 2 diffs restored to memory that differs from the full snapshot's")
    expect(guest_memory(snap["base"]) != want, "the base alone equals the full snapshot")
    expect(restored.text() == "", "the guest printed while paused")
    restored.ctl("resume")
    continues(saved.text(), restored)


@case("diff-refused")
def _(env):
    """A diff needs --diff-snapshots and an earlier snapshot, and may not be
    written over a snapshot it lies on; the dirty API is the snapshots'."""
    def refused(run, words, *args):
        code, out, err = env.ctl(run.sock, *args, timeout=scaled(60))
        expect(code != 0, f"ctl {args}: exit 0: {out}")
        for w in words:
            expect(w in out + err, f"ctl {args}: no {w!r} in {out} {err}")

    plain = boot(env, "plain")
    plain.wait_count(16)
    refused(plain, ["--diff-snapshots"], "snapshot", os.path.join(env.tmp, "x"), "--diff")
    plain.kill()
    saved = boot(env, "saved", "--diff-snapshots")
    saved.wait_count(16)
    refused(saved, ["no earlier snapshot"], "snapshot", os.path.join(env.tmp, "x"), "--diff")
    refused(saved, ["diff snapshots"], "dirty-start")
    base = os.path.join(env.tmp, "base")
    saved.snapshot(base)
    d1 = os.path.join(env.tmp, "d1")
    saved.snapshot(d1, "--diff")
    refused(saved, ["lies under"], "snapshot", base, "--diff")
    refused(saved, ["lies under"], "snapshot", d1, "--diff")
    expect(not os.path.exists(os.path.join(env.tmp, "x")), "a refused diff left a directory")
    saved.kill()
    # A diff whose base was replaced since is refused at restore.
    other = boot(env, "other")
    other.wait_count(16)
    other.snapshot(base, "--then", "stop")
    other.finish(0)
    code, _, err, _ = env.run("run", "--restore", d1, "--no-stdio", timeout=20)
    expect(code == EXIT_USAGE and "replaced" in err and base in err,
           f"restore of a diff over a replaced base: exit {code}: {err!r}")


@case("disk-identity")
def _(env):
    """A disk is part of what the saved guest knows: a restore refuses an
    image that changed since the snapshot (modification time, size), a
    missing one, or one of another kind; --disk with --restore gives each
    disk anew (a clone's own copy), one for one."""
    img = os.path.join(env.tmp, "disk.img")
    with open(img, "wb") as f:
        f.truncate(1 << 20)
    saved = boot(env, "saved", "--disk", img)
    saved.wait_count(32)
    snap = os.path.join(env.tmp, "snap")
    saved.snapshot(snap, "--then", "stop")
    saved.finish(0)
    copy = os.path.join(env.tmp, "copy.img")
    subprocess.run(["cp", "-p", img, copy], check=True)

    def refused(words, *extra):
        code, _, err, _ = env.run("run", "--restore", snap, "--no-stdio", *extra, timeout=20)
        expect(code == EXIT_USAGE, f"restore {extra}: exit {code}, expected 2: {err!r}")
        for w in words:
            expect(w in err, f"restore {extra}: no {w!r} in {err!r}")

    st = os.stat(img)
    os.utime(img, ns=(st.st_atime_ns, st.st_mtime_ns + 1000))
    refused([img, "changed since the snapshot"])
    os.unlink(img)
    refused([img])
    refused(["one for one", "1, 2 given"], "--disk", copy, "--disk", copy)
    refused([copy, "read-only"], "--disk", copy + ",ro")
    short = os.path.join(env.tmp, "short.img")
    with open(short, "wb") as f:
        f.truncate(1 << 19)
    refused([short, "bytes"], "--disk", short)
    # The copy, given in the disk's place, restores.
    continues(saved.text(), restore(env, "restored", snap, "--disk", copy))


WS_RECORDED = re.compile(r"recorded the working set in (\S+): (\d+) pages touched, (\d+) written")
WS_STATS = re.compile(r"^kvmkit stats: working_set used=(yes|no) pages=(\d+) written=(\d+) "
                      r"prefaulted=(\d+) us=(\d+)$", re.M)


def memory_mapping(pid, snap):
    """smaps of @pid's mapping of @snap's memory file: {field: KiB}."""
    target = os.path.realpath(os.path.join(snap, "memory"))
    fields, inside = {}, False
    with open(f"/proc/{pid}/smaps", encoding="ascii", errors="replace") as f:
        for line in f:
            head = line.split()
            if re.match(r"^[0-9a-f]+-[0-9a-f]+ ", line):
                inside = len(head) >= 6 and head[5] == target
            elif inside and len(head) >= 2 and head[0].endswith(":") and head[1].isdigit():
                fields[head[0][:-1]] = fields.get(head[0][:-1], 0) + int(head[1])
    expect(fields, f"no mapping of {target} in /proc/{pid}/smaps")
    return fields


def ws_stats(err):
    m = WS_STATS.search(err)
    expect(m, f"no working_set line in --stats: {err!r}")
    return m.group(1) == "yes", int(m.group(2)), int(m.group(3)), int(m.group(4))


@case("working-set")
def _(env):
    """--record-working-set writes which pages a restored guest touched (and
    which it wrote) into the snapshot's directory; a later restore of that
    snapshot brings them in before the guest runs: started --paused, before
    any guest instruction, the pages it will write are private copies
    already and the others mapped, where --no-working-set has none."""
    saved = boot(env)
    saved.wait_count(256)
    snap = os.path.join(env.tmp, "snap")
    saved.snapshot(snap, "--then", "stop")
    saved.finish(0)
    ws = os.path.join(snap, "working-set")
    rec = restore(env, "recorder", snap, "--record-working-set", "300", "--log-level", "info")
    # The file is the recording's own signal; the guest counts on meanwhile.
    if not wait_for(lambda: os.path.exists(ws) or rec.proc.poll() is not None, scaled(30)):
        raise Failure(f"{ws} never appeared")
    continues(saved.text(), rec)
    m = WS_RECORDED.search(rec.err)
    expect(m and m.group(1) == ws, f"no recording reported: {rec.err!r}")
    touched, written = int(m.group(2)), int(m.group(3))
    # The guest checks and rewrites its 64 MiB as it counts; 300 ms is
    # some of it, and every page it wrote it touched.
    expect(0 < written <= touched <= 32768, f"recorded {touched} touched, {written} written")
    expect(not glob.glob(ws + ".tmp-*"), f"left behind: {glob.glob(ws + '.tmp-*')}")

    paused = restore(env, "paused", snap, "--paused", "--stats")
    mapped = memory_mapping(paused.proc.pid, snap)
    lazy = restore(env, "lazy", snap, "--paused", "--stats", "--no-working-set")
    unmapped = memory_mapping(lazy.proc.pid, snap)
    expect(mapped.get("Anonymous", 0) >= written * 4,
           f"paused, the working set's {written} written pages are not copies yet: {mapped}")
    expect(mapped.get("Rss", 0) >= touched * 4,
           f"paused, the working set's {touched} pages are not mapped: {mapped}")
    expect(unmapped.get("Anonymous", 0) < written * 4,
           f"--no-working-set copied pages before the guest ran: {unmapped}")
    for run in (paused, lazy):
        run.ctl("resume")
        continues(saved.text(), run)
    used, pages, wrote, _ = ws_stats(paused.err)
    expect(used and pages == touched and wrote == written,
           f"the restore used {pages}/{wrote} pages, {touched}/{written} recorded: {paused.err!r}")
    expect(not ws_stats(lazy.err)[0], f"--no-working-set used it: {lazy.err!r}")

    # A new snapshot into the directory replaces it whole, working set and
    # all (a working set belongs to one snapshot).
    again = restore(env, "again", snap)
    again.wait_count(16)
    again.snapshot(snap, "--then", "stop")
    again.finish(0)
    expect(sorted(os.listdir(snap)) == ["memory", "state"], f"snapshot has {os.listdir(snap)}")

    # A guest that ends before the time asked has its working set recorded
    # at its end.
    short = restore(env, "short", snap, "--record-working-set", "3600000", "--log-level", "info")
    short.wait_count(16)
    short.kill()
    expect(os.path.exists(ws) and WS_RECORDED.search(short.err),
           f"nothing recorded at the end: {short.err!r}")


@case("working-set-refused")
def _(env):
    """A working set that is damaged, cut short or another snapshot's is
    not used (a warning names the file and why) and the restore goes on;
    --record-working-set without --restore is a usage error."""
    code, _, err, _ = env.run("run", "-k", env.guest("counter"), "--record-working-set", "100",
                              "--no-stdio")
    expect(code == EXIT_USAGE and "--record-working-set" in err and "--restore" in err,
           f"--record-working-set without --restore: exit {code}: {err!r}")
    code, _, err, _ = env.run("run", "--restore", "x", "--record-working-set", "0", "--no-stdio")
    expect(code == EXIT_USAGE and "milliseconds" in err, f"--record-working-set 0: {code} {err!r}")
    snaps = []
    for name in ("a", "b"):
        saved = boot(env, "saved-" + name)
        saved.wait_count(64)
        snap = os.path.join(env.tmp, name)
        saved.snapshot(snap, "--then", "stop")
        saved.finish(0)
        snaps.append((snap, saved.text()))
        ws = os.path.join(snap, "working-set")
        rec = restore(env, "rec-" + name, snap, "--record-working-set", "100")
        if not wait_for(lambda: os.path.exists(ws) or rec.proc.poll() is not None, scaled(30)):
            raise Failure(f"{ws} never appeared")
        rec.kill()
    (a, a_text), (b, b_text) = snaps
    ws_a, ws_b = os.path.join(a, "working-set"), os.path.join(b, "working-set")
    with open(ws_a, "rb") as f:
        good = f.read()

    def ignored(snap, text, words):
        run = restore(env, "restored", snap, "--stats")
        continues(text, run)
        expect(not ws_stats(run.err)[0], f"a bad working set was used: {run.err!r}")
        for w in words:
            expect(w in run.err, f"no {w!r} in {run.err!r}")

    flipped = bytearray(good)
    flipped[len(good) // 2] ^= 0x10
    with open(ws_a, "wb") as f:
        f.write(flipped)
    ignored(a, a_text, [ws_a, "checksum mismatch", "not used"])
    with open(ws_a, "wb") as f:
        f.write(good[:len(good) - 9])
    ignored(a, a_text, [ws_a, "not used"])
    with open(ws_b, "wb") as f:
        f.write(good)
    ignored(b, b_text, [ws_b, "another snapshot"])
    # Put back, it is used again.
    with open(ws_a, "wb") as f:
        f.write(good)
    run = restore(env, "restored", a, "--stats")
    continues(a_text, run)
    expect(ws_stats(run.err)[0], f"the good working set was not used: {run.err!r}")


if __name__ == "__main__":
    sys.exit(testlib.main(CASES, __doc__, "kvmkit-snapshot-"))
