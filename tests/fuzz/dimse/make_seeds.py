#!/usr/bin/env python3
"""Write the seed corpus of fuzz_dimse_assoc (corpus/dimse_assoc/): good and
slightly odd DIMSE exchanges in the target's record format (flags, 16-bit
little-endian length, fragment; see fuzz_dimse_assoc.c)."""
import os
import struct

HERE = os.path.dirname(os.path.abspath(__file__))
OUT = os.path.join(HERE, "corpus", "dimse_assoc")
CT = b"1.2.840.10008.5.1.4.1.1.2"
VERIFICATION = b"1.2.840.10008.1.1"
PC = {1: 0, 3: 1, 5: 2, 7: 3}


def rec(pc, command, last, data, same_pdu=False):
    flags = PC[pc] | (4 if command else 0) | (8 if last else 0) | (0x10 if same_pdu else 0)
    return struct.pack("<BH", flags, len(data)) + data


def el(e, v):
    if len(v) % 2:
        v += b"\0"
    return struct.pack("<HHI", 0, e, len(v)) + v


def us(v):
    return struct.pack("<H", v)


def command(fields):
    body = b"".join(el(e, v) for e, v in fields)
    return el(0, struct.pack("<I", len(body))) + body


def echo(mid):
    return command([(0x0002, VERIFICATION), (0x0100, us(0x0030)), (0x0110, us(mid)),
                    (0x0800, us(0x0101))])


def store(mid, uid, cls=CT, extra=()):
    return command([(0x0002, cls), (0x0100, us(0x0001)), (0x0110, us(mid)), (0x0700, us(0)),
                    (0x0800, us(0x0000)), (0x1000, uid)] + list(extra))


def ex(g, e, vr, v):
    if len(v) % 2:
        v += b"\0" if vr == b"UI" else b" "
    return struct.pack("<HH", g, e) + vr + struct.pack("<H", len(v)) + v


def dataset(uid):
    return (ex(8, 0x16, b"UI", CT) + ex(8, 0x18, b"UI", uid) + ex(8, 0x60, b"CS", b"CT") +
            ex(0x10, 0x10, b"PN", b"Fuzz^Seed") + ex(0x20, 0x0D, b"UI", b"1.2.3.4") +
            struct.pack("<HH", 0x7FE0, 0x10) + b"OW\0\0" + struct.pack("<I", 64) + bytes(range(64)))


def seeds():
    u = b"1.2.826.0.1.3680043.9.7433.6.1"
    ds = dataset(u)
    yield "echo", rec(1, True, True, echo(1))
    yield "store_one_fragment", rec(3, True, True, store(2, u)) + rec(3, False, True, ds)
    yield "store_fragments", (rec(3, True, True, store(3, u)) + rec(3, False, False, ds[:40]) +
                              rec(3, False, False, ds[40:41], True) + rec(3, False, True, ds[41:]))
    yield "store_odd_length_later_answer", (rec(5, True, True, store(4, u)) +
                                            rec(5, False, True, ds + b"\0"))
    yield "store_refused_by_owner", (rec(3, True, True, store(5, u + b"9")) +
                                     rec(3, False, True, ds))
    cmd = store(6, u)
    yield "command_in_fragments", (rec(3, True, False, cmd[:10]) + rec(3, True, False, cmd[10:30]) +
                                   rec(3, True, True, cmd[30:]) + rec(3, False, True, ds))
    yield "held_requests", (rec(3, True, True, store(7, u)) + rec(3, False, True, ds + b"\0") +
                            rec(1, True, True, echo(8)) + rec(3, True, True, store(9, u)) +
                            rec(3, False, True, ds))
    cancel = command([(0x0100, us(0x0FFF)), (0x0120, us(7)), (0x0800, us(0x0101))])
    yield "cancel_then_echo", rec(1, True, True, cancel) + rec(1, True, True, echo(10))
    find = command([(0x0002, CT), (0x0100, us(0x0020)), (0x0110, us(11)), (0x0700, us(0)),
                    (0x0800, us(0x0000))])
    yield "find_refused", rec(3, True, True, find) + rec(3, False, True, ds)
    rsp = command([(0x0002, CT), (0x0100, us(0x8001)), (0x0120, us(1)), (0x0800, us(0x0101)),
                   (0x0900, us(0))])
    yield "stray_response", rec(3, True, True, rsp)
    yield "wrong_class_on_context", (rec(3, True, True, store(12, u, b"1.2.840.10008.5.1.4.1.1.4")) +
                                     rec(3, False, True, ds))
    yield "echo_on_storage_context", rec(3, True, True, echo(13))
    yield "store_without_data", rec(3, True, True, command(
        [(0x0002, CT), (0x0100, us(0x0001)), (0x0110, us(14)), (0x0800, us(0x0101)),
         (0x1000, u)]))
    yield "move_originator", (rec(3, True, True, store(15, u, extra=[(0x1030, b"MOVER"),
                                                                    (0x1031, us(3))])) +
                              rec(3, False, True, ds))
    yield "data_without_command", rec(3, False, True, ds)
    yield "context_not_accepted", rec(7, True, True, echo(16))
    yield "no_message_id", rec(1, True, True, command([(0x0100, us(0x0030)), (0x0800, us(0x0101))]))


def main():
    os.makedirs(OUT, exist_ok=True)
    for name, data in seeds():
        with open(os.path.join(OUT, name), "wb") as f:
            f.write(data)


if __name__ == "__main__":
    main()
