"""The object store port on Amazon S3.

Uploads go through boto3's transfer manager, so bodies at or above the multipart
threshold are sent in parallel parts; downloads are streamed in chunks.
"""

from __future__ import annotations

import hashlib
from collections.abc import Callable, Iterator, Mapping
from contextlib import AbstractContextManager
from types import TracebackType
from typing import TYPE_CHECKING, BinaryIO

from boto3.s3.transfer import TransferConfig
from botocore.exceptions import ClientError
from s3transfer.utils import ChunksizeAdjuster

from wordfreq_service.adapters.aws.boto_errors import translated
from wordfreq_service.ports import ObjectInfo, UploadTarget

if TYPE_CHECKING:
    from botocore.response import StreamingBody
    from mypy_boto3_s3 import S3Client

CHUNK_SIZE = 1 << 20
#: boto3's defaults (8 MiB parts from 8 MiB on), stated so the ETag computation below
#: and the transfer agree by construction.
DEFAULT_TRANSFER_CONFIG = TransferConfig(
    multipart_threshold=8 << 20, multipart_chunksize=8 << 20, max_concurrency=8
)


class S3ObjectReader(AbstractContextManager["S3ObjectReader"]):
    """A GetObject response; implements ``ports.ObjectReader``. Close it (``with``)."""

    def __init__(self, body: StreamingBody | _EmptyBody, info: ObjectInfo, where: str) -> None:
        self._body = body
        self._info = info
        self._where = where

    @property
    def info(self) -> ObjectInfo:
        return self._info

    def iter_chunks(self, chunk_size: int = CHUNK_SIZE) -> Iterator[bytes]:
        chunks = self._body.iter_chunks(chunk_size)
        while True:
            # Translate what the stream raises, not what the consumer throws in.
            with translated(f"reading {self._where}"):
                chunk = next(chunks, b"")
            if not chunk:
                return
            yield chunk

    def close(self) -> None:
        self._body.close()

    def __exit__(
        self,
        exc_type: type[BaseException] | None,
        exc: BaseException | None,
        tb: TracebackType | None,
    ) -> None:
        self.close()


class _EmptyBody:
    """The body of an empty range, which S3 would refuse to serve."""

    def iter_chunks(self, chunk_size: int = CHUNK_SIZE) -> Iterator[bytes]:
        del chunk_size
        return iter(())

    def close(self) -> None:
        pass


class S3Store:
    """One bucket; implements ``ports.ObjectStore``. Thread-safe, like its client."""

    def __init__(
        self,
        client: S3Client,
        bucket: str,
        *,
        transfer_config: TransferConfig = DEFAULT_TRANSFER_CONFIG,
    ) -> None:
        self._client = client
        self._bucket = bucket
        self._transfer = transfer_config

    @property
    def bucket(self) -> str:
        return self._bucket

    def put(
        self,
        key: str,
        body: BinaryIO,
        metadata: Mapping[str, str] | None = None,
        *,
        progress: Callable[[int], None] | None = None,
    ) -> ObjectInfo:
        wanted = {name.lower(): value for name, value in (metadata or {}).items()}
        part_size = ChunksizeAdjuster().adjust_chunksize(self._transfer.multipart_chunksize)
        reader = _DigestingReader(body, part_size)
        with translated(f"uploading {self._where(key)}"):
            self._client.upload_fileobj(
                reader,  # type: ignore[arg-type]  # has read(), all the transfer needs
                self._bucket,
                key,
                ExtraArgs={"Metadata": wanted} if wanted else None,
                Callback=progress,
                Config=self._transfer,
            )
        etag = reader.etag(multipart=reader.size >= self._transfer.multipart_threshold)
        return ObjectInfo(key=key, size=reader.size, etag=etag, metadata=wanted)

    def get(self, key: str, *, start: int = 0, end: int | None = None) -> S3ObjectReader:
        where = self._where(key)
        if end is not None and end <= start:
            return S3ObjectReader(_EmptyBody(), self.head(key), where)
        ranged = start > 0 or end is not None
        with translated(f"downloading {where}"):
            try:
                if ranged:
                    # The split's ranges: S3's byte ranges are inclusive.
                    last = "" if end is None else str(end - 1)
                    response = self._client.get_object(
                        Bucket=self._bucket, Key=key, Range=f"bytes={start}-{last}"
                    )
                else:
                    response = self._client.get_object(Bucket=self._bucket, Key=key)
            except ClientError as exc:
                # A range starting at or past the end (or any range of an empty object):
                # S3's 416. The port's answer is an empty body.
                if not ranged or exc.response.get("Error", {}).get("Code") != "InvalidRange":
                    raise
                return S3ObjectReader(_EmptyBody(), self.head(key), where)
        size = response["ContentLength"]
        if "ContentRange" in response:
            # "bytes 0-99/1234": the whole object's size follows the slash.
            size = int(response["ContentRange"].rsplit("/", 1)[1])
        info = ObjectInfo(
            key=key,
            size=size,
            etag=response["ETag"].strip('"'),
            metadata=response.get("Metadata", {}),
        )
        return S3ObjectReader(response["Body"], info, where)

    def head(self, key: str) -> ObjectInfo:
        with translated(f"inspecting {self._where(key)}"):
            response = self._client.head_object(Bucket=self._bucket, Key=key)
        return ObjectInfo(
            key=key,
            size=response["ContentLength"],
            etag=response["ETag"].strip('"'),
            metadata=response.get("Metadata", {}),
        )

    def delete(self, key: str) -> None:
        with translated(f"deleting {self._where(key)}"):
            self._client.delete_object(Bucket=self._bucket, Key=key)

    def upload_url(
        self, key: str, size: int, metadata: Mapping[str, str], expires_in: int
    ) -> UploadTarget | None:
        """A pre-signed PUT. Its SigV4 signature covers the headers it was made with
        (Content-Length and every ``x-amz-meta-*``), so S3 refuses an upload whose
        length or metadata differs from these. SigV4 only if the client signs with it
        (``clients.S3_CONFIG``): botocore presigns with SigV2 by default."""
        with translated(f"signing an upload to {self._where(key)}"):
            url = self._client.generate_presigned_url(
                "put_object",
                Params={
                    "Bucket": self._bucket,
                    "Key": key,
                    "ContentLength": size,
                    "Metadata": dict(metadata),
                },
                ExpiresIn=expires_in,
                HttpMethod="PUT",
            )
        headers = {"Content-Length": str(size)}
        headers.update({f"x-amz-meta-{name}": value for name, value in metadata.items()})
        return UploadTarget(url=url, method="PUT", headers=headers)

    def _where(self, key: str) -> str:
        return f"s3://{self._bucket}/{key}"


class _DigestingReader:
    """Passes an upload body through, working out the size and ETag S3 will report,
    so a put needs no HeadObject (which a put-only role may not be allowed).

    Deliberately not seekable: the transfer manager then reads it exactly once, front
    to back, and splits it into parts of exactly ``part_size`` bytes. S3's ETag is the
    MD5 of the body for a single PutObject, and for a multipart upload the MD5 of the
    concatenated part MD5s followed by ``-<parts>``."""

    def __init__(self, body: BinaryIO, part_size: int) -> None:
        self._body = body
        self._part_size = part_size
        self._whole = hashlib.md5(usedforsecurity=False)
        self._part = hashlib.md5(usedforsecurity=False)
        self._part_filled = 0
        self._part_digests: list[bytes] = []
        self.size = 0

    def readable(self) -> bool:
        return True

    def read(self, amount: int | None = -1) -> bytes:
        data = self._body.read(-1 if amount is None else amount)
        self._whole.update(data)
        self.size += len(data)
        view = memoryview(data)
        while view:
            take = min(len(view), self._part_size - self._part_filled)
            self._part.update(view[:take])
            self._part_filled += take
            view = view[take:]
            if self._part_filled == self._part_size:
                self._part_digests.append(self._part.digest())
                self._part = hashlib.md5(usedforsecurity=False)
                self._part_filled = 0
        return data

    def etag(self, *, multipart: bool) -> str:
        if not multipart:
            return self._whole.hexdigest()
        digests = self._part_digests + ([self._part.digest()] if self._part_filled else [])
        combined = hashlib.md5(b"".join(digests), usedforsecurity=False).hexdigest()
        return f"{combined}-{len(digests)}"
