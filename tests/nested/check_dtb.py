#!/usr/bin/env python3
"""Runs the dump-dtb nested case, takes the device tree kvmkit wrote (sent as
base64 between markers), decompiles it with dtc and checks the nodes an arm64
Linux guest needs. Arguments are passed to runner.py."""

import base64
import os
import re
import subprocess
import sys
import tempfile

REQUIRED = [
    r'compatible = "linux,dummy-virt";',
    r'memory@40000000 \{',
    r'device_type = "memory";',
    r'cpu@0 \{',
    r'cpu@1 \{',
    r'enable-method = "psci";',
    # dtc 1.6 prints a string list as "a\0b", newer ones as "a", "b".
    r'compatible = "arm,psci-0.2(\\0|", ")arm,psci";',
    r'method = "hvc";',
    r'compatible = "arm,gic-v3";|compatible = "arm,cortex-a15-gic";',
    r'interrupt-controller;',
    r'compatible = "arm,armv8-timer";',
    r'serial@9000000 \{',
    r'compatible = "ns16550a";',
    r'rtc@9010000 \{',
    r'compatible = "arm,pl031(\\0|", ")arm,primecell";',
    r'gpio@9030000 \{',
    r'compatible = "arm,pl061(\\0|", ")arm,primecell";',
    r'gpio-controller;',
    r'compatible = "gpio-keys";',
    r'linux,code = <0x74>;',
    # The VM generation ID: its page and a rising-edge SPI 3.
    r'vmgenid@9040000 \{\s*compatible = "microsoft,vmgenid";\s*'
    r'reg = <0x00 0x9040000 0x00 0x10000>;\s*interrupts = <0x00 0x03 0x01>;',
    r'stdout-path = "/serial@9000000";',
    r'bootargs = ".*test=poweroff.*";',
    r'linux,initrd-start = ',
    r'linux,initrd-end = ',
]


def main():
    runner = os.path.join(os.path.dirname(os.path.abspath(__file__)), "runner.py")
    proc = subprocess.run([sys.executable, runner] + sys.argv[1:], stdout=subprocess.PIPE,
                          text=True, check=False)
    sys.stdout.write(proc.stdout)
    if proc.returncode != 0:
        print("FAIL: the nested run failed")
        return 1
    lines = [re.sub(r"^\[\s*[0-9.]+\] ", "", l) for l in proc.stdout.splitlines()]
    try:
        begin = lines.index("KVMKIT-DTB-BEGIN")
        end = lines.index("KVMKIT-DTB-END")
    except ValueError:
        print("FAIL: no device tree in the output")
        return 1
    blob = base64.b64decode("".join(lines[begin + 1:end]))
    with tempfile.NamedTemporaryFile(suffix=".dtb") as f:
        f.write(blob)
        f.flush()
        dtc = subprocess.run(["dtc", "-I", "dtb", "-O", "dts", f.name], capture_output=True,
                             text=True, check=False)
    if dtc.returncode != 0:
        print(f"FAIL: dtc rejected the tree: {dtc.stderr.strip()}")
        return 1
    print(dtc.stdout)
    missing = [r for r in REQUIRED if not re.search(r, dtc.stdout)]
    if missing:
        print("FAIL: the device tree lacks: " + "; ".join(missing))
        return 1
    print(f"PASS: {len(blob)}-byte device tree decompiles and has every required node")
    return 0


if __name__ == "__main__":
    sys.exit(main())
