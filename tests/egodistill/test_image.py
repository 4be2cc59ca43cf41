"""EgoDistill's frozen image encoder f_I and its per-frame feature cache."""

import os
import shutil

import numpy as np
import pytest
import torch

from comodo.egodistill import frame_cache
from comodo.arrays_cache import load_arrays, save_arrays
from comodo.egodistill.clips import FRAME_RULES, load_clips, select_frames
from comodo.egodistill.frame_cache import first_last, frame_features, frame_features_key, frame_ranges, select
from comodo.egodistill.image import (QUICK, ImageEncoder, ImagePretrainConfig, image_processor, load_image_encoder,
                                     pretrain_image_encoder)
from comodo.errors import ComodoError
from hub_cache import offline_hub, populate_hub_cache

MEAN, STD = np.array([0.485, 0.456, 0.406]), np.array([0.229, 0.224, 0.225])


@pytest.fixture(scope="module")
def resnet_dir(tmp_path_factory):
    """A tiny ResNet classifier in the layout of microsoft/resnet-18 (processor: short side / crop_pct, crop)."""
    from transformers import ResNetConfig, ResNetForImageClassification

    path = tmp_path_factory.mktemp("resnet-tiny")
    torch.manual_seed(0)
    cfg = ResNetConfig(embedding_size=8, hidden_sizes=[8, 16], depths=[1, 1], layer_type="basic", num_labels=3)
    ResNetForImageClassification(cfg).eval().save_pretrained(path)
    processor = image_processor(32)
    processor.crop_pct = 0.875  # as the hub's: resize the short side to 36, centre-crop 32
    processor.save_pretrained(path)
    return path


@pytest.fixture(scope="module")
def encoder(resnet_dir):
    return ImageEncoder(str(resnet_dir))


@pytest.fixture(scope="module")
def clips(quick_world):
    from comodo.train.data import resolve_spec

    quick_world("ego4d")
    spec = resolve_spec("ego4d", world_size="quick")
    return spec, load_clips(spec, "val", 2.0)


def _frames(n: int, h: int = 40, w: int = 48, seed: int = 0) -> np.ndarray:
    return np.random.default_rng(seed).integers(0, 256, (n, h, w, 3), dtype=np.uint8)


def test_loads_by_folder_and_pools_the_backbone(encoder, resnet_dir):
    from transformers import AutoImageProcessor, ResNetModel

    assert (encoder.model_type, encoder.dim) == ("resnet", 16)
    assert type(encoder.backbone) is ResNetModel  # the backbone only: no classifier head
    x = _frames(5)
    z = encoder.features(x)
    assert z.shape == (5, 16) and z.dtype == torch.float32 and torch.isfinite(z).all()
    pixels = AutoImageProcessor.from_pretrained(resnet_dir)(list(x), return_tensors="pt")["pixel_values"]
    assert pixels.shape == (5, 3, 32, 32)
    with torch.no_grad():
        ref = ResNetModel.from_pretrained(resnet_dir).eval()(pixel_values=pixels).pooler_output  # (5, 16, 1, 1)
    torch.testing.assert_close(z, ref.flatten(1))
    assert not torch.allclose(z[0], z[1])
    assert encoder.features(np.zeros((0, 32, 32, 3), np.uint8)).shape == (0, 16)
    with pytest.raises(ComodoError, match=r"expected \(N, H, W, 3\) uint8"):
        encoder.features(x.astype(np.float32))


def test_frozen_even_after_train(encoder):
    encoder.train()
    assert not encoder.training and not encoder.backbone.training
    assert not any(p.requires_grad for p in encoder.parameters())
    assert not encoder.features(_frames(2)).requires_grad


def test_hub_id_loads_offline_from_the_local_hub_cache(resnet_dir, encoder, tmp_path, monkeypatch):
    populate_hub_cache(resnet_dir, "someone/resnet-tiny", tmp_path / "hub")
    offline_hub(monkeypatch, tmp_path / "hub")
    by_id = load_image_encoder("someone/resnet-tiny")
    assert (by_id.model_type, by_id.dim, by_id.describe()["checkpoint_name"]) == ("resnet", 16, "someone/resnet-tiny")
    torch.testing.assert_close(by_id.features(_frames(3)), encoder.features(_frames(3)))
    with pytest.raises(ComodoError, match="huggingface-cli download microsoft/resnet-18 --local-dir"):
        load_image_encoder("microsoft/resnet-18")


def test_unknown_model_type_lists_the_known_ones(tmp_path):
    from transformers import BertConfig

    BertConfig(hidden_size=8, num_hidden_layers=1, num_attention_heads=2, intermediate_size=8).save_pretrained(tmp_path)
    with pytest.raises(ComodoError, match="unknown image encoder model_type 'bert'; expected one of: "
                                          "convnext, dinov2, resnet, vit"):
        ImageEncoder(str(tmp_path))


def test_frame_features_cover_every_frame_once_then_read_the_cache(encoder, clips, tmp_path, monkeypatch):
    spec, val = clips
    features, offsets = frame_features(encoder, val, spec.root, cache_dir=tmp_path, batch_size=64, progress=False)
    # quick ego4d val: one 10-s video per label (9), cut into 2-s clips of 20 frames at 10 fps
    assert len(val) == 45 and features.shape == (45 * 20, 16) and features.dtype == np.float32
    np.testing.assert_array_equal(offsets, np.arange(0, 45 * 20 + 1, 20))
    ranges = frame_ranges(val)
    assert ranges[1].tolist() == [20, 40] and val[1].uid == val[0].uid  # clip 1: the video's frames 20..39
    from comodo.data import read_frames

    for i in (0, 7, 44):  # rows = the clip's frames in video order, as one direct call gives them
        direct = encoder.features(read_frames(val[i].video_path, np.arange(*ranges[i]))).numpy()
        np.testing.assert_allclose(features[offsets[i]:offsets[i + 1]], direct, rtol=1e-5, atol=1e-5)

    def no_encoding(*args, **kwargs):
        raise AssertionError("the image backbone ran again")

    monkeypatch.setattr(frame_cache, "encode_frames", no_encoding)
    again, offsets2 = frame_features(encoder, val, spec.root, cache_dir=tmp_path, progress=False)
    np.testing.assert_array_equal(again, features)
    np.testing.assert_array_equal(offsets2, offsets)
    assert len(list(tmp_path.glob("*.safetensors"))) == 1


def test_stale_and_corrupt_caches_are_rebuilt(encoder, clips, tmp_path, capsys):
    spec, val = clips
    few = val[:6]  # two videos
    features, offsets = frame_features(encoder, few, spec.root, cache_dir=tmp_path, progress=False)
    (path,) = tmp_path.glob("*.safetensors")
    key = path.stem
    assert load_arrays(path, key, {"features": 120, "offsets": 7}) is not None
    save_arrays(path, "another-key", {"features": features, "offsets": offsets})
    np.testing.assert_array_equal(frame_features(encoder, few, spec.root, cache_dir=tmp_path, progress=False)[0],
                                  features)
    assert "stale frame-feature cache" in capsys.readouterr().err
    save_arrays(path, key, {"features": features[:-1], "offsets": offsets})  # a row short
    frame_features(encoder, few, spec.root, cache_dir=tmp_path, progress=False)
    assert "stale frame-feature cache" in capsys.readouterr().err
    path.write_bytes(path.read_bytes()[:100])  # truncated
    np.testing.assert_array_equal(frame_features(encoder, few, spec.root, cache_dir=tmp_path, progress=False)[0],
                                  features)
    assert "corrupt frame-feature cache" in capsys.readouterr().err
    assert load_arrays(path, key, {"features": 120, "offsets": 7}) is not None  # repaired


def test_long_videos_are_decoded_in_passes_with_the_same_features(encoder, clips, monkeypatch):
    spec, val = clips
    few = val[:7]  # 5 clips of one video, 2 of the next
    ranges = frame_ranges(few)
    whole = frame_cache.encode_frames(encoder, few, ranges, batch_size=16, progress=False)
    assert frame_cache._decode_groups(few, ranges) == [(0, 5), (5, 7)]
    monkeypatch.setattr(frame_cache, "MAX_DECODED_FRAMES", 45)  # two clips of 20 frames per pass
    assert frame_cache._decode_groups(few, ranges) == [(0, 2), (2, 4), (4, 5), (5, 7)]
    np.testing.assert_array_equal(frame_cache.encode_frames(encoder, few, ranges, batch_size=16, progress=False),
                                  whole)


def test_key_follows_the_videos_and_the_encoder(encoder, resnet_dir, clips, tmp_path):
    import dataclasses

    spec, val = clips
    root = tmp_path / "world"
    shutil.copytree(spec.root, root)
    copied = [dataclasses.replace(c, video_path=root / c.video_path.relative_to(spec.root),
                                  imu_path=root / c.imu_path.relative_to(spec.root)) for c in val[:5]]
    ranges = frame_ranges(copied)
    key = frame_features_key(encoder, copied, root, ranges, 64)
    assert frame_features_key(encoder, copied, root, ranges, 64) == key
    st = os.stat(copied[0].video_path)
    os.utime(copied[0].video_path, ns=(st.st_atime_ns, st.st_mtime_ns + 10**9))  # a re-encoded video
    assert frame_features_key(encoder, copied, root, ranges, 64) != key
    assert frame_features_key(encoder, copied[:4], root, ranges[:4], 64) != key
    weights = tmp_path / "resnet"
    shutil.copytree(resnet_dir, weights)
    (weights / "preprocessor_config.json").write_text(
        (weights / "preprocessor_config.json").read_text().replace('"crop_pct": 0.875', '"crop_pct": 1.0'))
    other = ImageEncoder(str(weights))
    assert frame_features_key(other, copied, root, ranges, 64) != frame_features_key(encoder, copied, root, ranges, 64)


def test_select_follows_each_rule_and_first_last():
    offsets = np.array([0, 5, 12, 13, 20])  # clips of 5, 7, 1 and 7 frames
    features = np.repeat(np.arange(20, dtype=np.float32)[:, None], 3, axis=1)  # row r holds r
    for rule in FRAME_RULES:
        got = select(features, offsets, 3, rule, seed=4)
        assert got.shape == (4, 3, 3)
        rng = np.random.default_rng(4)
        expected = [offsets[i] + select_frames(int(offsets[i + 1] - offsets[i]), 3, rule, rng) for i in range(4)]
        np.testing.assert_array_equal(got[..., 0], np.stack(expected))
    np.testing.assert_array_equal(select(features, offsets, 1, "uniform")[:, 0, 0], [2, 8, 12, 16])
    assert (select(features, offsets, 3, "random", seed=0) != select(features, offsets, 3, "random", seed=1)).any()
    np.testing.assert_array_equal(first_last(features, offsets)[..., 0], [[0, 4], [5, 11], [12, 12], [13, 19]])


def test_embedded_encoder_is_pretrained_on_the_teacher_domain(monkeypatch):
    from transformers import AutoImageProcessor, AutoModel, ResNetModel

    from comodo.egodistill import image
    from comodo.world.domains import DOMAINS

    path = pretrain_image_encoder(ImagePretrainConfig(**QUICK), verbose=False)
    assert {"config.json", "model.safetensors", "preprocessor_config.json", "pretrain.json"} <= {
        p.name for p in path.iterdir()}
    assert type(AutoModel.from_pretrained(path)) is ResNetModel
    x = _frames(4, 64, 64)
    pixels = AutoImageProcessor.from_pretrained(path)(list(x), return_tensors="pt")["pixel_values"]
    assert pixels.shape == (4, 3, 64, 64)  # 64² frames are only normalised: no resize blur, no crop
    np.testing.assert_allclose(pixels.numpy(), ((x / 255 - MEAN) / STD).transpose(0, 3, 1, 2), atol=1e-5)
    import json

    info = json.loads((path / "pretrain.json").read_text())
    assert info["labels"] == sorted(DOMAINS["teacher"].labels) and len(info["labels"]) == 14
    assert len(info["history"]) == QUICK["epochs"] and 0 <= info["val_acc"] <= 1 and info["torch_threads"] == 1
    assert json.loads((path / "config.json").read_text())["id2label"]["0"] == info["labels"][0]

    def no_training(*args, **kwargs):
        raise AssertionError("pre-trained again")

    monkeypatch.setattr(image, "_train", no_training)
    enc = load_image_encoder("embedded", world_size="quick", verbose=False)
    assert enc.path == path and (enc.model_type, enc.dim) == ("resnet", QUICK["hidden_sizes"][-1])
    assert enc.features(x).shape == (4, 64)
