"""What rendering may touch on disk, and how values reach HCL: removal stays inside the build folder and
spares users' files; every templated string stays a string."""

from __future__ import annotations

import json
import os
import shutil
import subprocess
from pathlib import Path

import pytest

from securecart_tf.config.environments import Environment
from securecart_tf.config.load import load_project
from securecart_tf.model import build_model
from securecart_tf.render import MANIFEST, STACK_FILES, hcl_string, render

HOSTILE = [
    'prod"\n  endpoints { sts = "https://attacker.example" }\n  x = "',
    '${file("/etc/hostname")}',
    "%{ if true }on%{ endif }",
    "$${already escaped}",
    "trailing backslash \\",
    'back\\" quote',
    "carriage\rreturn\ttab",
    "bell\x07 and delete\x7f",
    "AuditR\u043ele",
    "$",
    "%",
    "$$",
    "end {",
]


def _dev(tmp_path: Path, example_project: Path, accounts: list[str] | None = None) -> tuple[Path, Path]:
    """Render the example's dev environment (optionally with fewer accounts); returns (out, out/dev)."""
    project = load_project(example_project)
    env = project.environments["dev"]
    if accounts is not None:
        env = env.model_copy(update={"accounts": accounts})
    out = tmp_path / "build"
    render(build_model(project), [env], out)
    return out, out / "dev"


def _add_to_manifest(env_dir: Path, *names: str) -> None:
    manifest = json.loads((env_dir / MANIFEST).read_text())
    manifest["stacks"] += [{"name": name} for name in names]
    (env_dir / MANIFEST).write_text(json.dumps(manifest))


def _tree(root: Path) -> dict[str, bytes]:
    return {p.relative_to(root).as_posix(): p.read_bytes() for p in sorted(root.rglob("*")) if p.is_file()}


def test_a_manifest_naming_folders_outside_the_build_folder_removes_nothing(
    example_project: Path, tmp_path: Path
) -> None:
    out, env_dir = _dev(tmp_path, example_project)
    elsewhere = tmp_path / "elsewhere"
    (elsewhere / "sub").mkdir(parents=True)
    (elsewhere / "sub" / "main.tf").write_text("# someone's Terraform\n")
    (elsewhere / "providers.tf").write_text("# someone's provider\n")
    (env_dir / "linked").symlink_to(elsewhere, target_is_directory=True)
    environments = example_project.parent / "environments"
    before = {"elsewhere": _tree(elsewhere), "environments": _tree(environments)}
    _add_to_manifest(env_dir, str(elsewhere), "../../environments", "../../elsewhere", "linked", "linked/sub", "..")
    _dev(tmp_path, example_project)
    assert {"elsewhere": _tree(elsewhere), "environments": _tree(environments)} == before
    assert (env_dir / "linked").is_symlink()
    assert (env_dir / "access-dev" / "main.tf").is_file() and (out / "modules").is_dir()


def test_a_dropped_stack_loses_the_rendered_files_and_keeps_the_users(example_project: Path, tmp_path: Path) -> None:
    _, env_dir = _dev(tmp_path, example_project)
    kept = env_dir / "access-dev"
    (kept / "imports.tf").write_text('import {\n  to = module.role["X"].aws_iam_role.this\n  id = "X"\n}\n')
    (kept / ".terraform").mkdir()
    (kept / ".terraform" / "securecart-init").write_text("key")
    (kept / ".terraform.lock.hcl").write_text("# lock\n")
    gone = env_dir / "access-shared-services"
    assert gone.is_dir()
    _dev(tmp_path, example_project, accounts=["management", "security"])
    assert sorted(p.name for p in kept.iterdir()) == ["imports.tf"]
    assert (kept / "imports.tf").read_text().startswith("import {")
    assert not gone.exists()  # nothing of the user's in it: the folder goes too
    manifest = json.loads((env_dir / MANIFEST).read_text())
    assert {s["name"] for s in manifest["stacks"]}.isdisjoint({"access-dev", "access-shared-services"})


def test_the_stack_files_the_renderer_removes_are_those_it_writes(example_project: Path, tmp_path: Path) -> None:
    _, env_dir = _dev(tmp_path, example_project, accounts=["dev"])
    assert sorted(p.name for p in (env_dir / "access-dev").iterdir()) == sorted(STACK_FILES)


@pytest.mark.timeout(120)
def test_a_pipe_where_a_rendered_file_goes_is_replaced_not_read(example_project: Path, tmp_path: Path) -> None:
    _, env_dir = _dev(tmp_path, example_project, accounts=["dev"])
    main = env_dir / "access-dev" / "main.tf"
    expected = main.read_bytes()
    main.unlink()
    os.mkfifo(main)
    _dev(tmp_path, example_project, accounts=["dev"])  # reading the pipe would block: pytest-timeout ends it
    assert main.is_file() and main.read_bytes() == expected


@pytest.mark.parametrize("value", HOSTILE, ids=range(len(HOSTILE)))
def test_hcl_string_escapes_every_way_out_of_a_string(value: str) -> None:
    escaped = hcl_string(value)
    assert "\n" not in escaped and "\r" not in escaped
    assert "${" not in escaped.replace("$${", "") and "%{" not in escaped.replace("%%{", "")
    unescaped_quotes = [i for i, c in enumerate(escaped) if c == '"' and _backslashes_before(escaped, i) % 2 == 0]
    assert unescaped_quotes == []


def _backslashes_before(text: str, i: int) -> int:
    n = 0
    while i - n - 1 >= 0 and text[i - n - 1] == "\\":
        n += 1
    return n


def _terraform_strings(tmp_path: Path, literals: list[str]) -> list[str]:
    """What Terraform itself reads from each HCL literal (each given with its quotes)."""
    work = tmp_path / "tf"
    work.mkdir()
    body = "".join(f"    {literal},\n" for literal in literals)
    (work / "main.tf").write_text(f'output "v" {{\n  value = [\n{body}  ]\n}}\n')
    for args in (["init", "-input=false"], ["apply", "-auto-approve", "-input=false"]):
        run = subprocess.run(["terraform", *args], cwd=work, capture_output=True, text=True, timeout=120)
        assert run.returncode == 0, run.stdout + run.stderr
    run = subprocess.run(["terraform", "output", "-json", "v"], cwd=work, capture_output=True, text=True, timeout=60)
    assert run.returncode == 0, run.stderr
    values: list[str] = json.loads(run.stdout)
    return values


@pytest.mark.skipif(shutil.which("terraform") is None, reason="needs terraform on PATH")
def test_terraform_reads_back_exactly_the_value_rendered_into_providers_tf(
    example_project: Path, tmp_path: Path
) -> None:
    """Validation bypassed: hostile values go straight into the provider block, and come out as plain text."""
    project = load_project(example_project)
    model = build_model(project)

    def providers_tf(value: str) -> list[str]:
        env = Environment.model_construct(
            name="dev",
            accounts=["dev"],
            stacks=[],
            target=_aws_target(profile=value, external_id=value, role_name=value),
            backend=project.environments["dev"].backend,
        )
        return render(model, [env], tmp_path / "build").stacks["access-dev"].files["providers.tf"].splitlines()

    plain = providers_tf("plain-value")
    literals: list[str] = []
    for value in HOSTILE:
        lines = providers_tf(value)
        assert len(lines) == len(plain), "\n".join(lines)  # no value adds a line, let alone a block
        profile = [line for line in lines if line.startswith("  profile = ")]
        external_id = [line for line in lines if line.startswith("    external_id  = ")]
        role_arn = [line for line in lines if line.startswith("    role_arn     = ")]
        assert len(profile) == len(external_id) == len(role_arn) == 1, "\n".join(lines)
        literals += [profile[0].split(" = ", 1)[1], external_id[0].split(" = ", 1)[1]]
        literals.append(role_arn[0].split(" = ", 1)[1].replace("${var.account_id}", "123456789012"))
    expected = []
    for value in HOSTILE:
        expected += [value, value, f"arn:aws:iam::123456789012:role/{value}"]
    assert _terraform_strings(tmp_path, literals) == expected


def _aws_target(**values: str) -> object:
    from securecart_tf.config.environments import AwsTarget

    return AwsTarget.model_construct(type="aws", account_profiles={}, role_name_reason=None, **values)


def test_every_template_value_goes_through_the_hcl_filter() -> None:
    """A value templated without the filter could carry a quote or `${` into HCL."""
    import re

    from securecart_tf.resources import templates_dir

    texts = {template.name: template.read_text() for template in sorted(templates_dir().glob("*.j2"))}
    # a macro's own values are checked where it is defined; a call of it passes its arguments on to them
    macros = {name for text in texts.values() for name in re.findall(r"\{%-?\s*macro\s+(\w+)\(", text)}
    for name, text in texts.items():
        for expression in re.findall(r"\{\{(.*?)\}\}", text, flags=re.S):
            call = re.fullmatch(r"\s*(\w+)\(.*\)\s*", expression, flags=re.S)
            if call and call.group(1) in macros:
                continue
            filters = [f.strip() for f in expression.split("|")[1:]]
            assert filters and filters[-1] in ("hcl", "int"), f"{name}: {{{{{expression}}}}}"
