#!/usr/bin/env python3
"""Writes the seed corpus of fuzz_virtqueue.c into tests/fuzz/corpus: a few
well-formed queues (the input format is described at the top of the
harness), from which the fuzzer mutates its way to hostile ones. Run it again
after changing the input format."""
import os
import struct

NEXT, WRITE, INDIRECT = 1, 2, 4
EVENT_IDX, INDIRECT_DESC, START_IDX = 0x20, 0x40, 0x80
POP, READ, WRITE_OP, PUSH, INTERRUPT, ENABLE, DISABLE, STORE, MAKE_AVAIL = range(9)
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

SEEDS = {
    "direct-out-in": seed(3, 0, [desc(0x4000, 64, NEXT, 1), desc(0x4100, 64, WRITE)], [0],
                          SERVE + [(DISABLE, 0, 0), (MAKE_AVAIL, 0, 0)] + SERVE),
    "indirect-event-idx": seed(
        3, EVENT_IDX | INDIRECT_DESC, [desc(0x9000, 48, INDIRECT)], [0],
        SERVE + [(MAKE_AVAIL, 0, 0)] + SERVE,
        extra=desc(0x4000, 16, NEXT, 2) + desc(0x4200, 32, WRITE) + desc(0x4100, 16, NEXT, 1)),
    "wrap-65534": seed(3, EVENT_IDX | START_IDX,
                       [desc(0x4000 + 0x100 * i, 32, WRITE) for i in range(3)], [0, 1, 2],
                       SERVE * 3 + [(STORE, AVAIL + 4 + 16, 0)], start=65534),
    "long-chain-256": seed(8, 0, [desc(0x4000 + 16 * i, 16, NEXT | (WRITE if i >= 10 else 0),
                                       i + 1) for i in range(19)] + [desc(0x5000, 16, WRITE)],
                           [0], SERVE),
}

if __name__ == "__main__":
    out = os.path.join(os.path.dirname(os.path.abspath(__file__)), "corpus")
    os.makedirs(out, exist_ok=True)
    for name, data in SEEDS.items():
        with open(os.path.join(out, name), "wb") as f:
            f.write(data)
