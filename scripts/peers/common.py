"""What the peers' runs share: ports, percentiles, a process's memory, a directory's size,
stopping a process."""
import os
import socket
import subprocess
import time


def stop_process(proc, timeout=20):
    """SIGTERM, then SIGKILL if it has not exited within `timeout` seconds."""
    if proc.poll() is not None:
        return
    proc.terminate()
    try:
        proc.wait(timeout=timeout)
    except subprocess.TimeoutExpired:
        proc.kill()
        proc.wait()


def free_port():
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return s.getsockname()[1]


def percentile(values, p):
    # The same rule as tests/bench/bench_network.h.
    if not values:
        return 0.0
    v = sorted(values)
    return v[min(len(v) - 1, int(p * (len(v) - 1) + 0.5))]


def proc_kib(pid, field):
    """A field of /proc/PID/status in KiB: RssAnon (own memory) or VmHWM (peak resident)."""
    try:
        with open(f"/proc/{pid}/status", encoding="utf-8") as f:
            for line in f:
                if line.startswith(field + ":"):
                    return int(line.split()[1])
    except OSError:
        pass
    return 0


def dir_bytes(path):
    """Bytes allocated on disk under `path` (sparse files count what they use)."""
    total = 0
    for root, _, files in os.walk(path):
        for f in files:
            try:
                total += os.stat(os.path.join(root, f)).st_blocks * 512
            except OSError:
                pass
    return total


def fsync_ms(directory, n=200):
    """Baseline: median time of a 4 KiB write + fdatasync in `directory` (the peers' disk)."""
    path = os.path.join(directory, "fsync.probe")
    fd = os.open(path, os.O_CREAT | os.O_WRONLY, 0o600)
    block = b"x" * 4096
    times = []
    try:
        for i in range(n):
            t = time.perf_counter()
            os.pwrite(fd, block, (i % 16) * 4096)
            os.fdatasync(fd)
            times.append((time.perf_counter() - t) * 1e3)
    finally:
        os.close(fd)
        os.unlink(path)
    return percentile(times, 0.5)
