"""The one checkpoint format: a safetensors file holding tensors plus JSON metadata.

Loading never unpickles, so a checkpoint from an untrusted source cannot run code. A
SHA-256 of the tensor payload stored in the metadata detects truncation and tampering.
"""

from __future__ import annotations

import hashlib
import json
import os
import tempfile
from pathlib import Path
from typing import Any

import torch
from safetensors import SafetensorError, safe_open
from safetensors.torch import save_file

__all__ = ["FORMAT", "load_checkpoint", "save_checkpoint"]

FORMAT = "neurolatent-checkpoint/1"
_KEY = "neurolatent"


def _digest(tensors: dict[str, torch.Tensor]) -> str:
    sha = hashlib.sha256()
    for name in sorted(tensors):
        tensor = tensors[name].detach().cpu().contiguous()
        sha.update(name.encode())
        sha.update(str(tensor.dtype).encode() + str(tuple(tensor.shape)).encode())
        if tensor.numel():
            sha.update(tensor.reshape(-1).view(torch.uint8).numpy().tobytes())
    return sha.hexdigest()


def save_checkpoint(path: str | os.PathLike, tensors: dict[str, torch.Tensor],
                    metadata: dict[str, Any]) -> Path:
    """Write ``tensors`` and JSON ``metadata`` atomically to ``path``.

    Examples
    --------
    >>> import tempfile, pathlib
    >>> p = pathlib.Path(tempfile.mkdtemp()) / "m.safetensors"
    >>> _ = save_checkpoint(p, {"w": torch.ones(2)}, {"a": 1})
    >>> t, meta = load_checkpoint(p)
    >>> t["w"].tolist(), meta["a"]
    ([1.0, 1.0], 1)
    """
    path = Path(path)
    tensors = {k: v.detach().cpu().contiguous() for k, v in tensors.items()}
    header = {"format": FORMAT, "sha256": _digest(tensors), **metadata}
    path.parent.mkdir(parents=True, exist_ok=True)
    fd, tmp = tempfile.mkstemp(dir=path.parent, prefix=path.name, suffix=".tmp")
    os.close(fd)
    try:
        save_file(tensors, tmp, metadata={_KEY: json.dumps(header)})
        os.replace(tmp, path)  # atomic: a crash never leaves a half-written checkpoint
    finally:
        if os.path.exists(tmp):
            os.remove(tmp)
    return path


def load_checkpoint(path: str | os.PathLike,
                    device: str | torch.device = "cpu") -> tuple[dict[str, torch.Tensor], dict]:
    """Read a checkpoint written by :func:`save_checkpoint`, tensors on ``device``.

    >>> load_checkpoint("/nonexistent.safetensors")
    Traceback (most recent call last):
    ...
    FileNotFoundError: path: no checkpoint file at '/nonexistent.safetensors'.
    """
    path = Path(path)
    if not path.is_file():
        raise FileNotFoundError(f"path: no checkpoint file at {str(path)!r}.")
    try:
        with safe_open(str(path), framework="pt", device="cpu") as handle:
            raw = (handle.metadata() or {}).get(_KEY)
            tensors = {name: handle.get_tensor(name) for name in handle.keys()}  # noqa: SIM118
    except (SafetensorError, OSError, ValueError, RuntimeError) as error:
        raise ValueError(
            f"path: {str(path)!r} is not a readable safetensors checkpoint (truncated or "
            f"corrupted file?): {error}"
        ) from None
    if raw is None:
        raise ValueError(f"path: {str(path)!r} is a safetensors file but not a neurolatent "
                         "checkpoint (no 'neurolatent' metadata).")
    try:
        metadata = json.loads(raw)
    except json.JSONDecodeError as error:
        raise ValueError(f"path: metadata of {str(path)!r} is not valid JSON: {error}") from None
    if metadata.get("format") != FORMAT:
        raise ValueError(f"path: unsupported checkpoint format {metadata.get('format')!r}; "
                         f"expected {FORMAT!r}.")
    if metadata.get("sha256") != _digest(tensors):
        raise ValueError(f"path: checksum mismatch in {str(path)!r}: the file was modified "
                         "or corrupted after it was saved.")
    return {k: v.to(device) for k, v in tensors.items()}, metadata
