"""Run something inside an L1 Linux that QEMU boots under TCG, where a
/dev/kvm exists whatever the host has: what the arm64 nested runner
(tests/nested/runner.py) and the x86_64 host tier (tests/l1/x86_l1.py)
share.

- Newc: the initramfs ("newc" cpio) writer; archives concatenate, so a cached
  base plus a small per-run archive make the L1's root.
- run_qemu(): starts QEMU with its serial console on a pipe, stamps every
  line with the seconds since start, echoes it, stops at the overall timeout,
  gives QEMU a grace time to exit after the DONE line, and notices a hung L1
  from a heartbeat that stops growing (Heartbeat).
- done_status(): the exit status /init reported ("KVMKIT-L1-DONE rc=N").
- hmp(): one human-monitor command over QEMU's monitor socket, to record the
  vCPUs' registers when an L1 hangs.

An L1 /init prints KVMKIT-L1-READY when it reaches user space and
KVMKIT-L1-DONE rc=N when the work ended, then powers off.
"""

import ctypes
import os
import re
import selectors
import signal
import socket
import stat
import subprocess
import time

READY_RE = re.compile(r"KVMKIT-L1-READY")
DONE_RE = re.compile(r"KVMKIT-L1-DONE rc=(\d+)")
L1_PANIC_RE = re.compile(r"Kernel panic - not syncing")
DONE_GRACE = 20.0  # seconds QEMU may take to exit after KVMKIT-L1-DONE


class Newc:
    """Minimal writer for the cpio "newc" format the kernel's initramfs unpacker reads."""

    def __init__(self, f, first_ino=1):
        self.f = f
        self.ino = first_ino
        self.off = 0

    def _put(self, data):
        self.f.write(data)
        self.off += len(data)

    def _pad(self):
        if self.off % 4:
            self._put(b"\0" * (4 - self.off % 4))

    def _entry(self, name, mode, size=0, nlink=1, rdev=(0, 0), data=b"", path=None):
        namez = name.encode() + b"\0"
        fields = (self.ino, mode, 0, 0, nlink, 0, size, 0, 0, rdev[0], rdev[1],
                  len(namez), 0)
        self.ino += 1
        self._put(b"070701" + "".join("%08X" % v for v in fields).encode() + namez)
        self._pad()
        if path is not None:
            with open(path, "rb") as src:
                copied = 0
                while True:
                    chunk = src.read(1 << 20)
                    if not chunk:
                        break
                    self._put(chunk)
                    copied += len(chunk)
            if copied != size:
                raise OSError(f"{path} changed size while archiving")
        else:
            self._put(data)
        self._pad()

    def directory(self, name, perm=0o755):
        self._entry(name, stat.S_IFDIR | perm, nlink=2)

    def file(self, name, path, perm=0o755):
        self._entry(name, stat.S_IFREG | perm, size=os.path.getsize(path), path=path)

    def text(self, name, data, perm=0o755):
        self._entry(name, stat.S_IFREG | perm, size=len(data), data=data)

    def symlink(self, name, target):
        data = target.encode()
        self._entry(name, stat.S_IFLNK | 0o777, size=len(data), data=data)

    def chardev(self, name, major, minor, perm=0o600):
        self._entry(name, stat.S_IFCHR | perm, rdev=(major, minor))

    def trailer(self):
        self.ino = 0
        self._entry("TRAILER!!!", 0)


def append_newc(path, first_ino=1 << 20):
    """Opens PATH (a copy of a base archive) for appending a second archive
    that starts on a 4-byte boundary with inode numbers of its own."""
    f = open(path, "ab")
    f.write(b"\0" * (-f.tell() % 4))
    return f, Newc(f, first_ino=first_ino)


def set_pdeathsig():
    """Child side: die with the runner even if it is SIGKILLed (Linux only)."""
    try:
        libc = ctypes.CDLL(None, use_errno=True)
        libc.prctl(1, signal.SIGKILL)  # PR_SET_PDEATHSIG
    except (OSError, AttributeError):
        pass


class Terminated(Exception):
    pass


def _on_signal(signum, _frame):
    raise Terminated(signal.Signals(signum).name)


def raise_on_termination():
    """SIGTERM, SIGINT and SIGHUP raise Terminated, so QEMU is killed on the way out."""
    for sig in (signal.SIGTERM, signal.SIGINT, signal.SIGHUP):
        signal.signal(sig, _on_signal)


class Heartbeat:
    """An L1 that writes a line to a second serial port (a file on the host)
    every few seconds. It is hung when nothing came for @stall seconds, or
    when the first line has not come @first_within seconds after start.
    Slowness does not look like a hang: a busy TCG still runs the loop."""

    def __init__(self, path, first_within, stall):
        self.path = path
        self.first_within = first_within
        self.stall = stall
        self.size = 0
        self.last_growth = None
        self.start = None

    def last_line(self):
        try:
            with open(self.path, "rb") as f:
                f.seek(max(0, self.size - 200))
                tail = f.read().decode("utf-8", "replace").strip().splitlines()
            return tail[-1] if tail else "(none)"
        except OSError:
            return "(none)"

    def check(self, now):
        """Returns None while the L1 lives, else why it is taken as hung."""
        if self.start is None:
            self.start = now
        try:
            size = os.path.getsize(self.path)
        except OSError:
            size = 0
        if size > self.size:
            self.size = size
            self.last_growth = now
            return None
        if self.last_growth is None:
            if now - self.start > self.first_within:
                return f"no heartbeat within {self.first_within:.0f} s of QEMU's start"
            return None
        if now - self.last_growth > self.stall:
            return (f"no heartbeat for {now - self.last_growth:.0f} s "
                    f"(last: {self.last_line()})")
        return None


class Run:
    """What run_qemu() saw: stamped lines (seconds since start, text), whether
    it stopped QEMU at the timeout, QEMU's exit status, a note, and why the L1
    was taken as hung (None if it was not)."""

    def __init__(self):
        self.lines = []
        self.timed_out = False
        self.rc = None
        self.note = ""
        self.hang = None


def run_qemu(cmd, timeout, heartbeat=None, on_hang=None, echo=True, on_line=None):
    """Runs QEMU until it exits, @timeout passes, it lingers DONE_GRACE after
    the DONE line, or @heartbeat says the L1 hung (then @on_hang() is called
    before QEMU is killed, to record its state). Echoes each line stamped."""
    run = Run()
    t0 = time.monotonic()
    deadline = t0 + timeout
    done_deadline = None
    proc = subprocess.Popen(cmd, stdin=subprocess.DEVNULL, stdout=subprocess.PIPE,
                            stderr=subprocess.STDOUT, preexec_fn=set_pdeathsig)
    fd = proc.stdout.fileno()
    sel = selectors.DefaultSelector()
    sel.register(fd, selectors.EVENT_READ)
    buf = b""

    def emit(raw, when):
        text = raw.decode("utf-8", "replace").rstrip("\r")
        run.lines.append((when - t0, text))
        if echo:
            print(f"[{when - t0:8.3f}] {text}", flush=True)
        if on_line:
            on_line(text)

    try:
        while True:
            now = time.monotonic()
            limit = deadline if done_deadline is None else min(deadline, done_deadline)
            if now >= limit:
                if done_deadline is not None and now >= done_deadline:
                    run.note = f"QEMU did not exit within {DONE_GRACE:.0f} s of KVMKIT-L1-DONE"
                run.timed_out = True
                break
            if heartbeat is not None and done_deadline is None:
                run.hang = heartbeat.check(now)
                if run.hang:
                    if on_hang:
                        on_hang()
                    break
            if not sel.select(min(limit - now, 1.0)):
                continue
            chunk = os.read(fd, 65536)
            when = time.monotonic()
            if not chunk:
                break
            buf += chunk
            while b"\n" in buf:
                raw, buf = buf.split(b"\n", 1)
                emit(raw, when)
                if done_deadline is None and DONE_RE.search(run.lines[-1][1]):
                    done_deadline = when + DONE_GRACE
        if buf:
            emit(buf, time.monotonic())
    finally:
        sel.close()
        if proc.poll() is None:
            proc.kill()
        proc.wait()
        proc.stdout.close()
    run.rc = proc.returncode
    return run


def first_match(lines, regex, start=0):
    for i in range(start, len(lines)):
        if regex.search(lines[i][1]):
            return i
    return None


def done_status(lines):
    """The exit status in the DONE line, or None when there is none."""
    i = first_match(lines, DONE_RE)
    return None if i is None else int(DONE_RE.search(lines[i][1]).group(1))


def why_no_done(lines, qemu_rc):
    """One line on why an L1 ended without its DONE line."""
    where = ("L1 never reached /init" if first_match(lines, READY_RE) is None
             else "L1 /init did not finish")
    panic = first_match(lines, L1_PANIC_RE)
    if panic is not None:
        where += f"; L1 kernel panic: {lines[panic][1].strip()}"
    return f"QEMU exited (status {qemu_rc}) without KVMKIT-L1-DONE: {where}"


def hmp(path, command, timeout=10.0):
    """Sends one command to QEMU's human monitor on unix socket PATH
    (-monitor unix:PATH,server=on,wait=off) and returns its answer."""
    def until_prompt(s):
        data = b""
        while not data.endswith(b"(qemu) "):
            chunk = s.recv(65536)
            if not chunk:
                break
            data += chunk
        return data

    with socket.socket(socket.AF_UNIX, socket.SOCK_STREAM) as s:
        s.settimeout(timeout)
        s.connect(path)
        until_prompt(s)  # the greeting
        s.sendall(command.encode() + b"\n")
        data = until_prompt(s)
    text = data.decode("utf-8", "replace").replace("\r", "")
    # The monitor echoes the command line first and ends with its prompt.
    lines = text.split("\n")
    if lines and command in lines[0]:
        lines = lines[1:]
    return "\n".join(line for line in lines if line != "(qemu) ").strip()
