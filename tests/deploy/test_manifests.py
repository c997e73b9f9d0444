"""Every deployment file parses, runs `figcurate run` on a config that validates, and agrees with the project."""

import json
import re
import shlex
from pathlib import Path

import pytest
import yaml

from pipeline.cli import build_parser
from deploy.lock.lock import read_lock
from pipeline.config import load_config

REPO = Path(__file__).resolve().parents[2]
DEPLOY = REPO / "deploy"
# The Ray every install gets; images and clusters must run the same one.
RAY_VERSION = read_lock(DEPLOY / "lock" / "test.txt")["ray"]
KUBERAY = sorted((DEPLOY / "kuberay").glob("*.yaml"))


def cluster_spec(manifest: dict) -> dict:
    return manifest["spec"]["rayClusterSpec"] if manifest["kind"] == "RayJob" else manifest["spec"]


def containers(group: dict) -> list[dict]:
    return group["template"]["spec"]["containers"]


def check_entrypoint(command: str) -> None:
    """`figcurate run <config in the image> --address auto ...`, parsed by the real CLI; the config validates."""
    words = shlex.split(command)
    assert words[:2] == ["figcurate", "run"], command
    args = build_parser().parse_args(words[1:])
    assert args.address == "auto"
    config = Path(str(args.config).replace("/opt/figcurate/", str(REPO) + "/"))
    load_config(config)  # raises ConfigError on any problem
    if args.output:
        assert str(args.output).startswith("s3:/"), "a cluster writes where every node can read: S3"


def test_dockerfile_builds_on_rays_image_of_the_pinned_version_through_the_lock():
    text = (DEPLOY / "Dockerfile").read_text()
    assert re.search(rf"^FROM rayproject/ray:{re.escape(RAY_VERSION)}-py311-cu\d+$", text, re.MULTILINE)
    assert 'pip install --no-cache-dir -c deploy/lock/test.txt ".[llm]"' in text
    assert re.search(r"^COPY .*\bdeploy/lock \./deploy/lock$", text, re.MULTILINE)
    for folder in ("pipeline", "stages", "schemas", "configs"):
        assert re.search(rf"^COPY .*\b{folder} \./{folder}$", text, re.MULTILINE), folder
    assert "AWS_" not in text  # no credentials in the image


@pytest.mark.parametrize("path", KUBERAY, ids=[p.name for p in KUBERAY])
def test_kuberay_manifests(path):
    (manifest,) = list(yaml.safe_load_all(path.read_text()))
    assert manifest["apiVersion"] == "ray.io/v1" and manifest["kind"] in ("RayJob", "RayCluster")
    spec = cluster_spec(manifest)
    assert spec["rayVersion"] == RAY_VERSION and spec["enableInTreeAutoscaling"] is True
    groups = {group["groupName"]: group for group in spec["workerGroupSpecs"]}
    assert set(groups) == {"cpu", "gpu"}
    for group in groups.values():
        assert 0 <= group["minReplicas"] <= group["maxReplicas"]
    gpu_resources = containers(groups["gpu"])[0]["resources"]
    assert gpu_resources["requests"]["nvidia.com/gpu"] == gpu_resources["limits"]["nvidia.com/gpu"] == "1"
    assert "nvidia.com/gpu" not in containers(groups["cpu"])[0]["resources"]["requests"]
    assert spec["headGroupSpec"]["rayStartParams"]["num-cpus"] == "0"
    images = {c["image"] for g in [spec["headGroupSpec"], *groups.values()] for c in containers(g)}
    assert len(images) == 1  # one image everywhere
    for group in [spec["headGroupSpec"], *groups.values()]:
        assert group["template"]["spec"]["serviceAccountName"] == "figcurate"  # S3 through the pod's role
        assert all("env" not in c or not any("AWS_SECRET" in e["name"] for e in c["env"]) for c in containers(group))
    if manifest["kind"] == "RayJob":
        check_entrypoint(manifest["spec"]["entrypoint"])
        assert manifest["spec"]["shutdownAfterJobFinishes"] is True


def test_commands_written_in_the_comments_run_figcurate_on_valid_configs():
    for path in [*KUBERAY, DEPLOY / "aws" / "cluster.yaml"]:
        for line in path.read_text().splitlines():
            if "ray job submit" in line:
                check_entrypoint(line.split(" -- ", 1)[1])


def test_aws_launcher_sits_beside_the_bucket_and_uses_an_instance_profile():
    cluster = yaml.safe_load((DEPLOY / "aws" / "cluster.yaml").read_text())
    assert cluster["provider"] == {"type": "aws", "region": "us-east-1", "cache_stopped_nodes": False}
    nodes = cluster["available_node_types"]
    assert cluster["head_node_type"] in nodes and nodes["head"]["resources"] == {"CPU": 0}
    assert sum(n.get("max_workers", 0) for n in nodes.values()) <= cluster["max_workers"]
    for node in nodes.values():
        assert node["node_config"]["IamInstanceProfile"]["Arn"].startswith("arn:aws:iam::")
        assert node.get("min_workers", 0) <= node.get("max_workers", 0)
    assert "AccessKey" not in (DEPLOY / "aws" / "cluster.yaml").read_text()


def test_iam_policy_reads_the_pmc_bucket_and_writes_only_the_output_bucket():
    policy = json.loads((DEPLOY / "aws" / "iam-policy.json").read_text())
    statements = {s["Sid"]: s for s in policy["Statement"]}
    assert set(statements["ReadPmcOpenAccess"]["Action"]) == {"s3:GetObject", "s3:ListBucket"}
    assert all("pmc-oa-opendata" in r for r in statements["ReadPmcOpenAccess"]["Resource"])
    writes = [s for s in policy["Statement"] if "s3:PutObject" in s["Action"]]
    assert len(writes) == 1 and not any("pmc-oa-opendata" in r for r in writes[0]["Resource"])
    assert all(action != "s3:*" for s in policy["Statement"] for action in s["Action"])
