"""The local Label Studio server (its own virtualenv), driven through label_studio_sdk.

One real server runs on a free loopback port with its data in a temporary folder; the
virtualenv is the project's (``.state/venvs/label-studio``), installed on first use.
"""

from __future__ import annotations

import socket
from collections.abc import Iterator
from pathlib import Path

import pytest
from label_studio_sdk import LabelStudio

from storeheat.services.exceptions import PortInUseError
from storeheat.services.label_studio import LocalLabelStudio
from tests.fixtures.kafka import free_tcp_ports

pytestmark = pytest.mark.integration

BOXES = """<View>
  <Image name="image" value="$image"/>
  <RectangleLabels name="label" toName="image"><Label value="person"/></RectangleLabels>
</View>"""
# A 1x1 grey PNG: tasks carry images inline, no media storage needed.
PIXEL = ("data:image/png;base64,iVBORw0KGgoAAAANSUhEUgAAAAEAAAABCAAAAAA6fptVAAAACklEQVR4"
         "nGNoAAAAggCBd81ytgAAAABJRU5ErkJggg==")


@pytest.fixture(scope="module")
def server(tmp_path_factory: pytest.TempPathFactory) -> Iterator[LocalLabelStudio]:
    root = tmp_path_factory.mktemp("label-studio")
    (port,) = free_tcp_ports(1)
    ls = LocalLabelStudio(data_dir=root / "data", state_dir=root / "run", port=port)
    yield ls
    ls.stop()


def _client(ls: LocalLabelStudio) -> LabelStudio:
    return LabelStudio(base_url=ls.url, api_key=ls.credentials().token)


def test_start_and_create_a_project_with_a_task(server: LocalLabelStudio) -> None:
    assert server.start() is True
    client = _client(server)

    project = client.projects.create(title="storeheat test", label_config=BOXES)
    client.tasks.create(project=project.id, data={"image": PIXEL})

    again = client.projects.get(project.id)
    assert again.title == "storeheat test"
    tasks = list(client.tasks.list(project=project.id))
    assert [t.data["image"] for t in tasks] == [PIXEL]


def test_second_start_reuses_the_running_server(server: LocalLabelStudio) -> None:
    server.start()
    pid = server.pid()
    assert server.start() is False
    assert server.pid() == pid
    assert server.status().running and server.status().address == server.url


def test_projects_survive_a_restart(server: LocalLabelStudio) -> None:
    server.start()
    project = _client(server).projects.create(title="kept", label_config=BOXES)

    assert server.stop() is True
    assert not server.is_running()
    assert server.stop() is False
    assert server.start() is True

    assert _client(server).projects.get(project.id).title == "kept"


def test_taken_port_is_named_with_the_log_file(tmp_path: Path) -> None:
    (port,) = free_tcp_ports(1)
    ls = LocalLabelStudio(data_dir=tmp_path / "data", state_dir=tmp_path / "run", port=port)
    with socket.socket() as squatter:
        squatter.bind(("127.0.0.1", port))
        squatter.listen()
        with pytest.raises(PortInUseError) as info:
            ls.start()
    assert f"port {port}" in str(info.value)
    assert "STOREHEAT_LABEL_STUDIO_PORT" in str(info.value)
    assert str(ls.log_file) in str(info.value)
    assert not ls.is_running()


def test_server_environment_turns_telemetry_off_and_keeps_credentials(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    for name in ("LABEL_STUDIO_USERNAME", "LABEL_STUDIO_PASSWORD", "LABEL_STUDIO_USER_TOKEN"):
        monkeypatch.delenv(name, raising=False)
    ls = LocalLabelStudio(data_dir=tmp_path / "d", state_dir=tmp_path / "r", port=40000)
    env = ls.environment()
    assert env["LABEL_STUDIO_COLLECT_ANALYTICS"] == "false"
    assert env["LABEL_STUDIO_LATEST_VERSION_CHECK"] == "false"
    assert env["LABEL_STUDIO_SENTRY_DSN"] == "" and env["LABEL_STUDIO_FRONTEND_SENTRY_DSN"] == ""
    assert env["LABEL_STUDIO_ENABLE_LEGACY_API_TOKEN"] == "true"
    assert env["LABEL_STUDIO_BASE_DATA_DIR"] == str(tmp_path / "d")
    first = ls.credentials()
    assert len(first.token) == 40
    assert ls.credentials() == first  # generated once, then kept
    assert (tmp_path / "d" / "storeheat-credentials.json").stat().st_mode & 0o077 == 0
    monkeypatch.setenv("LABEL_STUDIO_USER_TOKEN", "from-env")
    assert ls.credentials().token == "from-env"
