"""What the core checks of a backbone or coupling plugin: declared options, the output contract, weights and
random state left alone, and coupling terms that must be scalars; each mistake is one line naming the plugin."""

import pytest
import torch
from plugin_modules import write_plugin

from fbn_bench import FbnError
from fbn_bench.config import RunConfig
from fbn_bench.coupling.compose import ComposedCoupling
from fbn_bench.model import build_model
from fbn_bench.registry import build_registry, get_registry

# --- backbones ----------------------------------------------------------------------------------------------

BACKBONE_PLUGIN = """
    import torch
    from torch import nn
    from fbn_bench import BackboneSpec, hookimpl

    def no_out_features(image_size=16):
        return nn.Sequential(nn.Conv2d(3, 4, 3), nn.AdaptiveAvgPool2d(1), nn.Flatten())

    def feature_maps(image_size=16):
        net = nn.Sequential(nn.Conv2d(3, 4, 3, padding=1))  # (B, 4, H, W): forgot to pool and flatten
        net.out_features = 4
        return net

    def wrong_width(image_size=16):
        net = nn.Sequential(nn.Conv2d(3, 4, 3), nn.AdaptiveAvgPool2d(1), nn.Flatten())
        net.out_features = 8
        return net

    def crashes(image_size=16):
        net = nn.Sequential(nn.Flatten(), nn.Linear(3 * 10 * 10, 4))  # only fits 10 x 10 images
        net.out_features = 4
        return net

    class Busy(nn.Module):
        '''Batch norm and dropout (what eval mode must freeze), a layer kept in eval on purpose, and a forward
        that draws random numbers.'''

        def __init__(self, width):
            super().__init__()
            self.conv = nn.Conv2d(3, 4, 3)
            self.bn = nn.BatchNorm2d(4)
            self.frozen = nn.BatchNorm2d(4).eval()
            self.drop = nn.Dropout(0.5)
            self.out_features = width

        def forward(self, x):
            x = self.frozen(self.bn(self.conv(x)))
            x = x + torch.rand_like(x) * self.training  # draws from the global RNG in either mode
            return self.drop(x.mean((2, 3)))

    def busy(image_size=16, **kwargs):
        return Busy(4)

    @hookimpl
    def register_backbones(register):
        for name, build in (("no-out-features", no_out_features), ("feature-maps", feature_maps),
                            ("wrong-width", wrong_width), ("crashes", crashes), ("busy", busy)):
            register(BackboneSpec(name, build))
"""


@pytest.fixture
def backbone_registry(plugin_dir):
    write_plugin(plugin_dir, "fbntest_backbones", BACKBONE_PLUGIN)
    return build_registry(extra_modules=["fbntest_backbones"])


def test_undeclared_backbone_option_is_a_one_line_error():
    with pytest.raises(FbnError) as info:
        build_model(RunConfig(backbone="small:widht=4", image_size=16), get_registry())
    assert str(info.value) == "backbone 'small' has no option 'widht'; its options: width"
    assert build_model(RunConfig(backbone="small:width=4", image_size=16), get_registry()).backbone.out_features == 32


def test_a_build_that_takes_kwargs_gets_undeclared_options(backbone_registry):
    model = build_model(RunConfig(backbone="busy:anything=1", image_size=16), backbone_registry)
    assert model.backbone.out_features == 4


@pytest.mark.parametrize(
    "name, message",
    [
        ("no-out-features", "backbone 'no-out-features' has out_features=None; a BackboneSpec's build must return"),
        (
            "feature-maps",
            "backbone 'feature-maps' returned shape (2, 4, 16, 16) for 2 images of 16 x 16, expected shape (2, 4)",
        ),
        ("wrong-width", "backbone 'wrong-width' returned shape (2, 4) for 2 images of 16 x 16, expected shape (2, 8)"),
        ("crashes", "backbone 'crashes' failed on 2 images of 16 x 16 (RuntimeError: mat1 and mat2 shapes"),
    ],
)
def test_a_backbone_breaking_its_contract_is_a_one_line_error(backbone_registry, name, message):
    with pytest.raises(FbnError) as info:
        build_model(RunConfig(backbone=name, image_size=16), backbone_registry)
    assert message in str(info.value) and "\n" not in str(info.value)
    assert "maps images (B, 3, H, W) to features (B, out_features)" in str(info.value)


def test_the_backbone_check_leaves_weights_modes_and_random_state_alone(backbone_registry):
    from fbn_bench.model import check_backbone

    busy = backbone_registry.backbone("busy").build(image_size=16)
    weights = {k: v.clone() for k, v in busy.state_dict().items()}
    state = torch.get_rng_state()
    check_backbone("busy", busy, 16)
    assert torch.equal(state, torch.get_rng_state())  # a seeded run draws the same numbers as without the check
    assert all(torch.equal(v, weights[k]) for k, v in busy.state_dict().items())  # batch-norm statistics too
    assert busy.training and busy.bn.training and busy.drop.training and not busy.frozen.training
    assert build_model(RunConfig(backbone="busy", image_size=16), backbone_registry).backbone.training


# --- couplings ----------------------------------------------------------------------------------------------


def test_a_coupling_term_that_is_not_a_scalar_is_a_one_line_error():
    per_sample = ComposedCoupling(
        [("ok", lambda o, b: {"": torch.tensor(1.0)}), ("bad", lambda o, b: {"au": torch.ones(6)})]
    )
    with pytest.raises(FbnError) as info:
        per_sample({}, {})
    assert str(info.value) == (
        "coupling 'bad' returned term 'bad/au' as a tensor of shape (6,); each term must be "
        "a scalar (0-dim) tensor, e.g. reduce it with .mean()"
    )
    with pytest.raises(FbnError, match="returned term 'num' as a float"):
        ComposedCoupling([("num", lambda o, b: {"": 0.5})])({}, {})
    assert set(ComposedCoupling([("ok", lambda o, b: {"": torch.tensor(1.0)})])({}, {})) == {"ok"}
