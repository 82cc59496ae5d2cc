"""The shell both CI systems run: finding securecart-tf, and turning its exit codes into job results."""

from __future__ import annotations

from securecart_tf import __version__, sandbox
from securecart_tf.versions import CI_TERRAFORM_VERSION, dotted

SANDBOX_URL_VAR = sandbox.URL_VAR
"""Set in the CI's variables to run every job against one shared sandbox instead of AWS; the tool reads it
(sandbox.URL_VAR) and every job then records the same target."""
PLANS_DIR = ".securecart/plans"
"""Where `plan` saves plans and `apply` takes them (run/workspace.py): carried between jobs as an artifact."""
SUMMARIES_DIR = ".securecart/summaries"


def header(ci: str) -> str:
    return (
        f"Written by securecart-tf {__version__}: `securecart-tf pipeline {ci}`.\n"
        "Do not edit: change access-matrix.yaml or environments/, then write it again with the same command."
    )


def install(bin_dir: str) -> str:
    """securecart-tf from PATH when the runner has it; otherwise the version that wrote this pipeline."""
    return (
        "if ! command -v securecart-tf >/dev/null 2>&1; then\n"
        f'  python3 -m venv "{bin_dir}"\n'
        f'  "{bin_dir}/bin/pip" install --quiet "securecart-tf=={__version__}"\n'
        "fi\n"
    )


TERRAFORM_VERSION = dotted(CI_TERRAFORM_VERSION)
TERRAFORM_RELEASES = "https://releases.hashicorp.com/terraform"
TERRAFORM_MIRROR_VAR = "SECURECART_TERRAFORM_MIRROR"
"""Set in the CI's variables to fetch Terraform from a mirror laid out as TERRAFORM_RELEASES (an Artifactory or
Nexus proxy, a folder on an internal web server), for runners that cannot reach HashiCorp."""
TERRAFORM_PATH_VAR = "SECURECART_TERRAFORM"
"""The Terraform binary securecart-tf runs instead of the one on PATH (run/terraform.py): a runner that sets it
has Terraform, so the job downloads none."""


def install_terraform(bin_dir: str) -> str:
    """Terraform from SECURECART_TERRAFORM or PATH when the runner has it; otherwise HashiCorp's release (or the
    mirror's copy of it), checked against its SHA256SUMS, unpacked with Python (which the tool needs anyway) so the
    image needs no unzip. One command a line: the CI's shell stops at the first that fails."""
    archive = f"terraform_{TERRAFORM_VERSION}_linux_amd64.zip"
    sums = f"terraform_{TERRAFORM_VERSION}_SHA256SUMS"
    return (
        f'if [ -z "${{{TERRAFORM_PATH_VAR}:-}}" ] && ! command -v terraform >/dev/null 2>&1; then\n'
        # the before_script shares the job's shell: a name of our own, so a job variable `release` is left alone
        f'  securecart_release="${{{TERRAFORM_MIRROR_VAR}:-{TERRAFORM_RELEASES}}}"\n'
        f'  securecart_release="${{securecart_release%/}}/{TERRAFORM_VERSION}"\n'
        f'  mkdir -p "{bin_dir}/bin"\n'
        '  cd "$(mktemp -d)"\n'
        f'  curl -fsSLO "$securecart_release/{archive}"\n'
        f'  curl -fsSLO "$securecart_release/{sums}"\n'
        f'  grep " {archive}$" {sums} | sha256sum -c -\n'
        f"  python3 -c 'import sys, zipfile; zipfile.ZipFile(sys.argv[1]).extract(\"terraform\", sys.argv[2])' "
        f'{archive} "{bin_dir}/bin"\n'
        f'  chmod +x "{bin_dir}/bin/terraform"\n'
        "  cd - >/dev/null\n"
        f'  export PATH="{bin_dir}/bin:$PATH"\n'
        "fi\n"
    )


def tolerate_changes(command: str) -> str:
    """Run a plan: exit 2 means changes, which is what a plan is for; only 1 fails the job."""
    return f'code=0\n{command} || code=$?\nif [ "$code" -ne 0 ] && [ "$code" -ne 2 ]; then exit "$code"; fi\n'


def plan(env: str, option: str, variable: str) -> str:
    return tolerate_changes(f'securecart-tf plan --env {env} {option} "${variable}"')


def apply(env: str, option: str, variable: str) -> str:
    # the CI's approval is the confirmation: the job starts only once the environment's reviewers allowed it
    return f'securecart-tf apply --env {env} {option} "${variable}" --auto-approve --confirm-env {env}\n'


def promote(source: str, destination: str, option: str, variable: str) -> str:
    # as with apply, the CI's approval of the destination is the confirmation
    return (
        f'securecart-tf promote --from {source} --to {destination} {option} "${variable}" '
        f"--auto-approve --confirm-env {destination}\n"
    )


def drift(env: str) -> str:
    """Exit 2 (drift found) fails the job; the report is written to a file first so it is uploaded either way."""
    return (
        "code=0\n"
        f'securecart-tf drift --env "{env}" > "drift-{env}.txt" || code=$?\n'
        f'cat "drift-{env}.txt"\n'
        'exit "$code"\n'
    )


def validate_sarif() -> str:
    return "securecart-tf validate --format sarif > securecart.sarif\n"
