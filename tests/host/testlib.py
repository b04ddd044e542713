"""What the Python host tests share: a table of named cases that raise
Failure, the command line (--kvmkit, --guests, CASE ...), the environment a
case runs kvmkit in, and the loop that runs each case in a temporary
directory of its own."""

import argparse
import json
import os
import subprocess
import sys
import tempfile
import time


class Failure(Exception):
    pass


class Client:
    """A connection to a control socket: one JSON request and reply a line."""

    def __init__(self, sock):
        self.sock = sock
        self.pending = b""

    def send_raw(self, data):
        self.sock.sendall(data)

    def reply(self):
        while b"\n" not in self.pending:
            chunk = self.sock.recv(65536)
            if not chunk:
                raise Failure(f"connection closed; got {self.pending!r}")
            self.pending += chunk
        line, self.pending = self.pending.split(b"\n", 1)
        return json.loads(line)

    def request(self, obj):
        self.send_raw(json.dumps(obj).encode() + b"\n")
        return self.reply()

    def command(self, name):
        return self.request({"command": name})

    def closed(self):
        """True when the VMM closed this connection."""
        try:
            return self.sock.recv(1) == b""
        except ConnectionResetError:
            return True

    def close(self):
        self.sock.close()


def time_factor():
    """How many times slower than a native host this tier runs:
    KVMKIT_TEST_TIME_FACTOR (set by the x86_64 L1 tier under TCG), else 1.
    Upper bounds on time and waits for an event are multiplied by it; lower
    bounds are not."""
    text = os.environ.get("KVMKIT_TEST_TIME_FACTOR", "")
    if not text:
        return 1.0
    try:
        factor = float(text)
    except ValueError:
        factor = 0.0
    if not 1.0 <= factor <= 1000.0:
        raise SystemExit(f"KVMKIT_TEST_TIME_FACTOR={text}: expected a number from 1 to 1000")
    return factor


def scaled(seconds):
    """An upper bound of @seconds on a native host, for this tier."""
    return seconds * time_factor()


def wait_for(cond, seconds, step=0.01):
    """Polls @cond until it holds or scaled(@seconds) passed; returns its last value."""
    deadline = time.monotonic() + scaled(seconds)
    while not cond() and time.monotonic() < deadline:
        time.sleep(step)
    return cond()


def expect(cond, message):
    if not cond:
        raise Failure(message)


class Cases(dict):
    """Case name -> function of an Env, in the order they were declared."""

    def case(self, name):
        def register(fn):
            self[name] = fn
            return fn
        return register


def parse_args(description, known):
    """The common command line; unknown case names are a usage error."""
    parser = argparse.ArgumentParser(description=description)
    parser.add_argument("--kvmkit", required=True)
    parser.add_argument("--guests", required=True)
    parser.add_argument("cases", nargs="*", metavar="CASE", help=", ".join(known))
    args = parser.parse_args()
    if not os.access(args.kvmkit, os.X_OK):
        parser.error(f"--kvmkit {args.kvmkit}: not an executable")
    if not os.path.isfile(os.path.join(args.guests, "hello.elf")):
        parser.error(f"--guests {args.guests}: no hello.elf there (build the host suite first)")
    unknown = [c for c in args.cases if c not in known]
    if unknown:
        parser.error(f"unknown case(s) {', '.join(unknown)}; known: {', '.join(known)}")
    return args


class Env:
    """What a case runs in: the kvmkit command, the guests and a temporary
    directory of its own."""

    def __init__(self, kvmkit, guests, tmp):
        self.kvmkit = kvmkit
        self.guests = guests
        self.tmp = tmp

    def guest(self, name):
        return os.path.join(self.guests, name + ".elf")

    def run(self, *args, timeout=10):
        """Runs kvmkit to completion; returns (code, stdout, stderr, seconds)."""
        start = time.monotonic()
        proc = subprocess.run([self.kvmkit, *args], stdin=subprocess.DEVNULL,
                              capture_output=True, cwd=self.tmp, timeout=scaled(timeout))
        return (proc.returncode, proc.stdout, proc.stderr.decode(errors="replace"),
                time.monotonic() - start)

    def ctl(self, path, *args, timeout=10):
        """Runs `kvmkit ctl --socket PATH ARGS`; returns (code, stdout, stderr)."""
        p = subprocess.run([self.kvmkit, "ctl", "--socket", path, *args],
                           stdin=subprocess.DEVNULL, capture_output=True, timeout=timeout)
        return p.returncode, p.stdout.decode(), p.stderr.decode()


def main(cases, doc, tmp_prefix, tmp_mode=None, errors=(Failure, subprocess.TimeoutExpired)):
    """Runs the cases named on the command line, or all, each in a new
    temporary directory (given @tmp_mode, for other users to reach). A case
    fails by raising one of @errors. Returns the exit status: 0 when all
    pass, 1 otherwise, 77 (meson's "skipped") when /dev/kvm cannot be opened."""
    args = parse_args(doc.splitlines()[0], cases)
    if not os.access("/dev/kvm", os.R_OK | os.W_OK):
        print("/dev/kvm is not usable here: skipping", file=sys.stderr)
        return 77
    failed = 0
    for name in args.cases or cases:
        with tempfile.TemporaryDirectory(prefix=tmp_prefix) as tmp:
            if tmp_mode is not None:
                os.chmod(tmp, tmp_mode)
            env = Env(os.path.abspath(args.kvmkit), os.path.abspath(args.guests), tmp)
            start = time.monotonic()
            try:
                cases[name](env)
                print(f"ok   {name} ({time.monotonic() - start:.2f} s)")
            except errors as e:
                failed += 1
                print(f"FAIL {name}: {e if isinstance(e, Failure) else repr(e)}")
    return 1 if failed else 0
