"""Emit the SecureCart example's CI files into the golden folder (`python -m tests.golden.pipeline.regenerate`).

The example's environments keep local state, which CI refuses; the golden example is a copy whose environments
use an S3 backend, one state prefix each in one bucket. The folder holds `gitlab-ci.yml` and `github.yml`, as
`securecart-tf pipeline gitlab|github` writes them. Review their diff as you would review code.
"""

from __future__ import annotations

import sys
import tempfile
from pathlib import Path

import yaml

from securecart_tf.config.load import load_project
from securecart_tf.pipeline import Ci, emit
from tests.helpers import ROOT, copy_example

GOLDEN = Path(__file__).resolve().parent
FILES: dict[Ci, str] = {"gitlab": "gitlab-ci.yml", "github": "github.yml"}
STATE_BUCKET = "securecart-example-state"


def use_s3_backends(project: Path, bucket: str = STATE_BUCKET, **extra: object) -> None:
    """Switch every environment file under `project` to an S3 backend: `bucket`, one key prefix per environment."""
    for path in sorted((project / "environments").glob("*.yaml")):
        env = yaml.safe_load(path.read_text())
        env["backend"] = {"type": "s3", "bucket": bucket, "key_prefix": f"securecart/{env['name']}", **extra}
        path.write_text(yaml.safe_dump(env, sort_keys=False))


def s3_example(target: Path) -> Path:
    """A copy of the example in `target` with S3 backends; returns the matrix path."""
    copy_example(target)
    use_s3_backends(target)
    return target / "access-matrix.yaml"


def emitted() -> dict[str, str]:
    """Golden file name → the text emitted for the S3 example now."""
    with tempfile.TemporaryDirectory(prefix="securecart-pipeline-golden-") as tmp:
        project = load_project(s3_example(Path(tmp)))
        return {name: emit(project, ci)[1] for ci, name in FILES.items()}


def main() -> int:
    where = GOLDEN.relative_to(ROOT)
    for name, text in emitted().items():
        path = GOLDEN / name
        if path.exists() and path.read_text() == text:
            print(f"{where}/{name}: up to date")
            continue
        path.write_text(text)
        print(f"{where}/{name}: written")
    return 0


if __name__ == "__main__":
    sys.exit(main())
