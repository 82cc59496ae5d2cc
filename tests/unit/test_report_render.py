"""`securecart-tf report` output: the Markdown table, the JSON, the HTML page and the command's options."""

from __future__ import annotations

import json
import re
from html.parser import HTMLParser
from pathlib import Path

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
    assert data["matrix"]["group:Developers"] == {
        "management": "none",
        "security": "none",
        "shared-services": "read",
        "dev": "write",
        "staging": "write",
        "prod": "none",
    }
    cells = {(c["principal"], c["account"]): c for c in data["cells"]}
    (path,) = cells[("group:Developers", "dev")]["paths"]
    assert [hop["name"] for hop in path["chain"]] == ["Developers", "DeveloperAccess", "DeveloperRole"]
    assert path["conditions"]["mfa"]
    seat = data["seats"][path["seat"]]
    assert seat["boundary"]["name"] == "SecureCartDeveloperBoundary"
    assert {g["name"] for g in seat["grants"]} == {
        "arn:aws:iam::aws:policy/ReadOnlyAccess",
        "SecureCartDeveloperDeploy",
    }


def test_env_limits_the_columns_to_its_accounts(example_project: Path) -> None:
    data = json.loads(run("-m", str(example_project), "-f", "json", "-e", "prod"))
    assert [a["name"] for a in data["accounts"]] == ["prod"]  # environments/prod.yaml covers prod only
    assert data["matrix"]["group:Developers"] == {"prod": "none"}


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
