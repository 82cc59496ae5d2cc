"""Where templates and modules are read from: this install's, or those a block names for its own code."""

from __future__ import annotations

import threading
from pathlib import Path

from securecart_tf.resources import data_root, modules_dir, templates_dir, tool_files


def test_tool_files_name_the_folders_only_for_the_code_inside_the_block(tmp_path: Path) -> None:
    inside, looked = threading.Event(), threading.Event()
    seen: list[Path] = []

    def elsewhere() -> None:  # another thread, running while the block is open
        inside.wait(timeout=30)
        seen.append(modules_dir())
        looked.set()

    thread = threading.Thread(target=elsewhere)
    thread.start()
    with tool_files(tmp_path):
        assert (modules_dir(), templates_dir()) == (tmp_path / "modules", tmp_path / "templates")
        with tool_files(tmp_path / "inner"):
            assert modules_dir() == tmp_path / "inner" / "modules"
        assert modules_dir() == tmp_path / "modules"
        inside.set()
        assert looked.wait(timeout=30)
    thread.join(timeout=30)
    assert seen == [data_root() / "modules"]
    assert modules_dir() == data_root() / "modules"
