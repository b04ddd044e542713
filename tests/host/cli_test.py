#!/usr/bin/env python3
"""CLI tests of the kvmkit command: boots the guests of tests/host/guests on
this host's /dev/kvm and checks console output, exit codes, timing, signals
and --stats.

    cli_test.py --kvmkit build/src/kvmkit --guests build/tests/host/guests [CASE ...]

Without CASE every case runs. Exit status 0 when all pass, 1 otherwise, 77
(meson's "skipped") when /dev/kvm cannot be opened.
"""

import errno
import fcntl
import os
import re
import select
import signal
import subprocess
import sys
import time

import testlib
from testlib import Cases, expect, scaled

# The guests' console output, as written in their .S files.
HELLO = b"hello from guest\n"
SPIN_MARKER = b"guest is spinning\n"
# flood.S: FLOOD_BYTES (guests/layout.h) of "x", then its marker.
FLOOD_MARKER = b"flood done\n"
FLOOD_TOTAL = 64 * 1024 + len(FLOOD_MARKER)
# The smallest --console-buffer, so that the flood overflows it.
FLOOD_ARGS = ("--expect", "flood done", "--console-buffer", "4K", "--stats", "--timeout", "60")
UNMAPPED_WARNING = "kvmkit: vcpu0: 4-byte mmio write at 0xd0000000: no device there\n"

CASES = Cases()
case = CASES.case


def describe(code, out, err):
    return f"exit code {code}\n  stdout: {out!r}\n  stderr: {err!r}"


@case("console")
def console(env):
    code, out, err, _ = env.run("run", "-k", env.guest("hello"))
    expect(code == 0, describe(code, out, err))
    expect(out == HELLO, f"console output {out!r}, expected {HELLO!r}")
    expect(err == UNMAPPED_WARNING, f"stderr {err!r}, expected {UNMAPPED_WARNING!r}")


@case("smp")
def smp(env):
    code, out, err, _ = env.run("run", "-k", env.guest("hello"), "-c", "2")
    expect(code == 0 and out == HELLO, describe(code, out, err))


@case("high-memory")
def high_memory(env):
    """RAM past the 32-bit MMIO hole continues at 4 GiB: 4.5 GiB and the
    largest RAM the x86_64 layout allows (63 GiB, mapped lazily) boot."""
    for mem in ("4608M", "63G"):
        code, out, err, _ = env.run("run", "-k", env.guest("hello"), "-m", mem)
        expect(code == 0 and out == HELLO and err == UNMAPPED_WARNING,
               f"-m {mem}: " + describe(code, out, err))


@case("poweroff")
def poweroff(env):
    """HLT on the only vCPU powers off at once, with exit code 0."""
    code, out, err, seconds = env.run("run", "-k", env.guest("halt"))
    expect(code == 0 and out == b"" and err == "", describe(code, out, err))
    expect(seconds < scaled(1.0), f"powering off took {seconds:.2f} s")


@case("reset")
def reset(env):
    code, out, err, seconds = env.run("run", "-k", env.guest("reset"), "--timeout", "10")
    expect(code == 3, describe(code, out, err))
    expect(out == b"resetting\n", f"console output {out!r}")
    expect(err == "", f"stderr {err!r}")
    expect(seconds < scaled(2.0), f"the reset took {seconds:.2f} s")


@case("triple-fault")
def triple_fault(env):
    code, out, err, _ = env.run("run", "-k", env.guest("triple_fault"), "--timeout", "10")
    expect(code == 3 and out == b"faulting\n", describe(code, out, err))


@case("panic")
def panic(env):
    code, out, err, _ = env.run("run", "-k", env.guest("panic"), "--timeout", "10")
    expect(code == 4, describe(code, out, err))
    expect(out.startswith(b"Kernel panic - not syncing"), f"console output {out!r}")


@case("timeout")
def timeout(env):
    code, out, err, seconds = env.run("run", "-k", env.guest("spin"), "--timeout", "1")
    expect(code == 124, describe(code, out, err))
    expect(0.9 <= seconds <= 1.0 + scaled(1.0),
           f"--timeout 1 ended the guest after {seconds:.2f} s")
    expect(out == SPIN_MARKER, f"console output {out!r}")
    expect(err.count("\n") == 1 and "1 s" in err, f"stderr {err!r}: one line naming 1 s")


@case("expect")
def expect_text(env):
    """--expect ends the VM as soon as the text shows, though the guest spins on."""
    code, out, err, seconds = env.run("run", "-k", env.guest("spin"), "--expect", "is spinning",
                                      "--timeout", "10")
    expect(code == 0, describe(code, out, err))
    expect(seconds < scaled(1.0), f"--expect took {seconds:.2f} s")
    # The VM stops once the text is complete: the newline after it may or may
    # not have been written by then, nothing else may follow.
    expect(out in (SPIN_MARKER, SPIN_MARKER.rstrip(b"\n")) and err == "",
           describe(code, out, err))


@case("console-log")
def console_log(env):
    log = os.path.join(env.tmp, "console.log")
    code, out, err, _ = env.run("run", "-k", env.guest("hello"), "--console-log", log)
    expect(code == 0 and out == HELLO, describe(code, out, err))
    with open(log, "rb") as f:
        expect(f.read() == HELLO, f"{log} differs from the console")
    # With --no-stdio the log is the only copy, and an old log is replaced.
    with open(log, "wb") as f:
        f.write(b"old contents, longer than the new ones\n" * 10)
    code, out, err, _ = env.run("run", "-k", env.guest("hello"), "--console-log", log,
                                "--no-stdio")
    expect(code == 0 and out == b"", describe(code, out, err))
    with open(log, "rb") as f:
        content = f.read()
    expect(content == HELLO, f"{log} holds {content!r}")


def processes_in_group(pgid):
    pids = []
    for entry in os.listdir("/proc"):
        if not entry.isdigit():
            continue
        try:
            with open(f"/proc/{entry}/stat") as f:
                stat = f.read()
        except OSError:
            continue
        # pid (comm) state ppid pgrp ...: comm may hold spaces, so split after ')'.
        fields = stat[stat.rindex(")") + 2:].split()
        if int(fields[2]) == pgid:
            pids.append(int(entry))
    return pids


def signal_spinning_guest(env, signum, expected_code):
    proc = subprocess.Popen([env.kvmkit, "run", "-k", env.guest("spin"), "--timeout", "20"],
                            stdin=subprocess.DEVNULL, stdout=subprocess.PIPE,
                            stderr=subprocess.PIPE, cwd=env.tmp, start_new_session=True)
    try:
        # The signal goes in once the guest runs, not while kvmkit starts.
        seen = b""
        deadline = time.monotonic() + scaled(5)
        while SPIN_MARKER not in seen and time.monotonic() < deadline:
            ready, _, _ = select.select([proc.stdout], [], [], 0.1)
            if ready:
                chunk = os.read(proc.stdout.fileno(), 4096)
                if not chunk:
                    break
                seen += chunk
        expect(SPIN_MARKER in seen, f"the guest never printed its marker: {seen!r}")
        time.sleep(scaled(0.1))
        start = time.monotonic()
        proc.send_signal(signum)
        code = proc.wait(timeout=scaled(5))
        seconds = time.monotonic() - start
        err = proc.stderr.read().decode(errors="replace")
        expect(code == expected_code, f"exit code {code}, expected {expected_code}; stderr {err!r}")
        expect(seconds < scaled(1.0), f"kvmkit took {seconds:.2f} s to stop")
        expect(err == "", f"stderr {err!r}")
        left = processes_in_group(proc.pid)
        expect(left == [], f"processes left in kvmkit's process group: {left}")
    finally:
        if proc.poll() is None:
            proc.kill()
            proc.wait()
        proc.stdout.close()
        proc.stderr.close()


@case("sigterm")
def sigterm(env):
    """SIGTERM is a graceful stop: the power button, then a hard stop after the
    grace time. The x86_64 test machine has no power button, so the stop is
    immediate; the exit code is 128 + SIGTERM either way."""
    signal_spinning_guest(env, signal.SIGTERM, 128 + signal.SIGTERM)


@case("sigint")
def sigint(env):
    signal_spinning_guest(env, signal.SIGINT, 128 + signal.SIGINT)


def parse_stats(err):
    """The --stats lines as {'vcpu0': {'exits': 36, ...}, 'com1': {...}, 'exit': 'poweroff'}."""
    stats = {}
    for line in err.splitlines():
        m = re.fullmatch(r"kvmkit stats: exit=(\S+)", line)
        if m:
            stats["exit"] = m.group(1)
            continue
        m = re.fullmatch(r"kvmkit stats: (?:device )?(\w+)(?: \([\w-]+\))? ((?:\w+=\d+ ?)+)", line)
        if m:
            stats[m.group(1)] = {k: int(v) for k, v in re.findall(r"(\w+)=(\d+)", m.group(2))}
    return stats


@case("stats")
def stats(env):
    # hello.S: 17 bytes, each after one LSR read (34 port exits), one unmapped
    # MMIO write, one HLT.
    code, out, err, _ = env.run("run", "-k", env.guest("hello"), "--stats")
    expect(code == 0 and out == HELLO, describe(code, out, err))
    s = parse_stats(err)
    expect(s.get("exit") == "poweroff", f"stats: {err}")
    expect(s.get("vcpu0") == {"exits": 36, "mmio": 1, "pio": 34}, f"vcpu0 stats: {err}")
    expect(s.get("com1") == {"reads": 17, "writes": 17, "rejected": 0}, f"com1 stats: {err}")
    expect(s.get("reset") == {"reads": 0, "writes": 0, "rejected": 0}, f"reset stats: {err}")
    # reset.S: 10 bytes, then one write to the reset register.
    code, out, err, _ = env.run("run", "-k", env.guest("reset"), "--stats", "--timeout", "10")
    s = parse_stats(err)
    expect(code == 3 and s.get("exit") == "reset", describe(code, out, err))
    expect(s.get("com1") == {"reads": 10, "writes": 10, "rejected": 0}, f"com1 stats: {err}")
    expect(s.get("reset") == {"reads": 0, "writes": 1, "rejected": 0}, f"reset stats: {err}")
    expect(s.get("vcpu0", {}).get("pio") == 21, f"vcpu0 stats: {err}")
    # Two vCPUs: the secondary's only exit is its HLT.
    code, out, err, _ = env.run("run", "-k", env.guest("smp_pio"), "-c", "2", "--stats")
    s = parse_stats(err)
    expect(code == 0, describe(code, out, err))
    expect(s.get("vcpu1") == {"exits": 1, "mmio": 0, "pio": 0}, f"vcpu1 stats: {err}")


def dropped_report(err):
    """The bytes stdout lost, from the warning and from --stats, which must agree."""
    m = re.search(r"kvmkit: console: (\d+) bytes of guest output were dropped: stdout did not "
                  r"take them in time\n", err)
    expect(m, f"no report of dropped console output on stderr: {err!r}")
    s = parse_stats(err)
    expect(s.get("console", {}).get("stdout_dropped") == int(m.group(1)),
           f"--stats disagrees with the warning: {err!r}")
    return int(m.group(1))


def read_all(fd):
    """What a pipe or pty master holds now, without waiting."""
    os.set_blocking(fd, False)
    data = b""
    while True:
        try:
            chunk = os.read(fd, 65536)
        except BlockingIOError:
            break
        except OSError as e:  # a pty master reads EIO once the slave is gone
            if e.errno == errno.EIO:
                break
            raise
        if not chunk:
            break
        data += chunk
    return data


@case("console-stalled-pipe")
def console_stalled_pipe(env):
    """stdout is a pipe whose reader stopped reading: the vCPU printing must not
    wait for it (--expect still sees the marker and ends the run), and every
    byte the pipe did not get is counted and reported."""
    r, w = os.pipe()
    try:
        fcntl.fcntl(w, fcntl.F_SETPIPE_SZ, 4096)
        start = time.monotonic()
        proc = subprocess.run([env.kvmkit, "run", "-k", env.guest("flood"), *FLOOD_ARGS],
                              stdin=subprocess.DEVNULL, stdout=w, stderr=subprocess.PIPE,
                              cwd=env.tmp, timeout=scaled(30))
        seconds = time.monotonic() - start
        os.close(w)
        w = -1
        out = read_all(r)
    finally:
        os.close(r)
        if w >= 0:
            os.close(w)
    err = proc.stderr.decode(errors="replace")
    expect(proc.returncode == 0, describe(proc.returncode, out[:64], err))
    expect(seconds < scaled(15), f"the run took {seconds:.2f} s")
    dropped = dropped_report(err)
    expect(out == b"x" * len(out), f"the pipe got other bytes than the flood's: {out[-64:]!r}")
    expect(len(out) + dropped == FLOOD_TOTAL,
           f"{len(out)} bytes written + {dropped} dropped != {FLOOD_TOTAL} printed")


@case("console-unread-tty")
def console_unread_tty(env):
    """stdin and stdout are one terminal nobody reads: the same, and what the
    terminal got plus what was dropped is all the guest printed."""
    master, slave = os.openpty()
    try:
        proc = subprocess.run([env.kvmkit, "run", "-k", env.guest("flood"), *FLOOD_ARGS],
                              stdin=slave, stdout=slave, stderr=subprocess.PIPE, cwd=env.tmp,
                              timeout=scaled(30))
        os.close(slave)
        slave = -1
        out = read_all(master)
    finally:
        os.close(master)
        if slave >= 0:
            os.close(slave)
    err = proc.stderr.decode(errors="replace")
    expect(proc.returncode == 0, describe(proc.returncode, out[:64], err))
    dropped = dropped_report(err)
    # The terminal turns "\n" into "\r\n" (ONLCR).
    shown = out.replace(b"\r\n", b"\n")
    expect(len(shown) + dropped == FLOOD_TOTAL,
           f"{len(shown)} bytes shown + {dropped} dropped != {FLOOD_TOTAL} printed")


@case("console-tty-flags")
def console_tty_flags(env):
    """On a terminal stdin and stdout share one open file description: reading
    stdin must not make the user's stdout non-blocking, neither while the
    guest runs nor after kvmkit exits."""
    master, slave = os.openpty()
    proc = None
    try:
        before = fcntl.fcntl(slave, fcntl.F_GETFL)
        expect(not before & os.O_NONBLOCK, "the test's terminal starts non-blocking")
        proc = subprocess.Popen([env.kvmkit, "run", "-k", env.guest("spin"), "--timeout", "20"],
                                stdin=slave, stdout=slave, stderr=subprocess.PIPE, cwd=env.tmp)
        seen = b""
        deadline = time.monotonic() + scaled(5)
        while SPIN_MARKER.rstrip(b"\n") not in seen and time.monotonic() < deadline:
            ready, _, _ = select.select([master], [], [], 0.1)
            if ready:
                seen += os.read(master, 4096)
        expect(SPIN_MARKER.rstrip(b"\n") in seen, f"the guest never printed its marker: {seen!r}")
        during = fcntl.fcntl(slave, fcntl.F_GETFL)
        proc.send_signal(signal.SIGTERM)
        code = proc.wait(timeout=scaled(5))
        after = fcntl.fcntl(slave, fcntl.F_GETFL)
        err = proc.stderr.read().decode(errors="replace")
        expect(code == 128 + signal.SIGTERM, f"exit code {code}; stderr {err!r}")
        expect(during == before, f"stdout's flags were {during:#o} while the guest ran, "
               f"{before:#o} before")
        expect(after == before, f"stdout's flags are {after:#o} after kvmkit, {before:#o} before")
    finally:
        if proc:
            if proc.poll() is None:
                proc.kill()
                proc.wait()
            proc.stderr.close()
        os.close(master)
        os.close(slave)


@case("help")
def help_text(env):
    for args in (["--help"], ["run", "--help"], ["help"]):
        code, out, err, _ = env.run(*args)
        expect(code == 0 and out.startswith(b"Usage: kvmkit run") and err == "",
               f"kvmkit {' '.join(args)}: {describe(code, out, err)}")
    code, out, err, _ = env.run("--version")
    expect(code == 0 and re.fullmatch(rb"kvmkit \d+\.\d+\.\d+\n", out) and err == "",
           describe(code, out, err))


def main():
    return testlib.main(CASES, __doc__, tmp_prefix="kvmkit-cli-")


if __name__ == "__main__":
    sys.exit(main())
