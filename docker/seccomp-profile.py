#!/usr/bin/python3
"""Print a seccomp profile for ferryd's container: the container engine's
own default profile with the three io_uring system calls allowed.

ferryd does all its network and disk I/O through io_uring. Docker (since
25.0) and Podman block io_uring_setup, io_uring_enter and io_uring_register
in their default profiles, and ferryd then stops at start with
"io_uring_queue_init: Function not implemented". Rather than run with
seccomp=unconfined, take the engine's default and allow just those three:

  docker/seccomp-profile.py [DEFAULT.json] > ferry-seccomp.json
  docker run --security-opt seccomp=ferry-seccomp.json ... ferry

DEFAULT.json: the engine's default profile; Podman's is
/usr/share/containers/seccomp.json (used when none is given); Docker's is
profiles/seccomp/default.json in the moby sources of the engine's version.
"""
import json
import sys

IO_URING = ["io_uring_setup", "io_uring_enter", "io_uring_register"]


def main(argv):
    path = argv[1] if len(argv) > 1 else "/usr/share/containers/seccomp.json"
    if len(argv) > 2 or path in ("-h", "--help"):
        print(__doc__.strip(), file=sys.stderr)
        return 2
    try:
        with open(path, encoding="utf-8") as f:
            profile = json.load(f)
    except (OSError, ValueError) as e:
        print(f"seccomp-profile: cannot read {path}: {e}", file=sys.stderr)
        return 1
    rules = profile.get("syscalls")
    if not isinstance(rules, list):
        print(f"seccomp-profile: {path} has no 'syscalls' list", file=sys.stderr)
        return 1
    # Drop the names from every rule that refuses them (an errno rule), then
    # allow them in a rule of their own.
    kept = []
    for rule in rules:
        names = rule.get("names", [])
        if rule.get("action") != "SCMP_ACT_ALLOW" and any(n in IO_URING for n in names):
            rule = dict(rule, names=[n for n in names if n not in IO_URING])
            if not rule["names"]:
                continue
        kept.append(rule)
    kept.append({"names": IO_URING, "action": "SCMP_ACT_ALLOW",
                 "comment": "ferryd: network and disk I/O through io_uring"})
    profile["syscalls"] = kept
    json.dump(profile, sys.stdout, indent=1)
    print()
    return 0


if __name__ == "__main__":
    sys.exit(main(sys.argv))
