"""The repository's Dockerfile and its two images: the worker and the job API.

Both are built from the repository root (filtered by its `.dockerignore`) for linux/amd64,
from the same wheel stage; the stage names are the Dockerfile's targets.
"""

from __future__ import annotations

from typing import Any

from aws_cdk import IgnoreMode
from aws_cdk import aws_ecr_assets as ecr_assets

DOCKERFILE = "Dockerfile"
# `docker build --target`: the Dockerfile's stages. The worker is also its last stage, so a
# plain `docker build .` still makes the worker image.
WORKER_TARGET = "worker"
API_TARGET = "api"
PLATFORM = ecr_assets.Platform.LINUX_AMD64


def asset_options(target: str) -> dict[str, Any]:
    """The image-asset options (CDK's `from_asset`/`from_image_asset` keywords) of `target`."""
    return {
        "file": DOCKERFILE,
        "target": target,
        "platform": PLATFORM,
        # Only what `.dockerignore` lets through is hashed, staged and sent to Docker.
        "ignore_mode": IgnoreMode.DOCKER,
    }
