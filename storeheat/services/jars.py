"""Resolve JVM jars from Maven Central once, into the project's jar cache.

Each *group* (the Kafka broker, Spark's Delta and Kafka connectors) is resolved with Maven
into its own folder under :func:`storeheat.paths.jar_cache_dir`, with every runtime
dependency. A marker file records the exact coordinates, so later calls are offline and free.
"""

from __future__ import annotations

import hashlib
import shutil
import subprocess
import tempfile
from collections.abc import Sequence
from pathlib import Path
from xml.sax.saxutils import escape

from storeheat.exceptions import DependencyFetchError
from storeheat.paths import jar_cache_dir

_POM = """<project xmlns="http://maven.apache.org/POM/4.0.0">
  <modelVersion>4.0.0</modelVersion>
  <groupId>storeheat.local</groupId>
  <artifactId>jars-{group}</artifactId>
  <version>0</version>
  <packaging>pom</packaging>
  <dependencies>
{deps}
  </dependencies>
</project>
"""

_DEP = """    <dependency>
      <groupId>{g}</groupId><artifactId>{a}</artifactId><version>{v}</version>
{exclusions}    </dependency>"""


def _dependency_xml(coordinate: str, exclude: Sequence[str]) -> str:
    parts = coordinate.split(":")
    if len(parts) != 3 or not all(parts):
        raise ValueError(f"jar coordinate {coordinate!r}: expected 'group:artifact:version'")
    g, a, v = (escape(p) for p in parts)
    exclusions = ""
    if exclude:
        items = []
        for ex in exclude:
            eg, ea = ex.split(":")
            items.append(
                f"        <exclusion><groupId>{escape(eg)}</groupId>"
                f"<artifactId>{escape(ea)}</artifactId></exclusion>"
            )
        exclusions = "      <exclusions>\n" + "\n".join(items) + "\n      </exclusions>\n"
    return _DEP.format(g=g, a=a, v=v, exclusions=exclusions)


def resolve(
    group: str,
    coordinates: Sequence[str],
    *,
    exclude: Sequence[str] = (),
    cache_dir: Path | None = None,
) -> list[Path]:
    """Return the jars of ``coordinates`` and their runtime dependencies, fetching once.

    Args:
        group: Name of the cache folder (e.g. ``"kafka"``, ``"spark"``).
        coordinates: Maven coordinates ``group:artifact:version``.
        exclude: ``group:artifact`` pairs left out of every coordinate's dependency tree
            (e.g. what the Spark distribution already ships).
        cache_dir: Override of the jar cache root.

    Returns:
        The jar files, sorted by name.

    Raises:
        DependencyFetchError: Maven is missing or could not fetch an artifact (registry
            unreachable and not in the local Maven repository); names what failed.
    """
    root = (cache_dir or jar_cache_dir()) / group
    wanted = "\n".join(sorted(coordinates)) + "\n--exclude\n" + "\n".join(sorted(exclude))
    marker = root / ".resolved"
    if marker.exists() and marker.read_text() == wanted:
        jars = sorted(root.glob("*.jar"))
        if jars:
            return jars
    mvn = shutil.which("mvn")
    if mvn is None:
        raise DependencyFetchError(
            f"cannot fetch jars for {group!r} ({', '.join(coordinates)}): 'mvn' is not on PATH "
            f"and {root} holds no resolved copy"
        )
    deps = "\n".join(_dependency_xml(c, exclude) for c in coordinates)
    digest = hashlib.sha256(wanted.encode()).hexdigest()[:12]
    with tempfile.TemporaryDirectory(prefix=f"storeheat-jars-{group}-") as tmp:
        pom = Path(tmp) / "pom.xml"
        pom.write_text(_POM.format(group=escape(group), deps=deps))
        staging = Path(tmp) / "jars"
        cmd = [
            mvn, "-B", "-q", "-f", str(pom), "dependency:copy-dependencies",
            f"-DoutputDirectory={staging}", "-DincludeScope=runtime",
        ]
        proc = subprocess.run(cmd, capture_output=True, text=True, check=False)
        if proc.returncode != 0:
            tail = "\n".join((proc.stdout + proc.stderr).strip().splitlines()[-15:])
            raise DependencyFetchError(
                f"could not fetch jars for {group!r} ({', '.join(coordinates)}) from Maven "
                f"Central and no cached copy exists in {root} (pom {digest}):\n{tail}"
            )
        if root.exists():
            shutil.rmtree(root)
        root.parent.mkdir(parents=True, exist_ok=True)
        shutil.copytree(staging, root)
    marker.write_text(wanted)
    return sorted(root.glob("*.jar"))
