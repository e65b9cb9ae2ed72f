"""Augmentation on uint8 batches, checked against numpy references (np.pad, hand-computed jitter)."""

from __future__ import annotations

import numpy as np
import pytest
import torch

from fbn_bench.data.augment import augment, normalize

NO_JITTER = {"brightness": 0, "contrast": 0, "saturation": 0}


@pytest.fixture
def images():
    return torch.from_numpy(np.random.default_rng(0).integers(0, 256, (16, 3, 20, 24), dtype=np.uint8))


def gen(seed=0):
    return torch.Generator().manual_seed(seed)


def test_normalize_maps_0_255_to_minus_1_1():
    x = torch.tensor([0, 255, 128], dtype=torch.uint8).view(1, 3, 1, 1).expand(1, 3, 2, 2).contiguous()
    y = normalize(x)
    assert y.dtype == torch.float32
    np.testing.assert_allclose(y[0, :, 0, 0].numpy(), [-1.0, 1.0, 128 / 127.5 - 1], atol=1e-6)
    with pytest.raises(ValueError, match="uint8"):
        normalize(x.float())


def test_everything_off_is_normalize(images):
    out = augment(images, gen(), flip=0, crop=0, **NO_JITTER)
    assert torch.equal(out, normalize(images))


def test_flip_always_mirrors(images):
    out = augment(images, gen(), flip=1.0, crop=0, **NO_JITTER)
    assert torch.equal(out, normalize(torch.from_numpy(images.numpy()[..., ::-1].copy())))


def test_flip_half_the_time(images):
    big = images.repeat(16, 1, 1, 1)
    out = augment(big, gen(), flip=0.5, crop=0, **NO_JITTER)
    flipped = [torch.equal(o, normalize(x.flip(-1)[None])[0]) for o, x in zip(out, big)]
    assert 0.3 < np.mean(flipped) < 0.7


@pytest.mark.parametrize("mode,np_mode", [("reflect", "reflect"), ("edge", "edge")])
def test_crop_is_a_window_of_the_padded_image(images, mode, np_mode):
    crop, (h, w) = 0.1, images.shape[2:]
    pad_h, pad_w = round(crop * h), round(crop * w)
    out = augment(images, gen(3), flip=0, crop=crop, pad_mode=mode, **NO_JITTER)
    expected_u8 = ((out + 1) * 127.5).round().to(torch.uint8).numpy()
    shifts = []
    for img, got in zip(images.numpy(), expected_u8):
        padded = np.pad(img, ((0, 0), (pad_h, pad_h), (pad_w, pad_w)), mode=np_mode)
        match = [
            (dy, dx)
            for dy in range(2 * pad_h + 1)
            for dx in range(2 * pad_w + 1)
            if np.array_equal(padded[:, dy : dy + h, dx : dx + w], got)
        ]
        assert match, "output is not a window of the padded image"
        shifts.append(match[0])
    assert len(set(shifts)) > 4  # shifts differ between samples


def test_brightness_scales_each_sample_by_one_factor(images):
    s = 0.3
    out = ((augment(images, gen(), flip=0, crop=0, brightness=s, contrast=0, saturation=0) + 1) * 127.5).double()
    x = images.double()
    for o, xi in zip(out, x):
        unclipped = (o < 254.5) & (xi > 20)
        ratio = o[unclipped] / xi[unclipped]
        assert ratio.max() - ratio.min() < 1e-3
        assert 1 - s - 1e-4 <= ratio.mean() <= 1 + s + 1e-4
        np.testing.assert_allclose(o.numpy(), np.clip(xi.numpy() * ratio.mean().item(), 0, 255), atol=1e-3)


def test_contrast_and_saturation_by_hand(images):
    x = images.double().numpy()
    gray_w = np.array([0.299, 0.587, 0.114])[None, :, None, None]
    sat = (
        ((augment(images, gen(), flip=0, crop=0, brightness=0, contrast=0, saturation=0.5) + 1) * 127.5)
        .double()
        .numpy()
    )
    con = (
        ((augment(images, gen(), flip=0, crop=0, brightness=0, contrast=0.5, saturation=0) + 1) * 127.5)
        .double()
        .numpy()
    )
    gray = (x * gray_w).sum(axis=1, keepdims=True)
    mean = gray.mean(axis=(1, 2, 3), keepdims=True)
    for i in range(len(x)):
        # Recover the factor from one unclipped pixel, then check every pixel against the formula.
        for out, centre, kind in ((sat[i], gray[i], "saturation"), (con[i], mean[i], "contrast")):
            centre = np.broadcast_to(centre, x[i].shape)
            d = x[i] - centre
            j = np.unravel_index(np.argmax(np.abs(d) * ((out > 1) & (out < 254))), d.shape)
            f = (out[j] - centre[j]) / d[j]
            assert 0.5 - 1e-4 <= f <= 1.5 + 1e-4, kind
            np.testing.assert_allclose(out, np.clip(d * f + centre, 0, 255), atol=1e-2, err_msg=kind)
    # A gray image has nothing to saturate.
    g = torch.full((2, 3, 4, 4), 90, dtype=torch.uint8)
    assert torch.allclose(augment(g, gen(), flip=0, crop=0, brightness=0, contrast=0, saturation=0.9), normalize(g))


def test_deterministic_given_the_generator_and_in_range(images):
    a, b = augment(images, gen(5)), augment(images, gen(5))
    c = augment(images, gen(6))
    assert torch.equal(a, b) and not torch.equal(a, c)
    assert a.dtype == torch.float32 and a.shape == images.shape
    assert a.min() >= -1 and a.max() <= 1
    assert augment(images).shape == images.shape  # the default generator works too


def test_rejects_bad_input(images):
    with pytest.raises(ValueError):
        augment(images.float())
    with pytest.raises(ValueError, match="pad_mode"):
        augment(images, pad_mode="wrap")


@pytest.mark.skipif(not torch.cuda.is_available(), reason="needs a GPU")
def test_runs_on_the_gpu_with_a_cpu_generator(images):
    out = augment(images.cuda(), gen(1))
    assert out.device.type == "cuda"
    assert torch.allclose(out.cpu(), augment(images, gen(1)), atol=1e-5)
