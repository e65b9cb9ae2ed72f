"""Resumable runs: the whole training state in `<run>/state.pt`, saved after every validation and when the
process is asked to stop (SIGTERM, SIGUSR1, SIGUSR2: a scheduler's preemption), atomically; `fbn-bench run
--resume RUN_DIR` continues from it. A run killed at any step and resumed ends with the same records and predictions as
one never interrupted (on a CPU; tests/test_resume.py), because the state holds everything the remaining
steps read: weights, optimizer, learning-rate schedule, the random states (torch's, and the augmentation's
generator), the loop's running sums and history, and the checkpoint selection so far. The task streams need
no state: a batch is a pure function of seed, step and rank.
"""

from __future__ import annotations

import signal
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

from .errors import FbnError

STATE_FILE = "state.pt"
# SIGUSR2 is submitit's preemption / time-limit signal (a sweep's jobs): saved here first, then handed on to it.
STOP_SIGNALS = tuple(getattr(signal, n) for n in ("SIGTERM", "SIGUSR1", "SIGUSR2") if hasattr(signal, n))


@dataclass
class Progress:
    """What the training loop carries from one step to the next."""

    step: int = 0  # steps completed
    sums: dict[str, Any] = field(default_factory=dict)  # running sums of the loss terms since the last epoch end
    count: int = 0
    epoch: int = 0
    history: list[dict[str, float]] = field(default_factory=list)  # one row per finished epoch

    def add(self, step: int, terms: dict[str, Any]) -> None:
        """One step's loss terms, added on their device (reading them back would wait for it)."""
        for name, value in terms.items():
            value = value.detach().float()
            self.sums[name] = self.sums[name] + value if name in self.sums else value
        self.count += 1
        self.step = step

    def mean_loss(self) -> float:
        return float(self.sums["loss"]) / self.count

    def end_epoch(self) -> dict[str, float]:
        """Close the epoch: its log row (the mean of each term) joins the history and the sums restart."""
        self.epoch += 1
        row = {"epoch": self.epoch, "step": self.step, **{k: float(v) / self.count for k, v in self.sums.items()}}
        self.history.append(row)
        self.sums, self.count = {}, 0
        return row


class Preempted(FbnError):
    """The process was asked to stop; its state is saved."""


class StopRequests:
    """Turns SIGTERM / SIGUSR1 into a flag the loop checks at the end of each step (a handler must not save
    mid-step); restores the previous handlers on exit. Only the main thread can install handlers."""

    def __init__(self, run_dir: Path | None = None) -> None:
        self.run_dir = run_dir  # named in the stop message, so the user can paste the resume command
        self.signal: int | None = None
        self._previous: dict[int, Any] = {}

    def __enter__(self) -> StopRequests:
        import threading

        if threading.current_thread() is threading.main_thread():
            for sig in STOP_SIGNALS:
                self._previous[sig] = signal.signal(sig, self._note)
        return self

    def _note(self, signum, frame) -> None:
        self.signal = signum

    def __exit__(self, *exc) -> None:
        for sig, handler in self._previous.items():
            signal.signal(sig, handler)

    @property
    def name(self) -> str:
        return signal.Signals(self.signal).name if self.signal is not None else ""


def save_state(folder, accelerator, model, optimizer, schedule, generator, progress: Progress, selector) -> None:
    """Write the training state of the run in `folder` (run_folder.RunFolder) into `<folder>/state.pt`: the
    main process writes one file; every process's random state travels in it."""
    import torch

    from .checkpoint import save_torch_file

    rng = {"torch": torch.get_rng_state(), "generator": generator.get_state()}
    if torch.cuda.is_available():
        rng["cuda"] = torch.cuda.get_rng_state_all()
    if accelerator.num_processes > 1:
        from accelerate.utils import gather_object

        rngs = gather_object([rng])
    else:
        rngs = [rng]
    if not accelerator.is_main_process:
        return
    state = {
        "model": accelerator.unwrap_model(model).state_dict(),
        "optimizer": optimizer.state_dict(),
        "schedule": schedule.state_dict(),
        "rng": rngs,
        "progress": progress.__dict__,
        "selector": selector.state_dict() if selector is not None else None,
        "world_size": accelerator.num_processes,
        "run_id": folder.run_id,
    }
    save_torch_file(Path(folder.path) / STATE_FILE, state, "training state")


def load_state(run_dir: Path, accelerator) -> dict[str, Any]:
    """The saved state of `run_dir`, checked against this launch (same number of processes)."""
    import torch

    from .results import RESULTS_FILE

    path = Path(run_dir) / STATE_FILE
    if (Path(run_dir) / RESULTS_FILE).is_file():
        raise FbnError(f"{run_dir} holds a finished run ({RESULTS_FILE} is written): there is nothing to resume")
    if not path.is_file():
        raise FbnError(
            f"{run_dir} holds no {STATE_FILE}: nothing to resume (a run saves it at its first validation); "
            "start it again"
        )
    try:
        # Our own file, written by save_state: it holds val prediction frames, hence weights_only=False.
        state = torch.load(path, map_location="cpu", weights_only=False)
    except Exception as exc:  # noqa: BLE001 - a damaged file of any kind is the same one line
        raise FbnError(
            f"{path} is unreadable ({type(exc).__name__}); the run cannot be resumed, start it again"
        ) from None
    if state.get("world_size") != accelerator.num_processes:
        raise FbnError(
            f"{path} was saved by {state.get('world_size')} processes; resume it with as many "
            f"(--num-processes {state.get('world_size')}), not {accelerator.num_processes}"
        )
    return state


def restore_random_state(state: dict[str, Any], rank: int, generator) -> None:
    import torch

    rng = state["rng"][rank]
    torch.set_rng_state(rng["torch"])
    generator.set_state(rng["generator"])
    if "cuda" in rng and torch.cuda.is_available():
        torch.cuda.set_rng_state_all(rng["cuda"])
