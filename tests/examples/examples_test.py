#!/usr/bin/env python3
"""Builds examples/ against an installed libkvmkit (build.py) and runs them:

    examples_test.py host --source SRC --work DIR --guests GUEST_DIR
        on this host's /dev/kvm with the x86_64 test guests (no power
        button there: the stop is a hard one)
    examples_test.py host --build-only --source SRC --work DIR
        only the build: the x86_64 L1 tier builds on the host, where it is
        fast, and runs the test in L1 with KVMKIT_EXAMPLES_PREBUILT=1, which
        skips the build and fails if that build is older than the sources
    examples_test.py nested --source SRC --work DIR --sysroot S --assets A --kvmkit K
        statically linked for aarch64, in the nested L1 on real L2 Linux
        guests, stopped gracefully through the power key

Exit status 0 on success, 1 on failure, 77 (host) without /dev/kvm.
"""

import argparse
import os
import subprocess
import sys

HERE = os.path.dirname(os.path.abspath(__file__))
# Upper bounds grow on slow tiers (tests/host/testlib.py: time_factor).
TIME_FACTOR = float(os.environ.get("KVMKIT_TEST_TIME_FACTOR") or 1)


def build(args, mode):
    cmd = [sys.executable, os.path.join(HERE, "build.py"), "--source", args.source,
           "--work", args.work, mode]
    if mode == "arm64":
        cmd += ["--sysroot", args.sysroot]
    if subprocess.run(cmd, check=False).returncode != 0:
        raise SystemExit("FAIL: building the examples against the installed library")
    return os.path.join(os.path.abspath(args.work), "examples")


def expect(cond, message):
    if not cond:
        raise SystemExit("FAIL: " + message)


def newest_source(source):
    """The newest modification time under the trees the examples are built from."""
    newest = 0.0
    for top in ("src", "include", "examples"):
        for root, _, files in os.walk(os.path.join(source, top)):
            for name in files:
                newest = max(newest, os.path.getmtime(os.path.join(root, name)))
    return newest


def stamp_path(args):
    return os.path.join(os.path.abspath(args.work), "prebuilt.stamp")


def prebuilt(args):
    """The examples built earlier by --build-only, checked to be current."""
    stamp = stamp_path(args)
    expect(os.path.isfile(stamp), f"KVMKIT_EXAMPLES_PREBUILT: no {stamp} "
           "(run examples_test.py host --build-only first)")
    expect(os.path.getmtime(stamp) >= newest_source(args.source),
           f"KVMKIT_EXAMPLES_PREBUILT: the build in {args.work} is older than the sources")
    examples = os.path.join(os.path.abspath(args.work), "examples")
    print(f"using the examples built in {examples}")
    return examples


def host(args):
    if args.build_only:
        if os.path.exists(stamp_path(args)):
            os.unlink(stamp_path(args))
        build(args, "native")
        with open(stamp_path(args), "w") as f:
            f.write("built by examples_test.py host --build-only\n")
        return 0
    if not os.access("/dev/kvm", os.R_OK | os.W_OK):
        print("/dev/kvm is not usable here: skipping")
        return 77
    if os.environ.get("KVMKIT_EXAMPLES_PREBUILT") == "1":
        examples = prebuilt(args)
    else:
        examples = build(args, "native")
    env = dict(os.environ, LD_LIBRARY_PATH=os.path.join(os.path.abspath(args.work), "prefix",
                                                        "lib", "x86_64-linux-gnu"))
    spin = "kernel=" + os.path.join(args.guests, "spin.elf")
    p = subprocess.run([os.path.join(examples, "boot-and-wait"), "is spinning", spin,
                        "memory=16M"], capture_output=True, text=True, env=env, timeout=60 * TIME_FACTOR)
    print(p.stdout + p.stderr)
    expect(p.returncode == 0 and "saw \"is spinning\"" in p.stdout and
           "the VM ended: killed" in p.stdout, "boot-and-wait")
    p = subprocess.run([os.path.join(examples, "fleet"), "4", "is spinning", spin, "memory=16M"],
                       capture_output=True, text=True, env=env, timeout=60 * TIME_FACTOR)
    print(p.stdout + p.stderr)
    expect(p.returncode == 0 and "4 of 4 guests showed" in p.stdout and
           p.stdout.count("ended: killed") == 4, "fleet")
    p = subprocess.run([os.path.join(examples, "boot-and-wait"), "x", "kernel=/nonexistent"],
                       capture_output=True, text=True, env=env, timeout=60 * TIME_FACTOR)
    expect(p.returncode == 1 and "/nonexistent" in p.stderr, f"a bad kernel: {p}")
    print("PASS")
    return 0


def nested(args):
    examples = build(args, "arm64")
    runner = os.path.join(os.path.dirname(HERE), "nested", "runner.py")
    script = os.path.join(os.path.dirname(HERE), "nested", "cases", "examples.sh")
    cmd = [sys.executable, runner, "--assets", args.assets, "--kvmkit", args.kvmkit,
           "--timeout", "300", "--script", script,
           "--file", os.path.join(examples, "boot-and-wait") + ":/bin/boot-and-wait",
           "--file", os.path.join(examples, "fleet") + ":/bin/fleet",
           "--expect", r'^boot-and-wait: saw "KVMKIT-L2-BOOT-OK" after [0-9]+ ms',
           r"^KVMKIT-L2-POWEROFF$",
           r"^boot-and-wait: the VM ended: poweroff, [0-9]+ ms after the stop$",
           r"^KVMKIT-EXAMPLE boot-and-wait rc=0$",
           r"^fleet: started 2 of 2 VMs$", r'^fleet: 2 of 2 guests showed "KVMKIT-L2-BOOT-OK"',
           r"^fleet: vm0 ended: poweroff$", r"^fleet: vm1 ended: poweroff$",
           r"^KVMKIT-EXAMPLE fleet rc=0$"]
    return subprocess.run(cmd, check=False).returncode


def main():
    p = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    p.add_argument("mode", choices=["host", "nested"])
    p.add_argument("--source", required=True)
    p.add_argument("--work", required=True)
    p.add_argument("--guests")
    p.add_argument("--sysroot")
    p.add_argument("--assets")
    p.add_argument("--kvmkit")
    p.add_argument("--build-only", action="store_true", help="host: build, do not run")
    args = p.parse_args()
    return host(args) if args.mode == "host" else nested(args)


if __name__ == "__main__":
    sys.exit(main())
