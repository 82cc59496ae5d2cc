"""The GitLab CI file: validate and plan on merge requests, apply and promote on the default branch, drift on a
schedule. Stages keep the waves in order; protected environments and manual jobs gate each apply."""

from __future__ import annotations

from typing import Any

from securecart_tf.pipeline import shell
from securecart_tf.pipeline.graph import EnvPlan, Pipeline, Wave
from securecart_tf.pipeline.yamltext import dump

DEFAULT_PATH = ".gitlab-ci.yml"
ON_MERGE_REQUEST = '$CI_PIPELINE_SOURCE == "merge_request_event"'
ON_DEFAULT_BRANCH = '$CI_PIPELINE_SOURCE == "push" && $CI_COMMIT_BRANCH == $CI_DEFAULT_BRANCH'
ON_SCHEDULE = '$CI_PIPELINE_SOURCE == "schedule"'
TOOL_DIR = "${CI_PROJECT_DIR}/.securecart-tf-venv"
NOTE_TOKEN = "SECURECART_NOTE_TOKEN"
"""A project access token (scope `api`, role Reporter) kept as a masked variable: the job token cannot post notes."""

_TOOL = (
    shell.install(TOOL_DIR) + f'if [ -x "{TOOL_DIR}/bin/securecart-tf" ]; then export PATH="{TOOL_DIR}/bin:$PATH"; fi\n'
)
_CREDENTIALS = (
    # with a shared sandbox (the tool reads the variable itself) no AWS credentials are needed
    f'if [ -z "${{{shell.SANDBOX_URL_VAR}:-}}" ]; then\n'
    '  AWS_WEB_IDENTITY_TOKEN_FILE="$(mktemp)"\n'
    '  printf \'%s\' "$SECURECART_ID_TOKEN" > "$AWS_WEB_IDENTITY_TOKEN_FILE"\n'
    "  export AWS_WEB_IDENTITY_TOKEN_FILE AWS_ROLE_ARN\n"
    "fi\n"
)


def _rules(condition: str, when: str | None = None) -> list[dict[str, Any]]:
    rule: dict[str, Any] = {"if": condition}
    if when:
        rule["when"] = when
    return [rule]


def _templates() -> dict[str, Any]:
    return {
        ".securecart": {"before_script": [_TOOL]},
        ".securecart-aws": {
            "id_tokens": {"SECURECART_ID_TOKEN": {"aud": "sts.amazonaws.com"}},
            "before_script": [_TOOL, shell.install_terraform(TOOL_DIR), _CREDENTIALS],
        },
    }


def _matrix(wave: Wave) -> tuple[dict[str, Any], str]:
    """The wave's `parallel:matrix`, its variables, and the line that sets the selection from them.

    Shards of stack lists are numbered, with each list in a variable of its own, so job names stay short.
    """
    if wave.option == "--stacks" and any(len(e.stacks) > 1 for e in wave.entries):
        variables = {f"STACKS_{e.key}": e.value for e in wave.entries}
        job = {"variables": variables, "parallel": {"matrix": [{"PART": [e.key for e in wave.entries]}]}}
        return job, 'STACKS="$(printenv "STACKS_$PART")"\n'
    return {"parallel": {"matrix": [{wave.variable: [e.value for e in wave.entries]}]}}, ""


def _wave_job(wave: Wave, kind: str, stage: str, condition: str, source: str = "") -> dict[str, Any]:
    """A plan, apply or promote (from `source`) job over one wave's `parallel:matrix`."""
    matrix, select = _matrix(wave)
    if kind == "apply":
        script = shell.apply(wave.env, wave.option, wave.variable)
    elif kind == "promote":
        script = shell.promote(source, wave.env, wave.option, wave.variable)
    else:
        script = shell.plan(wave.env, wave.option, wave.variable)
    job: dict[str, Any] = {"extends": ".securecart-aws", "stage": stage, "rules": _rules(condition), **matrix}
    job["script"] = [select + script]
    if kind in ("apply", "promote"):
        job["environment"] = {"name": wave.env}
        job["resource_group"] = f"securecart-{wave.env}"
    paths = [shell.SUMMARIES_DIR + "/"]
    if kind == "plan" and condition == ON_DEFAULT_BRANCH:
        paths.append(shell.PLANS_DIR + "/")
    job["artifacts"] = {"when": "always", "expire_in": "1 week", "paths": paths}
    return job


def _validate() -> dict[str, Any]:
    return {
        "extends": ".securecart",
        "stage": "validate",
        "rules": _rules(ON_MERGE_REQUEST),
        "script": [shell.validate_sarif()],
        "artifacts": {
            "when": "always",
            "expose_as": "securecart-tf validate SARIF",
            "paths": ["securecart.sarif"],
        },
    }


def _review() -> dict[str, Any]:
    """The plans' summaries and `report --diff` in one Markdown file, kept as an artifact and posted as a note."""
    script = (
        "{\n"
        f'  for f in {shell.SUMMARIES_DIR}/*-plan-[0-9]*.md; do if [ -f "$f" ]; then cat "$f"; echo; fi; done\n'
        '  securecart-tf report --diff "$CI_MERGE_REQUEST_DIFF_BASE_SHA"\n'
        "} > securecart-review.md\n"
        f'if [ -n "${{{NOTE_TOKEN}:-}}" ]; then\n'
        "  python3 -c 'import json, sys; print(json.dumps({\"body\": open(sys.argv[1]).read()}))' "
        "securecart-review.md > note.json\n"
        f'  curl --fail --silent --show-error --request POST --header "PRIVATE-TOKEN: ${NOTE_TOKEN}" '
        '--header "Content-Type: application/json" --data @note.json '
        '"$CI_API_V4_URL/projects/$CI_PROJECT_ID/merge_requests/$CI_MERGE_REQUEST_IID/notes"\n'
        "fi\n"
    )
    return {
        "extends": ".securecart",
        "stage": "review",
        "rules": _rules(ON_MERGE_REQUEST),
        "variables": {"GIT_DEPTH": "0"},
        "script": [script],
        "artifacts": {"when": "always", "expose_as": "securecart-tf review", "paths": ["securecart-review.md"]},
    }


def _gate(env: EnvPlan, stage: str) -> dict[str, Any]:
    """A person with deploy rights on the protected environment starts the applies that follow."""
    return {
        "stage": stage,
        "rules": _rules(ON_DEFAULT_BRANCH, "manual"),
        "allow_failure": False,
        "environment": {"name": env.name, "action": "prepare"},
        "script": [f'echo "apply to {env.name} approved by $GITLAB_USER_LOGIN"\n'],
    }


def _drift(pipeline: Pipeline) -> dict[str, Any]:
    return {
        "extends": ".securecart-aws",
        "stage": "drift",
        "rules": _rules(ON_SCHEDULE),
        "parallel": {"matrix": [{"ENV_NAME": [e.name for e in pipeline.environments]}]},
        "script": [shell.drift("$ENV_NAME")],
        "artifacts": {"when": "always", "expire_in": "1 month", "paths": ["drift-*.txt"]},
    }


def _jobs(pipeline: Pipeline) -> tuple[list[str], dict[str, Any]]:
    stages = ["validate"]
    jobs: dict[str, Any] = {"validate": _validate()}
    depth = max(len(e.waves) for e in pipeline.environments)
    stages += [f"plan-{i}" for i in range(depth)]
    for env in pipeline.environments:
        for wave in env.waves:
            jobs[f"plan-{env.name}-{wave.index}"] = _wave_job(wave, "plan", f"plan-{wave.index}", ON_MERGE_REQUEST)
    stages.append("review")
    jobs["review"] = _review()
    first = pipeline.first
    for wave in first.waves:
        plan, apply = f"deploy-{first.name}-plan-{wave.index}", f"deploy-{first.name}-apply-{wave.index}"
        stages.append(plan)
        jobs[plan] = _wave_job(wave, "plan", plan, ON_DEFAULT_BRANCH)
        if wave.index == first.waves[0].index and first.gated:
            stages.append(f"approve-{first.name}")
            jobs[f"approve-{first.name}"] = _gate(first, f"approve-{first.name}")
        stages.append(apply)
        jobs[apply] = _wave_job(wave, "apply", apply, ON_DEFAULT_BRANCH)
    for source, destination in pipeline.promotions():
        if destination.gated:  # one manual start for the stage, then its waves in order
            stages.append(f"approve-{destination.name}")
            jobs[f"approve-{destination.name}"] = _gate(destination, f"approve-{destination.name}")
        for wave in destination.waves:
            stage = f"promote-{destination.name}-{wave.index}"
            stages.append(stage)
            jobs[stage] = _wave_job(wave, "promote", stage, ON_DEFAULT_BRANCH, source=source.name)
    stages.append("drift")
    jobs["drift"] = _drift(pipeline)
    return stages, jobs


def pipeline_file(pipeline: Pipeline, region: str) -> str:
    """The .gitlab-ci.yml text."""
    stages, jobs = _jobs(pipeline)
    data: dict[str, Any] = {
        "workflow": {
            "rules": [
                {"if": ON_MERGE_REQUEST},
                {"if": ON_DEFAULT_BRANCH},
                {"if": ON_SCHEDULE},
            ]
        },
        "stages": stages,
        "variables": {"AWS_REGION": region, "AWS_DEFAULT_REGION": region},
        **_templates(),
        **jobs,
    }
    return dump(shell.header("gitlab"), data)
