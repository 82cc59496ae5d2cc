"""Property: whatever a user's files hold, validation ends in a valid model or a clean refusal.

Hypothesis mutates the SecureCart example (its text and its data) and its environment files, and also
writes random text, random bytes, alias bombs, empty and missing files. Each case must end in either
a model built from a valid project, or an `InputError` that names a file; through the command line it
exits 0 or 1 with no traceback. Examples are bounded in number, size and time, so the suite stays fast.
"""

from __future__ import annotations

import contextlib
import copy
import datetime as dt
import io
import shutil
import sys
import tempfile
import tracemalloc
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import pytest
import yaml
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from securecart_tf.checks.validate import run_checks
from securecart_tf.config.load import load_project
from securecart_tf.config.yamlpos import parse_yaml
from securecart_tf.errors import InputError
from securecart_tf.findings import has_errors
from securecart_tf.model import build_model
from tests.conftest import EXAMPLE_MATRIX, ROOT

SEED_MATRIX = EXAMPLE_MATRIX.read_text(encoding="utf-8")
SEED_DATA = yaml.safe_load(SEED_MATRIX)
SEED_ENVS = {p.name: p.read_text(encoding="utf-8") for p in sorted((ROOT / "environments").glob("*.yaml"))}

FUZZ = settings(
    max_examples=40,
    deadline=dt.timedelta(seconds=10),  # one example takes milliseconds; this only catches a hang
    suppress_health_check=[HealthCheck.too_slow, HealthCheck.data_too_large],
)

# ---- strategies --------------------------------------------------------------------------------------

YAML_PIECES = [
    "\t", "\x00", "\x07", "\ufeff", "\u2028", "é", "ü", "😀", ":", ": ", "- ", "[", "]", "{", "}", ",", "#", "'",
    '"', "&a ", "*a", "<<: *a", "!!str ", "!!python/object:os.system ", "---\n", "...\n", "|\n", ">\n", "? ",
    "\n", "  ", "~", "null", "yes", "0x1F", "1e400", '"\\0"', "9" * 5000, "2027-02-30", "x" * 100_000,
]  # fmt: skip

scalars = st.one_of(
    st.none(),
    st.booleans(),
    st.integers(min_value=-(10**30), max_value=10**30),
    st.floats(allow_nan=True, allow_infinity=True),
    st.text(max_size=30),
    st.text(alphabet=st.characters(codec="utf-8"), max_size=10),
    st.sampled_from(["", "x" * 70_000, "prod", "/", "WorkloadsOU", "PT99H", "arn:aws:iam::aws:policy/X"]),
    st.dates(),
)
values = st.recursive(
    scalars,
    lambda inner: st.one_of(
        st.lists(inner, max_size=4), st.dictionaries(st.text(min_size=1, max_size=12), inner, max_size=4)
    ),
    max_leaves=12,
)


def _paths(data: Any, prefix: tuple[Any, ...] = ()) -> list[tuple[Any, ...]]:
    """Every path into a data tree, so a mutation can land anywhere in it."""
    found = [prefix]
    if isinstance(data, dict):
        for k, v in data.items():
            found += _paths(v, (*prefix, k))
    elif isinstance(data, list):
        for i, v in enumerate(data):
            found += _paths(v, (*prefix, i))
    return found


SEED_PATHS = _paths(SEED_DATA)[1:]


def _parent(data: Any, path: tuple[Any, ...]) -> Any:
    for part in path[:-1]:
        data = data[part]
    return data


@st.composite
def mutated_data(draw: st.DrawFn) -> str:
    """The example's data with a few keys dropped, renamed or given values of any type, dumped as YAML."""
    data = copy.deepcopy(SEED_DATA)
    for _ in range(draw(st.integers(1, 4))):
        paths = _paths(data)[1:]
        if not paths:
            break
        path = draw(st.sampled_from(paths))
        parent, key = _parent(data, path), path[-1]
        action = draw(st.sampled_from(["drop", "rename", "replace", "duplicate", "wrap"]))
        if action == "drop":
            del parent[key]
        elif action == "rename" and isinstance(parent, dict):
            new = draw(st.one_of(st.text(min_size=1, max_size=15), st.just(str(key)[:-1] or "x"), st.just(f"{key}s")))
            parent[new] = parent.pop(key)
        elif action == "replace":
            parent[key] = draw(values)
        elif action == "duplicate" and isinstance(parent, list):
            parent.append(copy.deepcopy(parent[key]))
        elif action == "wrap":
            parent[key] = [parent[key]]
    return yaml.safe_dump(data, sort_keys=False, allow_unicode=draw(st.booleans()), width=10_000)


@st.composite
def mutated_text(draw: st.DrawFn, seed: str = SEED_MATRIX) -> str:
    """The example's text with lines dropped, repeated (duplicate keys), re-indented, swapped or spliced."""
    lines = seed.split("\n")
    for _ in range(draw(st.integers(1, 4))):
        i = draw(st.integers(0, len(lines) - 1))
        action = draw(st.sampled_from(["drop", "repeat", "indent", "dedent", "swap", "splice", "truncate"]))
        if action == "drop" and len(lines) > 1:
            del lines[i]
        elif action == "repeat":
            lines.insert(i, lines[i])
        elif action == "indent":
            lines[i] = " " * draw(st.integers(1, 3)) + lines[i]
        elif action == "dedent":
            lines[i] = lines[i][draw(st.integers(1, 3)) :]
        elif action == "swap":
            j = draw(st.integers(0, len(lines) - 1))
            lines[i], lines[j] = lines[j], lines[i]
        elif action == "splice":
            at = draw(st.integers(0, len(lines[i])))
            piece = draw(st.one_of(st.sampled_from(YAML_PIECES), st.text(max_size=8)))
            lines[i] = lines[i][:at] + piece + lines[i][at:]
        elif action == "truncate":
            lines = lines[: i + 1]
            lines[i] = lines[i][: draw(st.integers(0, len(lines[i])))]
    return "\n".join(lines)


@st.composite
def alias_bomb(draw: st.DrawFn) -> str:
    """Nested aliases under a real key, from harmless to a billion values, sometimes through merge keys."""
    fan, levels = draw(st.integers(2, 12)), draw(st.integers(1, 10))
    lines = ["x-lol0: &l0 [" + ", ".join(["lol"] * fan) + "]"]
    lines += [f"x-lol{i}: &l{i} [" + ", ".join([f"*l{i - 1}"] * fan) + "]" for i in range(1, levels)]
    where = draw(st.sampled_from(["guardrails", "roles", "policies", "suppressions"]))
    body = SEED_MATRIX.replace(f"\n{where}:\n", f"\n{where}: *l{levels - 1}\nx-unused-{where}:\n", 1)
    if draw(st.booleans()):
        body = body.replace("\norganization:\n", "\norganization:\n  <<: {home_region: eu-west-1}\n", 1)
    return "\n".join(lines) + "\n" + body


matrices = st.one_of(
    mutated_text(),
    mutated_data(),
    alias_bomb(),
    st.lists(st.sampled_from(YAML_PIECES[:-2] + list("abc019 \n")), max_size=80).map("".join),
    st.sampled_from(["", " \n", "# nothing\n", "[]", "null", "version: 1\n", "{a: 1, a: 2}", "a: &a [*a]"]),
)


@st.composite
def project(draw: st.DrawFn) -> dict[str, str | bytes | None]:
    """Files to write (None: the file is missing). One file is broken; the others are the example's."""
    files: dict[str, str | bytes | None] = {"access-matrix.yaml": SEED_MATRIX}
    files.update({f"environments/{name}": text for name, text in SEED_ENVS.items()})
    target = draw(st.sampled_from(["matrix", "matrix", "matrix", "environment", "bytes", "missing"]))
    if target == "matrix":
        files["access-matrix.yaml"] = draw(matrices)
    elif target == "environment":
        name = draw(st.sampled_from(sorted(SEED_ENVS)))
        files[f"environments/{name}"] = draw(
            st.one_of(mutated_text(seed=SEED_ENVS[name]), st.sampled_from(["", "name: qa\n", "- dev\n"]))
        )
    elif target == "bytes":
        key = draw(st.sampled_from(["access-matrix.yaml", "environments/dev.yaml"]))
        files[key] = draw(st.binary(max_size=2000))
    else:
        files[draw(st.sampled_from(["access-matrix.yaml", "environments/prod.yaml"]))] = None
    return files


# ---- the property ------------------------------------------------------------------------------------


@contextlib.contextmanager
def written(files: dict[str, str | bytes | None]) -> Iterator[Path]:
    with tempfile.TemporaryDirectory() as tmp:
        folder = Path(tmp)
        shutil.copytree(ROOT / "policies", folder / "policies")
        (folder / "environments").mkdir()
        for name, content in files.items():
            if content is None:
                continue
            path = folder / name
            if isinstance(content, bytes):
                path.write_bytes(content)
            else:
                path.write_text(content, encoding="utf-8", errors="surrogatepass")
        yield folder / "access-matrix.yaml"


def outcome(matrix: Path) -> str:
    """'valid' when the project builds a model, 'refused' on a clean error. Anything else fails the test."""
    try:
        project = load_project(matrix)
        findings = run_checks(project)
    except InputError as exc:
        assert exc.location is not None and str(exc.location), f"no location: {exc}"
        assert exc.message and "Traceback" not in str(exc)
        return "refused"
    if has_errors(findings):
        return "refused"
    build_model(project)
    return "valid"


def run_cli(*args: str) -> tuple[int, str]:
    """`securecart-tf ARGS` through main(), the console script's entry point, capturing its output."""
    from securecart_tf.cli.app import main

    out, err = io.StringIO(), io.StringIO()
    argv = sys.argv
    sys.argv = ["securecart-tf", *args]
    try:
        with contextlib.redirect_stdout(out), contextlib.redirect_stderr(err), pytest.raises(SystemExit) as exited:
            main()
    finally:
        sys.argv = argv
    return int(exited.value.code or 0), out.getvalue() + err.getvalue()


@pytest.mark.timeout(300)
@FUZZ
@given(files=project())
def test_any_project_ends_in_a_model_or_a_clean_refusal(files: dict[str, str | bytes | None]) -> None:
    with written(files) as matrix:
        result = outcome(matrix)
        code, output = run_cli("validate", "--matrix", str(matrix))
    assert "Traceback" not in output and "internal error" not in output, output
    assert code == (0 if result == "valid" else 1), output


@pytest.mark.timeout(300)
@settings(FUZZ, max_examples=40)
@given(data=values)
def test_yaml_the_loader_accepts_reads_exactly_like_safe_load(data: Any) -> None:
    """Differential: any document PyYAML writes, the position-keeping loader reads to the same data."""
    text = yaml.safe_dump(data, allow_unicode=True, width=10_000)
    # repr, so that a NaN read by both compares equal
    assert repr(parse_yaml(text, Path("x.yaml")).data) == repr(yaml.safe_load(text))


@pytest.mark.timeout(300)
@settings(FUZZ, max_examples=15)
@given(text=alias_bomb())
def test_alias_expansion_and_memory_stay_bounded(text: str) -> None:
    tracemalloc.start()
    try:
        with written({"access-matrix.yaml": text}) as matrix:
            result = outcome(matrix)
        _, peak = tracemalloc.get_traced_memory()
    finally:
        tracemalloc.stop()
    assert result in ("valid", "refused")
    assert peak < 128 * 1024 * 1024, f"peak {peak:,} bytes"


def test_the_unmutated_seed_is_valid() -> None:
    """The control: the example itself builds a model, so refusals above come from the mutations."""
    with written({"access-matrix.yaml": SEED_MATRIX, **{f"environments/{k}": v for k, v in SEED_ENVS.items()}}) as m:
        assert outcome(m) == "valid"
        assert run_cli("validate", "--matrix", str(m))[0] == 0
