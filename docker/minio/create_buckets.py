"""Create the MinIO buckets storeheat writes to (one-shot, idempotent).

Run by the ``minio-buckets`` service of docker-compose.yml from the storeheat image, whose s3fs
reads the endpoint and keys from the AWS_* variables set there. Bucket names come from the
URLs the other containers use, so they cannot drift apart.
"""

from __future__ import annotations

import os
import sys
import time
from urllib.parse import urlparse

import s3fs


def bucket_of(url: str) -> str | None:
    """The bucket of an ``s3://`` or ``s3a://`` URL, or None for other schemes."""
    parsed = urlparse(url)
    return parsed.netloc if parsed.scheme in ("s3", "s3a") and parsed.netloc else None


def main() -> int:
    names = ("STOREHEAT_LAKE_ROOT", "STOREHEAT_COLD_VIDEO_URL")
    urls = [os.environ.get(name, "") for name in names]
    buckets = sorted({b for b in map(bucket_of, urls) if b})
    fs = s3fs.S3FileSystem(endpoint_url=os.environ["AWS_ENDPOINT_URL"])
    # MinIO answers its health check a moment before it accepts requests.
    for _ in range(30):
        try:
            existing = {p.rstrip("/") for p in fs.ls("")}
            break
        except OSError as exc:
            print(f"minio not ready ({exc}); retrying", file=sys.stderr)
            time.sleep(2)
    else:
        print("minio did not answer at " + os.environ["AWS_ENDPOINT_URL"], file=sys.stderr)
        return 1
    for bucket in buckets:
        if bucket not in existing:
            fs.mkdir(bucket)
        print(f"bucket {bucket}: ready")
    return 0


if __name__ == "__main__":
    sys.exit(main())
