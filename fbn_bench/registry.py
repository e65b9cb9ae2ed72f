"""The plugin manager: finds plugins (entry points of the `fbn_bench` group, then the modules named in
`FBN_BENCH_PLUGINS`), asks each what it registers, and answers lookups by name.

Built-in plugins go through exactly this path; the core never imports `fbn_plugins`.
"""

from __future__ import annotations

import importlib
import importlib.metadata as metadata
import os
import re
import sys
from dataclasses import dataclass, field
from typing import Any

import pluggy

from . import hookspecs
from .errors import FbnError, one_line, unknown_name_error
from .observers import ObserverHooks
from .options import ResolvedPlugin, resolve_plugin, split_named
from .specs import BackboneSpec, CouplingSpec, DatasetSpec, DetectorSpec, MetricSpec, ZeroShotSpec

ENTRY_POINT_GROUP = "fbn_bench"
PLUGINS_ENV = "FBN_BENCH_PLUGINS"

OBSERVER_HOOKS = ("on_run_start", "on_epoch_end", "on_run_end", "on_run_failed")

# How a failure that leaves the rest of the plugin working starts (the plugin is not skipped).
UNKNOWN_HOOK = "unknown hook"

# kind -> (hook name, spec type, singular noun for messages)
KINDS: dict[str, tuple[str, type, str]] = {
    "datasets": ("register_datasets", DatasetSpec, "dataset"),
    "backbones": ("register_backbones", BackboneSpec, "backbone"),
    "couplings": ("register_couplings", CouplingSpec, "coupling"),
    "metrics": ("register_metrics", MetricSpec, "metric"),
    "zero_shot": ("register_zero_shot", ZeroShotSpec, "zero-shot scorer"),
    "detectors": ("register_detectors", DetectorSpec, "face detector"),
}


@dataclass(frozen=True)
class Entry:
    """A registered spec and where it came from."""

    spec: Any
    plugin: str  # module name
    distribution: str | None  # the installed distribution, None for FBN_BENCH_PLUGINS modules


@dataclass
class Registry:
    pm: pluggy.PluginManager
    entries: dict[str, dict[str, Entry]] = field(default_factory=lambda: {k: {} for k in KINDS})
    # (plugin name, one-line error) for plugins that failed to import or to register.
    failures: list[tuple[str, str]] = field(default_factory=list)
    # plugin module -> the distribution that installed it (None for FBN_BENCH_PLUGINS modules).
    origins: dict[str, str | None] = field(default_factory=dict)

    def get(self, kind: str, name: str) -> Any:
        """The spec registered under `name`, or a one-line error listing what is available."""
        try:
            return self.entries[kind][name].spec
        except KeyError:
            raise unknown_name_error(KINDS[kind][2], name, self.entries[kind]) from None

    def dataset(self, name: str) -> DatasetSpec:
        return self.get("datasets", name)

    def backbone(self, name: str) -> BackboneSpec:
        return self.get("backbones", name)

    def coupling(self, name: str) -> CouplingSpec:
        return self.get("couplings", name)

    def metric(self, name: str) -> MetricSpec:
        return self.get("metrics", name)

    def resolve(self, kind: str, text: str, context: dict[str, Any] | None = None) -> ResolvedPlugin:
        """`"disfa:fold=2.0"` -> the disfa spec with {"fold": 2, "threshold": 2, ...} named `disfa:fold=2`.
        `context` holds what options may follow (options.IMAGE_SIZE)."""
        name = text.strip().partition(":")[0].strip()  # the options are parsed once the spec says which is positional
        spec = self.get(kind, name)
        options = split_named(text, getattr(spec, "positional_option", None))[1]
        return resolve_plugin(kind, spec, options, context)

    def find(self, kind: str, text: str) -> Any | None:
        """The spec that canonical text such as a record's `synth-disfa:scale=0.5` names, or None when no
        installed plugin registers its name (a leaderboard still shows records of uninstalled plugins)."""
        return self.entries[kind].get(text.strip().partition(":")[0].strip(), Entry(None, "", None)).spec

    def names(self, kind: str) -> list[str]:
        return sorted(self.entries[kind])

    def specs(self, kind: str) -> list[Any]:
        return [self.entries[kind][n].spec for n in self.names(kind)]

    def hook(self) -> ObserverHooks:
        """The observer hooks (`on_run_start`, `on_epoch_end`, `on_run_end`) of one run; a plugin that raises in
        one is warned about and skipped, the others still run."""
        return ObserverHooks(self.pm)

    def observers(self) -> dict[str, list[str]]:
        """Plugin module -> the observer hooks it implements (loggers and the like), in hook order."""
        found: dict[str, list[str]] = {}
        for hook_name in OBSERVER_HOOKS:
            for impl in getattr(self.pm.hook, hook_name).get_hookimpls():
                found.setdefault(impl.plugin_name, []).append(hook_name)
        return dict(sorted(found.items()))


def _distribution_of(ep: metadata.EntryPoint) -> str | None:
    dist = getattr(ep, "dist", None)
    return dist.name if dist is not None else None


def _registration_error(exc: BaseException, pm: pluggy.PluginManager) -> str:
    """`one_line(exc)`, plus the hookspec's signature when pluggy rejected a hook implementation's arguments."""
    message = one_line(exc)
    named = re.search(r"for hook '(\w+)'", str(exc)) if isinstance(exc, pluggy.PluginValidationError) else None
    spec = getattr(getattr(pm.hook, named.group(1), None), "spec", None) if named else None
    if spec is not None:
        message += f"; the hookspec is {spec.name}({', '.join(spec.argnames)})"
    return message


def _unknown_hooks(pm: pluggy.PluginManager) -> list[tuple[str, str]]:
    """(plugin, message) for each hook implementation that matches no hookspec: a typo pluggy would ignore."""
    known = [name for name, caller in vars(pm.hook).items() if caller.has_spec()]
    found = []
    for plugin_name, plugin in sorted(pm.list_name_plugin(), key=lambda item: item[0]):
        for caller in pm.get_hookcallers(plugin) or []:
            if caller.has_spec():
                continue
            impls = [i for i in caller.get_hookimpls() if i.plugin is plugin and not i.optionalhook]
            if impls:
                error = unknown_name_error("hook", caller.name, known)
                found.append((plugin_name, f"{error}; it is never called (the plugin's other hooks work)"))
    return found


def describe_failure(plugin: str, error: str) -> str:
    """The warning printed for an entry of `Registry.failures`."""
    if error.startswith(UNKNOWN_HOOK):
        return f"Warning: plugin {plugin}: {error}"
    return f"Warning: plugin {plugin} failed to load and was skipped: {error}"


def build_registry(extra_modules: list[str] | None = None, use_entry_points: bool = True) -> Registry:
    """Load every plugin and collect what it registers. Broken plugins are recorded, not fatal."""
    pm = pluggy.PluginManager(ENTRY_POINT_GROUP)
    pm.add_hookspecs(hookspecs)
    registry = Registry(pm)
    origins = registry.origins

    if use_entry_points:
        for ep in sorted(metadata.entry_points(group=ENTRY_POINT_GROUP), key=lambda e: e.name):
            try:
                module = ep.load()
                if pm.get_plugin(module.__name__) is None:
                    pm.register(module, name=module.__name__)
                origins[module.__name__] = _distribution_of(ep)
            except Exception as exc:  # a broken third-party plugin must not take the tool down
                registry.failures.append((ep.value, _registration_error(exc, pm)))

    env_modules = [m.strip() for m in os.environ.get(PLUGINS_ENV, "").split(",") if m.strip()]
    for module_name in [*env_modules, *(extra_modules or [])]:
        try:
            module = importlib.import_module(module_name)
            if pm.get_plugin(module.__name__) is None:
                pm.register(module, name=module.__name__)
                origins.setdefault(module.__name__, None)
        except Exception as exc:
            registry.failures.append((module_name, _registration_error(exc, pm)))
    registry.failures.extend(_unknown_hooks(pm))

    for kind, (hook_name, spec_type, noun) in KINDS.items():
        for impl in getattr(pm.hook, hook_name).get_hookimpls():
            plugin = impl.plugin_name
            found: list[Any] = []
            try:
                impl.function(register=found.append)
            except Exception as exc:
                registry.failures.append((plugin, f"{hook_name} raised {one_line(exc)}"))
                continue
            for spec in found:
                if not isinstance(spec, spec_type):
                    registry.failures.append(
                        (plugin, f"{hook_name} registered a {type(spec).__name__}, expected {spec_type.__name__}")
                    )
                    continue
                clash = registry.entries[kind].get(spec.name)
                if clash is not None and clash.plugin == plugin:
                    raise FbnError(
                        f"{noun} {spec.name!r} is registered twice by the same plugin, {plugin} "
                        f"({origins.get(plugin) or PLUGINS_ENV}); register each name once"
                    )
                if clash is not None:
                    raise FbnError(
                        f"{noun} {spec.name!r} is registered twice: by {clash.plugin} "
                        f"({clash.distribution or PLUGINS_ENV}) and by {plugin} "
                        f"({origins.get(plugin) or PLUGINS_ENV}); uninstall or rename one"
                    )
                registry.entries[kind][spec.name] = Entry(spec, plugin, origins.get(plugin))
    return registry


_REGISTRY: Registry | None = None


def get_registry(reload: bool = False) -> Registry:
    """The process-wide registry, built on first use. Import failures are warned about once, on stderr."""
    global _REGISTRY
    if _REGISTRY is None or reload:
        _REGISTRY = build_registry()
        for plugin, error in _REGISTRY.failures:
            print(describe_failure(plugin, error), file=sys.stderr)
    return _REGISTRY
