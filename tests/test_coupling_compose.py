"""Couplings as plugins: `+` composition, term names, options, weights, and which head each one trains."""

from __future__ import annotations

from pathlib import Path

import pytest
import torch

from fbn_bench import AUS, FbnError
from fbn_bench.coupling import relatedness, relatedness_tensor
from fbn_bench.coupling.compose import build_coupling, parse_coupling
from fbn_bench.registry import build_registry

ROOT = Path(__file__).resolve().parents[1]

R = relatedness_tensor(relatedness())
ALL = ("va", "expr", "au")


@pytest.fixture(scope="module")
def registry():
    return build_registry()


def mixed_batch():
    """Rows 0-1: expression labels only; rows 2-3: all 17 AUs only (a surprise pattern and an
    all-off one); row 4: some AUs and an expression; row 5: nothing (a VA-only image)."""
    expr = torch.tensor([1, 4, -1, -1, 3, -1])
    au = torch.zeros(6, 17)
    mask = torch.zeros(6, 17, dtype=torch.bool)
    mask[2:4] = True
    for a in (1, 2, 25, 26):
        au[2, AUS.index(a)] = 1
    mask[4, :5] = True
    au[4, :2] = 1
    return {
        "expr": expr,
        "au": au,
        "au_mask": mask,
        "va": torch.zeros(6, 2),
        "va_mask": torch.zeros(6, dtype=torch.bool),
    }


def outputs(seed=0):
    g = torch.Generator().manual_seed(seed)
    return {
        "expr": torch.randn(6, 7, generator=g).requires_grad_(),
        "au": torch.randn(6, 17, generator=g).requires_grad_(),
        "va": torch.randn(6, 2, generator=g),
    }


def grads(term, out):
    """(expression head got a gradient, AU head got a gradient) from one term."""
    if not term.requires_grad:  # every input it uses was detached
        return False, False
    gz, ga = torch.autograd.grad(term, (out["expr"], out["au"]), retain_graph=True, allow_unused=True)
    nonzero = lambda g: g is not None and bool(g.abs().sum() > 0)
    return nonzero(gz), nonzero(ga)


def test_parse_coupling():
    assert parse_coupling("none") == [] and parse_coupling("") == [] and parse_coupling(None) == []
    assert parse_coupling("soft+dm") == [("soft", {}), ("dm", {})]
    # Values as written: each coupling's schema reads them (options.resolve_plugin).
    assert parse_coupling("soft:temperature=2+dm:weight=0.5,reverse=true") == [
        ("soft", {"temperature": "2"}),
        ("dm", {"weight": "0.5", "reverse": "true"}),
    ]
    assert parse_coupling("dm:weight=1e+3") == [("dm", {"weight": "1e+3"})]
    for bad, message in (
        ("soft+soft", "twice"),
        ("none+dm", "cannot be combined"),
        ("soft+", "empty part"),
        ("+dm", "empty part"),
        ("co++dm", "empty part"),
    ):
        with pytest.raises(FbnError, match=message):
            parse_coupling(bad)


def test_none_builds_nothing(registry):
    coupling = build_coupling("none", registry, R, ALL)
    assert coupling(outputs(), mixed_batch()) == {} and not coupling


def test_term_names_are_prefixed_and_separate(registry):
    coupling = build_coupling("co+soft+dm:reverse=true", registry, R, ALL)
    terms = coupling(outputs(), mixed_batch())
    assert list(terms) == ["co/au", "co/expr", "soft/au", "soft/expr", "dm", "dm/reverse"]
    for value in terms.values():
        assert value.dim() == 0 and torch.isfinite(value) and value.item() > 0


@pytest.mark.parametrize(
    "text, expr_head, au_head",
    [
        ("co", {"co/expr"}, {"co/au"}),
        ("soft", {"soft/expr"}, {"soft/au"}),
        ("dm", {"dm"}, {"dm"}),
        ("dm:reverse=true", {"dm", "dm/reverse"}, {"dm", "dm/reverse"}),
        ("dm:stop_gradient=expr,reverse=true", set(), {"dm", "dm/reverse"}),
        ("dm:stop_gradient=au,reverse=true", {"dm", "dm/reverse"}, set()),
        ("soft:stop_gradient=expr", set(), {"soft/au"}),
        ("co:stop_gradient=au", {"co/expr"}, set()),
    ],
)
def test_each_term_reaches_exactly_the_heads_it_should(registry, text, expr_head, au_head):
    out = outputs()
    terms = build_coupling(text, registry, R, ALL)(out, mixed_batch())
    for name, term in terms.items():
        assert grads(term, out) == (name in expr_head, name in au_head), name


def test_weight_scales_every_term(registry):
    out, batch = outputs(), mixed_batch()
    base = build_coupling("co:weight=1+soft:weight=1+dm:reverse=true,weight=1", registry, R, ALL)(out, batch)
    half = build_coupling("co:weight=0.5+soft:weight=0.5+dm:reverse=true,weight=0.5", registry, R, ALL)(out, batch)
    for name in base:
        assert half[name].item() == pytest.approx(0.5 * base[name].item(), rel=1e-6)


def test_default_weights_scale_the_terms(registry):
    out, batch = outputs(), mixed_batch()
    default = build_coupling("co+soft:temperature=2+dm:reverse=true", registry, R, ALL)(out, batch)
    one = build_coupling("co:weight=1+soft:temperature=2,weight=1+dm:reverse=true,weight=1", registry, R, ALL)(
        out, batch
    )
    weights = {"co": 0.1, "soft": 0.3, "dm": 0.3}
    for name in one:
        assert default[name].item() == pytest.approx(weights[name.split("/")[0]] * one[name].item(), rel=1e-6)


def test_the_defaults_are_the_options_the_tuning_chose_on_val(registry):
    """The committed coupling-tuning sweep's choice (3 seeds, val only) is what `--coupling co` etc. mean:
    each chosen text resolves to the bare coupling name, i.e. every chosen value is the default."""
    from fbn_bench.sweep_presets import chosen_couplings

    chosen = chosen_couplings(ROOT / "sweeps" / "v2" / "coupling-tuning" / "chosen-on-val.toml")
    assert sorted(chosen) == ["co", "dm", "soft"]
    for name, text in chosen.items():
        assert registry.resolve("couplings", text).name == name, f"{text} is not {name}'s defaults"


def test_temperature_changes_only_the_soft_expression_term(registry):
    out, batch = outputs(), mixed_batch()
    t1 = build_coupling("soft", registry, R, ALL)(out, batch)
    t5 = build_coupling("soft:temperature=5", registry, R, ALL)(out, batch)
    assert t1["soft/au"].item() == t5["soft/au"].item()
    assert t1["soft/expr"].item() != pytest.approx(t5["soft/expr"].item())


def test_half_precision_outputs_give_float32_terms(registry):
    out = {k: v.detach().half() for k, v in outputs().items()}
    terms = build_coupling("co+soft+dm:reverse=true", registry, R, ALL)(out, mixed_batch())
    assert all(t.dtype == torch.float32 and torch.isfinite(t) for t in terms.values())


def test_user_errors_are_one_line(registry):
    cases = [
        ("sfot", ALL, "unknown coupling 'sfot' (did you mean 'soft'?); available: co, dm, soft"),
        ("soft+dn", ALL, "unknown coupling 'dn' (did you mean 'dm'?)"),  # one letter off a two-letter name
        ("soft+xy", ALL, "unknown coupling 'xy'; available"),  # nothing close: no guess
        (
            "soft:temprature=2",
            ALL,
            "coupling 'soft' has no option 'temprature'; its options: base_rate, eps, stop_gradient, temperature, unlisted, weight",
        ),
        ("dm", ("va", "au"), "coupling 'dm' needs the expr head(s)"),
        ("soft:temperature=0", ALL, "coupling 'soft': option temperature=0 is invalid; use a number > 0"),
        ("dm:stop_gradient=va", ALL, "option stop_gradient=va is invalid; use one of none, expr, au"),
        ("dm:reverse=maybe", ALL, "option reverse=maybe is invalid; use true or false"),
        ("co:weight=heavy", ALL, "option weight=heavy is invalid; use a number >= 0"),
        ("co:threshold=1", ALL, "no AU is prototypical"),
    ]
    for text, tasks, message in cases:
        with pytest.raises(FbnError) as info:
            build_coupling(text, registry, R, tasks)
        assert message in str(info.value) and "\n" not in str(info.value), text


def test_a_third_party_table_must_be_7_by_17(registry):
    with pytest.raises(FbnError, match="must be 7 x 17"):
        build_coupling("dm", registry, torch.zeros(7, 16), ALL)


def test_a_coupling_version_is_recorded_and_changes_the_config_hash(registry):
    import dataclasses

    from fbn_bench.config import RunConfig
    from fbn_bench.plugin_options import resolved_plugins
    from fbn_bench.results import config_hash

    config = RunConfig(datasets=("synth-rafdb",), coupling="soft+dm")
    plugins = resolved_plugins(config, registry, [])
    assert [(c["name"], c["version"]) for c in plugins["coupling"]] == [("soft", "1"), ("dm", "2")]
    entry = registry.entries["couplings"]["dm"]
    registry.entries["couplings"]["dm"] = dataclasses.replace(entry, spec=dataclasses.replace(entry.spec, version="1"))
    try:
        older = resolved_plugins(config, registry, [])
    finally:
        registry.entries["couplings"]["dm"] = entry
    assert config_hash(config.to_dict(), plugins) != config_hash(config.to_dict(), older)


def test_new_options_change_the_terms_they_should(registry):
    out, batch = outputs(3), mixed_batch()
    plain = build_coupling("co+soft+dm", registry, R, ALL)(out, batch)
    varied = build_coupling(
        "co:observational=true+soft:unlisted=masked+dm:unlisted=base_rate,base_rate=0.2", registry, R, ALL
    )(out, batch)
    for term in ("co/au", "soft/au", "dm"):
        assert varied[term].item() != pytest.approx(plain[term].item()), term
    for term in ("co/expr",):  # observational AUs never confirm an expression
        assert varied[term].item() == pytest.approx(plain[term].item())
    same = build_coupling("soft:unlisted=impossible", registry, R, ALL)(out, batch)
    assert same["soft/au"].item() == pytest.approx(plain["soft/au"].item())


@pytest.mark.parametrize(
    "text, message",
    [
        ("soft:unlisted=sometimes", "option unlisted=sometimes is invalid; use one of impossible, base_rate, masked"),
        ("dm:unlisted=base_rate,base_rate=2", "option base_rate=2 is invalid; use a number in [0, 1]"),
        ("co:observational=perhaps", "option observational=perhaps is invalid; use true or false"),
    ],
)
def test_new_option_errors_are_one_line(registry, text, message):
    with pytest.raises(FbnError) as info:
        build_coupling(text, registry, R, ALL)
    assert message in str(info.value) and "\n" not in str(info.value)
