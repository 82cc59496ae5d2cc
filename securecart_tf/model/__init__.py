"""The matrix becomes stacks: (account, layer) units with their inputs, dependencies and reach.

A stack is one Terraform root with its own state. Layers, one module each:

- `organization` (management account): OUs, accounts, SCPs and their attachments, delegated admins;
- `security` (security account): the security baseline;
- `access-<account>` (each account): customer-managed policies, roles, service roles, OIDC providers, and
  the customizations (the team's own modules) that target the account;
- `identity-center` (management account): groups, permission sets, assignments. It comes after the access
  stacks of every account that must hold a customer-managed policy a permission set references.

Dependencies are computed from the data. Every lookup is indexed (`MatrixIndex`), so building the model is
linear in the size of the matrix.
"""

from securecart_tf.model.build import Model, build_model
from securecart_tf.model.index import MatrixIndex
from securecart_tf.model.stack import IDENTITY_CENTER, ORGANIZATION, SECURITY, OrgFacts, Singletons, Stack, access_stack

__all__ = [
    "IDENTITY_CENTER",
    "ORGANIZATION",
    "SECURITY",
    "MatrixIndex",
    "Model",
    "OrgFacts",
    "Singletons",
    "Stack",
    "access_stack",
    "build_model",
]
