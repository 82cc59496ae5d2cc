"""CI pipelines from the model: GitLab CI and GitHub Actions, one job per wave of each environment's stack graph.

- `graph`: environments in promotion order, their waves and each wave's matrix entries, under the CI's cap;
- `gitlab`, `github`: the two files; `shell`: the scripts both run; `yamltext`: deterministic YAML.
"""

from __future__ import annotations

from securecart_tf.config.load import Project
from securecart_tf.pipeline import github, gitlab
from securecart_tf.pipeline.graph import CI_NAMES, MATRIX_CAP, Ci, Pipeline, build_pipeline

DEFAULT_PATHS: dict[Ci, str] = {"gitlab": gitlab.DEFAULT_PATH, "github": github.DEFAULT_PATH}


def emit(project: Project, ci: Ci, shards: int | None = None) -> tuple[Pipeline, str]:
    """The pipeline for `ci` and its file's text."""
    pipeline = build_pipeline(project, ci, shards)
    region = project.matrix.organization.home_region
    text = gitlab.pipeline_file(pipeline, region) if ci == "gitlab" else github.workflow(pipeline, region)
    return pipeline, text


__all__ = ["CI_NAMES", "DEFAULT_PATHS", "MATRIX_CAP", "Ci", "Pipeline", "build_pipeline", "emit"]
