#!/usr/bin/env python3
"""Nested arm64 test driver for kvmkit.

Boots an L1 arm64 Linux (with KVM) under qemu-system-aarch64/TCG with EL2 emulation,
runs a per-test shell script in it (which usually starts /bin/kvmkit on /guest/Image
and /guest/initramfs.cpio), and checks the serial output.

--l1-kernel 6.12 boots bookworm-backports' 6.12 kernel as L1 instead of the
default one (which is also the L2 kernel), for what 6.1's KVM lacks (the arm64
dirty ring): scripts/guest-assets puts it in arm64/l1-6.12/Image.

Nested virtualization (kvmkit --nested, L2 a hypervisor): --l1-kernel 7.3
boots trixie-backports' 7.3 kernel, --qemu-10 runs it under bookworm-backports'
QEMU 10 (the first to emulate FEAT_NV2; both pinned and fetched by
scripts/guest-assets), --l1-nested adds kvm-arm.mode=nested to L1's command
line, and --l2-hypervisor puts /guest/l2hv.cpio in L1: the L2 initramfs plus
this same kvmkit, the L2 kernel and the L2 initramfs again, for an L3.

The L1 initramfs is a cached base archive (busybox, tests/nested/l1-init as /init,
the L2 kernel and initramfs under /guest) followed by a small per-run archive with
/bin/kvmkit and /test.sh. newc archives concatenate; later files override earlier.

Exit status: 0 pass, 1 fail (one-line reason last; a missing QEMU or asset fails too,
so CI cannot pass by skipping).
"""

import argparse
import fcntl
import os
import re
import shutil
import struct
import subprocess
import sys
import tempfile

HERE = os.path.dirname(os.path.abspath(__file__))
sys.path.insert(0, os.path.join(os.path.dirname(HERE), "l1"))
import l1vm  # noqa: E402  (tests/l1: what this runner shares with the x86_64 L1 tier)
from l1vm import READY_RE, DONE_RE, Newc, first_match  # noqa: E402

L1_INIT = os.path.join(HERE, "l1-init")
SKIP = 1  # a missing QEMU or asset is a failure: CI must not pass by skipping
# --l1-kernel: the kernel QEMU boots as L1, under the asset dir's arm64/.
L1_KERNELS = {"default": "Image", "6.12": os.path.join("l1-6.12", "Image"),
              "7.3": os.path.join("l1-7.3", "Image")}
# --qemu-10: the extracted QEMU 10 under the asset dir, and its data dir (-L).
QEMU10_BIN = os.path.join("qemu-10", "usr", "bin", "qemu-system-aarch64")
QEMU10_DATA = os.path.join("qemu-10", "usr", "share", "qemu")

# busybox applets linked in L1 (/bin/busybox --install -s /bin adds the rest).
L1_APPLETS = """
sh ash [ [[ awk basename cat chmod cmp cp cut date dd df diff dirname dmesg du echo
env expr false find free grep head hexdump id kill killall ln ls lsmod md5sum mkdir
mkfifo mknod mktemp mount mv nproc od pidof poweroff printf ps pwd readlink reboot
realpath rm rmdir sed seq setsid sha256sum sleep sort stat sync tail tee test time
timeout touch tr true uname uniq usleep wc which xargs xxd yes base64
ip nc ifconfig tunctl insmod
""".split()


def elf_problem(path):
    """Return why PATH cannot run as /bin/kvmkit in L1, or None if it looks fine."""
    with open(path, "rb") as f:
        ehdr = f.read(64)
        if len(ehdr) < 64 or ehdr[:4] != b"\x7fELF":
            return "not an ELF file"
        if ehdr[4] != 2 or ehdr[5] != 1:
            return "not a 64-bit little-endian ELF"
        machine = struct.unpack_from("<H", ehdr, 18)[0]
        if machine != 183:
            return f"not an aarch64 binary (e_machine {machine})"
        phoff, = struct.unpack_from("<Q", ehdr, 32)
        phentsize, phnum = struct.unpack_from("<HH", ehdr, 54)
        for i in range(phnum):
            f.seek(phoff + i * phentsize)
            if struct.unpack("<I", f.read(4))[0] == 3:  # PT_INTERP
                return "dynamically linked (L1 has no libc); link it with -static"
    return None


def base_inputs(arch_dir):
    return {
        "busybox": os.path.join(arch_dir, "busybox"),
        "image": os.path.join(arch_dir, "Image"),
        "l2cpio": os.path.join(arch_dir, "l2-initramfs.cpio"),
        "init": L1_INIT,
        "runner": os.path.abspath(__file__),
        "l1vm": os.path.abspath(l1vm.__file__),
    }


def build_base(arch_dir):
    """Return the path of the cached base L1 cpio, rebuilding it when stale."""
    inputs = base_inputs(arch_dir)
    base = os.path.join(arch_dir, "l1-base.cpio")
    with open(base + ".lock", "w") as lock:
        # Parallel test runs share the cache: build it once, under a lock.
        fcntl.flock(lock, fcntl.LOCK_EX)
        newest = max(os.path.getmtime(p) for p in inputs.values())
        if os.path.exists(base) and os.path.getmtime(base) >= newest:
            return base
        tmp = base + ".tmp"
        with open(tmp, "wb") as f:
            w = Newc(f)
            for d in ("bin", "dev", "proc", "sys", "tmp", "guest"):
                w.directory(d)
            w.chardev("dev/console", 5, 1)
            w.file("bin/busybox", inputs["busybox"])
            for applet in L1_APPLETS:
                w.symlink("bin/" + applet, "busybox")
            w.file("init", inputs["init"])
            w.file("guest/Image", inputs["image"], 0o644)
            w.file("guest/initramfs.cpio", inputs["l2cpio"], 0o644)
            w.trailer()
        os.replace(tmp, base)
        return base


def build_l1_cpio(base, workdir, kvmkit, script_text, extra_files=()):
    out = os.path.join(workdir, "l1.cpio")
    shutil.copyfile(base, out)
    f, w = l1vm.append_newc(out)
    with f:
        if kvmkit:
            w.file("bin/kvmkit", kvmkit)
        made = {"bin", "dev", "proc", "sys", "tmp", "guest"}  # in the base archive
        for src, dest in extra_files:
            dest = dest.lstrip("/")
            # A directory the base lacks (/guests for the arm64 suite) comes first.
            parts = dest.split("/")[:-1]
            for i in range(1, len(parts) + 1):
                d = "/".join(parts[:i])
                if d not in made:
                    w.directory(d)
                    made.add(d)
            w.file(dest, src)
        w.text("test.sh", script_text.encode())
        w.trailer()
    return out


def build_l2_hypervisor_cpio(arch_dir, workdir, kvmkit):
    """The initramfs of an L2 that is a hypervisor itself (l2-init
    test=hypervisor): the L2 initramfs, then /bin/kvmkit (the binary L1
    runs), /guest/Image and /guest/initramfs.cpio for its L3."""
    out = os.path.join(workdir, "l2hv.cpio")
    shutil.copyfile(os.path.join(arch_dir, "l2-initramfs.cpio"), out)
    f, w = l1vm.append_newc(out)
    with f:
        w.directory("guest")
        w.file("bin/kvmkit", kvmkit)
        w.file("guest/Image", os.path.join(arch_dir, "Image"), 0o644)
        w.file("guest/initramfs.cpio", os.path.join(arch_dir, "l2-initramfs.cpio"), 0o644)
        w.trailer()
    return out


def parse_args(argv):
    p = argparse.ArgumentParser(description=__doc__.split("\n\n")[0],
                                formatter_class=argparse.RawDescriptionHelpFormatter)
    p.add_argument("--assets", required=True,
                   help="guest asset dir from scripts/guest-assets (holds arm64/)")
    p.add_argument("--kvmkit", help="static aarch64 kvmkit binary, becomes /bin/kvmkit")
    src = p.add_mutually_exclusive_group(required=True)
    src.add_argument("--script", nargs="+",
                     help="shell script(s) run in L1 as /test.sh, concatenated in order")
    src.add_argument("--script-text", help="shell text run in L1 as /test.sh")
    p.add_argument("--file", action="append", default=[], metavar="SRC:DEST",
                   help="also put host file SRC at DEST in L1 (repeatable)")
    p.add_argument("--interactive", action="store_true",
                   help="give QEMU this terminal instead of checking output (scripts/demo)")
    p.add_argument("--timeout", type=float, default=120.0,
                   help="seconds before QEMU is killed (default 120)")
    p.add_argument("--expect", action="extend", nargs="+", default=[], metavar="REGEX",
                   help="regex that some output line must match (repeatable)")
    p.add_argument("--reject", action="extend", nargs="+", default=[], metavar="REGEX",
                   help="regex that no output line may match (repeatable)")
    p.add_argument("--expect-rc", type=int, default=0,
                   help="exit status /test.sh must return (default 0)")
    p.add_argument("--l1-kernel", choices=sorted(L1_KERNELS), default="default",
                   help="L1 kernel: the default one (also L2's), bookworm-backports' 6.12 "
                   "or trixie-backports' 7.3 (nested virtualization)")
    p.add_argument("--qemu-10", action="store_true",
                   help="run the pinned QEMU 10 of the asset dir (FEAT_NV2) instead of --qemu")
    p.add_argument("--l1-nested", action="store_true",
                   help="add kvm-arm.mode=nested to L1's command line")
    p.add_argument("--l2-hypervisor", action="store_true",
                   help="put /guest/l2hv.cpio in L1: an L2 initramfs with this kvmkit and "
                   "an L3's kernel and initramfs (needs --kvmkit)")
    p.add_argument("--smp", type=int, default=1, help="L1 vCPUs (default 1)")
    p.add_argument("--mem", default="2048", help="L1 memory, QEMU -m syntax (default 2048)")
    p.add_argument("--env", action="append", default=[], metavar="KEY=VALUE",
                   help="extra L1 kernel argument; reaches /init and /test.sh as env var")
    p.add_argument("--stamp", action="store_true",
                   help="print STAMP seconds=X between --stamp-from and --stamp-to lines")
    p.add_argument("--stamp-from", default=READY_RE.pattern, metavar="REGEX",
                   help="first line starting the stamp (default KVMKIT-L1-READY)")
    p.add_argument("--stamp-to", default=r"KVMKIT-L1-DONE", metavar="REGEX",
                   help="first later line ending the stamp (default KVMKIT-L1-DONE)")
    p.add_argument("--qemu", default="qemu-system-aarch64", help="QEMU binary")
    p.add_argument("--keep", action="store_true", help="keep the temporary work dir")
    args = p.parse_args(argv)
    for kv in args.env:
        if "=" not in kv or " " in kv:
            p.error(f"--env {kv!r}: expected KEY=VALUE without spaces")
    return args


def main(argv):
    args = parse_args(argv)
    l1vm.raise_on_termination()

    def fail(reason):
        print(f"FAIL: {reason}", flush=True)
        return 1

    try:
        expects = [re.compile(r) for r in args.expect]
        rejects = [re.compile(r) for r in args.reject]
        stamp_from = re.compile(args.stamp_from)
        stamp_to = re.compile(args.stamp_to)
    except re.error as e:
        return fail(f"bad regex: {e}")

    qemu_data = None
    if args.qemu_10:
        qemu = os.path.join(os.path.abspath(args.assets), QEMU10_BIN)
        qemu_data = os.path.join(os.path.abspath(args.assets), QEMU10_DATA)
        if not os.access(qemu, os.X_OK):
            print(f"FAIL: missing {qemu} (run scripts/guest-assets)", flush=True)
            return SKIP
    else:
        qemu = shutil.which(args.qemu)
        if not qemu:
            print(f"FAIL: {args.qemu} not found (scripts/install-deps)", flush=True)
            return SKIP
    if args.l2_hypervisor and not args.kvmkit:
        return fail("--l2-hypervisor needs --kvmkit")
    arch_dir = os.path.join(os.path.abspath(args.assets), "arm64")
    l1_kernel = os.path.join(arch_dir, L1_KERNELS[args.l1_kernel])
    missing = [p for p in list(base_inputs(arch_dir).values()) + [l1_kernel]
               if not os.path.isfile(p)]
    if missing:
        print(f"FAIL: missing {', '.join(missing)} (run scripts/guest-assets)", flush=True)
        return SKIP
    if args.kvmkit:
        if not os.path.isfile(args.kvmkit):
            return fail(f"--kvmkit {args.kvmkit}: no such file")
        problem = elf_problem(args.kvmkit)
        if problem:
            return fail(f"--kvmkit {args.kvmkit}: {problem}")
    if args.script:
        script_text = ""
        for path in args.script:
            with open(path, encoding="utf-8") as f:
                script_text += f.read() + "\n"
    else:
        script_text = args.script_text + "\n"

    workdir = tempfile.mkdtemp(prefix="kvmkit-nested.")
    try:
        base = build_base(arch_dir)
        extra = []
        for spec in args.file:
            src, _, dest = spec.partition(":")
            if not dest or not os.path.isfile(src):
                return fail(f"--file {spec}: expected an existing SRC and a DEST in L1")
            extra.append((src, dest))
        if args.l2_hypervisor:
            extra.append((build_l2_hypervisor_cpio(arch_dir, workdir, args.kvmkit),
                          "/guest/l2hv.cpio"))
        l1 = build_l1_cpio(base, workdir, args.kvmkit, script_text, extra)
        append = "console=ttyAMA0 rdinit=/init panic=-1 quiet"
        if args.interactive:
            append += " kvmkit_interactive=1"
        if args.l1_nested:
            append += " kvm-arm.mode=nested"
        if args.env:
            append += " " + " ".join(args.env)
        cmd = [qemu] + (["-L", qemu_data] if qemu_data else []) + [
               "-M", "virt,virtualization=on,gic-version=3",
               "-cpu", "max,sve=off,pauth=off", "-smp", str(args.smp), "-m", args.mem,
               "-accel", "tcg", "-nographic", "-no-reboot", "-nodefaults",
               "-serial", "stdio", "-kernel", l1_kernel,
               "-initrd", l1, "-append", append]
        print("runner: " + " ".join(cmd), flush=True)
        if args.interactive:
            # The terminal belongs to the guests: QEMU's Ctrl-A x quits.
            return subprocess.run(cmd, check=False, preexec_fn=l1vm.set_pdeathsig).returncode
        run = l1vm.run_qemu(cmd, args.timeout)
        lines, timed_out, qemu_rc, note = run.lines, run.timed_out, run.rc, run.note
    except l1vm.Terminated as e:
        return fail(f"runner killed by {e}")
    finally:
        if args.keep:
            print(f"runner: kept {workdir}", flush=True)
        else:
            shutil.rmtree(workdir, ignore_errors=True)

    ready = first_match(lines, READY_RE)
    done = first_match(lines, DONE_RE)
    total = lines[-1][0] if lines else 0.0
    print("TIMING l1_ready={} done={} last_line={:.3f}".format(
        f"{lines[ready][0]:.3f}" if ready is not None else "none",
        f"{lines[done][0]:.3f}" if done is not None else "none", total), flush=True)

    if args.stamp:
        i = first_match(lines, stamp_from)
        j = first_match(lines, stamp_to, i + 1) if i is not None else None
        if i is None or j is None:
            return fail(f"--stamp: no line matched {args.stamp_from!r}" if i is None else
                        f"--stamp: no line after the start matched {args.stamp_to!r}")
        print(f"STAMP seconds={lines[j][0] - lines[i][0]:.3f}", flush=True)

    last = lines[-1][1].strip() if lines else "(no output)"
    if timed_out and done is None:
        return fail(f"timeout after {args.timeout:g} s, QEMU killed; last line: {last}")
    if timed_out:
        return fail(note)
    if done is None:
        return fail(l1vm.why_no_done(lines, qemu_rc))
    rc = l1vm.done_status(lines)
    if rc != args.expect_rc:
        return fail(f"test.sh exited {rc}, expected {args.expect_rc}")
    # Every broken check is named, not only the first: one CI log must say
    # all that went wrong.
    problems = [f"no output line matched --expect {rx.pattern!r}"
                for rx in expects if first_match(lines, rx) is None]
    for rx in rejects:
        k = first_match(lines, rx)
        if k is not None:
            problems.append(f"--reject {rx.pattern!r} matched: {lines[k][1].strip()}")
    for problem in problems[:-1]:
        print(f"FAIL: {problem}", flush=True)
    if problems:
        return fail(problems[-1])
    ready_at = f"{lines[ready][0]:.3f} s" if ready is not None else "unseen"
    print(f"PASS: rc={rc}, L1 ready at {ready_at}, done at {lines[done][0]:.3f} s",
          flush=True)
    return 0


if __name__ == "__main__":
    sys.exit(main(sys.argv[1:]))
