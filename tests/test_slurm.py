"""The slurm profile on a real SLURM: the smoke preset through
``snakemake --workflow-profile workflow/profiles/slurm`` on a one-node cluster started here.

The cluster is this machine: munged, slurmctld and slurmd (Debian's ``slurm-wlm`` and
``munge``, 22.05) with a configuration in a temporary folder (``SLURM_CONF``), no accounting
daemon, and two GPUs that are ``/dev/null`` and ``/dev/zero`` (so the rules' ``gpu=1`` turn
into ``--gpus=1`` as on a real GPU partition, and GPU jobs queue two at a time, one per
core). Every job but the local ones
must have been a SLURM job (its job id in Snakemake's log, its state COMPLETED in squeue, the
plugin's status polling with squeue, as sacct needs the accounting daemon), and the results
must equal a local run's: the same arrays, byte-identical figures.

Needs root and ``apt-get install -y slurm-wlm munge`` (``.ci/run`` installs them); deselect
with ``pytest -m "not slurm"``.
"""

from __future__ import annotations

import importlib.util
import os
import re
import shutil
import socket
import subprocess
import sys
import time
from collections.abc import Iterator
from pathlib import Path

import pytest

from faultkit import assert_same_results, reference_smoke
from test_workflow import REPO, SMOKE, SNAKEFILE, write_yaml

pytestmark = [pytest.mark.slurm, pytest.mark.slow]

PROFILE = REPO / "workflow" / "profiles" / "slurm"
COMMANDS = ("munged", "slurmctld", "slurmd", "sbatch", "squeue", "srun", "sinfo")
LOCAL_RULES = {"all", "data"}


def free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return s.getsockname()[1]


def slurm_conf(root: Path, node: str) -> str:
    return f"""\
ClusterName=landscapeci
SlurmctldHost={node}(127.0.0.1)
SlurmctldPort={free_port()}
SlurmdPort={free_port()}
AuthType=auth/munge
CredType=cred/munge
AuthInfo=socket={root}/munge/socket
SlurmUser=root
SlurmdUser=root
StateSaveLocation={root}/state
SlurmdSpoolDir={root}/spool
SlurmctldPidFile={root}/slurmctld.pid
SlurmdPidFile={root}/slurmd.pid
SlurmctldLogFile={root}/slurmctld.log
SlurmdLogFile={root}/slurmd.log
ProctrackType=proctrack/linuxproc
TaskPlugin=task/none
SelectType=select/cons_tres
SelectTypeParameters=CR_Core
AccountingStorageType=accounting_storage/none
JobAcctGatherType=jobacct_gather/none
JobCompType=jobcomp/none
MpiDefault=none
ReturnToService=2
MinJobAge=3600
SchedulerParameters=sched_interval=2
SlurmdParameters=config_overrides
GresTypes=gpu
NodeName={node} NodeAddr=127.0.0.1 CPUs={os.cpu_count()} RealMemory=64000 Gres=gpu:2 State=UNKNOWN
PartitionName=debug Nodes=ALL Default=YES MaxTime=INFINITE State=UP
"""


@pytest.fixture(scope="module")
def cluster(tmp_path_factory) -> Iterator[dict[str, str]]:
    """A running one-node SLURM cluster; yields the environment its clients need."""
    missing = [c for c in COMMANDS if shutil.which(c) is None]
    if importlib.util.find_spec("snakemake_executor_plugin_slurm") is None:
        missing.append("snakemake-executor-plugin-slurm (pip install -e '.[test,slurm]')")
    if missing or os.geteuid() != 0:
        pytest.fail(f"the SLURM test needs root and {', '.join(missing) or 'SLURM'}: install "
                    "them as the README says (.ci/run does), or deselect it: -m 'not slurm'")
    root = tmp_path_factory.mktemp("slurm")
    root.chmod(0o700)
    for sub in ("munge", "state", "spool", "bin"):
        (root / sub).mkdir(mode=0o700)
    key = root / "munge" / "munge.key"
    key.write_bytes(os.urandom(1024))
    key.chmod(0o400)
    node = socket.gethostname().split(".")[0]
    conf = root / "slurm.conf"
    conf.write_text(slurm_conf(root, node))
    (root / "gres.conf").write_text("".join(f"NodeName={node} Name=gpu File={device}\n"
                                            for device in ("/dev/null", "/dev/zero")))
    # snakemake-executor-plugin-slurm-jobstep drops every SLURM_* variable, SLURM_CONF too,
    # before the srun it runs inside each job; a cluster keeps its configuration in
    # /etc/slurm, this one in a temporary folder, which this srun passes on.
    srun = root / "bin" / "srun"
    srun.write_text(f'#!/bin/sh\nSLURM_CONF={conf} exec {shutil.which("srun")} "$@"\n')
    srun.chmod(0o755)
    env = {**os.environ, "SLURM_CONF": str(conf),
           "PATH": os.pathsep.join([str(root / "bin"), str(Path(sys.executable).parent),
                                    os.environ["PATH"]])}
    logs = open(root / "daemons.log", "w")  # closed once the daemons have stopped
    daemons = [subprocess.Popen(
        ["munged", "--foreground", "--force", f"--key-file={key}",
         f"--socket={root}/munge/socket", f"--pid-file={root}/munge/pid",
         f"--log-file={root}/munge/log", f"--seed-file={root}/munge/seed"],
        stdout=logs, stderr=subprocess.STDOUT)]
    try:
        time.sleep(1)
        daemons.append(subprocess.Popen(["slurmctld", "-D", "-f", str(conf)], env=env,
                                        stdout=logs, stderr=subprocess.STDOUT))
        daemons.append(subprocess.Popen(["slurmd", "-D", "-f", str(conf), "-N", node], env=env,
                                        stdout=logs, stderr=subprocess.STDOUT))
        deadline = time.monotonic() + 90
        state = ""
        while time.monotonic() < deadline:
            state = subprocess.run(["sinfo", "-h", "-o", "%t"], env=env, capture_output=True,
                                   text=True).stdout.strip()
            if state == "idle":
                break
            time.sleep(1)
        assert state == "idle", f"the node is {state!r}:\n{(root / 'slurmctld.log').read_text()}"
        yield env
    finally:
        subprocess.run(["scancel", "--user", "root"], env=env, check=False,
                       capture_output=True)
        for daemon in reversed(daemons):
            daemon.terminate()
            try:
                daemon.wait(timeout=30)
            except subprocess.TimeoutExpired:
                daemon.kill()
                daemon.wait()
        logs.close()


def test_smoke_preset_on_slurm_equals_a_local_run(cluster, tmp_path_factory, data_dir):
    reference = reference_smoke(tmp_path_factory, data_dir)
    workdir = tmp_path_factory.mktemp("smoke_slurm")
    data = write_yaml(workdir / "data.yaml", {"data_dir": str(data_dir)})
    # exactly the profile; the one extra option polls sooner than its 40 s (tiny jobs)
    result = subprocess.run(
        [sys.executable, "-m", "snakemake", "--snakefile", str(SNAKEFILE), "--directory",
         str(workdir), "--workflow-profile", str(PROFILE), "--configfile", str(SMOKE), str(data),
         "--slurm-init-seconds-before-status-checks", "2"],
        env=cluster, stdout=subprocess.PIPE, stderr=subprocess.STDOUT, text=True, timeout=3000)
    log = result.stdout
    assert result.returncode == 0, log[-6000:]

    finished = dict(re.findall(r"Finished jobid: (\d+) \(Rule: (\w+)\)", log))
    submitted = dict(re.findall(r"Job (\d+) has been submitted with SLURM jobid (\d+)", log))
    remote = {job for job, rule in finished.items() if rule not in LOCAL_RULES}
    total = int(re.search(r"^total\s+(\d+)$", log, re.M).group(1))  # the run's job stats
    local = [rule for rule in finished.values() if rule in LOCAL_RULES]  # `data` if not done
    assert len(finished) == total and len(local) <= len(LOCAL_RULES), (total, finished)
    assert remote == set(submitted), (remote, submitted)
    assert "Falling back to 'sacct'" not in log  # job states polled with squeue

    states = subprocess.run(["squeue", "--states=all", "--noheader", "--format=%i|%T"],
                            env=cluster, capture_output=True, text=True, check=True).stdout
    state_of = dict(line.split("|") for line in states.split())
    assert {state_of.get(jobid) for jobid in submitted.values()} == {"COMPLETED"}, states

    assert_same_results(reference / "results" / "smoke", workdir / "results" / "smoke")
