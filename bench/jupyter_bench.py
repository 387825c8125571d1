# SPDX-License-Identifier: MIT
"""The comparison column of bench/perf.sh: what a user would run instead of a session.

Run it with Debian's /usr/bin/python3 (python3-ipykernel, python3-jupyter-client, python3-pandas).
  jupyter_bench.py new N     N times: start a kernel (jupyter_client KernelManager, the python3
                             kernel of ipykernel) and run `import pandas` in it, until its reply
                             and idle status; the kernel's shutdown is not timed
  jupyter_bench.py warm N    N executions of `x + 1` in one warm kernel, each until its
                             execute_result, idle status and execute_reply
  jupyter_bench.py python N  N runs of a fresh `python3 -c 'import pandas'`
Prints one line like bench_http's: "LABEL: n=N p50=… ms p90=… ms p99=… ms max=… ms".
"""

import gc
import os
import subprocess
import sys
import time

TIMEOUT_S = 120


def run_cell(kc, code):
    """Executes |code| and waits for its idle status and its reply; returns the result text."""
    msg_id = kc.execute(code)
    result = None
    while True:
        msg = kc.get_iopub_msg(timeout=TIMEOUT_S)
        if msg["parent_header"].get("msg_id") != msg_id:
            continue
        if msg["msg_type"] == "execute_result":
            result = msg["content"]["data"].get("text/plain")
        if msg["msg_type"] == "status" and msg["content"]["execution_state"] == "idle":
            break
    while True:
        reply = kc.get_shell_msg(timeout=TIMEOUT_S)
        if reply["parent_header"].get("msg_id") == msg_id:
            break
    if reply["content"]["status"] != "ok":
        raise RuntimeError(f"{code!r}: {reply['content']}")
    return result


def start_kernel():
    from jupyter_client.manager import KernelManager

    km = KernelManager(kernel_name="python3")
    # The kernel's stderr holds only ipykernel's debugger warning about frozen modules; a kernel
    # that fails to start is reported by wait_for_ready.
    km.start_kernel(stderr=subprocess.DEVNULL)
    kc = km.client()
    kc.start_channels()
    kc.wait_for_ready(timeout=TIMEOUT_S)
    return km, kc


def stop_kernel(km, kc):
    kc.stop_channels()
    km.shutdown_kernel(now=True)


def bench_new(n):
    times = []
    for _ in range(n):
        t0 = time.perf_counter()
        km, kc = start_kernel()
        run_cell(kc, "import pandas")
        times.append(time.perf_counter() - t0)
        stop_kernel(km, kc)
        del km, kc
        gc.collect()
    return times


def bench_warm(n):
    km, kc = start_kernel()
    run_cell(kc, "x = 1")
    for _ in range(50):
        run_cell(kc, "x + 1")
    times = []
    for _ in range(n):
        t0 = time.perf_counter()
        if run_cell(kc, "x + 1") != "2":
            raise RuntimeError("x + 1 did not give 2")
        times.append(time.perf_counter() - t0)
    stop_kernel(km, kc)
    del km, kc
    gc.collect()
    return times


def bench_python(n):
    times = []
    for _ in range(n):
        t0 = time.perf_counter()
        subprocess.run([sys.executable, "-c", "import pandas"], check=True, timeout=TIMEOUT_S)
        times.append(time.perf_counter() - t0)
    return times


def main():
    modes = {"new": bench_new, "warm": bench_warm, "python": bench_python}
    labels = {"new": "jupyter-new", "warm": "jupyter-warm", "python": "python3-import-pandas"}
    if len(sys.argv) != 3 or sys.argv[1] not in modes or int(sys.argv[2]) < 1:
        sys.exit("usage: jupyter_bench.py new|warm|python N")
    os.environ.setdefault("PYDEVD_DISABLE_FILE_VALIDATION", "1")
    mode, n = sys.argv[1], int(sys.argv[2])
    t = sorted(x * 1e3 for x in modes[mode](n))
    print(
        f"{labels[mode]}: n={n} p50={t[n // 2]:.2f} ms p90={t[n * 9 // 10]:.2f} ms "
        f"p99={t[n * 99 // 100]:.2f} ms max={t[-1]:.2f} ms"
    )


if __name__ == "__main__":
    main()
