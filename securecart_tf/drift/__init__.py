"""`securecart-tf drift`: what changed outside Terraform, and what exists that the matrix does not declare.

Two questions, answered per environment:

1. Changed: a refresh-only plan of every applied stack (one Terraform process each). Terraform's
   `resource_drift` events name the resources whose real state differs from the recorded one. The plan
   file carries both state snapshots (before and after the refresh), so each event is explained down to
   the attribute without another Terraform process. Differences that are only representation (null
   against empty, a reformatted policy document, a list another resource manages) are set aside as
   normalizations; a policy attached to a managed role by hand is kept.
2. Not managed: SCP attachments, permission-set assignments and IAM roles that exist in the target but in
   no stack's state. For each, an `import` block for the rendered root, or a hint to remove it.

Exit codes: 0 no drift, 2 drift (changed or not managed), 1 an error.

`scan` runs the check; `changes` explains what changed, `unmanaged` finds what is not managed (with
`import_blocks`), reading `state` and listing through `clients`; `result` holds what was found, with its
`status` per stack, and `render` shows it.
"""

from securecart_tf.drift.changes import Change, attribute_changes, classify, normalize
from securecart_tf.drift.import_blocks import ImportBlock
from securecart_tf.drift.render import render
from securecart_tf.drift.result import DriftReport, StackDrift
from securecart_tf.drift.scan import drift
from securecart_tf.drift.state import Instance, instances, plan_snapshots, show_snapshots
from securecart_tf.drift.status import DriftStatus
from securecart_tf.drift.unmanaged import (
    Assignment,
    Role,
    ScpAttachment,
    Unmanaged,
    set_aside_ignored,
    unmanaged_assignments,
    unmanaged_roles,
    unmanaged_scp_attachments,
)

__all__ = [
    "Assignment",
    "Change",
    "DriftReport",
    "DriftStatus",
    "ImportBlock",
    "Instance",
    "Role",
    "ScpAttachment",
    "StackDrift",
    "Unmanaged",
    "attribute_changes",
    "classify",
    "drift",
    "instances",
    "normalize",
    "plan_snapshots",
    "render",
    "set_aside_ignored",
    "show_snapshots",
    "unmanaged_assignments",
    "unmanaged_roles",
    "unmanaged_scp_attachments",
]
