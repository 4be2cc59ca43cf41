"""EgoDistill's teacher Ω: fine-tuned on a dataset's labels, z_V read at its classifier, outputs cached."""

from __future__ import annotations

import json
import os
import shutil
from pathlib import Path

import numpy as np
import pytest
import torch

from checkpoints import tiny_video_classifier
from comodo.data import DataSpec
from comodo.egodistill import teacher_cache
from comodo.egodistill.clips import load_clips, video_index
from comodo.egodistill.evaluate import video_top1
from comodo.egodistill.teacher import (TeacherFinetuneConfig, VideoClassifier, finetune_teacher, teacher_dir,
                                       teacher_outputs)
from comodo.errors import ComodoError
from hub_cache import offline_hub, populate_hub_cache

EGO4D_LABELS = sorted(["cooking", "dishwashing", "cleaning", "walking", "reading", "shopping", "eating",
                       "socialising", "computer_work"])


@pytest.fixture(scope="module")
def bases(tmp_path_factory):
    root = tmp_path_factory.mktemp("bases")
    return {k: tiny_video_classifier(k, root / f"{k}-tiny") for k in ("videomae", "timesformer", "vivit")}


@pytest.fixture(scope="module")
def world(quick_world):
    return quick_world("ego4d")


def _config(base: Path, **kw) -> TeacherFinetuneConfig:
    settings = dict(dataset="ego4d", world_size="quick", epochs=1, batch_size=16, learning_rate=1e-3, device="cpu")
    return TeacherFinetuneConfig(base=str(base), **{**settings, **kw})


@pytest.fixture(scope="module")
def finetuned(bases, world, tmp_path_factory):
    """Each tiny base fine-tuned one epoch on the quick world's ego4d (into the test cache root)."""
    return {k: finetune_teacher(_config(bases[k]), progress=False) for k in ("videomae", "timesformer")}


def _rand_clips(n: int, frames: int = 4, size: int = 40) -> np.ndarray:
    return np.random.default_rng(0).integers(0, 255, (n, frames, size, size, 3), dtype=np.uint8)


@pytest.mark.parametrize("kind", ["videomae", "timesformer"])
def test_finetuned_folder_is_a_classifier_of_the_dataset_labels(finetuned, world, kind):
    out = finetuned[kind]
    assert out.parent.name == "teachers" and out.name.startswith(f"{kind}-tiny-ego4d-")
    assert {"config.json", "preprocessor_config.json", "finetune.json"} <= {p.name for p in out.iterdir()}
    record = json.loads((out / "finetune.json").read_text())
    assert record["labels"] == EGO4D_LABELS and record["torch_threads"] == 1
    assert record["best_epoch"] == 0 and len(record["history"]) == 1 and record["num_frames"] == 4
    spec = DataSpec(layout="ego4d", root=world)
    test = load_clips(spec, "test", 2.0)
    assert record["n_train"] == len(load_clips(spec, "train", 2.0)) and record["n_test"] == len(test)
    assert record["n_test_videos"] == len({c.uid for c in test})
    teacher = VideoClassifier(out)
    assert teacher.model_type == kind and teacher.labels == EGO4D_LABELS
    assert teacher.num_frames == 4 and teacher.feature_dim == 32
    assert not any(p.requires_grad for p in teacher.parameters())
    # the saved weights give the recorded test accuracies: per clip, and per video (clip softmax averaged)
    _, logits = teacher_outputs(teacher, test, world, progress=False)
    y = np.array([EGO4D_LABELS.index(c.label) for c in test])
    assert record["test_clip_acc"] == pytest.approx(float((logits.argmax(1) == y).mean()), abs=1e-9)
    probs = torch.from_numpy(logits).softmax(1).numpy()
    assert record["test_video_acc"] == pytest.approx(video_top1(probs, y, video_index(test)[1]), abs=1e-9)


def test_clips_decoded_per_batch_when_they_do_not_fit_give_the_same_teacher(finetuned, bases, tmp_path, monkeypatch):
    from safetensors.numpy import load_file

    from comodo.egodistill import teacher as teacher_mod

    monkeypatch.setattr(teacher_mod, "PIXEL_MEMORY_BYTES", 0)  # nothing fits: every batch decoded again
    out = finetune_teacher(_config(bases["videomae"]), out=tmp_path / "t", progress=False)
    a, b = load_file(out / "model.safetensors"), load_file(finetuned["videomae"] / "model.safetensors")
    assert a.keys() == b.keys() and all(np.array_equal(a[k], b[k]) for k in a)
    record = json.loads((out / "finetune.json").read_text())
    assert record["history"] == json.loads((finetuned["videomae"] / "finetune.json").read_text())["history"]


def test_best_val_epoch_is_kept_and_reused(bases, world, tmp_path, monkeypatch, capsys):
    from comodo.egodistill import teacher as teacher_mod

    out = finetune_teacher(_config(bases["videomae"], epochs=3, learning_rate=3e-3), out=tmp_path / "t")
    printed = capsys.readouterr().out.strip().splitlines()
    assert printed[-1].startswith("teacher: test acc ") and printed[-1].endswith(f"-> {out}")
    record = json.loads((out / "finetune.json").read_text())
    val = [h["val_acc"] for h in record["history"]]
    assert len(val) == 3 and record["best_epoch"] == int(np.argmax(val)) and record["val_acc"] == max(val)
    clips = load_clips(DataSpec(layout="ego4d", root=world), "val", 2.0)
    _, logits = teacher_outputs(VideoClassifier(out), clips, world, cache_dir=tmp_path / "c", progress=False)
    y = np.array([EGO4D_LABELS.index(c.label) for c in clips])
    assert float((logits.argmax(1) == y).mean()) == pytest.approx(max(val), abs=1e-9)  # the best epoch's weights

    def no_training(*args, **kwargs):
        raise AssertionError("trained again although finetune.json holds this key")

    monkeypatch.setattr(teacher_mod, "_train", no_training)
    assert finetune_teacher(_config(bases["videomae"], epochs=3, learning_rate=3e-3), out=tmp_path / "t") == out
    assert capsys.readouterr().out.strip().endswith(f"-> {out}")  # the summary line again
    with pytest.raises(AssertionError, match="trained again"):  # other settings: another key
        finetune_teacher(_config(bases["videomae"], epochs=2), out=tmp_path / "t", progress=False)


def test_default_folder_is_keyed_by_settings_base_and_data(bases, world):
    a = teacher_dir(_config(bases["videomae"]))
    assert teacher_dir(_config(bases["videomae"])) == a
    assert teacher_dir(_config(bases["videomae"], seed=1)) != a
    assert teacher_dir(_config(bases["videomae"], clip_s=2.5)) != a
    assert teacher_dir(_config(bases["timesformer"])) != a
    weights = bases["videomae"] / "model.safetensors"
    st = weights.stat()
    try:
        os.utime(weights, ns=(st.st_atime_ns, st.st_mtime_ns + 10**9))  # the base's weights changed
        assert teacher_dir(_config(bases["videomae"])) != a
    finally:
        os.utime(weights, ns=(st.st_atime_ns, st.st_mtime_ns))
    assert teacher_dir(_config(bases["videomae"])) == a


@pytest.mark.parametrize("kind", ["videomae", "timesformer", "vivit"])
def test_z_is_exactly_what_the_classifier_reads(bases, kind):
    teacher = VideoClassifier(bases[kind])
    z, logits = teacher.outputs(_rand_clips(3))
    assert z.shape == (3, 32) and logits.shape == (3, 3) and z.dtype == logits.dtype == torch.float32
    torch.testing.assert_close(teacher.model.classifier(z), logits)
    with torch.no_grad():  # and it is the family's pooled feature, computed independently
        pixels = teacher.processor([list(c) for c in _rand_clips(3)], return_tensors="pt")["pixel_values"]
        if kind == "videomae":
            hidden = teacher.model.videomae(pixel_values=pixels).last_hidden_state  # (B, N, H)
            expected = teacher.model.fc_norm(hidden.mean(1))
        else:
            expected = getattr(teacher.model, kind)(pixel_values=pixels).last_hidden_state[:, 0]  # CLS after norm
    torch.testing.assert_close(z, expected)


def test_label_set_mismatch_is_a_one_line_error(bases):
    teacher = VideoClassifier(bases["videomae"])
    assert teacher.labels == ["LABEL_0", "LABEL_1", "LABEL_2"]
    teacher.check_labels(["LABEL_2", "LABEL_0", "LABEL_1"])  # same set, other order: fine
    with pytest.raises(ComodoError) as e:
        teacher.check_labels(["LABEL_0", "LABEL_1", "walking"], dataset="ego4d")
    msg = str(e.value)
    assert "\n" not in msg and str(bases["videomae"]) in msg
    assert "(missing: walking; extra: LABEL_2)" in msg and "comodo egodistill teacher --dataset ego4d" in msg


def test_bad_settings_and_inputs_are_one_line_errors(bases, tmp_path):
    for bad, match in [(dict(epochs=0), "epochs 0"), (dict(learning_rate=-1.0), "learning-rate -1.0"),
                       (dict(seed=-1), "seed -1"), (dict(world_size="huge"), "world size 'huge'"),
                       (dict(clip_s=0), "clip_s 0"), (dict(num_frames=0), "num-frames 0"),
                       (dict(device="tpu"), "device 'tpu'"), (dict(weight_decay=float("nan")), "weight-decay"),
                       (dict(hflip="yes"), "hflip 'yes'")]:
        with pytest.raises(ComodoError, match=match):
            _config(bases["videomae"], **bad).resolved()
    with pytest.raises(ComodoError, match="only videomae bases take another frame count"):
        finetune_teacher(_config(bases["timesformer"], num_frames=6), out=tmp_path / "x", progress=False)
    with pytest.raises(ComodoError, match="multiple of the base's tubelet size 2"):
        finetune_teacher(_config(bases["videomae"], num_frames=5), out=tmp_path / "x", progress=False)
    with pytest.raises(ComodoError, match="expected clips of 4 frames"):
        VideoClassifier(bases["videomae"]).outputs(_rand_clips(2, frames=6))
    from transformers import BertConfig

    BertConfig(hidden_size=8, num_hidden_layers=1, num_attention_heads=2, intermediate_size=8).save_pretrained(
        tmp_path / "bert")
    with pytest.raises(ComodoError, match="unknown video classifier model_type 'bert'"):
        VideoClassifier(tmp_path / "bert")


class _Recorder(torch.nn.Module):
    """A stand-in classifier that keeps every training batch it is shown."""

    def __init__(self) -> None:
        super().__init__()
        self.w = torch.nn.Parameter(torch.zeros(2))
        self.seen: list[torch.Tensor] = []

    def forward(self, pixel_values):
        from types import SimpleNamespace

        if self.training:
            self.seen.append(pixel_values.clone())
        return SimpleNamespace(logits=pixel_values.flatten(1)[:, :1] * 0 + self.w)  # (b, 2)


@pytest.mark.parametrize("hflip", [False, True])
def test_frames_are_flipped_only_when_asked(hflip):
    """A mirror image swaps the embedded verbs turn_left and turn_right: the fine-tune flips no frame
    unless ``hflip`` says the labels allow it (the default is off)."""
    from comodo.egodistill import teacher as teacher_mod

    assert TeacherFinetuneConfig().hflip is False
    train = torch.arange(24 * 2 * 3 * 2 * 4, dtype=torch.float32).reshape(24, 2, 3, 2, 4)  # (N, F, 3, h, w)
    y = np.arange(24) % 2
    model = _Recorder()
    c = TeacherFinetuneConfig(epochs=3, batch_size=4, hflip=hflip, device="cpu")
    teacher_mod._train(c, model, train, y, train[:4], y[:4], torch.device("cpu"), progress=False)
    rows = {tuple(r.flatten().tolist()) for r in train}
    seen = torch.cat(model.seen)
    assert len(seen) == 3 * 24
    flipped = [tuple(r.flatten().tolist()) not in rows for r in seen]
    if hflip:
        mirrored = [tuple(r.flip(-1).flatten().tolist()) in rows for r in seen]
        assert any(flipped) and not all(flipped) and flipped == mirrored
    else:
        assert not any(flipped)


def test_a_diverging_fine_tune_saves_nothing_and_names_the_learning_rate(bases, tmp_path):
    with pytest.raises(ComodoError, match=r"teacher fine-tune on ego4d diverged in epoch 1 \(loss nan\); "
                                          r"expected a finite loss: lower --learning-rate \(1e\+12\)"):
        finetune_teacher(_config(bases["videomae"], learning_rate=1e12), out=tmp_path / "t", progress=False)
    assert not (tmp_path / "t").exists()


def test_damaged_weights_are_one_line_errors_and_a_damaged_cache_is_rebuilt(bases, finetuned, tmp_path, capsys):
    from comodo.encoders.hub import weights_readable

    broken = tmp_path / "broken"
    shutil.copytree(bases["videomae"], broken)
    with open(broken / "model.safetensors", "r+b") as f:
        f.truncate(4000)
    assert weights_readable(bases["videomae"]) and not weights_readable(broken)
    for load in (lambda: VideoClassifier(broken),
                 lambda: finetune_teacher(_config(broken), out=tmp_path / "t", progress=False)):
        with pytest.raises(ComodoError, match=rf"{broken}: its weights cannot be read \(.*\); expected a complete"):
            load()
    assert not (tmp_path / "t").exists()
    # a cached teacher whose finetune.json holds the key but whose weights were damaged: fine-tuned again
    out = finetune_teacher(_config(bases["videomae"]), out=tmp_path / "cached", progress=False)
    good = (out / "model.safetensors").read_bytes()
    with open(out / "model.safetensors", "r+b") as f:
        f.truncate(4000)
    capsys.readouterr()
    assert finetune_teacher(_config(bases["videomae"]), out=out, progress=False) == out
    assert "its weights cannot be read; fine-tuning it again" in capsys.readouterr().err
    assert (out / "model.safetensors").read_bytes() == good


def test_videomae_base_takes_another_frame_count(bases, world, tmp_path):
    out = finetune_teacher(_config(bases["videomae"], num_frames=6), out=tmp_path / "t6", progress=False)
    teacher = VideoClassifier(out)
    assert teacher.num_frames == 6 and teacher.outputs(_rand_clips(2, frames=6))[0].shape == (2, 32)


# -------------------------------------------------------------------------------------------------------
# The teacher-output cache


@pytest.fixture(scope="module")
def small_split(world):
    return load_clips(DataSpec(layout="ego4d", root=world), "val", 2.0)[:10]


def _no_encoding(*args, **kwargs):
    raise AssertionError("computed although the cache holds these outputs")


def test_outputs_computed_once_then_read(bases, world, small_split, tmp_path, monkeypatch):
    teacher = VideoClassifier(bases["timesformer"])
    z, logits = teacher_outputs(teacher, small_split, world, cache_dir=tmp_path, progress=False)
    assert z.shape == (10, 32) and logits.shape == (10, 3) and z.dtype == logits.dtype == np.float32
    assert len(list(tmp_path.glob("*.safetensors"))) == 1 and not list(tmp_path.glob("*.tmp*"))
    z2, logits2 = teacher_cache.encode_outputs(teacher, small_split, batch_size=4, progress=False)
    np.testing.assert_allclose(z2, z, atol=1e-6)  # the batch size does not matter
    monkeypatch.setattr(teacher_cache, "encode_outputs", _no_encoding)
    again = teacher_outputs(teacher, small_split, world, cache_dir=tmp_path, progress=False)
    np.testing.assert_array_equal(again[0], z)
    np.testing.assert_array_equal(again[1], logits)


@pytest.mark.parametrize("damage", ["truncate", "garbage", "stale"])
def test_damaged_cache_is_rebuilt_with_a_message(bases, world, small_split, tmp_path, capsys, damage):
    from safetensors.torch import save_file

    teacher = VideoClassifier(bases["videomae"])
    good = teacher_outputs(teacher, small_split, world, cache_dir=tmp_path, progress=False)
    path = next(tmp_path.glob("*.safetensors"))
    if damage == "stale":
        save_file({"z_video": torch.zeros(10, 32), "logits": torch.zeros(10, 3)}, str(path), metadata={"key": "x"})
    else:
        data = path.read_bytes()
        path.write_bytes(data[: len(data) // 2] if damage == "truncate" else b"not a safetensors file")
    again = teacher_outputs(teacher, small_split, world, cache_dir=tmp_path, progress=False)
    assert f"{'stale' if damage == 'stale' else 'corrupt'} teacher-output cache {path}" in capsys.readouterr().err
    np.testing.assert_array_equal(again[0], good[0])
    np.testing.assert_array_equal(again[1], good[1])
    teacher_outputs(teacher, small_split, world, cache_dir=tmp_path, progress=False)
    assert capsys.readouterr().err == ""  # rewritten whole: read back without a message


def test_key_follows_the_teacher_the_clips_and_their_files(bases, world, small_split, tmp_path):
    copy = tmp_path / "ego4d"
    shutil.copytree(world, copy)
    clips = load_clips(DataSpec(layout="ego4d", root=copy), "val", 2.0)[:10]
    teacher = VideoClassifier(bases["videomae"])
    key = teacher_cache.output_key(teacher, clips, copy)
    assert teacher_cache.output_key(teacher, clips, copy) == key
    assert teacher_cache.output_key(teacher, clips[:-1], copy) != key  # other clips
    assert teacher_cache.output_key(VideoClassifier(bases["timesformer"]), clips, copy) != key  # another teacher
    assert teacher_cache.output_key(teacher, small_split, world) != key  # the same files under another root
    video = clips[0].video_path
    st = video.stat()
    os.utime(video, ns=(st.st_atime_ns, st.st_mtime_ns + 10**9))  # the video was replaced
    assert teacher_cache.output_key(teacher, clips, copy) != key
    os.utime(video, ns=(st.st_atime_ns, st.st_mtime_ns))
    assert teacher_cache.output_key(teacher, clips, copy) == key
    threads = torch.get_num_threads()
    try:
        torch.set_num_threads(threads + 1)  # other CPU thread counts sum in another order
        assert teacher_cache.output_key(teacher, clips, copy) != key
    finally:
        torch.set_num_threads(threads)


def test_loads_by_hub_id_from_the_local_hub_cache_offline(finetuned, tmp_path, monkeypatch):
    """A fine-tuned teacher downloaded once into the Hugging Face cache loads by its hub id, no network."""
    populate_hub_cache(finetuned["videomae"], "someone/egodistill-teacher", tmp_path / "hub")
    offline_hub(monkeypatch, tmp_path / "hub")
    teacher = VideoClassifier("someone/egodistill-teacher")
    assert (teacher.model_type, teacher.num_frames, teacher.feature_dim) == ("videomae", 4, 32)
    assert teacher.labels == EGO4D_LABELS and teacher.name == "someone/egodistill-teacher"
    by_folder = VideoClassifier(finetuned["videomae"])
    clips = _rand_clips(2)
    torch.testing.assert_close(teacher.outputs(clips), by_folder.outputs(clips))
    with pytest.raises(ComodoError, match="HF_HUB_OFFLINE is set and it is not in the local cache"):
        VideoClassifier("someone/not-downloaded")


@pytest.mark.slow
def test_embedded_base_is_the_comodo_teacher_fine_tuned(world):
    """``base="embedded"``: the COMODO embedded VideoMAE (pre-trained on the teacher domain) with a new head."""
    from comodo.train.data import load_teacher

    out = finetune_teacher(TeacherFinetuneConfig(dataset="ego4d", world_size="quick", epochs=1, device="cpu"),
                           progress=False)
    record = json.loads((out / "finetune.json").read_text())
    embedded = load_teacher("embedded", world_size="quick")
    assert out.name.startswith("embedded-ego4d-") and record["base"] == embedded.config.checkpoint
    teacher = VideoClassifier(out)
    assert teacher.labels == EGO4D_LABELS and teacher.feature_dim == embedded.hf_config.hidden_size
    assert teacher.num_frames == embedded.num_frames


def test_the_embedded_timesformer_is_a_second_embedded_base(world):
    """``base="embedded-timesformer"``: a TimeSformer of the embedded VideoMAE's size, pre-trained on the
    teacher domain, then fine-tuned like any base; the VideoMAE's cached folders keep their names."""
    from comodo.teacher.pretrain import TeacherPretrainConfig, embedded_config
    from comodo.teacher.pretrain import teacher_dir as pretrain_dir

    # the key of the embedded VideoMAE did not change when the architecture became a setting
    assert pretrain_dir(embedded_config("quick")).name == "videomae-tiny-quick-1c5a656113458341"
    assert pretrain_dir(embedded_config("default")).name == "videomae-tiny-default-d73dec8dc5429fd8"
    assert pretrain_dir(embedded_config("quick", architecture="timesformer")).name.startswith("timesformer-tiny-quick-")
    with pytest.raises(ComodoError, match="teacher architecture 'mvit': expected one of videomae, timesformer"):
        TeacherPretrainConfig(architecture="mvit")
    c = TeacherFinetuneConfig(dataset="ego4d", world_size="quick", base="embedded-timesformer", epochs=1)
    out = finetune_teacher(c, progress=False)
    assert out.name.startswith("embedded-timesformer-ego4d-") and out == teacher_dir(c)
    assert out != teacher_dir(TeacherFinetuneConfig(dataset="ego4d", world_size="quick", epochs=1))
    assert json.loads((out / "config.json").read_text())["model_type"] == "timesformer"
    teacher = VideoClassifier(out)
    assert teacher.model_type == "timesformer" and teacher.feature_dim == 64  # the quick embedded size
    z, logits = teacher_outputs(teacher, load_clips(DataSpec(layout="ego4d", root=world), "val", 2.0), world,
                                progress=False)
    assert z.shape == (len(logits), 64) and np.isfinite(z).all() and np.isfinite(logits).all()
