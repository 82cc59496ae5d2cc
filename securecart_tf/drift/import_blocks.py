"""The import blocks drift suggests: the shared address helpers, under the names drift has always used."""

from __future__ import annotations

from securecart_tf.model.addresses import (
    IDENTITY_CENTER_MODULE,
    SCP_MODULE,
    ImportBlock,
    assignment_import,
    role_attachment_import,
    role_imports,
    role_inline_import,
    role_policy_key,
    scp_attachment_imports,
    tf_index,
)

__all__ = [
    "IDENTITY_CENTER_MODULE",
    "SCP_MODULE",
    "ImportBlock",
    "assignment_import",
    "role_attachment_import",
    "role_imports",
    "role_inline_import",
    "role_policy_key",
    "scp_attachment_imports",
    "tf_index",
]
