"""Resolve JVM jars from Maven Central once, into the project's jar cache.

Each *group* (the Kafka broker, Spark's Delta and Kafka connectors) is resolved with Maven
into its own folder under :func:`storeheat.paths.jar_cache_dir`, with every runtime
dependency. A marker file records the exact coordinates, so later calls are offline and free.
"""

from __future__ import annotations

import os
import re
import shutil
import subprocess
import tempfile
from collections.abc import Sequence
from pathlib import Path
from xml.sax.saxutils import escape

from storeheat.paths import jar_cache_dir
from storeheat.services.exceptions import JarFetchError
from storeheat.services.process import locked

# Pinned so a resolve does not depend on whichever old plugin version Maven defaults to.
DEPENDENCY_PLUGIN = "org.apache.maven.plugins:maven-dependency-plugin:3.8.1"
# Maven on a fresh machine downloads its plugins and the jars; a dead network fails much sooner.
MAVEN_TIMEOUT_S = 900.0

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

_GROUP_NAME = re.compile(r"^[A-Za-z0-9][A-Za-z0-9._-]*$")


def _split(coordinate: str, n: int, expected: str) -> list[str]:
    parts = coordinate.split(":")
    if len(parts) != n or not all(p.strip() for p in parts):
        raise ValueError(f"jar coordinate {coordinate!r}: expected {expected!r}")
    return [p.strip() for p in parts]


def _dependency_xml(coordinate: str, exclude: Sequence[str]) -> str:
    g, a, v = (escape(p) for p in _split(coordinate, 3, "group:artifact:version"))
    exclusions = ""
    if exclude:
        items = []
        for ex in exclude:
            eg, ea = (escape(p) for p in _split(ex, 2, "group:artifact"))
            items.append(
                f"        <exclusion><groupId>{eg}</groupId>"
                f"<artifactId>{ea}</artifactId></exclusion>"
            )
        exclusions = "      <exclusions>\n" + "\n".join(items) + "\n      </exclusions>\n"
    return _DEP.format(g=g, a=a, v=v, exclusions=exclusions)


def _cached(root: Path, wanted: str) -> list[Path] | None:
    marker = root / ".resolved"
    if marker.exists() and marker.read_text() == wanted:
        jars = sorted(root.glob("*.jar"))
        if jars:
            return jars
    return None


def _failure_summary(output: str) -> str:
    """The lines of Maven's output that say what could not be fetched, else its last lines."""
    lines = [ln.strip() for ln in output.splitlines() if ln.strip()]
    key = [
        ln
        for ln in lines
        if re.search(r"could not be resolved|Could not (transfer|resolve|find)|Unknown host"
                     r"|offline mode|Connect(ion)? (timed out|refused)|Non-resolvable", ln)
    ]
    return "\n".join((key or lines)[-10:])


def resolve(
    group: str,
    coordinates: Sequence[str],
    *,
    exclude: Sequence[str] = (),
    cache_dir: Path | None = None,
    offline: bool = False,
    maven_repo: Path | None = None,
) -> list[Path]:
    """Return the jars of ``coordinates`` and their runtime dependencies, fetching once.

    Args:
        group: Name of the cache folder (e.g. ``"kafka"``, ``"spark"``).
        coordinates: Maven coordinates ``group:artifact:version``.
        exclude: ``group:artifact`` pairs left out of every coordinate's dependency tree
            (e.g. what the Spark distribution already ships).
        cache_dir: Override of the jar cache root.
        offline: Never contact a registry; only the cache and the local Maven repository serve.
        maven_repo: Override of Maven's local repository (default ``~/.m2/repository``).

    Returns:
        The jar files, sorted by name.

    Raises:
        ValueError: A coordinate, exclusion or group name is malformed.
        JarFetchError: Maven is missing or could not fetch an artifact (registry unreachable
            and not in the local Maven repository); names what could not be fetched.
    """
    if not _GROUP_NAME.match(group):
        raise ValueError(f"jar group {group!r}: expected a folder name of letters, digits, ._-")
    if not coordinates:
        raise ValueError(f"jar group {group!r}: no coordinates given")
    root = (cache_dir or jar_cache_dir()) / group
    wanted = "\n".join(sorted(coordinates)) + "\n--exclude\n" + "\n".join(sorted(exclude))
    # Validate before any cache hit, so a typo fails the same way on every machine.
    deps = "\n".join(_dependency_xml(c, exclude) for c in coordinates)
    jars = _cached(root, wanted)
    if jars is not None:
        return jars
    # Two processes must never resolve into the same folder at once.
    with locked(root.parent / f".{group}.lock"):
        jars = _cached(root, wanted)  # another process may have resolved while we waited
        if jars is not None:
            return jars
        return _fetch(group, coordinates, deps, root, wanted, offline, maven_repo)


def _fetch(
    group: str,
    coordinates: Sequence[str],
    deps: str,
    root: Path,
    wanted: str,
    offline: bool,
    maven_repo: Path | None,
) -> list[Path]:
    what = ", ".join(coordinates)
    mvn = shutil.which("mvn")
    if mvn is None:
        raise JarFetchError(
            f"cannot fetch jars for {group!r} ({what}): 'mvn' (Apache Maven) is not on PATH "
            f"and {root} holds no resolved copy",
            group=group,
            coordinates=coordinates,
        )
    root.parent.mkdir(parents=True, exist_ok=True)
    # Staging next to the cache makes the final swap a rename on the same filesystem.
    with tempfile.TemporaryDirectory(prefix=f".{group}-", dir=root.parent) as tmp:
        pom = Path(tmp) / "pom.xml"
        pom.write_text(_POM.format(group=escape(group), deps=deps))
        staging = Path(tmp) / "jars"
        cmd = [
            mvn, "-B", "-ntp", "-f", str(pom), f"{DEPENDENCY_PLUGIN}:copy-dependencies",
            f"-DoutputDirectory={staging}", "-DincludeScope=runtime",
        ]
        if offline:
            cmd.append("-o")
        if maven_repo is not None:
            cmd.append(f"-Dmaven.repo.local={maven_repo}")
        try:
            proc = subprocess.run(
                cmd, capture_output=True, text=True, check=False, timeout=MAVEN_TIMEOUT_S,
                stdin=subprocess.DEVNULL,
            )
        except subprocess.TimeoutExpired as exc:
            raise JarFetchError(
                f"could not fetch jars for {group!r} ({what}): Maven did not finish within "
                f"{MAVEN_TIMEOUT_S:.0f} s (is Maven Central reachable?)",
                group=group,
                coordinates=coordinates,
            ) from exc
        if proc.returncode != 0:
            where = "offline (local Maven repository only)" if offline else "from Maven Central"
            raise JarFetchError(
                f"could not fetch jars for {group!r} ({what}) {where}, and no cached copy exists "
                f"in {root}. Maven said:\n{_failure_summary(proc.stdout + proc.stderr)}",
                group=group,
                coordinates=coordinates,
            )
        (staging / ".resolved").write_text(wanted)
        old = Path(tmp) / "old"
        if root.exists():
            os.replace(root, old)
        os.replace(staging, root)
    return sorted(root.glob("*.jar"))
