"""`--weights FILE`: a local state dict loaded into any backbone, built-in or plugin. Nothing is downloaded."""

from __future__ import annotations

from pathlib import Path

from .errors import FbnError


def read_torch_file(path: Path, what: str):
    """`torch.load` of tensors only (no pickled code), on the CPU; an unreadable file is a one-line error."""
    import torch

    with open(path, "rb") as fh:
        head = fh.read(4)
    # torch.save writes a zip archive (PK..), or in the legacy format a pickle (protocol opcode 0x80): any other
    # start is not a torch file at all, whatever the unpickler would say about it.
    if not (head.startswith(b"PK\x03\x04") or head.startswith(b"\x80")):
        raise FbnError(
            f"{path}: is not a checkpoint or state dict (torch.save writes a zip archive; this file "
            f"{'is empty' if not head else f'starts with {head!r}'}); save `model.state_dict()` with torch.save "
            "and pass that file"
        )
    try:
        return torch.load(path, map_location="cpu", weights_only=True)
    except Exception as exc:
        if "weights_only" in str(exc):  # torch's long explanation of pickled code: say it in one line
            raise FbnError(
                f"{path}: holds pickled Python objects (a whole module?), not only tensors; save "
                "`model.state_dict()` with torch.save and pass that file"
            ) from None
        first = (str(exc).strip().splitlines() or [""])[0]
        raise FbnError(f"{path}: cannot be read as {what} ({type(exc).__name__}: {first})") from None


def load_weights(model, path: str | Path, prefix_candidates: tuple[str, ...] = ("", "backbone.", "module.")) -> None:
    """Load `path` (a state dict saved with torch.save) into `model`, tolerating common key prefixes.

    Every parameter of the model must be found; extra keys (e.g. a classifier) are ignored.
    """
    import torch

    path = Path(path)
    if not path.is_file():
        raise FbnError(f"weights file {path} does not exist; pass a local state dict (nothing is downloaded)")
    state = read_torch_file(path, "a torch state dict")
    state = state.get("state_dict", state) if isinstance(state, dict) else state
    if not isinstance(state, dict) or not all(isinstance(v, torch.Tensor) for v in state.values()):
        raise FbnError(
            f"{path}: holds a {type(state).__name__}, not a state dict of name -> tensor; save "
            "`model.state_dict()` with torch.save and pass that file"
        )
    wanted = model.state_dict()
    for prefix in prefix_candidates:
        picked = {k[len(prefix) :]: v for k, v in state.items() if k.startswith(prefix) and k[len(prefix) :] in wanted}
        if len(picked) == len(wanted):
            bad = [k for k, v in picked.items() if v.shape != wanted[k].shape]
            if bad:
                raise FbnError(
                    f"{path}: {bad[0]} has shape {tuple(picked[bad[0]].shape)}, the model expects {tuple(wanted[bad[0]].shape)}"
                )
            model.load_state_dict(picked)
            return
    missing = sorted(set(wanted) - {k for k in state})[:3]
    raise FbnError(
        f"{path}: does not match the backbone's layers (missing e.g. {', '.join(missing)}); see docs for the expected key names"
    )
