"""Which stacks an environment renders, and the environment a project without environment files gets."""

from __future__ import annotations

from securecart_tf.config.environments import Environment
from securecart_tf.config.load import Project
from securecart_tf.errors import SecureCartError
from securecart_tf.model import IDENTITY_CENTER, ORGANIZATION, SECURITY, Model, Stack, access_stack, build_model

DEFAULT_ENVIRONMENT = "default"


def default_environment(model: Model) -> Environment:
    """Used when the project has no environment files: every stack, the sandbox, local state."""
    return Environment(
        name=DEFAULT_ENVIRONMENT,
        stacks=[s for s in (ORGANIZATION, SECURITY, IDENTITY_CENTER) if s in model.stacks],
        accounts=[s.account for s in model.stacks.values() if s.layer == "access"],
    )


def stacks_of(model: Model, env: Environment) -> list[Stack]:
    """The stacks an environment covers, in dependency order."""
    wanted = set(env.stacks) | {access_stack(a) for a in env.accounts}
    return [s for s in model.ordered() if s.name in wanted]


def load_env(project: Project, name: str) -> Environment:
    """The named environment; "default" for a project without environment files."""
    if name in project.environments:
        return project.environments[name]
    if not project.environments and name == DEFAULT_ENVIRONMENT:
        return default_environment(build_model(project))
    known = ", ".join(sorted(project.environments)) or "none (add environments/*.yaml)"
    raise SecureCartError(f"unknown environment '{name}'", hint=f"known environments: {known}")
