"""One writer per run: a claim file per run identity, held by the process that trains the run.

Two sweeps on one output path, a Slurm array beside a local sweep, or a retried task beside the one it replaces
would otherwise train the same run twice. Whoever is about to write a run (start, resume or continue it) first
claims its identity; whoever cannot, leaves the run to its owner.

The claim is `{configuration folder}/.claims/seed{seed}_{digest}.claim`, a small JSON file naming its owner (host,
process, the process's start time, the job it belongs to, when it claimed). It is created complete and in one step
by a hard link, which is atomic on local filesystems and NFS alike. The owner refreshes the file's modification
time every REFRESH_SECONDS; it is taken over only when its owner is verifiably gone:

- its process is dead on this host (or the process ID now belongs to a process that started later);
- the owner is on another host and has not refreshed the claim for STALE_SECONDS, judged by the file server's
  clock (a probe file's modification time), so that clocks that differ between hosts do not matter;
- it belongs to this process's own job: a Slurm task requeued, a Ray task retried (MASKTRAINER_JOB, set by the
  sweep's executors, or Slurm's job and array task IDs), whose earlier attempt is gone.

An owner that finds its claim taken over (it stopped refreshing for too long) exits at once, so that even then
only one process writes the run.
"""

import contextlib
import dataclasses
import hashlib
import json
import os
import secrets
import socket
import sys
import threading
import time

# How long a claim of another host may go without a refresh before it counts as abandoned.
STALE_SECONDS = float(os.environ.get("MASKTRAINER_CLAIM_STALE_S", 300))
REFRESH_SECONDS = max(STALE_SECONDS / 10, 0.05)
TAKEOVER_LOCK_SECONDS = 60  # a taker that died while taking over leaves its lock for this long at most
CLAIMS_FOLDER = ".claims"
JOB_VARIABLE = "MASKTRAINER_JOB"
CLAIMED_CODE = 75  # EX_TEMPFAIL, the exit code of MaskTrainer.py when the run is (now) another process's
TOKEN = secrets.token_hex(8)  # this process's; an owner on this host is also told apart by its start time


class RunClaimed(RuntimeError):
    """Another live process is writing the run; one sentence naming it."""


@dataclasses.dataclass(frozen=True)
class Owner:
    host: str
    pid: int
    process_start: str  # /proc's start time of the process, so that a reused process ID is not taken for it
    job: str  # the Slurm or Ray job the process belongs to, or ""
    claimed_at: str
    token: str

    def describe(self):
        job = f", {self.job}" if self.job else ""
        return f"process {self.pid} on {self.host}{job}, since {self.claimed_at}"


def current_job(environ=None):
    """The job this process belongs to, which a retried or requeued attempt shares; "" outside one."""
    environ = os.environ if environ is None else environ
    if environ.get(JOB_VARIABLE):
        return environ[JOB_VARIABLE]
    if environ.get("SLURM_ARRAY_JOB_ID") and environ.get("SLURM_ARRAY_TASK_ID"):
        return f"slurm:{environ['SLURM_ARRAY_JOB_ID']}_{environ['SLURM_ARRAY_TASK_ID']}"
    return f"slurm:{environ['SLURM_JOB_ID']}" if environ.get("SLURM_JOB_ID") else ""


def process_start(pid):
    """The start time of process `pid` in clock ticks since boot ("" where /proc does not say; None: no such
    process, or a dead one that its parent has not reaped yet)."""
    try:
        with open(f"/proc/{pid}/stat", encoding="ascii", errors="replace") as handle:
            # The command name (field 2) may hold spaces and parentheses; the fields after its last ')' do not.
            fields = handle.read().rsplit(")", 1)[1].split()
        return None if fields[0] in ("Z", "X") else fields[19]
    except FileNotFoundError:
        return None if os.path.isdir("/proc/self") else _exists_or_none(pid)
    except (OSError, IndexError):
        return ""


def _exists_or_none(pid):
    try:
        os.kill(pid, 0)
    except ProcessLookupError:
        return None
    except PermissionError:
        pass
    return ""


def this_owner():
    return Owner(socket.gethostname(), os.getpid(), process_start(os.getpid()) or "", current_job(),
                 time.strftime("%Y-%m-%d %H:%M:%S %Z"), TOKEN)


def claim_path(folder, identity):
    """The claim file of the run with `identity` (RunConfig.identity(): its settings, the seed included), which
    is written in `folder` (its configuration folder)."""
    digest = hashlib.sha256(json.dumps(identity, sort_keys=True, default=str).encode()).hexdigest()[:16]
    return os.path.join(folder, CLAIMS_FOLDER, f"seed{identity.get('seed')}_{digest}.claim")


def read_owner(path):
    """The owner recorded in a claim file; None when there is none (or it cannot be read as one)."""
    try:
        with open(path, encoding="utf-8") as handle:
            return Owner(**json.load(handle))
    except (OSError, ValueError, TypeError):
        return None


def _create(path, owner):
    """Creates `path` holding `owner`, complete, if it does not exist; whether it did."""
    temporary = os.path.join(os.path.dirname(path), f".{os.path.basename(path)}.{owner.token}.{time.time_ns()}")
    with open(temporary, "w", encoding="utf-8") as handle:
        json.dump(dataclasses.asdict(owner), handle)
        handle.flush()
        os.fsync(handle.fileno())
    try:
        os.link(temporary, path)
        return True
    except FileExistsError:
        return False
    except OSError:
        # NFS may report a failure for a link that was made (a lost reply): the link count tells.
        return os.stat(temporary).st_nlink == 2
    finally:
        with contextlib.suppress(OSError):
            os.remove(temporary)


def _age(path):
    """Seconds since `path` was last modified, by the clock of the filesystem that holds it."""
    probe = os.path.join(os.path.dirname(path), f".now.{TOKEN}")
    with open(probe, "w", encoding="utf-8"):
        pass
    try:
        return os.stat(probe).st_mtime - os.stat(path).st_mtime
    finally:
        with contextlib.suppress(OSError):
            os.remove(probe)


def is_gone(owner, path):
    """Whether the owner of the claim at `path` is verifiably gone (see the module's docstring)."""
    if owner.token == TOKEN:
        return False
    if owner.job and owner.job == current_job():
        return True
    if owner.host == socket.gethostname():
        started = process_start(owner.pid)
        return started is None or bool(started and owner.process_start and started != owner.process_start)
    try:
        return _age(path) > STALE_SECONDS
    except FileNotFoundError:
        return True


def holder(path):
    """The live owner of the claim at `path` other than this process, or None (no claim, or an abandoned one)."""
    owner = read_owner(path)
    if owner is None or owner.token == TOKEN or is_gone(owner, path):
        return None
    return owner


def _take_over(path, judged):
    """Removes the claim at `path` if it still holds `judged` (an owner found gone), under a lock so that two
    takers cannot remove each other's fresh claims."""
    lock = path + ".takeover"
    if not _create(lock, this_owner()):
        with contextlib.suppress(FileNotFoundError):
            if _age(lock) > TAKEOVER_LOCK_SECONDS:
                os.remove(lock)  # its taker died while taking over
        return
    try:
        current = read_owner(path)
        if current is None or current.token == judged.token:
            with contextlib.suppress(FileNotFoundError):
                os.remove(path)
    finally:
        with contextlib.suppress(FileNotFoundError):
            os.remove(lock)


class Registry:
    """The claims this process holds (path -> how many times claimed), kept fresh by one background thread."""

    def __init__(self):
        self.held = {}
        self.created = {}  # path -> the folders its claim created, removed with it when still empty
        self.lock = threading.Lock()
        self.thread = None

    def acquire(self, path, what):
        """Claims `path` (re-entrant within the process); RunClaimed (naming the owner) when another live
        process holds it. `what` names the run in the message."""
        with self.lock:
            if path in self.held:
                self.held[path] += 1
                return
        created = missing_folders(os.path.dirname(path))
        os.makedirs(os.path.dirname(path), exist_ok=True)
        for _ in range(5):
            if _create(path, this_owner()):
                with self.lock:
                    self.held[path], self.created[path] = 1, created
                    self._start_refreshing()
                return
            owner = read_owner(path)
            if owner is not None and not is_gone(owner, path):
                raise RunClaimed(f"{what} is being trained by {owner.describe()} (claim {path}); it is left to "
                                 "that process.")
            if owner is not None:
                _take_over(path, owner)
            time.sleep(0.05)
        remove_empty(created)
        raise RunClaimed(f"{what} could not be claimed ({path} keeps changing hands); try again.")

    def release(self, path):
        with self.lock:
            count = self.held.get(path, 0) - 1
            if count > 0:
                self.held[path] = count
                return
            self.held.pop(path, None)
            created = self.created.pop(path, [])
        owner = read_owner(path)
        if owner is not None and owner.token == TOKEN:
            with contextlib.suppress(FileNotFoundError):
                os.remove(path)
        remove_empty([os.path.dirname(path), *created])  # a run refused before it wrote leaves nothing behind

    def _start_refreshing(self):
        if self.thread is None or not self.thread.is_alive():
            self.thread = threading.Thread(target=self._refresh, name="run-claims", daemon=True)
            self.thread.start()

    def _refresh(self):
        while True:
            time.sleep(REFRESH_SECONDS)
            with self.lock:
                held = list(self.held)
            for path in held:
                try:
                    with open(path, encoding="utf-8") as handle:
                        owner = Owner(**json.load(handle))
                except FileNotFoundError:
                    owner = None
                except (OSError, ValueError, TypeError):
                    continue  # unreadable for now (a filesystem hiccup): judged at the next refresh
                with self.lock:
                    if path not in self.held:
                        continue  # released meanwhile
                if owner is None or owner.token != TOKEN:
                    taker = f" by {owner.describe()}" if owner else ""
                    print(f"The claim {path} was taken over{taker} (this process stopped refreshing it for over "
                          f"{STALE_SECONDS:.0f} s); stopping at once so that one process writes the run; its "
                          "owner resumes it.", file=sys.stderr, flush=True)
                    os._exit(CLAIMED_CODE)
                with contextlib.suppress(OSError):
                    os.utime(path)


def missing_folders(folder):
    """The folders that creating `folder` creates, deepest first."""
    missing = []
    while folder and not os.path.isdir(folder):
        missing.append(folder)
        parent = os.path.dirname(folder)
        if parent == folder:
            break
        folder = parent
    return missing


def remove_empty(folders):
    for folder in folders:
        with contextlib.suppress(OSError):  # not empty (another claim, a run's files): kept
            os.rmdir(folder)


REGISTRY = Registry()


@contextlib.contextmanager
def claimed(path, what):
    """Holds the claim at `path` while the block runs."""
    REGISTRY.acquire(path, what)
    try:
        yield
    finally:
        REGISTRY.release(path)
