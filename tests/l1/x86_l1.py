#!/usr/bin/env python3
"""The x86_64 L1 tier: runs a meson test suite of a host build, or one
command, inside an x86_64 Linux that QEMU boots under TCG (-cpu EPYC: AMD
SVM with nested paging), where Debian's kernel loads kvm-amd and so has a
/dev/kvm, for hosts whose own /dev/kvm is missing or cannot run a guest
(tests/l1/kvm_probe.c; tests/l1/with-kvm picks).

    x86_l1.py suite --build build/native [--suite host] [--label native] [TEST ...]
    x86_l1.py run [--] COMMAND [ARG ...]

The L1 runs the very binaries of BUILD with the host's libraries: the host's
root is shared read-only over virtio-9p under an overlay on a fresh ext4
scratch disk (tests/l1/x86_64-init), and `meson test --no-rebuild` runs
there, chrooted. Results come back on the serial console, one line a test,
and meson's logs through a second 9p share (WORK/run-N/).

A heartbeat every 2 s on the L1's second serial port tells a hung L1 from a
slow one. When it stops, the vCPUs' registers are recorded (QEMU's monitor),
the hang is reported plainly, and the tests that had not finished run once
more in a fresh L1. A test that failed is never run again.

Upper time bounds in the tests are multiplied by KVMKIT_TEST_TIME_FACTOR
(--time-factor), as are meson's and Check's timeouts.

`run` runs COMMAND in the current directory and prints what it printed;
inside, KVMKIT_TIER=x86_64-l1 tells a benchmark to label its numbers. A
hung L1 fails the command (it is not run again).

Exit status of `suite`: 0 when every test of the suite passed (a skipped
test is a failure: the point of this tier is that nothing skips), 1
otherwise. Of `run`: COMMAND's, or 1 when the L1 failed.
"""

import argparse
import os
import re
import shlex
import shutil
import subprocess
import sys
import time

HERE = os.path.dirname(os.path.abspath(__file__))
sys.path.insert(0, HERE)
import l1vm  # noqa: E402

SOURCE = os.path.dirname(os.path.dirname(HERE))
INIT = os.path.join(HERE, "x86_64-init")
# A result line of meson test: " 12/72 kvmkit:host / cli-timeout   OK   1.02s"
RESULT_RE = re.compile(r"^\s*\d+/\d+ \S+:(\S+) / (\S+)\s+([A-Z]+)\s+([0-9.]+)s")
PASSED = ("OK", "EXPECTEDFAIL")
L1_APPLETS = """sh mount umount mkdir insmod chroot cat echo sleep sync poweroff
ls dmesg""".split()
SAFE_PATH = "/usr/local/sbin:/usr/local/bin:/usr/sbin:/usr/bin:/sbin:/bin"
OUT_IN_L1 = "/kvmkit-l1-out"  # where x86_64-init mounts the out share in the chroot
MAX_HANGS = 2  # fresh L1s started for unfinished tests before giving up


def say(text):
    print(f"x86-l1: {text}", flush=True)


def suite_tests(build, suite):
    """The names of the suite's tests, in meson's order."""
    out = subprocess.run(["meson", "test", "-C", build, "--no-rebuild", "--list",
                          "--suite", suite], check=True, capture_output=True, text=True).stdout
    names = []
    for line in out.splitlines():
        _, sep, name = line.partition(" / ")
        if sep:
            names.append(name.strip())
    return names


def build_initramfs(assets, work):
    """The L1's initramfs (busybox, /init, modules), rebuilt when an input changed."""
    inputs = [os.path.join(assets, "busybox"), INIT, os.path.abspath(l1vm.__file__),
              os.path.join(assets, "modules", "load-order")]
    with open(inputs[-1]) as f:
        modules = [m.strip() for m in f if m.strip()]
    inputs += [os.path.join(assets, "modules", m + ".ko") for m in modules]
    cpio = os.path.join(work, "l1.cpio")
    if os.path.exists(cpio) and os.path.getmtime(cpio) >= max(map(os.path.getmtime, inputs)):
        return cpio
    with open(cpio + ".tmp", "wb") as f:
        w = l1vm.Newc(f)
        for d in ("bin", "sbin", "dev", "proc", "sys", "tmp", "lib", "lib/modules"):
            w.directory(d)
        w.chardev("dev/console", 5, 1)
        w.file("bin/busybox", inputs[0])
        for applet in L1_APPLETS:
            w.symlink("bin/" + applet, "busybox")
        w.file("init", INIT)
        w.file("lib/modules/load-order", inputs[3], 0o644)
        for m in modules:
            w.file(f"lib/modules/{m}.ko", os.path.join(assets, "modules", m + ".ko"), 0o644)
        w.trailer()
    os.replace(cpio + ".tmp", cpio)
    return cpio


def scratch_disk(path, size_gib):
    """A fresh, sparse ext4 image: the overlay's upper layer."""
    with open(path, "wb") as f:
        f.truncate(size_gib << 30)
    subprocess.run(["mkfs.ext4", "-q", "-F", "-E", "lazy_itable_init=1,lazy_journal_init=1",
                    path], check=True)


def script(env, lines):
    """A run.sh for the L1: @env exported (PATH without the host's pyenv
    shims, which cost 15-25 s a start under TCG), then @lines."""
    env = dict({"PATH": SAFE_PATH, "HOME": "/root", "LANG": "C.UTF-8", "TERM": "dumb",
                "KVMKIT_TIER": "x86_64-l1"}, **env)
    for key in ("ASAN_OPTIONS", "UBSAN_OPTIONS", "LSAN_OPTIONS"):
        if key in os.environ:
            env.setdefault(key, os.environ[key])
    text = ["# written by tests/l1/x86_l1.py; runs in the x86_64 L1, chrooted"]
    text += [f"export {k}={shlex.quote(v)}" for k, v in sorted(env.items())]
    return "\n".join(text + lines) + "\n"


def suite_script(args, tests):
    """meson test of the suite (or of @tests by name) in BUILD."""
    factor = f"{args.time_factor:g}"
    env = {"KVMKIT_TEST_TIME_FACTOR": factor, "CK_TIMEOUT_MULTIPLIER": factor,
           "KVMKIT_EXAMPLES_PREBUILT": "1"}
    build = os.path.abspath(args.build)
    cmd = ["meson", "test", "-C", build, "--no-rebuild", "--print-errorlogs", "--suite",
           args.suite, "-t", factor] + tests
    return script(env, [
        f"cd {shlex.quote(build)} || exit 126",
        # Through cat: meson draws no progress bar on a pipe. The status goes by file.
        f"{{ {shlex.join(cmd)}; echo $? >/tmp/kvmkit-meson-rc; }} 2>&1 | cat",
        "rc=$(cat /tmp/kvmkit-meson-rc)",
        f"cp meson-logs/testlog.txt meson-logs/testlog.json {OUT_IN_L1}/",
        "exit $rc",
    ])


def command_script(command):
    """COMMAND in this directory, between two markers that frame its output."""
    return script({}, [
        f"cd {shlex.quote(os.getcwd())} || exit 126",
        "echo KVMKIT-L1-COMMAND-START",
        shlex.join(command) + " 2>&1",
        "rc=$?",
        "echo KVMKIT-L1-COMMAND-END",
        "exit $rc",
    ])


def symbolize(kallsyms, address):
    """Kernel address -> "function+0xoff" from the L1's /proc/kallsyms, else ""."""
    best = None
    try:
        with open(kallsyms) as f:
            for line in f:
                parts = line.split()
                if len(parts) < 3 or parts[1] not in "tTwW":
                    continue
                value = int(parts[0], 16)
                if value <= address and (best is None or value > best[0]):
                    best = (value, parts[2])
    except (OSError, ValueError):
        return ""
    return f"{best[1]}+0x{address - best[0]:x}" if best and best[0] else ""


def hang_report(monitor, out):
    """Records the vCPUs' registers and local APICs twice, 2 s apart, in
    OUT/hang-registers.txt, and says whether the L1 is halted or spinning,
    and where (a kernel RIP is named from the L1's kallsyms)."""
    path = os.path.join(out, "hang-registers.txt")
    try:
        first = l1vm.hmp(monitor, "info registers -a")
        lapic = l1vm.hmp(monitor, "info lapic")
        time.sleep(2)
        second = l1vm.hmp(monitor, "info registers -a")
        lapic2 = l1vm.hmp(monitor, "info lapic")
        extra = l1vm.hmp(monitor, "info status")
    except OSError as e:
        return f"the monitor did not answer ({e})"
    with open(path, "w") as f:
        f.write(f"== info registers -a\n{first}\n\n== info lapic\n{lapic}\n\n"
                f"== 2 s later: info registers -a\n{second}\n\n== info lapic\n{lapic2}\n\n"
                f"== {extra}\n")
    rips = [re.findall(r"RIP=([0-9a-f]+)", t) for t in (first, second)]
    halted = "HLT=1" in second
    moved = rips[0] != rips[1]
    what = ("halted" if halted else "running") + (", RIP moving" if moved else ", RIP still")
    where = []
    for rip in rips[1]:
        name = symbolize(os.path.join(out, "kallsyms"), int(rip, 16))
        where.append(f"{rip} {name}".strip())
    return (f"vCPU RIP {', '.join(where) or '?'} ({what}; QEMU: {extra}); "
            f"registers and local APIC in {path}")


def boot(args, attempt, text, cpio, on_line=None, echo=True):
    """One L1 running run.sh @text. Returns (hang, status): why it was taken
    as hung (else None), and run.sh's exit status or why there is none."""
    out = os.path.join(args.work, f"run-{attempt}")
    shutil.rmtree(out, ignore_errors=True)
    os.makedirs(out)
    with open(os.path.join(out, "run.sh"), "w") as f:
        f.write(text)
    scratch = os.path.join(args.work, "scratch.img")
    scratch_disk(scratch, 16)
    heartbeat = os.path.join(out, "heartbeat.log")
    monitor = os.path.join(out, "monitor.sock")
    assets = os.path.abspath(args.assets)
    cmd = [args.qemu, "-accel", "tcg", "-cpu", "EPYC", "-smp", str(args.smp), "-m", args.mem,
           "-nographic", "-no-reboot", "-nodefaults",
           "-serial", "stdio", "-serial", f"file:{heartbeat}",
           "-monitor", f"unix:{monitor},server=on,wait=off",
           "-kernel", os.path.join(assets, "vmlinuz"), "-initrd", cpio,
           "-append", "console=ttyS0 rdinit=/init panic=-1 quiet",
           "-fsdev", "local,id=root,path=/,security_model=none,readonly=on,multidevs=remap",
           "-device", "virtio-9p-pci,fsdev=root,mount_tag=root",
           "-fsdev", f"local,id=out,path={out},security_model=none",
           "-device", "virtio-9p-pci,fsdev=out,mount_tag=out",
           "-drive", f"file={scratch},if=virtio,format=raw,cache=unsafe"]
    if echo:
        say(f"L1 #{attempt}: " + " ".join(cmd))
    hb = l1vm.Heartbeat(heartbeat, first_within=args.boot_timeout, stall=args.hang_after)
    report = []
    try:
        run = l1vm.run_qemu(cmd, args.timeout, heartbeat=hb, on_line=on_line, echo=echo,
                            on_hang=lambda: report.append(
                                hang_report(monitor, out)))
    finally:
        os.unlink(scratch)
    if run.hang:
        return f"{run.hang}; {report[0] if report else 'no register dump'}", None
    if run.timed_out:
        return None, f"the L1 ran out of its {args.timeout:g} s" + (f" ({run.note})"
                                                                     if run.note else "")
    rc = l1vm.done_status(run.lines)
    if rc is None:
        return None, l1vm.why_no_done(run.lines, run.rc)
    return None, rc


def add_l1_options(p):
    p.add_argument("--assets", default=os.path.join(SOURCE, "build", "assets", "x86_64-l1"),
                   help="scripts/guest-assets --x86-l1 output (default build/assets/x86_64-l1)")
    p.add_argument("--work", help="work directory (default BUILD/l1-tier)")
    p.add_argument("--timeout", type=float, default=2400.0,
                   help="seconds one L1 may run (default 2400)")
    p.add_argument("--boot-timeout", type=float, default=300.0,
                   help="seconds until the first heartbeat (default 300)")
    p.add_argument("--hang-after", type=float, default=60.0,
                   help="seconds without a heartbeat that mean a hung L1 (default 60)")
    p.add_argument("--smp", type=int, default=1, help="L1 vCPUs (default 1)")
    p.add_argument("--mem", default="4096", help="L1 memory, QEMU -m syntax (default 4096)")
    p.add_argument("--qemu", default="qemu-system-x86_64")


def parse_args(argv):
    p = argparse.ArgumentParser(description=__doc__.split("\n\n")[0],
                                formatter_class=argparse.RawDescriptionHelpFormatter)
    sub = p.add_subparsers(dest="mode", required=True)
    s = sub.add_parser("suite", help="run a meson suite of a host build in L1")
    s.add_argument("--build", required=True, help="meson build directory (built on the host)")
    s.add_argument("--suite", default="host", help="meson suite to run (default host)")
    s.add_argument("--label", default="", help="what to call this run in messages")
    s.add_argument("--time-factor", type=float, default=10.0,
                   help="KVMKIT_TEST_TIME_FACTOR and timeout multiplier (default 10)")
    add_l1_options(s)
    s.add_argument("tests", nargs="*", help="only these tests of the suite")
    r = sub.add_parser("run", help="run one command in L1")
    add_l1_options(r)
    r.add_argument("command", nargs=argparse.REMAINDER, help="COMMAND [ARG ...]")
    args = p.parse_args(argv)
    if args.mode == "suite":
        args.work = os.path.abspath(args.work or os.path.join(args.build, "l1-tier"))
        args.label = args.label or os.path.basename(os.path.abspath(args.build))
        if not 1.0 <= args.time_factor <= 1000.0:
            p.error("--time-factor: expected a number from 1 to 1000")
    else:
        if args.command[:1] == ["--"]:
            args.command = args.command[1:]
        if not args.command:
            p.error("run: a COMMAND is needed")
        args.work = os.path.abspath(args.work or os.path.join(SOURCE, "build", "l1-run"))
    return args


def run_suite(args, cpio):
    all_tests = suite_tests(args.build, args.suite)
    unknown = [t for t in args.tests if t not in all_tests]
    if unknown:
        say(f"FAIL: not in suite {args.suite}: {', '.join(unknown)}")
        return 1
    wanted = args.tests or all_tests
    results = {}

    def on_line(text):
        m = RESULT_RE.match(text)
        if m and m.group(1) == args.suite:
            results[m.group(2)] = (m.group(3), float(m.group(4)))

    hangs = []
    start = time.monotonic()
    attempt = 1
    # The first L1 runs the selection as given; after a hang, a fresh one
    # runs by name what had not finished.
    todo = list(args.tests)
    while True:
        before = len(results)
        hang, rc = boot(args, attempt, suite_script(args, todo), cpio, on_line)
        if not hang:
            break
        unfinished = [t for t in wanted if t not in results]
        hangs.append(hang)
        say(f"L1 #{attempt} HUNG ({args.label}): {hang}")
        say(f"{len(unfinished)} test(s) had not finished: {' '.join(unfinished)}")
        if len(results) == before:
            say("FAIL: no test finished in that L1; not starting another")
            return 1
        if len(hangs) > MAX_HANGS:
            say(f"FAIL: {len(hangs)} hung L1s; not starting another")
            return 1
        attempt += 1
        todo = unfinished
        say(f"running the {len(unfinished)} unfinished test(s) once more in a fresh L1")

    elapsed = time.monotonic() - start
    bad = {t: r for t, r in results.items() if r[0] not in PASSED}
    missing = [t for t in wanted if t not in results]
    say(f"{args.label}: {len(results) - len(bad)} of {len(wanted)} tests passed in the x86_64 "
        f"L1 in {elapsed:.0f} s, {len(hangs)} hung L1(s) recovered; logs in {args.work}/run-*")
    for h in hangs:
        say(f"recovered hang: {h}")
    if bad:
        say("FAIL: " + ", ".join(f"{t} {r[0]}" for t, r in sorted(bad.items())) +
            (" (a skip is a failure here)" if any(r[0] == "SKIP" for r in bad.values()) else ""))
        return 1
    if missing:
        say(f"FAIL: no result for {', '.join(missing)} (L1 status: {rc})")
        return 1
    if rc != 0:
        say(f"FAIL: the run in L1 ended with status {rc}")
        return 1
    return 0


def run_command(args, cpio):
    """Prints COMMAND's output lines as they come, without the L1's own."""
    inside = []

    def on_line(text):
        if text == "KVMKIT-L1-COMMAND-END":
            inside.clear()
        elif inside:
            print(text, flush=True)
        elif text == "KVMKIT-L1-COMMAND-START":
            inside.append(True)

    say(f"running in the x86_64 L1 under TCG: {shlex.join(args.command)}")
    hang, rc = boot(args, 1, command_script(args.command), cpio, on_line, echo=False)
    if hang:
        say(f"FAIL: the L1 hung: {hang}")
        return 1
    if not isinstance(rc, int):
        say(f"FAIL: {rc}")
        return 1
    return rc


def main(argv):
    args = parse_args(argv)
    l1vm.raise_on_termination()
    if not shutil.which(args.qemu):
        say(f"FAIL: {args.qemu} not found (scripts/install-deps)")
        return 1
    missing = [p for p in ("vmlinuz", "busybox", "modules/load-order")
               if not os.path.isfile(os.path.join(args.assets, p))]
    if missing:
        say(f"FAIL: {args.assets} lacks {', '.join(missing)} (scripts/guest-assets --x86-l1)")
        return 1
    os.makedirs(args.work, exist_ok=True)
    cpio = build_initramfs(args.assets, args.work)
    try:
        return run_suite(args, cpio) if args.mode == "suite" else run_command(args, cpio)
    except l1vm.Terminated as e:
        say(f"FAIL: killed by {e}")
        return 1


if __name__ == "__main__":
    sys.exit(main(sys.argv[1:]))
