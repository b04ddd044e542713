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
import subprocess
import sys
import time

import testlib
from testlib import Cases, Failure, expect, scaled, wait_for

CASES = Cases()
case = CASES.case
MEMORY = "128M"
LINE = re.compile(r"c=([0-9a-f]{16})$")
EXIT_USAGE = 2


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


def boot(env, name="saved"):
    return Run(env, name, "-k", env.guest("counter"), "--memory", MEMORY)


def restore(env, name, path, *extra):
    return Run(env, name, "--restore", path, *extra)


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


if __name__ == "__main__":
    sys.exit(testlib.main(CASES, __doc__, "kvmkit-snapshot-"))
