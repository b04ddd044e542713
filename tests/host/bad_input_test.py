#!/usr/bin/env python3
"""The bad-input table: kvmkit given a bad command line or bad input files.

Every case runs `kvmkit` in an empty temporary directory (plus the input
files the case itself creates) and must
  - exit with the documented code (2: bad usage or input),
  - print exactly one line on stderr, "kvmkit: ...", naming the offending
    value (the path, the number, the flag),
  - print nothing on stdout,
  - leave the directory as it found it (no new file, no changed file).

A case marked known_bug describes a kvmkit bug reported but not yet fixed:
it is still checked, a failure is reported as XFAIL and does not fail the
run, and a pass is XPASS, which does (so the mark gets removed).

    bad_input_test.py --kvmkit build/src/kvmkit --guests build/tests/host/guests [CASE ...]
"""

import os
import random
import re
import struct
import subprocess
import sys
import tempfile
from dataclasses import dataclass
from typing import Callable, List, Optional

from testlib import parse_args, scaled

EXIT_USAGE = 2
MIB = 1 << 20

# ELF64 field offsets (elf(5)).
EI_CLASS = 4
E_TYPE, E_MACHINE, E_ENTRY, E_PHOFF, E_PHENTSIZE, E_PHNUM = 16, 18, 24, 32, 54, 56
P_TYPE, P_PADDR, P_FILESZ, P_MEMSZ = 0, 24, 32, 40
PT_LOAD = 1
EM_AARCH64 = 183
ET_DYN = 3
ELFCLASS32 = 1

# A KVM device that does not exist: kvm.c opens KVMKIT_DEV_KVM in place of
# /dev/kvm, so a case sees what a host without KVM shows.
NO_KVM = "/nonexistent/kvmkit-test/kvm"
HELLO = "@hello@"  # in args: the path of a good guest (tests/host/guests/hello.elf)


@dataclass
class Case:
    name: str
    args: List[str]
    names: List[str]  # each must appear in the message as a whole token
    setup: Optional[Callable[[str, str], None]] = None  # (tmp dir, guest dir)
    code: int = EXIT_USAGE
    known_bug: Optional[str] = None
    no_kvm: bool = False  # run as on a host without KVM (KVMKIT_DEV_KVM=NO_KVM)


# Setup helpers: each returns a function that creates input files in the temp dir.

def write(name, data):
    def setup(tmp, guests):
        with open(os.path.join(tmp, name), "wb") as f:
            f.write(data)
    return setup


def mkdir(name):
    return lambda tmp, guests: os.mkdir(os.path.join(tmp, name))


def sparse(name, size):
    def setup(tmp, guests):
        with open(os.path.join(tmp, name), "wb") as f:
            f.truncate(size)
    return setup


def random_bytes(name, size):
    data = random.Random(0x6b766d).randbytes(size)
    assert not data.startswith(b"\x7fELF")
    return write(name, data)


def from_guest(name, guest, patch):
    """Copies guests/<guest>.elf to <name> with patch(bytearray) applied."""
    def setup(tmp, guests):
        with open(os.path.join(guests, guest + ".elf"), "rb") as f:
            elf = bytearray(f.read())
        patch(elf)
        with open(os.path.join(tmp, name), "wb") as f:
            f.write(elf)
    return setup


def program_headers(elf):
    phoff, = struct.unpack_from("<Q", elf, E_PHOFF)
    phentsize, phnum = struct.unpack_from("<HH", elf, E_PHENTSIZE)
    return [phoff + i * phentsize for i in range(phnum)]


def load_segments(elf):
    return [ph for ph in program_headers(elf)
            if struct.unpack_from("<I", elf, ph + P_TYPE)[0] == PT_LOAD]


def paddr_of(elf, ph):
    return struct.unpack_from("<Q", elf, ph + P_PADDR)[0]


def set_u16(offset, value):
    return lambda elf: struct.pack_into("<H", elf, offset, value)


def set_u8(offset, value):
    def patch(elf):
        elf[offset] = value
    return patch


def move_image(to):
    """Moves the loadable segments and the entry point, the lowest segment to `to`."""
    def patch(elf):
        delta = to - min(paddr_of(elf, ph) for ph in load_segments(elf))
        for ph in load_segments(elf):
            struct.pack_into("<Q", elf, ph + P_PADDR, paddr_of(elf, ph) + delta)
        entry, = struct.unpack_from("<Q", elf, E_ENTRY)
        struct.pack_into("<Q", elf, E_ENTRY, entry + delta)
    return patch


def set_entry(entry):
    return lambda elf: struct.pack_into("<Q", elf, E_ENTRY, entry)


def truncate(size):
    def patch(elf):
        assert max(program_headers(elf)) + 56 <= size, "keep the program headers"
        del elf[size:]
    return patch


def grow_bss(memsz):
    """Gives the segment with no file bytes (.bss) memsz bytes."""
    def patch(elf):
        bss = [ph for ph in load_segments(elf)
               if struct.unpack_from("<Q", elf, ph + P_FILESZ)[0] == 0]
        assert len(bss) == 1, "the guest has one .bss segment"
        struct.pack_into("<Q", elf, bss[0] + P_MEMSZ, memsz)
    return patch


def both(*setups):
    def setup(tmp, guests):
        for s in setups:
            s(tmp, guests)
    return setup


CASES = [
    # The kernel file.
    Case("kernel-missing", ["run", "-k", "missing.elf"], ["missing.elf"]),
    Case("kernel-directory", ["run", "-k", "kernel.d"], ["kernel.d"], mkdir("kernel.d")),
    Case("kernel-empty", ["run", "-k", "empty.elf"], ["empty.elf"], write("empty.elf", b"")),
    Case("kernel-device", ["run", "-k", "/dev/null"], ["/dev/null"]),
    Case("kernel-truncated", ["run", "-k", "truncated.elf"], ["truncated.elf"],
         from_guest("truncated.elf", "hello", truncate(0x200))),
    Case("kernel-short-header", ["run", "-k", "short.elf"], ["short.elf"],
         write("short.elf", b"\x7fELF\x02\x01\x01\x00")),
    Case("kernel-random-bytes", ["run", "-k", "random.bin"], ["random.bin"],
         random_bytes("random.bin", 8192)),
    Case("kernel-text-file", ["run", "-k", "notes.txt"], ["notes.txt"],
         write("notes.txt", b"This is not a kernel.\n" * 50)),
    Case("kernel-wrong-machine", ["run", "-k", "arm64.elf"], ["arm64.elf"],
         from_guest("arm64.elf", "hello", set_u16(E_MACHINE, EM_AARCH64))),
    Case("kernel-elf32", ["run", "-k", "elf32.elf"], ["elf32.elf"],
         from_guest("elf32.elf", "hello", set_u8(EI_CLASS, ELFCLASS32))),
    Case("kernel-shared-object", ["run", "-k", "dyn.elf"], ["dyn.elf"],
         from_guest("dyn.elf", "hello", set_u16(E_TYPE, ET_DYN))),
    Case("kernel-no-program-headers", ["run", "-k", "nophdr.elf"], ["nophdr.elf"],
         from_guest("nophdr.elf", "hello", set_u16(E_PHNUM, 0))),
    Case("segment-outside-ram", ["run", "-m", "16", "-k", "high.elf"], ["high.elf"],
         from_guest("high.elf", "hello", move_image(256 * MIB))),
    Case("segment-in-low-memory", ["run", "-k", "low.elf"], ["low.elf"],
         from_guest("low.elf", "hello", move_image(0x1000))),
    Case("entry-outside-segments", ["run", "-k", "entry.elf"], ["entry.elf"],
         from_guest("entry.elf", "hello", set_entry(0x800000))),
    # The initrd.
    Case("initrd-missing", ["run", "-k", HELLO, "-i", "initrd.img"], ["initrd.img"]),
    Case("initrd-directory", ["run", "-k", HELLO, "-i", "initrd.d"], ["initrd.d"],
         mkdir("initrd.d")),
    Case("initrd-empty", ["run", "-k", HELLO, "-i", "empty.img"], ["empty.img"],
         write("empty.img", b"")),
    Case("initrd-larger-than-ram", ["run", "-m", "16", "-k", HELLO, "-i", "big.img"],
         ["big.img"], sparse("big.img", 32 * MIB)),
    Case("initrd-overlaps-kernel", ["run", "-m", "16", "-k", "bss.elf", "-i", "initrd.img"],
         ["initrd.img"],
         both(from_guest("bss.elf", "pio_count", grow_bss(12 * MIB)),
              sparse("initrd.img", 7 * MIB))),
    # -m / --memory
    Case("memory-zero", ["run", "-k", HELLO, "-m", "0"], ["0"]),
    Case("memory-too-large", ["run", "-k", HELLO, "-m", "99999G"], ["99999G"]),
    # One MiB past the x86_64 layout's largest RAM (63 GiB: RAM ends at 64 GiB).
    Case("memory-above-layout", ["run", "-k", HELLO, "-m", "64513M"], ["64513M"]),
    Case("memory-below-minimum", ["run", "-k", HELLO, "-m", "1"], ["1"]),
    Case("memory-not-a-number", ["run", "-k", HELLO, "-m", "abc"], ["abc"]),
    Case("memory-bad-suffix", ["run", "-k", HELLO, "-m", "12X"], ["12X"]),
    Case("memory-overflow", ["run", "-k", HELLO, "-m", "99999999999999999999"],
         ["99999999999999999999"]),
    Case("memory-negative", ["run", "-k", HELLO, "-m", "-5"], ["-5"]),
    # -c / --cpus
    Case("cpus-zero", ["run", "-k", HELLO, "-c", "0"], ["0"]),
    Case("cpus-above-limit", ["run", "-k", HELLO, "-c", "1000"], ["1000"]),
    Case("cpus-word", ["run", "-k", HELLO, "-c", "two"], ["two"]),
    Case("cpus-negative", ["run", "-k", HELLO, "-c", "-1"], ["-1"]),
    Case("cpus-long-form", ["run", "-k", HELLO, "--cpus=1.5"], ["1.5"]),
    # --timeout
    Case("timeout-zero", ["run", "-k", HELLO, "--timeout", "0"], ["0"]),
    Case("timeout-word", ["run", "-k", HELLO, "--timeout", "abc"], ["abc"]),
    Case("timeout-negative", ["run", "-k", HELLO, "--timeout", "-5"], ["-5"]),
    Case("timeout-too-large", ["run", "-k", HELLO, "--timeout", "99999999"], ["99999999"]),
    # --console-log
    Case("console-log-unwritable", ["run", "-k", HELLO, "--console-log", "/nonexistent/dir/log"],
         ["/nonexistent/dir/log"]),
    Case("console-log-directory", ["run", "-k", HELLO, "--console-log", "logs.d"], ["logs.d"],
         mkdir("logs.d")),
    Case("console-log-with-bad-kernel",
         ["run", "-k", "missing.elf", "--console-log", "console.log"], ["missing.elf"]),
    Case("console-log-kept-on-bad-kernel",
         ["run", "-k", "missing.elf", "--console-log", "console.log"], ["missing.elf"],
         write("console.log", b"the log of an earlier run\n")),
    # --disk
    Case("disk-missing", ["run", "-k", HELLO, "--disk", "disk.img"], ["disk.img"]),
    Case("disk-odd-size", ["run", "-k", HELLO, "--disk", "odd.img"], ["odd.img", "1000"],
         write("odd.img", b"\0" * 1000)),
    Case("disk-directory", ["run", "-k", HELLO, "--disk", "disk.d"], ["disk.d"], mkdir("disk.d")),
    Case("disk-bad-sub-option", ["run", "-k", HELLO, "--disk", "d.img,fast"], ["fast"],
         write("d.img", b"\0" * 512)),
    Case("disk-long-serial", ["run", "-k", HELLO, "--disk", "d.img,serial=" + "s" * 21],
         ["s" * 21], write("d.img", b"\0" * 512)),
    Case("disk-twice", ["run", "-k", HELLO, "--disk", "d.img", "--disk", "d.img,ro"], ["d.img"],
         write("d.img", b"\0" * 512)),
    Case("disk-nine", ["run", "-k", HELLO] + ["--disk", "d.img,ro"] * 9, ["8"],
         write("d.img", b"\0" * 512)),
    # --console, --net (the tap must exist; no tap is created here)
    Case("console-unknown", ["run", "-k", HELLO, "--console", "serial"], ["serial"]),
    Case("net-missing-tap", ["run", "-k", HELLO, "--net", "tap=kvkt-none0"], ["kvkt-none0"]),
    Case("net-not-a-tap", ["run", "-k", HELLO, "--net", "tap=lo"], ["lo"]),
    Case("net-bad-mac", ["run", "-k", HELLO, "--net", "tap=t0,mac=02:00:00:00:00"],
         ["02:00:00:00:00"]),
    Case("net-multicast-mac", ["run", "-k", HELLO, "--net", "tap=t0,mac=01:00:5e:00:00:01"],
         ["01:00:5e:00:00:01"]),
    Case("net-no-tap", ["run", "-k", HELLO, "--net", "mac=02:00:00:00:00:01"], ["tap=NAME"]),
    Case("net-bad-sub-option", ["run", "-k", HELLO, "--net", "tap=t0,queues=2"], ["queues=2"]),
    Case("net-long-name", ["run", "-k", HELLO, "--net", "tap=" + "n" * 16], ["n" * 16]),
    Case("net-twice", ["run", "-k", HELLO, "--net", "tap=t0", "--net", "tap=t0"], ["t0"]),
    Case("net-five", ["run", "-k", HELLO] + sum((["--net", f"tap=t{i}"] for i in range(5)), []),
         ["4"]),
    # --config FILE.json
    Case("config-missing", ["run", "--config", "missing.json"], ["missing.json"]),
    Case("config-not-json", ["run", "--config", "bad.json"], ["bad.json"],
         write("bad.json", b"kernel = hello.elf\n")),
    Case("config-truncated", ["run", "--config", "cut.json"], ["cut.json"],
         write("cut.json", b'{"kernel": "hello.elf",')),
    Case("config-not-object", ["run", "--config", "list.json"], ["list.json"],
         write("list.json", b'["kernel", "hello.elf"]')),
    Case("config-unknown-key", ["run", "-k", HELLO, "--config", "k.json"], ["k.json", "frob"],
         write("k.json", b'{"frob": 1}')),
    Case("config-wrong-type", ["run", "-k", HELLO, "--config", "t.json"], ["t.json", "cpus"],
         write("t.json", b'{"cpus": [2]}')),
    Case("config-bad-value", ["run", "-k", HELLO, "--config", "v.json"], ["cpus", "65"],
         write("v.json", b'{"cpus": 65}')),
    Case("config-flag-type", ["run", "-k", HELLO, "--config", "f.json"], ["stats"],
         write("f.json", b'{"stats": "yes"}')),
    Case("config-kernel-missing", ["run", "--config", "m.json"], ["missing.elf"],
         write("m.json", b'{"kernel": "missing.elf"}')),
    # --api-socket, --stop-timeout
    Case("api-socket-no-directory", ["run", "-k", HELLO, "--api-socket", "/nonexistent/d/s"],
         ["/nonexistent/d/s"]),
    Case("api-socket-too-long", ["run", "-k", HELLO, "--api-socket", "s" * 120], ["s" * 120]),
    Case("api-socket-regular-file", ["run", "-k", HELLO, "--api-socket", "notes.txt"],
         ["notes.txt"], write("notes.txt", b"not a socket\n")),
    Case("stop-timeout-word", ["run", "-k", HELLO, "--stop-timeout", "soon"], ["soon"]),
    Case("stop-timeout-too-large", ["run", "-k", HELLO, "--stop-timeout", "3601"], ["3601"]),
    # Bad input on a host without KVM: the input is named, not the host.
    Case("no-kvm-kernel-missing", ["run", "-k", "missing.elf"], ["missing.elf"], no_kvm=True),
    Case("no-kvm-kernel-directory", ["run", "-k", "k.d"], ["k.d"], mkdir("k.d"), no_kvm=True),
    Case("no-kvm-initrd-missing", ["run", "-k", HELLO, "-i", "initrd.img"], ["initrd.img"],
         no_kvm=True),
    Case("no-kvm-disk-missing", ["run", "-k", HELLO, "--disk", "disk.img"], ["disk.img"],
         no_kvm=True),
    Case("no-kvm-disk-odd-size", ["run", "-k", HELLO, "--disk", "odd.img"], ["odd.img"],
         write("odd.img", b"\0" * 1000), no_kvm=True),
    Case("no-kvm-net-missing-tap", ["run", "-k", HELLO, "--net", "tap=kvkt-none0"],
         ["kvkt-none0"], no_kvm=True),
    Case("no-kvm-console-log-no-directory",
         ["run", "-k", HELLO, "--console-log", "/nonexistent/dir/log"], ["/nonexistent/dir/log"],
         no_kvm=True),
    Case("no-kvm-console-log-directory", ["run", "-k", HELLO, "--console-log", "logs.d"],
         ["logs.d"], mkdir("logs.d"), no_kvm=True),
    Case("no-kvm-dump-dtb-no-directory", ["run", "-k", HELLO, "--dump-dtb", "/nonexistent/d/x.dtb"],
         ["/nonexistent/d/x.dtb"], no_kvm=True),
    Case("no-kvm-api-socket-no-directory", ["run", "-k", HELLO, "--api-socket", "/nonexistent/d/s"],
         ["/nonexistent/d/s"], no_kvm=True),
    Case("no-kvm-api-socket-regular-file", ["run", "-k", HELLO, "--api-socket", "notes.txt"],
         ["notes.txt"], write("notes.txt", b"not a socket\n"), no_kvm=True),
    Case("no-kvm-config-missing", ["run", "--config", "vm.json"], ["vm.json"], no_kvm=True),
    Case("no-kvm-config-kernel-missing", ["run", "--config", "m.json"], ["missing.elf"],
         write("m.json", b'{"kernel": "missing.elf"}'), no_kvm=True),
    # Good input on a host without KVM: an internal error (1) naming the device.
    Case("no-kvm-good-input", ["run", "-k", HELLO], [NO_KVM], code=1, no_kvm=True),
    # Other options and the command line's shape.
    Case("log-level-unknown", ["run", "-k", HELLO, "--log-level", "loud"], ["loud"]),
    Case("expect-empty", ["run", "-k", HELLO, "--expect", ""], ["--expect"]),
    Case("unknown-long-flag", ["run", "-k", HELLO, "--frobnicate"], ["--frobnicate"]),
    Case("unknown-short-flag", ["run", "-k", HELLO, "-z"], ["-z"]),
    Case("missing-value-short", ["run", "-k"], ["-k"]),
    Case("missing-value-long", ["run", "-k", HELLO, "--timeout"], ["--timeout"]),
    Case("value-for-plain-flag", ["run", "-k", HELLO, "--no-stdio=yes"], ["--no-stdio"]),
    Case("no-kernel", ["run"], ["--kernel"]),
    Case("no-command", [], ["--help"]),
    Case("unknown-command", ["boot", "-k", HELLO], ["boot"]),
    Case("stray-argument", ["run", "-k", HELLO, "extra"], ["extra"]),
]


def snapshot(root):
    """Every path under root with its type, size and modification time."""
    state = {}
    for dirpath, dirnames, filenames in os.walk(root):
        for name in dirnames + filenames:
            path = os.path.join(dirpath, name)
            st = os.lstat(path)
            state[os.path.relpath(path, root)] = (st.st_mode, st.st_size, st.st_mtime_ns)
    return state


def names_token(message, value):
    """value appears in message, not as part of a longer word or number."""
    return re.search(r"(?<![\w.])" + re.escape(value) + r"(?![\w.])", message) is not None


def check(case, kvmkit, guests):
    """Runs one case; returns a list of problems (empty: as documented)."""
    with tempfile.TemporaryDirectory(prefix="kvmkit-bad-input-") as tmp:
        if case.setup:
            case.setup(tmp, guests)
        before = snapshot(tmp)
        args = [os.path.join(guests, "hello.elf") if a == HELLO else a for a in case.args]
        try:
            env = dict(os.environ, KVMKIT_DEV_KVM=NO_KVM) if case.no_kvm else None
            proc = subprocess.run([kvmkit, *args], cwd=tmp, stdin=subprocess.DEVNULL,
                                  capture_output=True, timeout=scaled(10), env=env)
        except subprocess.TimeoutExpired:
            return [f"still running after {scaled(10):g} s"]
        after = snapshot(tmp)
    problems = []
    err = proc.stderr.decode(errors="replace")
    if proc.returncode != case.code:
        problems.append(f"exit code {proc.returncode}, expected {case.code}")
    if proc.stdout:
        problems.append(f"stdout not empty: {proc.stdout[:200]!r}")
    if err.count("\n") != 1 or not err.endswith("\n") or not err.startswith("kvmkit: "):
        problems.append(f"stderr is not one 'kvmkit: ' line: {err!r}")
    elif not err[:-1].isprintable():
        problems.append(f"stderr has control characters: {err!r}")
    for value in case.names:
        if not names_token(err, value):
            problems.append(f"stderr does not name {value!r}: {err!r}")
    if case.no_kvm and case.code == EXIT_USAGE and "kvm" in err.replace("kvmkit", ""):
        problems.append(f"stderr blames KVM, not the input: {err!r}")
    if after != before:
        added = sorted(set(after) - set(before))
        changed = sorted(p for p in before if p in after and after[p] != before[p])
        removed = sorted(set(before) - set(after))
        problems.append(f"directory changed: added {added}, changed {changed}, removed {removed}")
    return problems


def main():
    by_name = {c.name: c for c in CASES}
    assert len(by_name) == len(CASES), "case names are unique"
    args = parse_args(__doc__.splitlines()[0], by_name)
    kvmkit = os.path.abspath(args.kvmkit)
    guests = os.path.abspath(args.guests)
    counts = {"ok": 0, "FAIL": 0, "XFAIL": 0, "XPASS": 0}
    for case in [by_name[n] for n in args.cases] or CASES:
        problems = check(case, kvmkit, guests)
        if case.known_bug:
            verdict = "XFAIL" if problems else "XPASS"
        else:
            verdict = "FAIL" if problems else "ok"
        counts[verdict] += 1
        note = f" (known bug: {case.known_bug})" if case.known_bug else ""
        print(f"{verdict:5} {case.name}{note}")
        for p in problems:
            print(f"      {p}")
        if verdict == "XPASS":
            print("      passes now: remove its known_bug mark")
    print(", ".join(f"{n} {v}" for v, n in counts.items()), f"of {sum(counts.values())} cases")
    return 1 if counts["FAIL"] or counts["XPASS"] else 0


if __name__ == "__main__":
    sys.exit(main())
