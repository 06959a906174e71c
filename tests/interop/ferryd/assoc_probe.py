"""Association-level probes of ferryd's policy, for policy.sh.

usage: assoc_probe.py PORT limits   (ferryd with max_associations 3,
                                     max_associations_per_peer 2)
       assoc_probe.py PORT idle     (ferryd with idle_timeout 1s; sends a
                                     user identity)
       assoc_probe.py PORT identity (user identity sub-item, positive
                                     response requested)
       assoc_probe.py PORT other-peer (ferryd allowing 127.0.0.1/32 only)

Each association is proposed as PROBE to FERRY with one presentation
context (Verification, implicit VR little endian), from the loopback
address given (127.0.0.1, .2, .3: all reach a server bound to 127.0.0.1,
and ferryd counts each as its own peer). Prints "ok NAME" or
"FAIL NAME: why" for each step; exits 1 if a step failed.
"""
import socket
import struct
import sys
import time

VERIFICATION = "1.2.840.10008.1.1"
IMPLICIT = "1.2.840.10008.1.2"
PORT = 0


def item(t, payload):
    return struct.pack(">BBH", t, 0, len(payload)) + payload


def associate_rq(identity=None):
    ae = lambda s: s.encode().ljust(16)
    body = struct.pack(">HH", 1, 0) + ae("FERRY") + ae("PROBE") + b"\0" * 32
    body += item(0x10, b"1.2.840.10008.3.1.1.1")
    pc = struct.pack(">BBBB", 1, 0, 0, 0) + item(0x30, VERIFICATION.encode())
    pc += item(0x40, IMPLICIT.encode())
    body += item(0x20, pc)
    ui = item(0x51, struct.pack(">I", 16384)) + item(0x52, b"1.2.3.4") + item(0x55, b"PROBE")
    if identity:
        ui += identity
    body += item(0x50, ui)
    return struct.pack(">BBI", 1, 0, len(body)) + body


class Assoc:
    """One TCP connection from SOURCE; answer() is the PDU ferryd sends
    back to the A-ASSOCIATE-RQ: (type, body) or (None, b"")."""

    def __init__(self, source, identity=None):
        self.s = socket.socket()
        self.s.bind((source, 0))
        self.s.settimeout(10)
        self.s.connect(("127.0.0.1", PORT))
        self.s.setsockopt(socket.IPPROTO_TCP, socket.TCP_NODELAY, 1)
        self.buf = b""
        self.s.sendall(associate_rq(identity))
        self.type, self.body = self.read_pdu()

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

    def rejection(self):
        """(result, source, reason) of an A-ASSOCIATE-RJ, else None."""
        if self.type != 3 or len(self.body) != 4:
            return None
        return tuple(self.body[1:4])

    def release(self):
        self.s.sendall(struct.pack(">BBI", 5, 0, 4) + b"\0" * 4)
        t, _ = self.read_pdu()
        self.s.close()
        return t == 6


FAILED = 0


def check(name, why):
    global FAILED
    if why:
        print(f"FAIL {name}: {why}", flush=True)
        FAILED += 1
    else:
        print(f"ok {name}", flush=True)


def expect_accepted(name, a):
    check(name, None if a.type == 2 else f"PDU type {a.type}, expected A-ASSOCIATE-AC (2)")


def expect_rejected(name, a, rsr):
    rj = a.rejection()
    check(name, None if rj == rsr else f"PDU type {a.type} {a.body.hex()}, expected "
                                        f"A-ASSOCIATE-RJ result/source/reason {rsr}")


def limits():
    # transient (2), service-provider presentation related (3), local
    # limit exceeded (2): PS3.8 9.3.4
    local_limit = (2, 3, 2)
    a1, a2 = Assoc("127.0.0.1"), Assoc("127.0.0.1")
    expect_accepted("first from 127.0.0.1", a1)
    expect_accepted("second from 127.0.0.1", a2)
    a3 = Assoc("127.0.0.1")
    expect_rejected("third from 127.0.0.1 (per peer)", a3, local_limit)
    b1 = Assoc("127.0.0.2")
    expect_accepted("first from 127.0.0.2", b1)
    c1 = Assoc("127.0.0.3")
    expect_rejected("fourth in all, from 127.0.0.3 (total)", c1, local_limit)
    for a in (a1, a2, b1):
        check("release", None if a.release() else "no A-RELEASE-RP")
    # the released ones no longer count (ferryd may see the close a moment
    # after the A-RELEASE-RP went out)
    for _ in range(50):
        again = Assoc("127.0.0.3")
        if again.type == 2:
            break
        time.sleep(0.05)
    expect_accepted("from 127.0.0.3 after the releases", again)
    check("release", None if again.release() else "no A-RELEASE-RP")


def identity_item(user=b"alice", pw=b"secret"):
    # user identity sub-item 0x58: type 2 (username and passcode),
    # positive response requested
    sub = struct.pack(">BB", 2, 1) + struct.pack(">H", len(user)) + user
    return item(0x58, sub + struct.pack(">H", len(pw)) + pw)


def idle():
    # (with a user identity: this ferryd requires one)
    a = Assoc("127.0.0.1", identity=identity_item())
    expect_accepted("associate", a)
    t0 = time.monotonic()
    t, body = a.read_pdu(timeout=15)
    waited = time.monotonic() - t0
    check("A-ABORT after the idle time",
          None if t == 7 else f"PDU type {t} after {waited:.1f} s, expected A-ABORT (7)")
    check("not before 1 s, not long after",
          None if 0.9 <= waited <= 5 else f"aborted after {waited:.2f} s")
    print(f"idle association aborted after {waited:.2f} s")


def items(b):
    """{type: payload} of a run of items."""
    out, pos = {}, 0
    while pos + 4 <= len(b):
        t, _, n = struct.unpack(">BBH", b[pos:pos + 4])
        out[t] = b[pos + 4:pos + 4 + n]
        pos += 4 + n
    return out


def user_info_items(ac_body):
    # after protocol version, reserved, two AE titles and 32 reserved bytes
    return items(items(ac_body[68:]).get(0x50, b""))


def identity():
    a = Assoc("127.0.0.1", identity=identity_item())
    expect_accepted("associate with a user identity", a)
    # the AC answers with a user identity response (0x59) when one was asked
    subs = user_info_items(a.body) if a.type == 2 else {}
    check("user identity response item in the A-ASSOCIATE-AC",
          None if 0x59 in subs else f"user information sub-items {sorted(subs)}, no 0x59")
    check("release", None if a.release() else "no A-RELEASE-RP")


def other_peer():
    # ferryd allows 127.0.0.1/32 only: permanent (1), service-user (1), no
    # reason given (1)
    a = Assoc("127.0.0.2", identity=identity_item())
    expect_rejected("from 127.0.0.2, not an allowed address", a, (1, 1, 1))


def main():
    global PORT
    PORT = int(sys.argv[1])
    {"limits": limits, "idle": idle, "identity": identity, "other-peer": other_peer}[sys.argv[2]]()
    return 1 if FAILED else 0


if __name__ == "__main__":
    sys.exit(main())
