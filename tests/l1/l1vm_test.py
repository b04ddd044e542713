#!/usr/bin/env python3
"""Unit tests of what the L1 runners decide without a VM: the cpio writer
(read back by GNU cpio), hang detection from a heartbeat file, the DONE
line, and the meson result lines the x86_64 tier counts."""

import os
import subprocess
import sys
import tempfile
import unittest

HERE = os.path.dirname(os.path.abspath(__file__))
sys.path.insert(0, HERE)
import l1vm  # noqa: E402
import x86_l1  # noqa: E402


class NewcTest(unittest.TestCase):
    def test_cpio_reads_both_archives_back(self):
        with tempfile.TemporaryDirectory() as tmp:
            src = os.path.join(tmp, "payload")
            with open(src, "wb") as f:
                f.write(b"x" * 1001)  # not a multiple of 4: padding matters
            archive = os.path.join(tmp, "a.cpio")
            with open(archive, "wb") as f:
                w = l1vm.Newc(f)
                w.directory("bin")
                w.file("bin/payload", src)
                w.symlink("bin/sh", "busybox")
                w.trailer()
            f, w = l1vm.append_newc(archive)
            with f:
                w.text("test.sh", b"echo hi\n")
                w.trailer()
            out = os.path.join(tmp, "out")
            os.mkdir(out)
            # GNU cpio stops at the first trailer (the kernel reads on):
            # the first archive, then the second from where it starts.
            with open(archive, "rb") as f:
                data = f.read()
            first = subprocess.run(["cpio", "-idm", "--quiet", "--no-absolute-filenames"],
                                   input=data, cwd=out, capture_output=True)
            self.assertEqual(first.returncode, 0, first.stderr)
            with open(os.path.join(out, "bin", "payload"), "rb") as f:
                self.assertEqual(f.read(), b"x" * 1001)
            self.assertEqual(os.readlink(os.path.join(out, "bin", "sh")), "busybox")
            second = subprocess.run(["cpio", "-it", "--quiet"], input=data[len(data) - w.off:],
                                    capture_output=True)
            self.assertEqual(second.stdout.split(), [b"test.sh"])
            self.assertEqual((len(data) - w.off) % 4, 0)


class HeartbeatTest(unittest.TestCase):
    def setUp(self):
        self.tmp = tempfile.TemporaryDirectory()
        self.path = os.path.join(self.tmp.name, "heartbeat.log")

    def tearDown(self):
        self.tmp.cleanup()

    def beat(self, text):
        with open(self.path, "a") as f:
            f.write(text + "\n")

    def test_slow_boot_is_not_a_hang_until_the_first_beat_is_late(self):
        hb = l1vm.Heartbeat(self.path, first_within=100, stall=10)
        self.assertIsNone(hb.check(0.0))
        self.assertIsNone(hb.check(99.0))
        self.assertIn("no heartbeat within 100 s", hb.check(101.0))

    def test_a_stalled_heartbeat_is_a_hang_a_growing_one_is_not(self):
        hb = l1vm.Heartbeat(self.path, first_within=100, stall=10)
        hb.check(0.0)
        self.beat("KVMKIT-L1-HEARTBEAT uptime=1.00")
        self.assertIsNone(hb.check(5.0))
        self.assertIsNone(hb.check(14.0))
        self.beat("KVMKIT-L1-HEARTBEAT uptime=3.00")
        self.assertIsNone(hb.check(14.5))
        self.assertIsNone(hb.check(24.0))
        why = hb.check(25.0)
        self.assertIn("no heartbeat for 10 s", why)
        self.assertIn("uptime=3.00", why)


class LinesTest(unittest.TestCase):
    def test_done_status(self):
        lines = [(0.1, "KVMKIT-L1-READY"), (2.0, "noise"), (3.0, "KVMKIT-L1-DONE rc=7")]
        self.assertEqual(l1vm.done_status(lines), 7)
        self.assertIsNone(l1vm.done_status(lines[:2]))
        self.assertIn("/init did not finish", l1vm.why_no_done(lines[:2], 0))
        self.assertIn("never reached /init", l1vm.why_no_done([], 1))

    def test_meson_result_lines(self):
        ok = x86_l1.RESULT_RE.match(" 12/72 kvmkit:host / cli-timeout        OK      1.02s")
        self.assertEqual(ok.groups(), ("host", "cli-timeout", "OK", "1.02"))
        skip = x86_l1.RESULT_RE.match("3/3 kvmkit:host / net-tx   SKIP    0.01s   exit status 77")
        self.assertEqual(skip.group(3), "SKIP")
        self.assertIsNone(x86_l1.RESULT_RE.match("Ok:                 6"))
        self.assertNotIn("SKIP", x86_l1.PASSED)


class SymbolizeTest(unittest.TestCase):
    def test_nearest_text_symbol_below(self):
        with tempfile.TemporaryDirectory() as tmp:
            path = os.path.join(tmp, "kallsyms")
            with open(path, "w") as f:
                f.write("ffffffff81000000 T _stext\n"
                        "ffffffff81000100 t helper\n"
                        "ffffffff81000180 D some_data\n"
                        "ffffffff81000200 T other [mod]\n")
            self.assertEqual(x86_l1.symbolize(path, 0xffffffff81000104), "helper+0x4")
            self.assertEqual(x86_l1.symbolize(path, 0xffffffff81000190), "helper+0x90")
            self.assertEqual(x86_l1.symbolize(path, 0x7f0000001000), "")
            self.assertEqual(x86_l1.symbolize(os.path.join(tmp, "none"), 1), "")


if __name__ == "__main__":
    unittest.main()
