"""Video teachers from tiny local checkpoints, through the same public loader as real hub ids."""

import numpy as np
import pytest
import torch

from comodo.encoders.video import TeacherConfig, VideoTeacher
from comodo.errors import ComodoError


def _processor(size: int):
    from transformers import VideoMAEImageProcessor

    return VideoMAEImageProcessor(size={"shortest_edge": size}, crop_size={"height": size, "width": size})


@pytest.fixture(scope="module")
def videomae_dir(tmp_path_factory):
    """A tiny fine-tuned VideoMAE in the layout of MCG-NJU/videomae-base-finetuned-kinetics."""
    from transformers import VideoMAEConfig, VideoMAEForVideoClassification

    path = tmp_path_factory.mktemp("videomae-tiny")
    cfg = VideoMAEConfig(image_size=32, patch_size=16, num_frames=4, tubelet_size=2, hidden_size=24,
                         num_hidden_layers=1, num_attention_heads=2, intermediate_size=48,
                         use_mean_pooling=True, num_labels=3)
    torch.manual_seed(0)
    VideoMAEForVideoClassification(cfg).save_pretrained(path)
    _processor(32).save_pretrained(path)
    return path


@pytest.fixture(scope="module")
def timesformer_dir(tmp_path_factory):
    """A tiny TimeSformer in the layout of facebook/timesformer-base-finetuned-k400."""
    from transformers import TimesformerConfig, TimesformerForVideoClassification

    path = tmp_path_factory.mktemp("timesformer-tiny")
    cfg = TimesformerConfig(image_size=32, patch_size=16, num_frames=6, hidden_size=24, num_hidden_layers=1,
                            num_attention_heads=2, intermediate_size=48, num_labels=3)
    torch.manual_seed(0)
    TimesformerForVideoClassification(cfg).save_pretrained(path)
    _processor(32).save_pretrained(path)
    return path


def _clips(n: int, frames: int, size: int = 40) -> np.ndarray:
    return np.random.default_rng(0).integers(0, 255, (n, frames, size, size, 3), dtype=np.uint8)


@pytest.mark.parametrize("which, model_type, frames", [("videomae_dir", "videomae", 4),
                                                       ("timesformer_dir", "timesformer", 6)])
def test_each_teacher_kind_loads_by_directory(request, which, model_type, frames):
    path = request.getfixturevalue(which)
    teacher = VideoTeacher(TeacherConfig(checkpoint=str(path)))
    assert teacher.model_type == model_type and teacher.num_frames == frames  # from the config
    clips = _clips(3, frames)
    pixels = teacher.preprocess(clips)
    assert pixels.shape == (3, frames, 3, 32, 32)  # resized and cropped by the checkpoint's processor
    z = teacher(clips)
    assert z.shape == (3, 128)
    torch.testing.assert_close(z.norm(dim=1), torch.ones(3))
    assert teacher.pooled(clips).shape == (3, 24)
    assert not any(p.requires_grad for p in teacher.parameters())


def test_videomae_pooling_follows_use_mean_pooling(videomae_dir):
    from transformers import VideoMAEModel

    teacher = VideoTeacher(TeacherConfig(checkpoint=str(videomae_dir), projection="none"))
    clips = _clips(2, 4)
    ref = VideoMAEModel.from_pretrained(videomae_dir).eval()
    with torch.no_grad():
        hidden = ref(pixel_values=teacher.preprocess(clips)).last_hidden_state
    torch.testing.assert_close(teacher.pooled(clips), hidden.mean(1))
    torch.testing.assert_close(teacher(clips), torch.nn.functional.normalize(hidden.mean(1), dim=1))


def test_random_mlp_head_is_seeded_and_leaves_global_rng_alone(videomae_dir):
    torch.manual_seed(123)
    before = torch.rand(1)
    torch.manual_seed(123)
    a = VideoTeacher(TeacherConfig(checkpoint=str(videomae_dir), projection_seed=7))
    after = torch.rand(1)
    b = VideoTeacher(TeacherConfig(checkpoint=str(videomae_dir), projection_seed=7))
    c = VideoTeacher(TeacherConfig(checkpoint=str(videomae_dir), projection_seed=8))
    clips = _clips(2, 4)
    torch.testing.assert_close(a(clips), b(clips))
    assert not torch.allclose(a(clips), c(clips))
    assert torch.equal(before, after)


def test_unknown_model_type_is_a_clear_error(tmp_path):
    from transformers import BertConfig

    BertConfig(hidden_size=8, num_hidden_layers=1, num_attention_heads=2, intermediate_size=8).save_pretrained(tmp_path)
    with pytest.raises(ComodoError, match="unknown video teacher model_type 'bert'"):
        VideoTeacher(TeacherConfig(checkpoint=str(tmp_path)))


def test_clips_of_another_frame_size_are_a_one_line_error_naming_the_video(tmp_path):
    from comodo.data import Sample
    from comodo.data.video import write_video
    from comodo.encoders.video import stack_clips

    paths = []
    for name, (h, w) in {"a": (32, 48), "b": (32, 48), "c": (16, 16)}.items():
        write_video(tmp_path / f"{name}.mp4", np.zeros((10, h, w, 3), np.uint8), 5)
        paths.append(tmp_path / f"{name}.mp4")
    samples = [Sample(p.stem, "x", tmp_path / "imu.npy", p, 0, 0.0, 2.0) for p in paths]
    assert stack_clips(samples[:2], 4).shape == (2, 4, 32, 48, 3)
    with pytest.raises(ComodoError, match=r"video .*c\.mp4: frames of 16×16 px; expected 48×32 px like .*a\.mp4"):
        stack_clips(samples, 4)


def test_truncated_weights_are_a_one_line_error_naming_the_folder(videomae_dir, tmp_path):
    import shutil

    broken = tmp_path / "broken"
    shutil.copytree(videomae_dir, broken)
    with open(broken / "model.safetensors", "r+b") as f:
        f.truncate(5000)
    with pytest.raises(ComodoError, match=rf"teacher checkpoint {broken}: its weights cannot be read") as e:
        VideoTeacher(TeacherConfig(checkpoint=str(broken)))
    assert "\n" not in str(e.value)


def test_missing_checkpoint_and_offline_hub_id_are_clear_errors(tmp_path, monkeypatch):
    with pytest.raises(ComodoError, match="has no config.json"):
        VideoTeacher(TeacherConfig(checkpoint=str(tmp_path)))
    monkeypatch.setenv("HF_HUB_OFFLINE", "1")
    monkeypatch.setenv("HF_HOME", str(tmp_path / "hf"))
    with pytest.raises(ComodoError, match="huggingface-cli download MCG-NJU/videomae-base --local-dir"):
        VideoTeacher(TeacherConfig(checkpoint="MCG-NJU/videomae-base"))


def test_hub_id_loads_from_the_local_hub_cache_offline(videomae_dir, tmp_path):
    """A checkpoint downloaded once into the Hugging Face cache loads by its hub id with no network."""
    import os
    import subprocess
    import sys

    from hub_cache import populate_hub_cache

    populate_hub_cache(videomae_dir, "someone/videomae-tiny", tmp_path / "hub")
    code = ("from comodo.encoders.video import TeacherConfig, VideoTeacher\n"
            "t = VideoTeacher(TeacherConfig(checkpoint='someone/videomae-tiny'))\n"
            "print(t.model_type, t.num_frames)\n")
    env = {**os.environ, "HF_HUB_OFFLINE": "1", "HF_HUB_CACHE": str(tmp_path / "hub")}
    out = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True, env=env)
    assert out.returncode == 0, out.stderr
    assert out.stdout.split() == ["videomae", "4"]
