"""AWS managed policies as the policy checks read them: only what can touch IAM, from moto's data alone."""

from __future__ import annotations

import subprocess
import sys

from securecart_tf.iam import aws_managed

AMPLIFY = "arn:aws:iam::aws:policy/AdministratorAccess-Amplify"
READ_ONLY = "arn:aws:iam::aws:policy/ReadOnlyAccess"


def _actions(document: dict) -> set[str]:
    return {a for s in document["Statement"] for a in ([s["Action"]] if isinstance(s["Action"], str) else s["Action"])}


def test_only_the_iam_part_of_a_policy_is_kept() -> None:
    amplify = aws_managed.aws_managed_iam_document(AMPLIFY)
    assert amplify is not None
    actions = _actions(amplify)
    assert {"iam:CreateRole", "iam:AttachRolePolicy", "iam:PassRole"} <= actions
    assert all(a == "*" or a.lower().startswith("iam:") for a in actions)
    # ReadOnlyAccess reads IAM (iam:Get*, iam:List*) and much else; only the IAM reads remain
    read_only = aws_managed.aws_managed_iam_document(READ_ONLY)
    assert read_only is not None and _actions(read_only) and all(a.startswith("iam:") for a in _actions(read_only))
    assert aws_managed.aws_managed_iam_document("arn:aws:iam::aws:policy/NoSuchPolicyAnywhere") is None
    assert aws_managed.aws_managed_iam_document("arn:aws:iam::123456789012:policy/Mine") is None


def test_reading_the_documents_does_not_import_motos_iam_backend() -> None:
    """moto's IAM package pulls in boto3 and its backend; the policy data alone is a tenth of the cost."""
    code = (
        "import sys\n"
        "from securecart_tf.iam.aws_managed import aws_managed_document\n"
        f"assert aws_managed_document({AMPLIFY!r}) is not None\n"
        "print(sorted(m for m in sys.modules if m == 'boto3' or m.startswith('moto')))\n"
    )
    result = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True, timeout=120, check=True)
    assert result.stdout.strip() == "[]"
