"""`securecart-tf pipeline`: waves from the stack graph, matrices under the CI caps, refusals, and what jobs run."""

from __future__ import annotations

from pathlib import Path
from typing import Any

import pytest
import yaml

from bench.synth import Size, write_project
from securecart_tf.config.load import load_project
from securecart_tf.pipeline import MATRIX_CAP, build_pipeline, emit
from securecart_tf.pipeline.graph import depths
from tests.golden.pipeline.regenerate import s3_example, use_s3_backends
from tests.helpers import copy_example, run_cli


@pytest.fixture(scope="module")
def synthetic_org(tmp_path_factory: pytest.TempPathFactory) -> Path:
    """The 1,000-account synthetic organization, its environments on S3."""
    folder = tmp_path_factory.mktemp("org-1000")
    write_project(folder, Size.scaled(1000))
    use_s3_backends(folder, "bench-state")
    return folder / "access-matrix.yaml"


def _jobs(text: str) -> dict[str, Any]:
    return dict(yaml.safe_load(text)["jobs"])


def test_waves_follow_the_dependency_graph_within_each_environment(tmp_path: Path) -> None:
    pipeline = build_pipeline(load_project(s3_example(tmp_path)), "github")
    waves = {e.name: [list(w.stacks) for w in e.waves] for e in pipeline.environments}
    # dev: the organization first; the security baseline and the accounts' access stacks need only it;
    # identity-center waits for access-shared-services, where its customer-managed policy lives
    assert waves["dev"][0] == ["organization"]
    assert set(waves["dev"][1]) == {
        "security",
        "access-management",
        "access-security",
        "access-shared-services",
        "access-dev",
    }
    assert waves["dev"][2] == ["identity-center"]
    # later stages need only the organization, applied with dev: one wave each
    assert waves["staging"] == [["access-staging"]] and waves["prod"] == [["access-prod"]]
    assert [e.name for e in pipeline.environments] == ["dev", "staging", "prod"]


def test_a_dependency_in_an_earlier_environment_does_not_deepen_a_wave() -> None:
    from securecart_tf.model import Stack

    def stack(name: str, *needs: str) -> Stack:
        return Stack(name, "access", name, needs, (), {})

    # "organization" is not among these stacks: it was applied with an earlier environment
    got = depths([stack("a", "organization"), stack("b", "a"), stack("c", "organization", "b"), stack("d")])
    assert got == {"a": 0, "b": 1, "c": 2, "d": 0}


def test_shards_split_each_wave_and_slice_a_whole_environment_with_shard(tmp_path: Path) -> None:
    pipeline = build_pipeline(load_project(s3_example(tmp_path)), "gitlab", shards=2)
    dev = pipeline.environments[0]
    wave1 = dev.waves[1]
    assert wave1.option == "--stacks" and len(wave1.entries) == 2
    assert sorted(s for e in wave1.entries for s in e.stacks) == sorted(wave1.stacks)
    # a wave of one stack is one job whatever --shards says
    assert len(dev.waves[0].entries) == 1
    staging = pipeline.environments[1].waves[0]
    assert staging.option == "--shard" and [e.value for e in staging.entries] == ["1/1"]


def test_jobs_call_the_selection_options_plan_apply_and_promote(tmp_path: Path) -> None:
    project = load_project(s3_example(tmp_path))
    jobs = _jobs(emit(project, "github")[1])
    scripts = {name: "\n".join(s.get("run", "") for s in job["steps"]) for name, job in jobs.items()}
    assert 'securecart-tf plan --env dev --stacks "$STACKS"' in scripts["plan-dev-1"]
    assert (
        'securecart-tf apply --env dev --stacks "$STACKS" --auto-approve --confirm-env dev'
        in scripts["deploy-dev-apply-1"]
    )
    assert (
        'securecart-tf promote --from dev --to staging --stacks "$STACKS" --auto-approve --confirm-env staging'
        in scripts["promote-staging-0"]
    )
    assert 'securecart-tf promote --from staging --to prod --stacks "$STACKS"' in scripts["promote-prod-0"]
    assert jobs["promote-staging-0"]["needs"] == ["deploy-dev-apply-2"]
    assert jobs["promote-prod-0"]["needs"] == ["promote-staging-0"]
    assert jobs["promote-prod-0"]["strategy"]["matrix"]["include"] == [{"key": "access-prod", "stacks": "access-prod"}]
    assert jobs["deploy-dev-plan-1"]["needs"] == ["deploy-dev-apply-0"]
    entries = jobs["plan-dev-1"]["strategy"]["matrix"]["include"]
    assert {"key": "access-dev", "stacks": "access-dev"} in entries


def test_the_plan_travels_to_its_apply_job_as_an_artifact(tmp_path: Path) -> None:
    jobs = _jobs(emit(load_project(s3_example(tmp_path)), "github")[1])
    upload = [s for s in jobs["deploy-dev-plan-0"]["steps"] if s.get("uses", "").startswith("actions/upload-artifact")]
    download = [
        s for s in jobs["deploy-dev-apply-0"]["steps"] if s.get("uses", "").startswith("actions/download-artifact")
    ]
    assert upload[0]["with"]["path"] == ".securecart/plans" == download[0]["with"]["path"]
    assert upload[0]["with"]["name"] == download[0]["with"]["name"]
    gitlab = yaml.safe_load(emit(load_project(tmp_path / "access-matrix.yaml"), "gitlab")[1])
    assert ".securecart/plans/" in gitlab["deploy-dev-plan-0"]["artifacts"]["paths"]


def test_every_apply_is_gated_and_serialized_per_environment(tmp_path: Path) -> None:
    project = load_project(s3_example(tmp_path))
    github = _jobs(emit(project, "github")[1])
    for name in ("deploy-dev-apply-0", "deploy-dev-apply-2", "promote-staging-0", "promote-prod-0"):
        assert github[name]["environment"] in {"dev", "staging", "prod"}, name
        # a matrix job must not hold a job-level group: GitHub would cancel the wave's other entries
        assert "concurrency" not in github[name], name
    workflow = yaml.safe_load(emit(project, "github")[1])["concurrency"]
    assert workflow["group"] == "securecart-${{ github.event_name }}-${{ github.ref }}"  # pushes queue, in turn
    assert workflow["cancel-in-progress"] == "${{ github.event_name == 'pull_request' }}"
    gitlab = yaml.safe_load(emit(project, "gitlab")[1])
    assert gitlab["promote-prod-0"]["resource_group"] == "securecart-prod"
    assert gitlab["deploy-dev-apply-1"]["resource_group"] == "securecart-dev"
    # prod and staging ask (approval: always, prompt): one manual start each, before their waves; dev does not
    stages = gitlab["stages"]
    for env in ("staging", "prod"):
        gate = gitlab[f"approve-{env}"]
        assert gate["rules"][0]["when"] == "manual" and gate["allow_failure"] is False
        assert gate["environment"] == {"name": env, "action": "prepare"}
        assert stages.index(f"approve-{env}") + 1 == stages.index(f"promote-{env}-0")
        assert "when" not in gitlab[f"promote-{env}-0"]["rules"][0]
    assert "approve-dev" not in gitlab


def test_a_local_backend_is_refused_naming_the_environment_and_its_file(tmp_path: Path) -> None:
    matrix = copy_example(tmp_path) / "access-matrix.yaml"
    result = run_cli(tmp_path, "pipeline", "github", "--matrix", str(matrix))
    assert result.returncode == 1, result.stderr
    assert "environment 'dev' keeps its state in a local backend" in result.stderr
    assert "environments/dev.yaml:" in result.stderr and "hint:" in result.stderr
    assert "Traceback" not in result.stderr
    assert not (tmp_path / ".github").exists()


def test_shards_zero_is_a_usage_error(tmp_path: Path) -> None:
    matrix = s3_example(tmp_path)
    result = run_cli(tmp_path, "pipeline", "gitlab", "--shards", "0", "--matrix", str(matrix))
    assert result.returncode == 1
    assert "--shards" in result.stderr and "Traceback" not in result.stderr
    assert not (tmp_path / ".gitlab-ci.yml").exists()


def test_shards_over_the_cap_are_refused(tmp_path: Path) -> None:
    matrix = s3_example(tmp_path)
    result = run_cli(tmp_path, "pipeline", "gitlab", "--shards", "201", "--matrix", str(matrix))
    assert result.returncode == 1 and "200" in result.stderr


def test_the_command_writes_the_default_path_and_the_same_bytes_twice(tmp_path: Path) -> None:
    matrix = s3_example(tmp_path / "p")
    for ci, path in (("gitlab", ".gitlab-ci.yml"), ("github", ".github/workflows/securecart.yml")):
        first = run_cli(tmp_path, "pipeline", ci, "--matrix", str(matrix))
        assert first.returncode == 0, first.stderr
        text = (tmp_path / path).read_text()
        second = run_cli(tmp_path, "pipeline", ci, "--matrix", str(matrix), "--out", "again.yml")
        assert second.returncode == 0 and (tmp_path / "again.yml").read_text() == text


@pytest.mark.parametrize("ci", ["github", "gitlab"])
def test_no_matrix_of_the_thousand_account_organization_exceeds_the_cap(synthetic_org: Path, ci: str) -> None:
    project = load_project(synthetic_org)
    pipeline = build_pipeline(project, ci)  # type: ignore[arg-type]
    cap = MATRIX_CAP[ci]  # type: ignore[index]
    sizes = [len(w.entries) for e in pipeline.environments for w in e.waves]
    assert max(sizes) == cap  # the widest wave (hundreds of accounts) is sharded down to the cap
    # every stack of every environment is in exactly one job
    for env in pipeline.environments:
        planned = [s for w in env.waves for e in w.entries for s in e.stacks]
        assert sorted(planned) == sorted(s for w in env.waves for s in w.stacks)
        assert len(planned) == len(set(planned))
    text = emit(project, ci)[1]  # type: ignore[arg-type]
    data = yaml.safe_load(text)
    if ci == "github":
        matrices = [
            len(j["strategy"]["matrix"]["include"])
            for j in data["jobs"].values()
            if "include" in j.get("strategy", {}).get("matrix", {})
        ]
    else:
        matrices = [
            len(next(iter(j["parallel"]["matrix"][0].values())))
            for j in data.values()
            if isinstance(j, dict) and "parallel" in j
        ]
    assert matrices and max(matrices) <= cap


def test_the_readmes_pipeline_roles_validate_in_the_example(tmp_path: Path) -> None:
    from tests.helpers import ROOT

    readme = (ROOT / "README.md").read_text()
    section = readme[readme.index("## Run it in CI") : readme.index("## Performance")]
    snippet = yaml.safe_load(section.split("```yaml\n", 1)[1].split("```", 1)[0])
    matrix_path = copy_example(tmp_path) / "access-matrix.yaml"
    matrix = yaml.safe_load(matrix_path.read_text())
    matrix["policies"] += snippet["policies"]
    matrix["roles"] += snippet["roles"]
    matrix_path.write_text(yaml.safe_dump(matrix, sort_keys=False))
    result = run_cli(tmp_path, "validate", "--matrix", str(matrix_path))
    assert result.returncode == 0, result.stdout + result.stderr
    names = {r["name"] for r in snippet["roles"]}
    assert names == {"SecureCartPipelinePlan", "SecureCartPipelineProd"}


def test_jobs_that_run_terraform_install_it_pinned_and_unwrapped(tmp_path: Path) -> None:
    project = load_project(s3_example(tmp_path))
    github = _jobs(emit(project, "github")[1])
    for name, job in github.items():
        uses = [s.get("uses", "") for s in job["steps"]]
        setup = [s for s in job["steps"] if s.get("uses", "").startswith("hashicorp/setup-terraform@")]
        reaches_aws = any(u.startswith("aws-actions/configure-aws-credentials@") for u in uses)
        assert len(setup) == (1 if reaches_aws else 0), name
        if setup:
            # pinned by commit, a version with S3 locking, and no wrapper between the tool and Terraform's output
            assert len(setup[0]["uses"].split("@")[1]) == 40, setup
            assert setup[0]["with"] == {"terraform_version": "1.11.4", "terraform_wrapper": False}
    gitlab = yaml.safe_load(emit(project, "gitlab")[1])
    install = "\n".join(gitlab[".securecart-aws"]["before_script"])
    assert "https://releases.hashicorp.com/terraform}" in install
    assert "terraform_1.11.4_linux_amd64.zip" in install and "terraform_1.11.4_SHA256SUMS" in install
    assert "sha256sum -c -" in install and "command -v terraform" in install
    assert "terraform" not in "\n".join(gitlab[".securecart"]["before_script"])  # validate and report need none
