"""``storeheat demo``: the whole chain on the simulated store, end to end, on this machine.

1. local services up (Kafka broker, Airflow standalone with the project's DAGs);
2. the simulated store renders a few minutes of 2–3 calibrated cameras (with ground truth);
3. the streaming worker detects, blurs, tracks and projects every frame and publishes to Kafka;
4. Airflow runs the ingest DAG (Kafka → bronze → silver) and a backfill of the hourly rollup
   (quality gate → gold) over the simulated hour — real DAG runs, visible in the UI;
5. the heatmap PNG, a zone table read from gold, and the accuracy against the simulator's truth.

Each step is the same command a user would type (printed before it runs), so the demo doubles
as a walkthrough. Nothing here computes a figure itself: it calls the packages that do.
"""

from __future__ import annotations

import argparse
import json
import os
import shlex
import subprocess
import sys
import time
import urllib.error
import urllib.request
from collections.abc import Sequence
from datetime import UTC, datetime, timedelta
from pathlib import Path
from typing import Any

from storeheat.exceptions import StoreheatError
from storeheat.paths import REPO_ROOT, state_dir


class DemoError(StoreheatError):
    """A demo step failed; the message names the step and where its log is."""


def _say(text: str) -> None:
    print(f"\n==> {text}", flush=True)


def _run(args: Sequence[str], *, step: str, env: dict[str, str] | None = None) -> None:
    cmd = [sys.executable, "-m", "storeheat.cli", *args]
    print("    $ storeheat " + " ".join(shlex.quote(a) for a in args), flush=True)
    proc = subprocess.run(cmd, env=env, check=False)
    if proc.returncode != 0:
        raise DemoError(
            f"step {step!r} failed (exit {proc.returncode}): storeheat {' '.join(args)}"
        )


# --- Airflow REST (v2) ---------------------------------------------------------------------


class _Airflow:
    """The few Airflow 3 REST calls the demo needs, authenticated as the standalone admin."""

    def __init__(self, base_url: str, username: str, password: str):
        self.base = base_url.rstrip("/")
        self.token = self._token(username, password)

    def _request(self, method: str, path: str, body: Any = None, *, auth: bool = True) -> Any:
        data = None if body is None else json.dumps(body).encode()
        req = urllib.request.Request(self.base + path, data=data, method=method)
        req.add_header("Content-Type", "application/json")
        if auth:
            req.add_header("Authorization", f"Bearer {self.token}")
        try:
            with urllib.request.urlopen(req, timeout=30) as resp:
                text = resp.read().decode()
        except urllib.error.HTTPError as exc:
            detail = exc.read().decode(errors="replace")[:500]
            raise DemoError(f"Airflow {method} {path}: HTTP {exc.code}: {detail}") from None
        return json.loads(text) if text else None

    def _token(self, username: str, password: str) -> str:
        self.token = ""
        out = self._request("POST", "/auth/token",
                            {"username": username, "password": password}, auth=False)
        return str(out["access_token"])

    def unpause(self, dag_id: str) -> None:
        self._request("PATCH", f"/api/v2/dags/{dag_id}", {"is_paused": False})

    def wait_parsed(self, dag_ids: Sequence[str], *, timeout_s: float = 180) -> None:
        deadline = time.monotonic() + timeout_s
        missing = list(dag_ids)
        while missing and time.monotonic() < deadline:
            missing = [d for d in missing if not self._exists(d)]
            if missing:
                time.sleep(3)
        if missing:
            raise DemoError(f"Airflow did not load DAG(s) {missing} within {timeout_s:.0f} s; "
                            "see `storeheat services status` and the DAG processor log")

    def _exists(self, dag_id: str) -> bool:
        try:
            self._request("GET", f"/api/v2/dags/{dag_id}")
            return True
        except DemoError:
            return False

    def trigger(self, dag_id: str, *, logical_date: datetime, conf: dict[str, Any]) -> str:
        out = self._request("POST", f"/api/v2/dags/{dag_id}/dagRuns", {
            "logical_date": logical_date.isoformat(), "conf": conf,
            "dag_run_id": f"demo__{logical_date:%Y%m%dT%H%M%S}__{int(time.time())}",
        })
        return str(out["dag_run_id"])

    def backfill(self, dag_id: str, *, start: datetime, end: datetime) -> None:
        self._request("POST", "/api/v2/backfills", {
            "dag_id": dag_id, "from_date": start.isoformat(), "to_date": end.isoformat(),
            "reprocess_behavior": "completed", "max_active_runs": 1, "run_backwards": False,
            "dag_run_conf": {},
        })

    def runs(self, dag_id: str) -> list[dict[str, Any]]:
        out = self._request("GET", f"/api/v2/dags/{dag_id}/dagRuns?order_by=-run_after&limit=20")
        return list(out["dag_runs"])

    def wait_run(self, dag_id: str, run_id: str | None, *, timeout_s: float) -> dict[str, Any]:
        """Wait for a run (or, with run_id None, the newest backfill run) to finish."""
        deadline = time.monotonic() + timeout_s
        last = None
        while time.monotonic() < deadline:
            runs = self.runs(dag_id)
            if run_id is not None:
                runs = [r for r in runs if r["dag_run_id"] == run_id]
            else:
                runs = [r for r in runs if r.get("run_type") == "backfill"]
            if runs:
                last = runs[0]
                if last["state"] in ("success", "failed"):
                    return last
            time.sleep(5)
        state = last["state"] if last else "not started"
        raise DemoError(f"DAG {dag_id} run {run_id or '(backfill)'} still {state} after "
                        f"{timeout_s:.0f} s; open the Airflow UI to see why")


# --- the steps -----------------------------------------------------------------------------


def _airflow_client() -> tuple[_Airflow, str, tuple[str, str]]:
    from storeheat.services.airflow import LocalAirflow

    local = LocalAirflow.from_env()
    login = local.admin_login()
    if login is None:
        raise DemoError(f"no Airflow admin password in {local.password_file}")
    return _Airflow(local.url, *login), local.url, login


def _hour_window(run_dir: Path) -> tuple[datetime, datetime]:
    first = None
    last = None
    with (run_dir / "frames.csv").open() as fh:
        next(fh)
        for line in fh:
            t = line.split(",")[3]
            first = t if first is None or t < first else first
            last = t if last is None or t > last else last
    if first is None or last is None:
        raise DemoError(f"{run_dir}/frames.csv lists no frames")
    start = datetime.fromisoformat(first.replace("Z", "+00:00")).replace(
        minute=0, second=0, microsecond=0)
    end_t = datetime.fromisoformat(last.replace("Z", "+00:00"))
    end = end_t.replace(minute=0, second=0, microsecond=0) + timedelta(hours=1)
    return start, end


def _sim_model() -> str | None:
    """The production person model for the simulated store, from the model registry."""
    from training.exceptions import RegistryError
    from training.registry import Registry

    try:
        path = Registry(REPO_ROOT / "models" / "registry.json").resolve_weights("person-sim")
    except RegistryError:
        return None
    return str(path) if path.exists() else None


def _finite_sim_store(run_dir: Path, *, seconds: int) -> Path:
    """The run's store config with each ``sim://`` camera limited to the simulated seconds.

    The worker then renders the same frames live from the simulator, stamped with the
    simulator's clock, so its events line up with the ground truth written beside the run.
    """
    from storeheat.config import dump_store_config, load_store_config

    config = load_store_config(run_dir / "store.yaml")
    cameras = []
    for cam in config.cameras:
        source = cam.source
        if source.startswith("sim://") and "seconds=" not in source:
            source += ("&" if "?" in source else "?") + f"seconds={seconds}"
        cameras.append(cam.model_copy(update={"source": source}))
    path = run_dir / "store-live.yaml"
    path.write_text(dump_store_config(config.model_copy(update={"cameras": cameras})))
    return path


def run_demo(*, seconds: int, cameras: int, seed: int, scenario: str, out: Path) -> int:
    started = time.monotonic()
    env = dict(os.environ)
    out.mkdir(parents=True, exist_ok=True)
    run_dir = out / "sim"

    _say("1/6 local services: Kafka (KRaft) and Airflow 3 standalone")
    _run(["services", "up", "kafka", "airflow"], step="services up")

    _say(f"2/6 simulated store: {cameras} cameras, {seconds} s of the '{scenario}' scenario")
    _run(["sim", "--scenario", scenario, "--cameras", str(cameras), "--seconds", str(seconds),
          "--seed", str(seed), "--out", str(run_dir), "--force"], step="simulate")

    _say("3/6 streaming worker: detect → blur → track → project → Kafka (every frame)")
    live = _finite_sim_store(run_dir, seconds=seconds)
    # One worker process per core, as a store's machine would run it.
    worker_args = ["worker", "--config", str(live), "--offline",
                   "--processes", str(min(cameras, os.cpu_count() or 1)),
                   "--log-format", "text", "--metrics-port", "-1",
                   "--hot-video", (out / "video" / "hot").resolve().as_uri()]
    model = os.environ.get("STOREHEAT_DEMO_MODEL") or _sim_model()
    if model:
        print(f"    person detector: {model}", flush=True)
        worker_args += ["--model", model, "--imgsz", "320"]
    _run(worker_args, step="worker", env=env)

    _say("4/6 Airflow: ingest DAG run, then a backfill of the hourly rollup (quality gate → gold)")
    client, ui_url, login = _airflow_client()
    client.wait_parsed(["storeheat_ingest", "storeheat_rollup_hourly"])
    for dag_id in ("storeheat_ingest", "storeheat_rollup_hourly"):
        client.unpause(dag_id)
    run_id = client.trigger("storeheat_ingest", logical_date=datetime.now(UTC), conf={})
    print(f"    triggered storeheat_ingest run {run_id}", flush=True)
    result = client.wait_run("storeheat_ingest", run_id, timeout_s=1200)
    print(f"    storeheat_ingest: {result['state']}", flush=True)
    if result["state"] != "success":
        raise DemoError(f"ingest DAG run {run_id} failed; see {ui_url}/dags/storeheat_ingest")
    start, end = _hour_window(run_dir)
    client.backfill("storeheat_rollup_hourly", start=start, end=end - timedelta(hours=1))
    print(f"    backfill storeheat_rollup_hourly {start:%Y-%m-%d %H:%M} → {end:%H:%M} UTC",
          flush=True)
    result = client.wait_run("storeheat_rollup_hourly", None, timeout_s=1800)
    print(f"    storeheat_rollup_hourly: {result['state']}", flush=True)
    if result["state"] != "success":
        raise DemoError(f"rollup run failed; see {ui_url}/dags/storeheat_rollup_hourly")

    _say("5/6 heatmap and zone table from gold (read with deltalake, no JVM)")
    png = out / "heatmap.png"
    _run(["heatmap", "--store", "demo-store", "--from", start.isoformat(), "--to",
          end.isoformat(), "--config", str(run_dir / "store.yaml"), "--out", str(png)],
         step="heatmap")

    _say("6/6 accuracy against the simulator's ground truth")
    from storeheat.demo_report import print_report

    print_report(run_dir=run_dir, start=start, end=end)

    minutes = (time.monotonic() - started) / 60
    print(f"\nDone in {minutes:.1f} min.")
    print(f"  heatmap:    {png}")
    print(f"  simulation: {run_dir} (ground truth beside the mp4s)")
    print(f"  Airflow UI: {ui_url}  (login {login[0]} / {login[1]})")
    print("  Spark SQL:  storeheat sql -e \"SELECT * FROM storeheat.gold_zone_metrics\"")
    print("  stop:       make services-down")
    return 0


def register(subparsers: argparse._SubParsersAction) -> None:
    parser = subparsers.add_parser(
        "demo", help="run the whole pipeline on the simulated store (what `make demo` runs)")
    parser.add_argument("--seconds", type=int, default=120, help="simulated seconds (120)")
    parser.add_argument("--cameras", type=int, default=3, help="cameras (3)")
    parser.add_argument("--seed", type=int, default=7, help="simulation seed (7)")
    parser.add_argument("--scenario", default="normal", help="quiet | normal | peak")
    parser.add_argument("--out", type=Path, default=None,
                        help="output folder (default .state/demo)")
    parser.set_defaults(func=lambda a: run_demo(
        seconds=a.seconds, cameras=a.cameras, seed=a.seed, scenario=a.scenario,
        out=(a.out or state_dir() / "demo").resolve()))


