"""`fbn-bench plugins`: what is registered, and by whom."""

from __future__ import annotations

import json

import click

from ..options import describe_options
from ..registry import KINDS, get_registry


def plugins_listing() -> dict[str, list[dict]]:
    """Every registered name with the module and distribution that registered it."""
    registry = get_registry()
    listing: dict[str, list[dict]] = {}
    for kind in KINDS:
        rows = []
        for name in registry.names(kind):
            entry = registry.entries[kind][name]
            row = {
                "name": name,
                "plugin": entry.plugin,
                "distribution": entry.distribution,
                "description": getattr(entry.spec, "description", ""),
            }
            if kind == "datasets":
                row["tasks"] = sorted(entry.spec.tasks)
                row["aus"] = list(entry.spec.aus)
            if kind != "metrics":
                row["options"] = describe_options(entry.spec)
            rows.append(row)
        listing[kind] = rows
    listing["observers"] = [
        {"plugin": plugin, "hooks": hooks, "distribution": registry.origins.get(plugin)}
        for plugin, hooks in registry.observers().items()
    ]
    listing["failures"] = [{"plugin": p, "error": e} for p, e in registry.failures]
    return listing


@click.command()
@click.option("--json", "as_json", is_flag=True, help="Print a JSON object instead of tables.")
def plugins(as_json: bool) -> None:
    """List registered datasets, backbones, couplings and metrics, the plugin behind each, and the observers
    (loggers) that watch every run."""
    from tabulate import tabulate

    listing = plugins_listing()
    if as_json:
        click.echo(json.dumps(listing, indent=2))
        return
    for kind in KINDS:
        click.echo(click.style(f"{kind} ({len(listing[kind])})", bold=True))
        rows = [[r["name"], r["plugin"], r["distribution"] or "(FBN_BENCH_PLUGINS)"] for r in listing[kind]]
        click.echo(tabulate(rows, headers=["name", "plugin", "distribution"]) if rows else "  (none)")
        click.echo()
    observers = listing["observers"]
    click.echo(click.style(f"observers ({len(observers)})", bold=True))
    rows = [[o["plugin"], ", ".join(o["hooks"]), o["distribution"] or "(FBN_BENCH_PLUGINS)"] for o in observers]
    click.echo(tabulate(rows, headers=["plugin", "hooks", "distribution"]) if rows else "  (none)")
    # Plugin failures are not repeated here: get_registry() warned about each on stderr when it loaded them.
