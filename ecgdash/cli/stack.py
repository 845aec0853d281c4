"""``ecgdash stack up|down|status``: the local dev stack (not the product: a laptop's services)."""

from __future__ import annotations

import argparse
import json
import sys

from ecgdash.devstack.manager import stack_down, stack_status, stack_up
from ecgdash.settings import Settings


def cmd_stack(args: argparse.Namespace, s: Settings) -> int:
    if args.action == "up":
        mode = args.db or s.db_mode
        info = stack_up(s.home, mode, {s.topic: s.partitions, s.dlq_topic: 1})
        print(json.dumps({"mode": info.mode, "bootstrap": info.bootstrap, "ports": info.ports}))
        if info.mode == "timescale":
            print("note: the embedded TimescaleDB is single-user by design: it checks no passwords "
                  "(roles separate our own processes' privileges, not people); it listens on "
                  "127.0.0.1 only", file=sys.stderr)
    elif args.action == "down":
        print("stopped: " + (", ".join(stack_down(s.home)) or "nothing"))
    else:
        print(json.dumps(stack_status(s.home)))
    return 0


def add_parser(sub: argparse._SubParsersAction) -> None:
    st = sub.add_parser("stack", help="start/stop the local dev broker and database (127.0.0.1)")
    st.add_argument("action", choices=["up", "down", "status"])
    st.add_argument("--db", choices=["timescale", "postgres"], help="database mode (up)")
    st.set_defaults(func=cmd_stack)
