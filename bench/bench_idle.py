"""Idle footprint of the whole suite: RSS and PSS of each process and their sum.

Reference, measured in the same run: a minimal libevent evhttp server
(bench/evhttp_ref_server.c) idling the same way. Goal: sum of PSS <= 12 MB.
"""
import os
import subprocess
import tempfile
import time

import requests

from benchlib import BUILD, Suite, free_port, pss_kb, row, status_kb, wait_for


def reference():
    port = free_port()
    p = subprocess.Popen([os.path.join(BUILD, "bench", "evhttp_ref_server"), str(port)],
                         stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL)
    try:
        wait_for(lambda: requests.get(f"http://127.0.0.1:{port}/", timeout=1), 5,
                 what="reference server")
        for _ in range(50):
            requests.get(f"http://127.0.0.1:{port}/", timeout=1)
        time.sleep(0.5)
        return status_kb(p.pid, "VmRSS"), pss_kb(p.pid)
    finally:
        p.kill()
        p.wait()


def main():
    ref_rss, ref_pss = reference()
    with tempfile.TemporaryDirectory(prefix="ankicollab-bench-") as tmp:
        s = Suite(tmp).start()
        try:
            for d in ("apid", "mediad"):
                for _ in range(50):
                    requests.get(s.url(d, "/health"), timeout=2)
            time.sleep(2)
            st = s.status()
            pids = {"supervisor": s.proc.pid} | {n: st[n]["pid"] for n in ("apid", "mediad", "gcd")}
            total_rss = total_pss = 0
            for name, pid in pids.items():
                rss, pss = status_kb(pid, "VmRSS"), pss_kb(pid)
                total_rss += rss
                total_pss += pss
                row(f"idle {name} RSS", rss / 1024, "MB", ref_rss / 1024, "evhttp server")
                row(f"idle {name} PSS", pss / 1024, "MB", ref_pss / 1024, "evhttp server")
            row("idle suite RSS, sum of 4 processes", total_rss / 1024, "MB",
                ref_rss / 1024, "evhttp server")
            row("idle suite PSS, sum of 4 processes", total_pss / 1024, "MB",
                ref_pss / 1024, "evhttp server", goal="<= 12 MB")
        finally:
            s.stop()


if __name__ == "__main__":
    main()
