"""`fbn-bench predict`: faces in photos and videos, scored by a trained run."""

from __future__ import annotations

from pathlib import Path

import click


@click.command()
@click.argument("inputs", nargs=-1, required=True, type=click.Path(exists=True))
@click.option(
    "--run",
    "run_path",
    required=True,
    type=click.Path(exists=True),
    help="A finished run folder (runs/<id>) or its checkpoint.pt.",
)
@click.option(
    "--out",
    default="predictions.csv",
    show_default=True,
    type=click.Path(dir_okay=False),
    help="The CSV to write: one row per face per frame.",
)
@click.option(
    "--face-detector",
    default=None,
    help="Detector plugin text (default: the run's; haar when the run used none). 'none': each input is a face.",
)
@click.option("--face-crop", type=click.Choice(["box", "align"]), default=None, help="Crop (default: the run's).")
@click.option("--largest", is_flag=True, help="Only the largest face of each picture or frame (default: every face).")
@click.option("--batch-size", type=int, default=64, show_default=True, help="Faces scored at once on the device.")
@click.option(
    "--annotate",
    default=None,
    type=click.Path(file_okay=False),
    help="Also write each input with its faces boxed and labelled into this folder (PNG / MP4).",
)
@click.option("--cpu", is_flag=True, help="Stay on the CPU even when a GPU is present.")
@click.option("--no-progress", is_flag=True, help="No progress bar.")
def predict(inputs, run_path, out, face_detector, face_crop, largest, batch_size, annotate, cpu, no_progress) -> None:
    """Find the faces in INPUTS (pictures, videos, folders of them) and write valence, arousal, the 7 expression
    probabilities and the 17 AU probabilities of each (columns named like py-feat's Fex) to a CSV."""
    from ..errors import FbnError
    from ..faces.frontend import FaceFrontEnd
    from ..predict import echo_report, load_model, predict_media, write_table
    from ..registry import get_registry

    if batch_size < 1:
        raise FbnError(f"--batch-size must be 1 or more, got {batch_size}")
    registry = get_registry()
    model, config, device = load_model(run_path, registry, cpu)
    detector = face_detector or (config.face_detector if config.face_detector != "none" else "haar")
    front = FaceFrontEnd.from_settings(registry, detector, face_crop or config.face_crop)
    table, report = predict_media(
        inputs,
        model,
        front,
        config.image_size,
        device=device,
        batch_size=batch_size,
        only_largest=largest,
        annotate=Path(annotate) if annotate else None,
        progress=not no_progress,
    )
    write_table(table, Path(out))
    echo_report(report, Path(out))
