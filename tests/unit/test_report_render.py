"""`securecart-tf report` output: the Markdown table, the JSON, the HTML page and the command's options."""

from __future__ import annotations

import datetime as dt
import json
import re
from html.parser import HTMLParser
from pathlib import Path

import pytest
from typer.testing import CliRunner

from securecart_tf.errors import SecureCartError
from tests.unit.test_report_diff import cli

AS_OF = ["--as-of", "2026-06-01"]


def run(*args: str) -> str:
    result = CliRunner().invoke(cli(), ["report", *args, *AS_OF])
    assert result.exit_code == 0, (result.output, result.exception)
    return result.stdout


def md_table(text: str) -> dict[str, dict[str, str]]:
    """The first Markdown table: principal name → account → cell text."""
    lines = [line for line in text.splitlines() if line.startswith("|")]
    header = [h.strip().removesuffix(" (mgmt)") for h in lines[0].strip("|").split("|")]
    rows = {}
    for line in lines[2:]:
        cells = [c.strip() for c in line.strip("|").split("|")]
        if cells[0].startswith("***"):
            continue
        if len(cells) != len(header):
            break
        rows[cells[0]] = dict(zip(header[1:], cells[1:], strict=True))
    return rows


def test_markdown_table_for_pull_requests(example_project: Path) -> None:
    text = run("-m", str(example_project))
    table = md_table(text)
    assert table["Developers"]["dev"] == "**write**"
    assert table["Developers"]["prod"] == "·"
    assert table["SecurityTeam"]["prod"] == "read"
    assert table["PlatformAdmins"]["management"] == "**ADMIN**"
    assert "do not apply in the management account" in text
    assert "ExternalId securecart-acme-7f3a9c; expires 2027-06-30" in text


def test_json_has_the_matrix_and_every_way_in(example_project: Path) -> None:
    data = json.loads(run("-m", str(example_project), "-f", "json"))
    # the matrix lists the levels above none; an account it leaves out is none
    assert data["matrix"]["group:Developers"] == {"shared-services": "read", "dev": "write", "staging": "write"}
    cells = {(c["principal"], c["account"]): c for c in data["cells"]}
    (path,) = cells[("group:Developers", "dev")]["paths"]
    assert path["chain"] == [
        "group:Developers",
        "permission-set:DeveloperAccess@shared-services",
        "role:DeveloperRole@dev",
    ]
    assert path["conditions"]["mfa"]
    seat = data["seats"][path["seat"]]
    evaluation = data["evaluations"][seat["evaluation"]]
    assert evaluation["boundary"]["name"] == "SecureCartDeveloperBoundary"
    assert {data["policies"][g["policy"]]["name"] for g in evaluation["grants"]} == {
        "arn:aws:iam::aws:policy/ReadOnlyAccess",
        "SecureCartDeveloperDeploy",
    }


def test_json_lists_each_scp_path_once_and_accounts_refer_to_it(example_project: Path) -> None:
    data = json.loads(run("-m", str(example_project), "-f", "json"))
    accounts = {a["name"]: a for a in data["accounts"]}
    # access-matrix.yaml: dev and staging both sit in WorkloadsOU/NonProdOU, with nothing attached to either account
    assert accounts["dev"]["scp_path"] == accounts["staging"]["scp_path"]
    assert accounts["dev"]["scp_path"] != accounts["prod"]["scp_path"]
    path = data["scp_paths"][accounts["dev"]["scp_path"]]
    assert [p["at"] for p in path] == ["root", "WorkloadsOU", "WorkloadsOU/NonProdOU"]
    assert accounts["dev"]["scps"] == []


def test_schema_prints_the_json_schema_and_the_output_follows_it(example_project: Path) -> None:
    import jsonschema

    result = CliRunner().invoke(cli(), ["report", "--schema"])
    assert result.exit_code == 0, result.output
    schema = json.loads(result.stdout)
    for args in ([], ["-e", "prod"]):
        data = json.loads(run("-m", str(example_project), "-f", "json", *args))
        jsonschema.validate(data, schema, cls=jsonschema.Draft202012Validator)
    broken = json.loads(run("-m", str(example_project), "-f", "json"))
    broken["accounts"][0]["scp_path"] = 3
    try:
        jsonschema.validate(broken, schema, cls=jsonschema.Draft202012Validator)
    except jsonschema.ValidationError as error:
        assert "scp_path" in error.json_path
    else:
        raise AssertionError("the schema accepted an account whose scp_path is not an id")


def test_env_limits_the_columns_to_its_accounts(example_project: Path) -> None:
    data = json.loads(run("-m", str(example_project), "-f", "json", "-e", "prod"))
    assert [a["name"] for a in data["accounts"]] == ["prod"]  # environments/prod.yaml covers prod only
    assert data["matrix"]["group:Developers"] == {}  # none in prod
    assert data["matrix"]["group:SecurityTeam"] == {"prod": "read"}
    assert {s["account"] for s in data["seats"].values()} == {"prod"}


def test_an_unknown_env_is_an_error_naming_the_choices(example_project: Path) -> None:
    result = CliRunner().invoke(cli(), ["report", "-m", str(example_project), "-e", "qa"])
    assert isinstance(result.exception, SecureCartError)
    assert result.exception.hint is not None and "staging" in result.exception.hint


def test_output_writes_the_file(example_project: Path, tmp_path: Path) -> None:
    target = tmp_path / "out" / "access.md"
    result = CliRunner().invoke(cli(), ["report", "-m", str(example_project), "-o", str(target), *AS_OF])
    assert result.exit_code == 0
    assert result.stdout == ""
    assert target.read_text().startswith("# Effective access: securecart")


class _Page(HTMLParser):
    def __init__(self) -> None:
        super().__init__()
        self.tags: list[tuple[str, dict[str, str | None]]] = []

    def handle_starttag(self, tag: str, attrs: list[tuple[str, str | None]]) -> None:
        self.tags.append((tag, dict(attrs)))


def test_html_is_one_self_contained_page(example_project: Path) -> None:
    html = run("-m", str(example_project), "-f", "html")
    page = _Page()
    page.feed(html)
    names = {tag for tag, _ in page.tags}
    assert "link" not in names and "img" not in names
    assert all("src" not in a for tag, a in page.tags if tag == "script")  # the script is inline
    for _, attrs in page.tags:
        for key in ("src", "href"):
            value = attrs.get(key) or ""
            assert not re.match(r"^(https?:)?//", value), value
    assert "@import" not in html and "url(" not in html
    # the grid's levels travel as JSON that the page's script draws
    data = json.loads(html.split('<script type="application/json" id="report-data">', 1)[1].split("</script>", 1)[0])
    levels = {
        (p[0], a[0]): data["levels"][int(data["matrix"][i][j])]
        for i, p in enumerate(data["principals"])
        for j, a in enumerate(data["accounts"])
    }
    assert levels[("group:Developers", "staging")] == "write"
    assert levels[("group:Developers", "prod")] == "none"
    assert levels[("group:PlatformAdmins", "shared-services")] == "admin"
    ou_boxes = [a["data-ou"] for tag, a in page.tags if tag == "details" and "data-ou" in a]
    assert ou_boxes[0] == "/"
    assert {"SecurityOU", "WorkloadsOU", "WorkloadsOU/NonProdOU", "WorkloadsOU/ProdOU", "SharedServicesOU"} <= set(
        ou_boxes
    )


def test_past_the_detail_limit_markdown_summarises_by_top_level_ou(
    example_project: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    from securecart_tf.report import render_md

    monkeypatch.setattr(render_md, "DETAIL_ACCOUNTS", 3)
    text = run("-m", str(example_project))
    table = md_table(text)
    # access-matrix.yaml: dev and staging sit under WorkloadsOU, where Developers write through DeveloperRole
    assert table["Developers"]["WorkloadsOU/ (3 accounts)"] == "**write** 2"
    assert table["Developers"]["SharedServicesOU/"] == "read"
    assert table["SecurityTeam"]["WorkloadsOU/ (3 accounts)"] == "read 3"
    assert table["PlatformAdmins"]["management"] == "**ADMIN**"
    assert (
        "- **BreakGlassRole** (role, administrator) in 6: management, security, shared-services, dev, staging, prod"
        in text
    )
    assert "## Details" not in text and "-f html" in text


def test_a_change_alike_in_several_accounts_is_one_row(example_project: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    from securecart_tf.config.load import load_project
    from securecart_tf.report.access import build_report
    from securecart_tf.report.diff import diff_reports
    from securecart_tf.report.render_md import render_diff
    from tests.unit.test_report_diff import edit_matrix, named

    base = build_report(load_project(example_project), as_of=dt.date(2026, 6, 1))
    edit_matrix(
        example_project,
        lambda d: named(d["guardrails"], "protect-security-services")["exempt_roles"].append("DeveloperRole"),
    )
    head = build_report(load_project(example_project), as_of=dt.date(2026, 6, 1))
    text = render_diff(diff_reports(base, head))
    rows = [line for line in text.splitlines() if line.startswith("| ✏️ changed | Developers (group) |")]
    assert len(rows) == 1
    assert "| dev, staging | write | write |" in rows[0]
