#!/usr/bin/env python3
"""Control socket tests: `kvmkit run --api-socket PATH` with the x86_64 test
guests on this host's /dev/kvm, driven over a real Unix socket (Python's
socket module) and through `kvmkit ctl`.

    socket_test.py --kvmkit build/src/kvmkit --guests build/tests/host/guests [CASE ...]

Exit status 0 when all pass, 1 otherwise, 77 when /dev/kvm cannot be opened.
"""

import json
import os
import socket
import stat
import subprocess
import sys
import time

import testlib
from testlib import Cases, Client, Failure, expect, scaled, wait_for

CASES = Cases()
case = CASES.case
EXIT_KILLED = 5


class Vm:
    """A kvmkit run serving a control socket."""

    def __init__(self, env, guest, *extra):
        self.path = os.path.join(env.tmp, "api.sock")
        self.proc = subprocess.Popen(
            [env.kvmkit, "run", "-k", env.guest(guest), "--api-socket", self.path,
             "--timeout", "30", *extra],
            stdin=subprocess.DEVNULL, stdout=subprocess.DEVNULL, stderr=subprocess.PIPE,
            cwd=env.tmp)
        deadline = time.monotonic() + scaled(5)
        while not self.listening():
            if self.proc.poll() is not None:
                raise Failure(f"kvmkit exited with {self.proc.returncode}: {self.stderr()}")
            expect(time.monotonic() < deadline, "the socket never appeared")
            time.sleep(0.01)

    def listening(self):
        s = socket.socket(socket.AF_UNIX, socket.SOCK_STREAM)
        try:
            s.connect(self.path)
            return True
        except OSError:
            return False
        finally:
            s.close()

    def stderr(self):
        return self.proc.stderr.read().decode(errors="replace") if self.proc.stderr else ""

    def connect(self):
        s = socket.socket(socket.AF_UNIX, socket.SOCK_STREAM)
        s.settimeout(scaled(5))
        deadline = time.monotonic() + scaled(5)
        while True:
            try:
                s.connect(self.path)
                return Client(s)
            except BlockingIOError:  # the backlog is full until kvmkit accepts
                if time.monotonic() > deadline:
                    s.close()
                    raise
                time.sleep(0.01)

    def finish(self, code):
        try:
            rc = self.proc.wait(timeout=scaled(5))
        except subprocess.TimeoutExpired:
            self.proc.kill()
            self.proc.wait()
            raise Failure("kvmkit did not exit")
        err = self.stderr()
        expect(rc == code, f"kvmkit exited with {rc}, expected {code}; stderr {err!r}")
        expect(not os.path.exists(self.path), "the socket file was left behind")
        return err

    def close(self):
        if self.proc.poll() is None:
            self.proc.kill()
            self.proc.wait()
        self.proc.stderr.close()


def expect_ok(reply, state):
    expect(reply.get("ok") is True and reply.get("state") == state,
           f"reply {reply}, expected ok in state {state}")


def expect_error(reply, code, words):
    err = reply.get("error", {})
    expect(reply.get("ok") is False and err.get("code") == code,
           f"reply {reply}, expected an {code} error")
    expect(isinstance(err.get("errno"), int) and err["errno"] > 0, f"errno missing: {reply}")
    for w in words:
        expect(w in err.get("message", ""), f"message {err.get('message')!r} lacks {w!r}")


@case("commands")
def commands(env):
    vm = Vm(env, "spin")
    try:
        st = os.stat(vm.path)
        expect(stat.S_ISSOCK(st.st_mode), "not a socket")
        expect(stat.S_IMODE(st.st_mode) == 0o600, f"mode {oct(st.st_mode)}, expected 0600")
        expect(st.st_uid == os.geteuid(), "not owned by the VMM's user")
        c = vm.connect()
        r = c.command("status")
        expect_ok(r, "running")
        expect(r.get("exit-reason", "absent") is None and r.get("pausing") is False and
               r.get("vcpus") == 1 and
               r.get("memory-mib") == 256 and r.get("pid") == vm.proc.pid, f"status {r}")
        expect_ok(c.command("pause"), "paused")
        expect_ok(c.command("pause"), "paused")
        expect_ok(c.command("status"), "paused")
        expect_ok(c.command("resume"), "running")
        expect_ok(c.command("resume"), "running")
        r = c.request({"command": "status", "id": {"n": 1}})
        expect(r.get("id") == {"n": 1}, f"id not echoed: {r}")
        # A second client waits for the end while the first kills the VM.
        w = vm.connect()
        w.send_raw(b'{"command": "wait", "id": "w"}\n')
        time.sleep(scaled(0.1))  # for the wait to be read before the kill
        r = c.command("kill")
        expect(r.get("ok") is True and r.get("exit-reason") == "killed", f"kill: {r}")
        r = w.reply()
        expect(r == {"ok": True, "id": "w", "state": "ended", "exit-reason": "killed"},
               f"wait: {r}")
        vm.finish(EXIT_KILLED)
    finally:
        vm.close()


@case("malformed")
def malformed(env):
    """Bad requests get JSON errors; the connection and the VM carry on."""
    vm = Vm(env, "spin")
    try:
        c = vm.connect()
        c.send_raw(b"{bad\n")
        expect_error(c.reply(), "EBADMSG", ["malformed"])
        c.send_raw(b'{"command": "status"} trailing\n')
        expect_error(c.reply(), "EBADMSG", ["malformed"])
        c.send_raw(b"[1, 2]\n")
        expect_error(c.reply(), "EINVAL", ["object"])
        c.send_raw(b'{"cmd": "status"}\n')
        expect_error(c.reply(), "EINVAL", ['"command"'])
        c.send_raw(b'{"command": 42}\n')
        expect_error(c.reply(), "EINVAL", ['"command"'])
        r = c.request({"command": "frobnicate", "id": 3})
        expect_error(r, "EINVAL", ["frobnicate"])
        expect(r.get("id") == 3, f"id not echoed: {r}")
        c.send_raw(b"\x00\xff\xfe\n")
        expect_error(c.reply(), "EBADMSG", ["malformed"])
        # Blank lines are ignored; two requests in one write get two replies.
        c.send_raw(b'\n\r\n{"command": "status"}\n{"command": "status"}\n')
        expect_ok(c.reply(), "running")
        expect_ok(c.reply(), "running")
        # A request split across writes.
        c.send_raw(b'{"comm')
        time.sleep(0.05)
        c.send_raw(b'and": "status"}\n')
        expect_ok(c.reply(), "running")
        # A line longer than the limit: an error, then the connection closes.
        big = vm.connect()
        big.send_raw(b"x" * 5000)
        expect_error(big.reply(), "EMSGSIZE", ["4096"])
        expect(big.closed(), "the over-long client was not disconnected")
        # A client that goes away mid-request harms nobody.
        gone = vm.connect()
        gone.send_raw(b'{"command": "sta')
        gone.close()
        expect_ok(c.command("status"), "running")
        expect(vm.proc.poll() is None, "the VM died")
        expect_ok(c.command("stop"), "stopping")
        vm.finish(EXIT_KILLED)
    finally:
        vm.close()


@case("errors")
def errors(env):
    vm = Vm(env, "spin", "--stop-timeout", "5")
    try:
        c = vm.connect()
        # x86_64 has no power button: stop is a hard stop at once.
        start = time.monotonic()
        r = c.command("stop")
        expect(r.get("ok") is True and r.get("state") == "stopping", f"stop: {r}")
        err = vm.finish(EXIT_KILLED)
        expect(time.monotonic() - start < scaled(1.0), "stop on x86_64 was not immediate")
        expect(err == "", f"stderr {err!r}")
    finally:
        vm.close()


@case("pause-freezes-guest")
def pause_freezes_guest(env):
    log = os.path.join(env.tmp, "console.log")
    vm = Vm(env, "ticker", "--console-log", log, "--no-stdio")
    try:
        c = vm.connect()
        time.sleep(0.1)
        expect_ok(c.command("pause"), "paused")
        size = os.path.getsize(log)
        time.sleep(0.2)
        expect(os.path.getsize(log) == size, "the guest printed while paused")
        expect_ok(c.command("resume"), "running")
        expect(wait_for(lambda: os.path.getsize(log) > size, 1.0),
               "the guest did not run on after resume")
        expect_ok(c.command("pause"), "paused")
        r = c.command("kill")
        expect(r.get("ok") is True, f"kill while paused: {r}")
        vm.finish(EXIT_KILLED)
    finally:
        vm.close()


@case("wait-reports-exit")
def wait_reports_exit(env):
    vm = Vm(env, "spin", "--timeout", "1")
    try:
        r = vm.connect().command("wait")
        expect(r == {"ok": True, "state": "ended", "exit-reason": "timeout"}, f"wait: {r}")
        vm.finish(124)
    finally:
        vm.close()


@case("ctl")
def ctl(env):
    vm = Vm(env, "spin")
    try:
        code, out, err = env.ctl(vm.path, "status")
        expect(code == 0 and err == "", f"ctl status: {code} {out!r} {err!r}")
        expect(json.loads(out)["state"] == "running", f"ctl status: {out!r}")
        code, out, _ = env.ctl(vm.path, "pause")
        expect(code == 0 and json.loads(out)["state"] == "paused", f"ctl pause: {out!r}")
        code, out, _ = env.ctl(vm.path, "bogus")
        expect(code == 3 and json.loads(out)["error"]["code"] == "EINVAL", f"ctl bogus: {out!r}")
        code, out, _ = env.ctl(vm.path, "--send", "{oops")
        expect(code == 3 and json.loads(out)["error"]["code"] == "EBADMSG", f"--send: {out!r}")
        code, out, err = env.ctl(vm.path)
        expect(code == 2 and out == "" and "COMMAND" in err, f"no command: {code} {err!r}")
        code, out, err = env.ctl(os.path.join(env.tmp, "nothing.sock"), "status")
        expect(code == 1 and out == "" and "nothing.sock" in err, f"no VM: {code} {err!r}")
        waiter = subprocess.Popen([env.kvmkit, "ctl", "-s", vm.path, "wait"],
                                  stdout=subprocess.PIPE, stderr=subprocess.PIPE)
        time.sleep(scaled(0.2))  # for the waiter to connect before the kill
        code, out, _ = env.ctl(vm.path, "kill")
        expect(code == 0, f"ctl kill: {code} {out!r}")
        out, _ = waiter.communicate(timeout=scaled(5))
        expect(waiter.returncode == 0 and json.loads(out)["exit-reason"] == "killed",
               f"ctl wait: {waiter.returncode} {out!r}")
        vm.finish(EXIT_KILLED)
    finally:
        vm.close()


@case("dirty")
def dirty(env):
    """Dirty tracking over the socket and through kvmkit ctl, with a guest
    that writes random pages all the time (guests/dirty_writer.S)."""
    for engine in ("bitmap+clear", "ring"):
        vm = Vm(env, "dirty_writer", "--dirty-engine", engine, "--memory", "64M")
        try:
            c = vm.connect()
            r = c.command("status")
            expect(r.get("dirty-engine") == engine and r.get("dirty-tracking") is False,
                   f"status {r}")
            r = c.request({"command": "dirty-rate", "seconds": 1, "id": 7})
            expect(r.get("ok") is True and r.get("id") == 7 and r.get("dirty-engine") == engine,
                   f"dirty-rate: {r}")
            # libuv's clock counts whole milliseconds: the window may end up to 1 ms early.
            expect(r["guest-pages-per-sec"] > 0 and r["seconds"] >= 0.998, f"dirty-rate: {r}")
            if engine == "ring":
                rates = r.get("vcpu-pages-per-sec")
                expect(isinstance(rates, list) and len(rates) == 1 and rates[0] > 0,
                       f"per-vCPU rates: {r}")
            else:
                expect("vcpu-pages-per-sec" not in r, f"per-vCPU rates without a ring: {r}")
            # The measurement turned tracking on for itself only.
            expect(c.command("status").get("dirty-tracking") is False, "tracking left on")
            r = c.command("dirty-start")
            expect(r.get("ok") is True and r.get("dirty-tracking") is True, f"start: {r}")
            expect_error(c.command("dirty-start"), "EALREADY", ["already"])
            # A measurement while a consumer tracks leaves tracking on.
            code, out, err = env.ctl(vm.path, "dirty-rate", "--seconds", "1", timeout=scaled(10))
            expect(code == 0 and json.loads(out)["guest-pages-per-sec"] > 0,
                   f"ctl dirty-rate: {code} {out!r} {err!r}")
            expect(c.command("status").get("dirty-tracking") is True, "tracking turned off")
            # One measurement at a time: once m's status answer is back, the
            # dirty-rate it sent before it is running (one client's requests
            # are served in order).
            m = vm.connect()
            m.send_raw(b'{"command": "dirty-rate", "seconds": 2, "id": "m"}\n')
            m.send_raw(b'{"command": "status", "id": "s"}\n')
            expect(m.reply().get("id") == "s", "status did not come first")
            expect_error(c.command("dirty-rate"), "EBUSY", ["running"])
            r = m.reply()
            expect(r.get("ok") is True and r.get("id") == "m", f"the first measurement: {r}")
            for bad in (0, -1, 3601, "1", 1.5):
                expect_error(c.request({"command": "dirty-rate", "seconds": bad}), "EINVAL",
                             ["seconds"])
            expect_error(c.request({"command": "dirty-start", "all": 1}), "EINVAL", ["all"])
            r = c.command("dirty-stop")
            expect(r.get("ok") is True and r.get("dirty-tracking") is False, f"stop: {r}")
            expect_error(c.command("dirty-stop"), "ENOTCONN", ["not on"])
            code, out, err = env.ctl(vm.path, "status", "--seconds", "1")
            expect(code == 2 and out == "" and "--seconds" in err, f"--seconds: {code} {err!r}")
            code, out, err = env.ctl(vm.path, "dirty-rate", "--seconds", "0")
            expect(code == 2 and "--seconds '0'" in err, f"--seconds 0: {code} {err!r}")
            expect(c.command("kill").get("ok") is True, "kill")
            vm.finish(EXIT_KILLED)
        except (Failure, OSError) as failure:
            # kvm_pvm's instruction emulator overruns dirty rings (it pushes
            # an entry per emulated store and does not stop at the ring's
            # limit): kvmkit must then say so and end the VM, never go on
            # with holes. Any other end is a failure.
            if engine != "ring":
                raise
            try:
                rc = vm.proc.wait(timeout=scaled(5))
            except subprocess.TimeoutExpired:
                raise failure
            err = vm.stderr()
            if rc != 1 or "overran the dirty ring" not in err:
                raise failure
            print(f"note: this host's KVM overran the dirty ring; kvmkit said: {err.strip()}")
        finally:
            vm.close()


@case("owner-only")
def owner_only(env):
    """Another user cannot connect (the socket is 0600)."""
    vm = Vm(env, "spin")
    try:
        if os.geteuid() != 0:
            print("     (not root: skipping the other-user connect)")
        else:
            pid = os.fork()
            if pid == 0:
                try:
                    os.setgid(65534)
                    os.setuid(65534)
                    s = socket.socket(socket.AF_UNIX, socket.SOCK_STREAM)
                    s.connect(vm.path)
                    os._exit(1)
                except PermissionError:
                    os._exit(0)
                except BaseException:
                    os._exit(2)
            _, status = os.waitpid(pid, 0)
            expect(os.waitstatus_to_exitcode(status) == 0,
                   "a process of user nobody could connect")
        vm.connect().command("kill")
        vm.finish(EXIT_KILLED)
    finally:
        vm.close()


@case("path-checks")
def path_checks(env):
    """A stale socket file is replaced; a regular file is left alone."""
    path = os.path.join(env.tmp, "api.sock")
    stale = socket.socket(socket.AF_UNIX, socket.SOCK_STREAM)
    stale.bind(path)
    stale.close()  # bound, never listening: what a killed VMM leaves
    vm = Vm(env, "spin")
    try:
        expect_ok(vm.connect().command("status"), "running")
        # A second VM on the same path is refused and leaves it working.
        p = subprocess.run([env.kvmkit, "run", "-k", env.guest("spin"), "--api-socket", path],
                           stdin=subprocess.DEVNULL, capture_output=True, timeout=scaled(10))
        err = p.stderr.decode()
        expect(p.returncode == 2 and "api.sock" in err and err.count("\n") == 1,
               f"second VM: {p.returncode} {err!r}")
        expect_ok(vm.connect().command("kill"), "stopping")
        vm.finish(EXIT_KILLED)
    finally:
        vm.close()
    with open(path, "w") as f:
        f.write("precious\n")
    p = subprocess.run([env.kvmkit, "run", "-k", env.guest("spin"), "--api-socket", path],
                       stdin=subprocess.DEVNULL, capture_output=True, timeout=scaled(10))
    expect(p.returncode == 2 and b"api.sock" in p.stderr, f"file in the way: {p}")
    with open(path) as f:
        expect(f.read() == "precious\n", "a regular file was overwritten")


def busy_listener(path):
    """A listener that never accepts, its backlog full: a blocking connect
    to it waits for ever. Returns the sockets to close."""
    listener = socket.socket(socket.AF_UNIX, socket.SOCK_STREAM)
    listener.bind(path)
    listener.listen(0)
    filler = socket.socket(socket.AF_UNIX, socket.SOCK_STREAM)
    filler.setblocking(False)
    filler.connect(path)
    probe = socket.socket(socket.AF_UNIX, socket.SOCK_STREAM)
    probe.setblocking(False)
    try:
        probe.connect(path)
        raise Failure("the fake listener's backlog is not full")
    except BlockingIOError:
        pass
    finally:
        probe.close()
    return [listener, filler]


@case("idle-clients-evicted")
def idle_clients_evicted(env):
    """Clients that connect and say nothing cannot lock `ctl kill` out: with
    every slot taken the one idle longest is closed."""
    vm = Vm(env, "spin")
    idle = []
    try:
        for _ in range(20):
            idle.append(vm.connect())
        code, out, err = env.ctl(vm.path, "kill", timeout=scaled(10))
        expect(code == 0 and json.loads(out).get("exit-reason") == "killed",
               f"ctl kill with 20 idle clients: {code} {out!r} {err!r}")
        expect(idle[0].closed(), "the oldest idle client was not closed")
        err = vm.finish(EXIT_KILLED)
        expect("idle longest" in err, f"no word of the eviction: {err!r}")
    finally:
        for c in idle:
            c.close()
        vm.close()


@case("idle-timeout")
def idle_timeout(env):
    """A client that sends nothing for 30 s is closed; blank lines keep one
    alive; a pending wait is not idle."""
    vm = Vm(env, "spin", "--timeout", "600")
    try:
        start = time.monotonic()
        silent = vm.connect()
        waiter = vm.connect()
        waiter.send_raw(b'{"command": "wait"}\n')
        alive = vm.connect()
        silent.sock.settimeout(1)
        closed_at = None
        while closed_at is None:
            expect(time.monotonic() - start < 30 + scaled(10), "the idle client stayed open")
            alive.send_raw(b"\n")  # a keep-alive
            try:
                if silent.sock.recv(1) == b"":
                    closed_at = time.monotonic() - start
            except socket.timeout:
                pass
            except ConnectionResetError:
                closed_at = time.monotonic() - start
        expect(closed_at >= 29.5, f"the idle client was closed after {closed_at:.1f} s")
        expect_ok(alive.command("status"), "running")
        r = alive.command("kill")
        expect(r.get("ok") is True, f"kill: {r}")
        r = waiter.reply()
        expect(r.get("exit-reason") == "killed", f"the waiter got {r}")
        vm.finish(EXIT_KILLED)
    finally:
        vm.close()


@case("ctl-bounded")
def ctl_bounded(env):
    """kvmkit ctl gives up within --timeout on a server that never accepts
    and on one that accepts and never answers, and says which."""
    path = os.path.join(env.tmp, "fake.sock")
    socks = busy_listener(path)
    try:
        start = time.monotonic()
        code, out, err = env.ctl(path, "--timeout", "1", "status", timeout=scaled(10))
        took = time.monotonic() - start
        expect(code == 1 and out == "" and "fake.sock" in err and "no connection in time" in err
               and err.count("\n") == 1, f"never accepting: {code} {out!r} {err!r}")
        expect(1 <= took < 1 + scaled(2), f"ctl took {took:.1f} s")
    finally:
        for s in socks:
            s.close()
    os.unlink(path)
    listener = socket.socket(socket.AF_UNIX, socket.SOCK_STREAM)
    listener.bind(path)
    listener.listen(1)
    try:
        start = time.monotonic()
        code, out, err = env.ctl(path, "--timeout", "1", "status", timeout=scaled(10))
        took = time.monotonic() - start
        expect(code == 1 and out == "" and "fake.sock" in err and "no reply in time" in err,
               f"never answering: {code} {out!r} {err!r}")
        expect(1 <= took < 1 + scaled(2), f"ctl took {took:.1f} s")
    finally:
        listener.close()


@case("probe-busy-listener")
def probe_busy_listener(env):
    """--api-socket on a path where something listens but never accepts:
    the stale-socket probe does not wait for it; kvmkit refuses at once."""
    path = os.path.join(env.tmp, "api.sock")
    socks = busy_listener(path)
    try:
        code, out, err, took = env.run("run", "-k", env.guest("spin"), "--api-socket", path,
                                       timeout=10)
        expect(code == 2 and out == b"" and "api.sock" in err and "in use" in err and
               err.count("\n") == 1, f"kvmkit: {code} {out!r} {err!r}")
        expect(took < scaled(5), f"kvmkit took {took:.1f} s")
        expect(stat.S_ISSOCK(os.lstat(path).st_mode), "the listener's socket file was removed")
    finally:
        for s in socks:
            s.close()


@case("socket-mode")
def socket_mode(env):
    """The socket file is 0600 from the moment bind() creates it, whatever the
    umask (bind_mode_probe.c, preloaded, looks right after bind())."""
    probe = os.environ.get("KVMKIT_BIND_PROBE")
    expect(probe and os.path.exists(probe), f"KVMKIT_BIND_PROBE={probe!r}: no probe library")
    log = os.path.join(env.tmp, "bind.log")
    path = os.path.join(env.tmp, "api.sock")
    child_env = dict(os.environ, LD_PRELOAD=probe, KVMKIT_BIND_PROBE_LOG=log)
    # An ASan build wants its runtime first in the library list.
    child_env["ASAN_OPTIONS"] = ":".join(
        filter(None, [os.environ.get("ASAN_OPTIONS"), "verify_asan_link_order=0"]))
    proc = subprocess.Popen([env.kvmkit, "run", "-k", env.guest("spin"), "--api-socket", path,
                             "--timeout", "30"],
                            stdin=subprocess.DEVNULL, stdout=subprocess.DEVNULL,
                            stderr=subprocess.PIPE, cwd=env.tmp, env=child_env, umask=0)
    try:
        # The probe creates the file before it writes the line: wait for the line.
        def logged():
            try:
                with open(log) as f:
                    return f.read().endswith("\n")
            except FileNotFoundError:
                return False

        expect(wait_for(logged, scaled(5)), "the probe logged no bind()")
        with open(log) as f:
            lines = f.read().splitlines()
        expect(lines == [f"{path} 0600"], f"socket mode at bind(): {lines}")
        expect(wait_for(lambda: os.path.exists(path), scaled(5)), "no socket")
        expect(stat.S_IMODE(os.lstat(path).st_mode) == 0o600, "the socket is not 0600")
        c = socket.socket(socket.AF_UNIX, socket.SOCK_STREAM)
        c.settimeout(scaled(5))
        c.connect(path)
        Client(c).command("kill")
        rc = proc.wait(timeout=scaled(5))
        expect(rc == EXIT_KILLED, f"kvmkit exited with {rc}: {proc.stderr.read()!r}")
    finally:
        if proc.poll() is None:
            proc.kill()
            proc.wait()
        proc.stderr.close()


def main():
    # 0755: in owner-only, user nobody must reach the socket to be refused by it.
    return testlib.main(CASES, __doc__, tmp_prefix="kvmkit-socket-", tmp_mode=0o755,
                        errors=(Failure, OSError, subprocess.TimeoutExpired, ValueError))


if __name__ == "__main__":
    sys.exit(main())
