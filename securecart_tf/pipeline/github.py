"""The GitHub Actions workflow: validate and plan on pull requests, apply and promote on the default branch, drift
on a schedule. Least permissions per job, actions pinned by commit, no expression inside a `run:` script."""

from __future__ import annotations

from typing import Any

from securecart_tf.pipeline import shell
from securecart_tf.pipeline.graph import Pipeline, Wave
from securecart_tf.pipeline.yamltext import dump

DEFAULT_PATH = ".github/workflows/securecart.yml"
CHECKOUT = "actions/checkout@11bd71901bbe5b1630ceea73d27597364c9af683"  # v4.2.2
SETUP_PYTHON = "actions/setup-python@42375524e23c412d93fb67b49958b491fce71c38"  # v5.4.0
UPLOAD = "actions/upload-artifact@65c4c4a1ddee5b72f698fdd19549f0f0fb45cf08"  # v4.6.0
DOWNLOAD = "actions/download-artifact@fa0a91b85d4f404e444e00e005971372dc801d16"  # v4.1.8
AWS_CREDENTIALS = "aws-actions/configure-aws-credentials@e3dd6a429d7300a6a4c196c26e071d42e0343502"  # v4.0.2
UPLOAD_SARIF = "github/codeql-action/upload-sarif@48ab28a6f5dbc2a99bf1e0131198dd8f1df78169"  # v3.28.0
SETUP_TERRAFORM = "hashicorp/setup-terraform@b9cd54a3c349d3f38e8881555d616ced269862dd"  # v3.1.2

ON_PULL_REQUEST = "github.event_name == 'pull_request'"
ON_DEFAULT_BRANCH = "github.event_name == 'push' && github.ref_name == github.event.repository.default_branch"
ON_SCHEDULE = "github.event_name == 'schedule' || github.event_name == 'workflow_dispatch'"
TOOL_DIR = "${{ runner.temp }}/securecart-tf"
READ = {"contents": "read"}
READ_AND_OIDC = {"contents": "read", "id-token": "write"}


def _setup(*, history: bool = False, aws: bool = False, region: str = "") -> list[dict[str, Any]]:
    """Checkout without a persisted token, Python, securecart-tf, and for jobs that reach AWS, Terraform (without
    the action's wrapper, which would stand between the tool and Terraform's output) and OIDC credentials."""
    checkout: dict[str, Any] = {"persist-credentials": False}
    if history:
        checkout["fetch-depth"] = 0  # report --diff reads the base commit
    steps: list[dict[str, Any]] = [
        {"uses": CHECKOUT, "with": checkout},
        {"uses": SETUP_PYTHON, "with": {"python-version": "3.11"}},
        {
            "name": "securecart-tf",
            "env": {"TOOL_DIR": TOOL_DIR},
            "run": shell.install("$TOOL_DIR")
            + 'if [ -x "$TOOL_DIR/bin/securecart-tf" ]; then echo "$TOOL_DIR/bin" >> "$GITHUB_PATH"; fi\n',
        },
    ]
    if aws:
        terraform = {"terraform_version": shell.TERRAFORM_VERSION, "terraform_wrapper": False}
        steps.append({"uses": SETUP_TERRAFORM, "with": terraform})
        steps.append(
            {
                "name": "AWS credentials (OIDC)",
                "if": f"vars.{shell.SANDBOX_URL_VAR} == ''",
                "uses": AWS_CREDENTIALS,
                "with": {"role-to-assume": "${{ vars.AWS_ROLE_ARN }}", "aws-region": region},
            }
        )
    return steps


def _upload(name: str, path: str, *, when: str = "always()") -> dict[str, Any]:
    return {
        "uses": UPLOAD,
        "if": when,
        "with": {"name": name, "path": path, "include-hidden-files": True, "if-no-files-found": "ignore"},
    }


def _matrix(wave: Wave) -> dict[str, Any]:
    key = wave.variable.lower()
    return {"fail-fast": False, "matrix": {"include": [{"key": e.key, key: e.value} for e in wave.entries]}}


def _wave_job(wave: Wave, kind: str, needs: list[str], region: str, condition: str, source: str = "") -> dict[str, Any]:
    """A plan, apply or promote (from `source`) job over one wave's matrix."""
    variable, key = wave.variable, wave.variable.lower()
    artifact = f"plans-{wave.env}-{wave.index}-${{{{ matrix.key }}}}"
    steps = _setup(aws=True, region=region)
    if kind == "apply":
        # a stack with nothing to change may have saved no plan; apply then plans afresh, and says so
        steps.append({"uses": DOWNLOAD, "continue-on-error": True, "with": {"name": artifact, "path": shell.PLANS_DIR}})
        script = shell.apply(wave.env, wave.option, variable)
    elif kind == "promote":
        script = shell.promote(source, wave.env, wave.option, variable)
    else:
        script = shell.plan(wave.env, wave.option, variable)
    summary = f"{shell.SUMMARIES_DIR}/{wave.env}-{kind}-latest.md"
    steps += [
        {"name": f"{kind} {wave.env}", "env": {variable: f"${{{{ matrix.{key} }}}}"}, "run": script},
        {
            "name": "summary",
            "if": "always()",
            "env": {"SUMMARY": summary},
            "run": 'if [ -f "$SUMMARY" ]; then cat "$SUMMARY" >> "$GITHUB_STEP_SUMMARY"; fi\n',
        },
    ]
    if kind == "plan" and condition == ON_DEFAULT_BRANCH:
        steps.append(_upload(artifact, shell.PLANS_DIR, when="success()"))
    title = f"promote {source} to {wave.env}" if kind == "promote" else f"{kind} {wave.env}"
    job: dict[str, Any] = {
        "name": f"{title} wave {wave.index} (${{{{ matrix.key }}}})",
        "if": condition,
        "needs": needs,
        "runs-on": "ubuntu-latest",
        "permissions": READ_AND_OIDC,
        "strategy": _matrix(wave),
    }
    if kind in ("apply", "promote"):
        job["environment"] = wave.env
    job["steps"] = steps
    if not needs:
        del job["needs"]
    return job


def _validate() -> dict[str, Any]:
    return {
        "name": "validate",
        "if": ON_PULL_REQUEST,
        "runs-on": "ubuntu-latest",
        "permissions": {"contents": "read", "security-events": "write", "actions": "read"},
        "steps": [
            *_setup(),
            {"name": "validate", "run": shell.validate_sarif()},
            {"uses": UPLOAD_SARIF, "if": "always()", "with": {"sarif_file": "securecart.sarif"}},
        ],
    }


def _report() -> dict[str, Any]:
    return {
        "name": "access changes",
        "if": ON_PULL_REQUEST,
        "runs-on": "ubuntu-latest",
        "permissions": READ,
        "steps": [
            *_setup(history=True),
            {
                "name": "report --diff",
                "env": {"BASE_SHA": "${{ github.event.pull_request.base.sha }}"},
                "run": 'securecart-tf report --diff "$BASE_SHA" >> "$GITHUB_STEP_SUMMARY"\n',
            },
        ],
    }


def _plans(pipeline: Pipeline, region: str) -> dict[str, Any]:
    """Every environment planned on a pull request, wave after wave; environments side by side."""
    jobs: dict[str, Any] = {}
    for env in pipeline.environments:
        before: list[str] = []
        for wave in env.waves:
            name = f"plan-{env.name}-{wave.index}"
            jobs[name] = _wave_job(wave, "plan", before, region, ON_PULL_REQUEST)
            before = [name]
    return jobs


def _deploy(pipeline: Pipeline, region: str) -> dict[str, Any]:
    """The first environment applied wave by wave (plan, then apply that saved plan), then each promotion."""
    jobs: dict[str, Any] = {}
    before: list[str] = []
    for wave in pipeline.first.waves:
        plan, apply = f"deploy-{wave.env}-plan-{wave.index}", f"deploy-{wave.env}-apply-{wave.index}"
        jobs[plan] = _wave_job(wave, "plan", before, region, ON_DEFAULT_BRANCH)
        jobs[apply] = _wave_job(wave, "apply", [plan], region, ON_DEFAULT_BRANCH)
        before = [apply]
    for source, destination in pipeline.promotions():
        # each stage wave by wave, as a matrix like dev's; the workflow's concurrency keeps pushes in turn
        for wave in destination.waves:
            name = f"promote-{destination.name}-{wave.index}"
            jobs[name] = _wave_job(wave, "promote", before, region, ON_DEFAULT_BRANCH, source=source.name)
            before = [name]
    return jobs


def _drift(pipeline: Pipeline, region: str) -> dict[str, Any]:
    names = [e.name for e in pipeline.environments]
    return {
        "name": "drift ${{ matrix.env }}",
        "if": ON_SCHEDULE,
        "runs-on": "ubuntu-latest",
        "permissions": READ_AND_OIDC,
        "strategy": {"fail-fast": False, "matrix": {"env": names}},
        "steps": [
            *_setup(aws=True, region=region),
            {"name": "drift", "env": {"ENV_NAME": "${{ matrix.env }}"}, "run": shell.drift("$ENV_NAME")},
            _upload("drift-${{ matrix.env }}", "drift-${{ matrix.env }}.txt"),
        ],
    }


def workflow(pipeline: Pipeline, region: str) -> str:
    """The workflow file's text."""
    jobs: dict[str, Any] = {"validate": _validate(), "access-changes": _report()}
    jobs |= _plans(pipeline, region)
    jobs |= _deploy(pipeline, region)
    jobs["drift"] = _drift(pipeline, region)
    data: dict[str, Any] = {
        "name": "securecart",
        "on": {
            "pull_request": {},
            "push": {},
            "schedule": [{"cron": "17 5 * * *"}],
            "workflow_dispatch": {},
        },
        "permissions": {},
        # pushes to the default branch queue behind each other, so two runs never apply at once
        "concurrency": {
            "group": "securecart-${{ github.event_name }}-${{ github.ref }}",
            "cancel-in-progress": "${{ github.event_name == 'pull_request' }}",
        },
        "env": {shell.SANDBOX_URL_VAR: f"${{{{ vars.{shell.SANDBOX_URL_VAR} }}}}"},
        "jobs": jobs,
    }
    return dump(shell.header("github"), data)
