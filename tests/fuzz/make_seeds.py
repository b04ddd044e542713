#!/usr/bin/env python3
"""Writes the seed corpora of the fuzz targets into tests/fuzz/corpus/TARGET: a
few well-formed inputs for each (the input formats are described at the top
of each tests/fuzz/fuzz_TARGET.c), from which the fuzzer mutates its way to
hostile ones. Run it again after changing an input format."""
import os
import struct

NEXT, WRITE, INDIRECT = 1, 2, 4
EVENT_IDX, INDIRECT_DESC, START_IDX = 0x20, 0x40, 0x80
POP, READ, WRITE_OP, PUSH, INTERRUPT, ENABLE, DISABLE, STORE, MAKE_AVAIL, PUSH_BATCH = range(10)
DESC, AVAIL, USED = 0x0000, 0x1000, 0x2000


def desc(addr, length, flags=0, nxt=0):
    return struct.pack("<QIHH", addr, length, flags, nxt)


def seed(shift, features, descs, heads, commands, avail_idx=None, start=0, extra=b""):
    size = 1 << shift
    table = b"".join(descs).ljust(16 * size, b"\0")
    if avail_idx is None:
        avail_idx = (start + len(heads)) & 0xFFFF
    ring = [0] * size
    for i, head in enumerate(heads):
        ring[(start + i) % size] = head
    avail = struct.pack("<HH", 0, avail_idx) + struct.pack(f"<{size}H", *ring) + b"\0\0"
    used = struct.pack("<HH", 0, start) + bytes(8 * size) + b"\0\0"
    header = struct.pack("<BBHIIIH", shift | features, len(commands), 0, DESC, AVAIL, USED,
                         start)
    cmds = b"".join(struct.pack("<BHH", *c) for c in commands)
    return header + cmds + table + avail + used + extra


SERVE = [(POP, 0, 0), (READ, 0, 64), (WRITE_OP, 0, 64), (PUSH, 0, 0), (INTERRUPT, 0, 0),
         (ENABLE, 0, 0)]

VIRTQUEUE_SEEDS = {
    "direct-out-in": seed(3, 0, [desc(0x4000, 64, NEXT, 1), desc(0x4100, 64, WRITE)], [0],
                          SERVE + [(DISABLE, 0, 0), (MAKE_AVAIL, 0, 0)] + SERVE),
    "indirect-event-idx": seed(
        3, EVENT_IDX | INDIRECT_DESC, [desc(0x9000, 48, INDIRECT)], [0],
        SERVE + [(MAKE_AVAIL, 0, 0)] + SERVE,
        extra=desc(0x4000, 16, NEXT, 2) + desc(0x4200, 32, WRITE) + desc(0x4100, 16, NEXT, 1)),
    # An indirect table whose second entry points past the table's end.
    "indirect-next-out-of-range": seed(
        3, INDIRECT_DESC, [desc(0x9000, 32, INDIRECT)], [0], SERVE,
        extra=desc(0x4000, 16, NEXT, 1) + desc(0x4100, 16, NEXT | WRITE, 7)),
    # Three chains returned with one used index update.
    "push-batch": seed(3, EVENT_IDX, [desc(0x4000 + 0x100 * i, 32, WRITE) for i in range(3)],
                       [0, 1, 2], [(PUSH_BATCH, 2, 16), (PUSH_BATCH, 0, 0)]),
    "wrap-65534": seed(3, EVENT_IDX | START_IDX,
                       [desc(0x4000 + 0x100 * i, 32, WRITE) for i in range(3)], [0, 1, 2],
                       SERVE * 3 + [(STORE, AVAIL + 4 + 16, 0)], start=65534),
    "long-chain-256": seed(8, 0, [desc(0x4000 + 16 * i, 16, NEXT | (WRITE if i >= 10 else 0),
                                       i + 1) for i in range(19)] + [desc(0x5000, 16, WRITE)],
                           [0], SERVE),
}



def arm64_image(file_size, efi=False, text_offset=0, image_size=0x200000):
    head = bytearray(4096 if efi else 64)
    struct.pack_into("<QQQ", head, 0x08, text_offset, image_size, 0x2)
    struct.pack_into("<I", head, 0x38, 0x644D5241)
    if efi:
        head[0:2] = b"MZ"
        pe = 0x40
        struct.pack_into("<I", head, 0x3C, pe)
        head[pe:pe + 4] = b"PE\0\0"
        struct.pack_into("<HH", head, pe + 4, 0xAA64, 2)  # machine, sections
        struct.pack_into("<H", head, pe + 20, 0)  # no optional header
        table = pe + 24
        for i, (raw_size, raw_ptr) in enumerate([(0x1000, 0x1000), (0x2000, 0x2000)]):
            struct.pack_into("<II", head, table + 40 * i + 16, raw_size, raw_ptr)
    return struct.pack("<Q", file_size) + bytes(head)


def x86_elf(segments, entry=0x100000):
    """ELF64 header, program headers, then the segments' bytes."""
    phoff, phnum = 64, len(segments)
    eh = b"\x7fELF" + bytes([2, 1, 1]) + bytes(9)
    eh += struct.pack("<HHIQQQIHHHHHH", 2, 62, 1, entry, phoff, 0, 0, 64, 56, phnum, 64, 0, 0)
    data_off = phoff + 56 * phnum
    phs, body = b"", b""
    for paddr, filesz, memsz in segments:
        phs += struct.pack("<IIQQQQQQ", 1, 7, data_off + len(body), paddr, paddr, filesz, memsz,
                           0x1000)
        body += bytes(range(256)) * (filesz // 256) + bytes(filesz % 256)
    blob = eh + phs + body
    return struct.pack("<Q", len(blob)) + blob


CONFIG_FILE_SEEDS = {
    "every-setting": b'{"kernel": "Image", "initrd": "initrd.cpio", "cmdline": "console=ttyS0", '
                     b'"cpus": 2, "memory": "512M", "console-log": "c.log", "no-stdio": true, '
                     b'"timeout": 30, "expect": "login:", "log-level": "info", "stats": true, '
                     b'"api-socket": "/tmp/vm.sock", "stop-timeout": 5, "rng": true, '
                     b'"disk": ["a.img", "b.img,ro,serial=ABC,direct"], "console": "virtio", '
                     b'"net": ["tap=tap0,mac=02:00:00:00:00:01", "tap=tap1"]}\n',
    "empty": b"{}",
    "numbers": b'{"memory": 64, "cpus": 64, "timeout": 2678400, "stop-timeout": 0}',
}

# fuzz_devices.c: device kinds and operations.
D_UART, D_PL031, D_PL061, D_RNG, D_CONSOLE, D_BLK, D_BLK_RO, D_NET, D_BLK_DIRECT, D_VMGENID = range(10)
O_WRITE, O_READ, O_MEM, O_INPUT, O_PAUSE, O_LOAD, O_RESET, O_GPIO, O_FRAME = range(9)


def w(off, val, size=4):
    return struct.pack("<BBHQ", O_WRITE, size - 1, off, val)


def r(off, size=4):
    return struct.pack("<BBH", O_READ, size - 1, off)


def mem(gpa, data):
    out = b""
    for i in range(0, len(data), 255):
        part = data[i:i + 255]
        out += struct.pack("<BHB", O_MEM, gpa + i, len(part)) + part
    return out


def virtio_up(nr_queues, qsize=8, low_features=0):
    """The driver's side of initialisation; queue q's rings at 0x1000 + 0x3000 * q."""
    ops = w(0x70, 1) + w(0x70, 3) + w(0x24, 1) + w(0x20, 1)
    if low_features:
        ops += w(0x24, 0) + w(0x20, low_features)
    ops += w(0x70, 0xB) + r(0x70)
    for q in range(nr_queues):
        base = 0x1000 + 0x3000 * q
        ops += w(0x30, q) + w(0x38, qsize) + w(0x80, base) + w(0x90, base + 0x1000)
        ops += w(0xA0, base + 0x2000) + w(0x44, 1)
    return ops + w(0x70, 0xF)


def virtio_chain(q, bufs, head_slot=0, qsize=8):
    """Descriptors [(addr, len, writable)] chained from slot 0, made available."""
    base = 0x1000 + 0x3000 * q
    table = b""
    for i, (addr, length, writable) in enumerate(bufs):
        flags = (1 if i + 1 < len(bufs) else 0) | (2 if writable else 0)
        table += desc(addr, length, flags, i + 1 if i + 1 < len(bufs) else 0)
    avail = struct.pack("<HHH", 0, head_slot + 1, 0)
    return mem(base, table) + mem(base + 0x1000, avail) + w(0x50, q)


def virtio_single_chains(q, bufs):
    """One-descriptor chains (addr, len, writable) at heads 0, 1, ..., all available."""
    base = 0x1000 + 0x3000 * q
    table = b"".join(desc(a, n, 2 if wr else 0) for a, n, wr in bufs)
    avail = struct.pack("<HH", 0, len(bufs)) + struct.pack(f"<{len(bufs)}H", *range(len(bufs)))
    return mem(base, table) + mem(base + 0x1000, avail) + w(0x50, q)


def frame(payload_len, hdr=b""):
    hdr = hdr.ljust(12, b"\0")
    body = (bytes(range(256)) * (payload_len // 256 + 1))[:payload_len]
    data = hdr + body
    return struct.pack("<BH", O_FRAME, len(data)) + data


MRG_RXBUF, NET_CSUM, GUEST_CSUM = 1 << 15, 1 << 0, 1 << 1


def blk_request(kind, sector, data_len, writable_data, slot=0):
    """Request @slot (0, 1, ...) of queue 0, its descriptors at 4 * slot."""
    return blk_chain(kind, sector, [(0x8200, data_len)] if data_len else [], writable_data, slot)


def blk_chain(kind, sector, data, writable_data, slot=0, first=None):
    """A virtio-blk request with data buffers [(gpa, len)], as the driver's
    request number @slot (0, 1, ...) on queue 0: its header at 0x4000 +
    0x20 * slot, its status byte at 0x4800 + slot, its descriptors from
    @first (default 4 * slot) on; then the kick."""
    base = 0x1000
    first = 4 * slot if first is None else first
    header_gpa = 0x4000 + 0x20 * slot
    bufs = [(header_gpa, 16, False)] + [(a, n, writable_data) for a, n in data]
    bufs.append((0x4800 + slot, 1, True))
    table = b""
    for i, (addr, length, writable) in enumerate(bufs):
        last = i + 1 == len(bufs)
        flags = (0 if last else 1) | (2 if writable else 0)
        table += desc(addr, length, flags, 0 if last else first + i + 1)
    return (mem(header_gpa, struct.pack("<IIQ", kind, 0, sector)) +
            mem(base + 16 * first, table) +
            mem(base + 0x1000 + 4 + 2 * slot, struct.pack("<H", first)) +
            mem(base + 0x1000 + 2, struct.pack("<H", slot + 1)) + w(0x50, 0))


BLK_IN, BLK_OUT, BLK_FLUSH, BLK_GET_ID, BLK_DISCARD, BLK_WRITE_ZEROES = 0, 1, 4, 8, 11, 13
# More than the 1 MiB bounce buffer (disk_image.c): 33 buffers of 32767
# bytes at an odd address (the same guest RAM each time), and 33 bytes to
# make whole sectors.
BOUNCE_TWICE = [(0x8001, 32767)] * 33 + [(0x8001, 33)]


DEVICES_SEEDS = {
    "uart": bytes([D_UART]) + w(3, 0x80, 1) + w(0, 1, 1) + w(3, 3, 1) + w(1, 0xF, 1) +
            w(0, ord("h"), 1) + r(5, 1) + bytes([O_INPUT, 2]) + b"ok" + r(0, 1) + r(2, 1) +
            bytes([O_PAUSE]),
    "pl031": bytes([D_PL031]) + r(0) + w(4, 0x10) + w(0x10, 1) + r(0x14) + w(0x1C, 1) +
             bytes([O_PAUSE]) + r(0xFE0),
    "pl061": bytes([D_PL061]) + w(0x400, 0x0F) + w(0x410, 0x08) + bytes([O_GPIO, 0x83]) +
             r(0x414) + w(0x41C, 0xFF) + r(0x3FC) + bytes([O_PAUSE]) + bytes([O_GPIO, 0x03]),
    "rng": bytes([D_RNG]) + virtio_up(1) + virtio_chain(0, [(0x8000, 64, True)]) + r(0x60) +
           bytes([O_PAUSE]) + w(0x64, 1) + bytes([O_RESET]),
    "console": bytes([D_CONSOLE]) + virtio_up(2) + mem(0x8000, b"hello") +
               virtio_chain(1, [(0x8000, 5, False)]) + virtio_chain(0, [(0x9000, 64, True)]) +
               bytes([O_INPUT, 3]) + b"abc" + bytes([O_PAUSE]) + r(0x100),
    "blk-read": bytes([D_BLK]) + virtio_up(1) + blk_request(0, 2, 512, True) + bytes([O_PAUSE]),
    "blk-write-flush": bytes([D_BLK]) + virtio_up(1) + mem(0x8200, bytes(range(256)) * 2) +
                       blk_request(1, 5, 512, False) + blk_request(4, 0, 0, False, slot=1),
    # O_DIRECT (a real file): buffers the kernel refuses go through the
    # bounce buffer, aligned ones straight to the file.
    "blk-direct-unaligned-read": bytes([D_BLK_DIRECT]) + virtio_up(1) +
                                 blk_chain(BLK_IN, 3, [(0x8201, 512)], True) + bytes([O_PAUSE]),
    "blk-direct-odd-segments": bytes([D_BLK_DIRECT]) + virtio_up(1, qsize=16) +
                               mem(0x8200, bytes(range(256)) * 3) +
                               blk_chain(BLK_OUT, 7, [(0x8200, 100), (0x8333, 300), (0x8600, 112)],
                                         False) +
                               blk_chain(BLK_FLUSH, 0, [], False, slot=1) +
                               blk_chain(BLK_IN, 7, [(0x9001, 7), (0x9100, 505)], True, slot=2) +
                               bytes([O_PAUSE]),
    "blk-direct-aligned": bytes([D_BLK_DIRECT]) + virtio_up(1, qsize=16) +
                          blk_chain(BLK_OUT, 0, [(0x8200, 512), (0x8400, 1024)], False) +
                          blk_chain(BLK_IN, 0, [(0x9000, 1536)], True, slot=1) +
                          blk_chain(BLK_FLUSH, 0, [], False, slot=2) + bytes([O_PAUSE]),
    "blk-direct-two-rounds": bytes([D_BLK_DIRECT]) + virtio_up(1, qsize=128) +
                             blk_chain(BLK_OUT, 8, BOUNCE_TWICE, False) +
                             blk_chain(BLK_IN, 8, BOUNCE_TWICE, True, slot=1, first=36) +
                             bytes([O_PAUSE]),
    "blk-direct-zeroes-discard": bytes([D_BLK_DIRECT]) + virtio_up(1, qsize=16) +
                                 mem(0x8200, struct.pack("<QII", 16, 8, 0)) +
                                 blk_chain(BLK_WRITE_ZEROES, 0, [(0x8200, 16)], False) +
                                 mem(0x8300, struct.pack("<QII", 24, 8, 0)) +
                                 blk_chain(BLK_DISCARD, 0, [(0x8300, 16)], False, slot=1) +
                                 blk_chain(BLK_IN, 16, [(0x9003, 4096)], True, slot=2),
    # Regressions the fuzzer found: states a guest can reach that did not load
    # back (feature bits written but refused at FEATURES_OK; status bits
    # above the status byte).
    "rng-unoffered-feature-saved": bytes([D_RNG]) + w(0x70, 1) + w(0x70, 3) + w(0x24, 0) +
                                   w(0x20, 1) + w(0x70, 0xB) + bytes([O_PAUSE]),
    "rng-status-high-bits-saved": bytes([D_RNG]) + w(0x70, 1) + w(0x70, 0xC0003) +
                                  bytes([O_PAUSE]),
    "net-tx": bytes([D_NET]) + virtio_up(2) + mem(0x8000, bytes(12) + bytes(range(60))) +
              virtio_chain(1, [(0x8000, 72, False)]) + bytes([O_PAUSE]),
    "net-rx": bytes([D_NET]) + virtio_up(2, low_features=NET_CSUM | GUEST_CSUM) +
              virtio_single_chains(0, [(0x8000, 1526, True), (0x9000, 1526, True)]) +
              frame(100, b"\x01") + frame(60) + bytes([O_PAUSE]),
    "net-rx-mergeable": bytes([D_NET]) + virtio_up(2, low_features=MRG_RXBUF) +
                        virtio_single_chains(0, [(0x8000 + 0x100 * i, 64, True) for i in range(4)]) +
                        frame(150) + frame(300),
    # Frames that are stored into the guest's buffers and then dropped: one
    # too long for its chain, one shorter than the vnet header. What they
    # stored must be marked dirty all the same.
    "net-rx-dropped": bytes([D_NET]) + virtio_up(2) +
                      virtio_single_chains(0, [(0x8000, 64, True), (0x9000, 64, True)]) +
                      frame(100, b"\x01") + struct.pack("<BH", O_FRAME, 4) + b"\x02" * 4,
    "blk-get-id": bytes([D_BLK_RO]) + virtio_up(1) + blk_request(8, 0, 20, True) + r(0x100, 8),
    # The ID read through exits (the fake host has no memory to map it
    # into), a write refused, a save and load (a new ID, told at unquiesce).
    "vmgenid": bytes([D_VMGENID]) + r(0, 8) + r(8, 8) + w(0, 1, 8) + bytes([O_PAUSE]) +
               r(0, 8) + r(0xFFF8, 8),
}

CONTROL_REQUEST_SEEDS = {
    "commands": b"\x10" + b'{"command": "status"}\n{"command": "pause", "id": 1}\r\n\n'
                b'{"id": "x", "command": "resume"}\n{"command": "wait", "id": [1, {"a": null}]}\n',
    "errors": b"\x03" + b'{"command": 5}\n[1,2]\n{"command": "stop"} x\n{"comm\n',
}

SEEDS = {
    "virtqueue": VIRTQUEUE_SEEDS,
    "control_request": CONTROL_REQUEST_SEEDS,
    "devices": DEVICES_SEEDS,
    "config_file": CONFIG_FILE_SEEDS,
    "arm64_image": {
        "plain": arm64_image(0x100000),
        "efi-stub": arm64_image(0x4000, efi=True, text_offset=0x80000, image_size=0x400000),
    },
    "x86_elf": {
        "one-segment": x86_elf([(0x100000, 0x200, 0x1000)]),
        "two-segments": x86_elf([(0x100000, 0x100, 0x100), (0x200000, 0x80, 0x4000)]),
    },
}

if __name__ == "__main__":
    for target, seeds in SEEDS.items():
        out = os.path.join(os.path.dirname(os.path.abspath(__file__)), "corpus", target)
        os.makedirs(out, exist_ok=True)
        for name, data in seeds.items():
            with open(os.path.join(out, name), "wb") as f:
                f.write(data)
