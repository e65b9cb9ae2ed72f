"""`--backbone timm:<model>`: the name parsing and the adapter, with a stand-in `timm` module (the real one
needs torchvision, which this CPU build of torch cannot load here)."""

import sys
import types

import pytest
import torch

from fbn_bench import FbnError
from fbn_bench.config import RunConfig
from fbn_bench.model import build_model
from fbn_bench.registry import get_registry


@pytest.fixture
def fake_timm(monkeypatch):
    calls = []

    def create_model(name, pretrained, num_classes, **kwargs):
        calls.append((name, pretrained, num_classes, kwargs))
        if name != "tiny":
            raise RuntimeError(f"Unknown model ({name})")
        net = torch.nn.Sequential(torch.nn.Conv2d(3, 8, 3), torch.nn.AdaptiveAvgPool2d(1), torch.nn.Flatten())
        net.num_features = 8
        return net

    monkeypatch.setitem(sys.modules, "timm", types.SimpleNamespace(create_model=create_model))
    return calls


def test_the_model_name_is_the_positional_option():
    registry = get_registry()
    assert registry.resolve("backbones", "timm:resnet18").options == {"model": "resnet18"}
    with_extra = registry.resolve("backbones", "timm:resnet18,drop_rate=0.1")
    assert with_extra.options == {"model": "resnet18", "drop_rate": 0.1}  # forwarded to timm, read as a number
    assert with_extra.name == "timm:drop_rate=0.1,model=resnet18"
    assert registry.resolve("backbones", "timm:model=resnet18").options == {"model": "resnet18"}
    with pytest.raises(FbnError, match="has no value"):  # only a backbone with a positional option takes a bare value
        registry.resolve("backbones", "small:32")


def test_a_timm_model_becomes_the_backbone_without_downloading(fake_timm):
    model = build_model(RunConfig(backbone="timm:tiny,drop_rate=0.1", image_size=32), get_registry())
    outputs = model(torch.zeros(2, 3, 32, 32))
    assert {k: tuple(v.shape) for k, v in outputs.items()} == {"va": (2, 2), "expr": (2, 7), "au": (2, 17)}
    assert fake_timm == [("tiny", False, 0, {"drop_rate": 0.1})]  # pretrained=False, no classifier


def test_unknown_timm_model_and_missing_timm_are_one_line_errors(fake_timm, monkeypatch):
    with pytest.raises(FbnError, match="timm has no model 'nope'"):
        build_model(RunConfig(backbone="timm:nope"), get_registry())
    with pytest.raises(FbnError, match="name the timm model"):
        build_model(RunConfig(backbone="timm"), get_registry())
    monkeypatch.setitem(sys.modules, "timm", None)
    with pytest.raises(FbnError, match=r"pip install 'fbn-bench\[timm\]'"):
        build_model(RunConfig(backbone="timm:tiny"), get_registry())
