"""A misbehaving DIMSE peer made of raw sockets, for the ferryd interop tests.

usage: dimse_client.py PORT
       dimse_client.py PORT slow UID SECONDS

The second form stores one small instance whose data set arrives in ten
pieces over SECONDS, and prints "status 0xNNNN" or "aborted" (for the
shutdown tests).

Each case opens an association as DIMSEBAD to FERRY on 127.0.0.1:PORT (one
presentation context: CT Image Storage, explicit VR little endian, ID 1;
another: Verification, ID 3) and misbehaves at the DIMSE level. It checks
what ferryd answers (a status, an A-ABORT, a close). Prints "ok NAME" or
"FAIL NAME: why"; exits 1 if a case failed. ferryd's log lines for these
are checked by misbehave.sh.
"""
import socket
import struct
import sys
import time

CT = "1.2.840.10008.5.1.4.1.1.2"
VERIFICATION = "1.2.840.10008.1.1"
EXPLICIT = "1.2.840.10008.1.2.1"
IMPLICIT = "1.2.840.10008.1.2"
UID_BASE = "1.2.826.0.1.3680043.9.7433.99."
PORT = 0


def item(t, payload):
    return struct.pack(">BBH", t, 0, len(payload)) + payload


def uid(s):
    return s.encode()


def associate_rq():
    ae = lambda s: s.encode().ljust(16)
    body = struct.pack(">HH", 1, 0) + ae("FERRY") + ae("DIMSEBAD") + b"\0" * 32
    body += item(0x10, uid("1.2.840.10008.3.1.1.1"))
    for pc_id, abstract, ts in ((1, CT, EXPLICIT), (3, VERIFICATION, IMPLICIT)):
        pc = struct.pack(">BBBB", pc_id, 0, 0, 0) + item(0x30, uid(abstract)) + item(0x40, uid(ts))
        body += item(0x20, pc)
    ui = item(0x51, struct.pack(">I", 65536)) + item(0x52, uid("1.2.3.4")) + item(0x55, b"DIMSEBAD")
    body += item(0x50, ui)
    return struct.pack(">BBI", 1, 0, len(body)) + body


def pdata(pc_id, command, last, data):
    mch = (1 if command else 0) | (2 if last else 0)
    pdv = struct.pack(">IBB", len(data) + 2, pc_id, mch) + data
    return struct.pack(">BBI", 4, 0, len(pdv)) + pdv


def elem_implicit(group, el, value):
    if len(value) % 2:
        value += b"\0"
    return struct.pack("<HHI", group, el, len(value)) + value


def command(fields):
    """fields: list of (element, bytes) of group 0000, in order."""
    body = b"".join(elem_implicit(0, e, v) for e, v in fields)
    return elem_implicit(0, 0, struct.pack("<I", len(body))) + body


def us(v):
    return struct.pack("<H", v)


def store_rq(msg_id, sop_uid, sop_class=CT):
    return command([(0x0002, sop_class.encode()), (0x0100, us(0x0001)), (0x0110, us(msg_id)),
                    (0x0700, us(0)), (0x0800, us(0x0000)), (0x1000, sop_uid.encode())])


def elem_explicit(group, el, vr, value):
    if len(value) % 2:
        value += b" " if vr not in (b"UI", b"OB") else b"\0"
    if vr in (b"OB", b"OW", b"SQ", b"UN", b"UT"):
        return struct.pack("<HH", group, el) + vr + b"\0\0" + struct.pack("<I", len(value)) + value
    return struct.pack("<HH", group, el) + vr + struct.pack("<H", len(value)) + value


def dataset(sop_uid, sop_class=CT, bad_name=False):
    ds = elem_explicit(0x0008, 0x0016, b"UI", sop_class.encode())
    ds += elem_explicit(0x0008, 0x0018, b"UI", sop_uid.encode())
    ds += elem_explicit(0x0008, 0x0060, b"CS", b"CT")
    if bad_name:
        # a value length that runs past the end of the data set
        ds += struct.pack("<HH", 0x0010, 0x0010) + b"PN" + struct.pack("<H", 4000) + b"Bad^Length"
        return ds
    ds += elem_explicit(0x0010, 0x0010, b"PN", b"Test^Bad")
    ds += elem_explicit(0x0010, 0x0020, b"LO", b"BAD-1")
    ds += elem_explicit(0x0020, 0x000D, b"UI", (UID_BASE + "1000").encode())
    ds += elem_explicit(0x0020, 0x000E, b"UI", (UID_BASE + "1001").encode())
    return ds


class Peer:
    def __init__(self):
        self.s = socket.create_connection(("127.0.0.1", PORT), timeout=10)
        self.s.setsockopt(socket.IPPROTO_TCP, socket.TCP_NODELAY, 1)
        self.buf = b""

    def send(self, b):
        self.s.sendall(b)

    def read_pdu(self, timeout=10):
        self.s.settimeout(timeout)
        while True:
            if len(self.buf) >= 6:
                t, _, n = struct.unpack(">BBI", self.buf[:6])
                if len(self.buf) >= 6 + n:
                    pdu, self.buf = self.buf[:6 + n], self.buf[6 + n:]
                    return t, pdu[6:]
            try:
                chunk = self.s.recv(65536)
            except (ConnectionResetError, socket.timeout):
                return None, b""
            if not chunk:
                return None, b""
            self.buf += chunk

    def associate(self):
        self.send(associate_rq())
        t, _ = self.read_pdu()
        if t != 2:
            raise RuntimeError(f"association not accepted (PDU type {t})")

    def response(self):
        """The next command set ferryd sends: {element: bytes}."""
        cmd = b""
        while True:
            t, body = self.read_pdu()
            if t != 4:
                return t, None
            pos = 0
            while pos < len(body):
                n, pc, mch = struct.unpack(">IBB", body[pos:pos + 6])
                cmd += body[pos + 6:pos + 4 + n]
                pos += 4 + n
                if mch & 2:
                    fields, p = {}, 0
                    while p + 8 <= len(cmd):
                        _, el, ln = struct.unpack("<HHI", cmd[p:p + 8])
                        fields[el] = cmd[p + 8:p + 8 + ln]
                        p += 8 + ln
                    return t, fields

    def status(self):
        t, f = self.response()
        if f is None:
            return None
        return struct.unpack("<H", f[0x0900])[0]

    def release(self):
        self.send(struct.pack(">BBI", 5, 0, 4) + b"\0" * 4)
        t, _ = self.read_pdu()
        self.s.close()
        return t == 6

    def expect_abort(self):
        t, _ = self.read_pdu()
        self.s.close()
        return t in (7, None)


def case_reset_mid_instance():
    p = Peer()
    p.associate()
    p.send(pdata(1, True, True, store_rq(1, UID_BASE + "1")))
    p.send(pdata(1, False, False, dataset(UID_BASE + "1") + b"\0" * 1000))
    time.sleep(0.2)
    p.s.setsockopt(socket.SOL_SOCKET, socket.SO_LINGER, struct.pack("ii", 1, 0))
    p.s.close()
    return None


def case_malformed_dataset():
    p = Peer()
    p.associate()
    p.send(pdata(1, True, True, store_rq(2, UID_BASE + "2")))
    p.send(pdata(1, False, True, dataset(UID_BASE + "2", bad_name=True)))
    st = p.status()
    if st != 0xC000:
        return f"status {st}, expected 0xC000"
    return None if p.release() else "no A-RELEASE-RP"


def case_uid_mismatch():
    p = Peer()
    p.associate()
    p.send(pdata(1, True, True, store_rq(3, UID_BASE + "3")))
    p.send(pdata(1, False, True, dataset(UID_BASE + "4")))
    st = p.status()
    if st != 0xA900:
        return f"status {st}, expected 0xA900"
    return None if p.release() else "no A-RELEASE-RP"


def case_class_mismatch():
    # the command stores CT Image Storage, the data set says MR Image Storage
    p = Peer()
    p.associate()
    p.send(pdata(1, True, True, store_rq(10, UID_BASE + "10")))
    p.send(pdata(1, False, True, dataset(UID_BASE + "10", sop_class="1.2.840.10008.5.1.4.1.1.4")))
    st = p.status()
    if st != 0xA900:
        return f"status {st}, expected 0xA900"
    return None if p.release() else "no A-RELEASE-RP"


def case_wrong_context():
    p = Peer()
    p.associate()
    # a C-STORE of MR Image Storage on the CT context: refused, data dropped
    mr = "1.2.840.10008.5.1.4.1.1.4"
    p.send(pdata(1, True, True, store_rq(4, UID_BASE + "5", sop_class=mr)))
    p.send(pdata(1, False, True, dataset(UID_BASE + "5", sop_class=mr)))
    st = p.status()
    if st != 0x0122:
        return f"status {st}, expected 0x0122"
    return None if p.release() else "no A-RELEASE-RP"


def case_cancel_then_echo():
    p = Peer()
    p.associate()
    cancel = command([(0x0100, us(0x0FFF)), (0x0120, us(1)), (0x0800, us(0x0101))])
    p.send(pdata(3, True, True, cancel))
    echo = command([(0x0002, VERIFICATION.encode()), (0x0100, us(0x0030)), (0x0110, us(6)),
                    (0x0800, us(0x0101))])
    p.send(pdata(3, True, True, echo))
    t, f = p.response()
    if f is None or struct.unpack("<H", f[0x0120])[0] != 6 or struct.unpack("<H", f[0x0900])[0]:
        return f"no C-ECHO-RSP for message 6 after a C-CANCEL: {f}"
    return None if p.release() else "no A-RELEASE-RP"


def case_unsupported_command():
    p = Peer()
    p.associate()
    find = command([(0x0002, CT.encode()), (0x0100, us(0x0020)), (0x0110, us(7)),
                    (0x0700, us(0)), (0x0800, us(0x0000))])
    p.send(pdata(1, True, True, find))
    p.send(pdata(1, False, True, dataset(UID_BASE + "6")))
    t, f = p.response()
    if f is None:
        return "no response"
    field, status = struct.unpack("<H", f[0x0100])[0], struct.unpack("<H", f[0x0900])[0]
    if field != 0x8020 or status != 0x0211:
        return f"C-FIND answered with command 0x{field:04x} status 0x{status:04x}"
    return None if p.release() else "no A-RELEASE-RP"


def case_data_without_command():
    p = Peer()
    p.associate()
    p.send(pdata(1, False, True, dataset(UID_BASE + "7")))
    return None if p.expect_abort() else "not aborted"


def case_command_inside_data():
    p = Peer()
    p.associate()
    p.send(pdata(1, True, True, store_rq(8, UID_BASE + "8")))
    p.send(pdata(1, False, False, dataset(UID_BASE + "8")))
    p.send(pdata(1, True, True, store_rq(9, UID_BASE + "9")))
    return None if p.expect_abort() else "not aborted"


def case_unreadable_command():
    p = Peer()
    p.associate()
    p.send(pdata(1, True, True, b"\0\0\0\x01\xff\xff\x00\x00abc"))
    return None if p.expect_abort() else "not aborted"


def case_huge_command():
    p = Peer()
    p.associate()
    chunk = b"\0" * 60000
    for _ in range(2):
        p.send(pdata(1, True, False, chunk))
    return None if p.expect_abort() else "not aborted"


CASES = [case_reset_mid_instance, case_malformed_dataset, case_uid_mismatch, case_class_mismatch,
         case_wrong_context, case_cancel_then_echo, case_unsupported_command, case_data_without_command,
         case_command_inside_data, case_unreadable_command, case_huge_command]


def slow_store(sop_uid, seconds):
    p = Peer()
    p.associate()
    p.send(pdata(1, True, True, store_rq(1, sop_uid)))
    ds = dataset(sop_uid) + elem_explicit(0x0020, 0x0013, b"IS", b"1")
    pieces = [ds[i * len(ds) // 10:(i + 1) * len(ds) // 10] for i in range(10)]
    try:
        for i, piece in enumerate(pieces):
            p.send(pdata(1, False, i == 9, piece))
            if i < 9:
                time.sleep(seconds / 9)
    except OSError:
        print("aborted")
        return 0
    st = p.status()
    print("aborted" if st is None else f"status 0x{st:04X}", flush=True)
    if st is not None:
        # a ferryd that is shutting down asks to release: answer it
        t, _ = p.read_pdu(timeout=5)
        if t == 5:
            p.send(struct.pack(">BBI", 6, 0, 4) + b"\0" * 4)
            print("released by ferryd")
        elif t is None:
            pass
        else:
            p.release()
    return 0


def main():
    global PORT
    PORT = int(sys.argv[1])
    if len(sys.argv) == 5 and sys.argv[2] == "slow":
        return slow_store(sys.argv[3], float(sys.argv[4]))
    failed = 0
    for c in CASES:
        name = c.__name__[5:]
        try:
            why = c()
        except Exception as e:  # noqa: BLE001
            why = f"{type(e).__name__}: {e}"
        if why:
            print(f"FAIL {name}: {why}")
            failed += 1
        else:
            print(f"ok {name}")
    return 1 if failed else 0


if __name__ == "__main__":
    sys.exit(main())
