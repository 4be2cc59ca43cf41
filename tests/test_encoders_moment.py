import json
from pathlib import Path

import pytest
import torch
import torch.nn.functional as F
from safetensors.torch import load_file, save_file

from comodo.encoders import BACKBONES
from comodo.encoders.moment import MomentBackbone, MomentConfig, sinusoidal_table
from comodo.errors import ComodoError

FIXTURE = Path(__file__).parent / "fixtures" / "moment-tiny"


@pytest.fixture(scope="module")
def moment() -> MomentBackbone:
    return BACKBONES.get("moment")(str(FIXTURE))


@pytest.fixture(scope="module")
def reference() -> dict[str, torch.Tensor]:
    return load_file(str(FIXTURE / "reference_io.safetensors"))


def test_registered_and_sizes_from_config(moment):
    cfg = json.loads((FIXTURE / "config.json").read_text())
    assert "moment" in BACKBONES
    assert not moment.training  # loaders return eval mode
    assert moment.input_length == cfg["seq_len"]
    assert moment.dim == cfg["t5_config"]["d_model"]
    assert moment.per_channel and moment.n_tokens(6) == 6


@pytest.mark.parametrize("reduction", ["mean", "none"])
def test_matches_upstream_momentfm(moment, reference, reduction):
    with torch.no_grad():
        out = moment.embed(reference["x"], reference["input_mask"], reduction=reduction)
    expected = reference[f"embeddings_{reduction}"]
    assert out.shape == expected.shape
    assert (out - expected).abs().max().item() < 1e-5


def test_positional_table_equals_checkpoint_buffer():
    stored = load_file(str(FIXTURE / "model.safetensors"))["patch_embedding.position_embedding.pe"][0]
    assert torch.allclose(sinusoidal_table(stored.shape[0], stored.shape[1]), stored, atol=1e-6)


def test_forward_shape_and_masked_mean(moment, reference):
    x = reference["x"]
    with torch.no_grad():
        out = moment(x)  # (B, C, d)
        tokens = moment.embed(x, reduction="none")  # (B, C, N, d)
    assert out.shape == (3, 6, moment.dim)
    assert torch.allclose(out, tokens.mean(2), atol=1e-6)  # no mask: plain mean over patches


def test_short_input_is_left_padded_and_masked(moment):
    x = torch.randn(2, 6, 300)
    with torch.no_grad():
        out = moment(x)
        padded = F.pad(x, (512 - 300, 0))
        mask = torch.zeros(2, 512)
        mask[:, 512 - 300 :] = 1
        tokens = moment.embed(padded, mask, reduction="none")  # (B, C, N, d)
    patch_obs = mask.unfold(-1, 8, 8).all(-1).float()  # (B, N)
    expected = (tokens * patch_obs[:, None, :, None]).sum(2) / patch_obs.sum(-1)[:, None, None]
    assert torch.isfinite(out).all()
    assert torch.allclose(out, expected, atol=1e-6)


def test_long_input_is_resampled(moment):
    x = torch.randn(2, 6, 1000)
    with torch.no_grad():
        out = moment(x)
        expected = moment(F.interpolate(x, size=512, mode="linear", align_corners=False))
    assert out.shape == (2, 6, moment.dim)
    assert torch.allclose(out, expected, atol=1e-6)


def test_too_short_input_is_refused(moment):
    with pytest.raises(ComodoError, match="fully observed patch"):
        moment(torch.randn(1, 6, 5))


def test_train_mode_uses_dropout_and_eval_is_deterministic():
    model = BACKBONES.get("moment")(str(FIXTURE), gradient_checkpointing=True)
    x = torch.randn(2, 6, 512)
    with torch.no_grad():
        assert torch.equal(model(x), model(x))
    model.train()
    torch.manual_seed(0)
    a = model(x)
    torch.manual_seed(1)
    b = model(x)
    assert not torch.allclose(a, b)
    a.sum().backward()  # gradients reach the patch embedding through the checkpointed encoder
    assert model.patch_embedding.value_embedding.weight.grad.abs().sum() > 0


def _tiny_config() -> dict:
    return {
        "model_name": "MOMENT",
        "task_name": "reconstruction",
        "transformer_type": "encoder_only",
        "transformer_backbone": "google/flan-t5-small",
        "d_model": None,
        "seq_len": 256,
        "patch_len": 16,
        "patch_stride_len": 16,
        "revin_affine": True,
        "add_positional_embedding": True,
        "value_embedding_bias": True,
        "enable_gradient_checkpointing": False,
        "t5_config": {
            "d_model": 12, "d_kv": 4, "d_ff": 24, "num_layers": 1, "num_heads": 4,
            "feed_forward_proj": "gated-gelu", "vocab_size": 100, "model_type": "t5",
            "relative_attention_num_buckets": 8, "relative_attention_max_distance": 32,
        },
    }


def test_other_sizes_are_read_from_config(tmp_path):
    raw = _tiny_config()
    torch.manual_seed(0)
    source = MomentBackbone(MomentConfig.from_dict(raw)).eval()
    with torch.no_grad():
        source.normalizer.affine_weight.fill_(1.5)
        source.patch_embedding.mask_embedding.normal_()
    state = dict(source.state_dict())
    # the extra tensors a hub checkpoint carries
    state["head.linear.weight"] = torch.randn(16, 12)
    state["head.linear.bias"] = torch.zeros(16)
    state["encoder.embed_tokens.weight"] = torch.randn(100, 12)
    state["patch_embedding.position_embedding.pe"] = sinusoidal_table(5000, 12)[None]
    (tmp_path / "config.json").write_text(json.dumps(raw))
    save_file({k: v.contiguous() for k, v in state.items()}, str(tmp_path / "model.safetensors"))

    model = BACKBONES.get("moment")(str(tmp_path))
    assert (model.input_length, model.dim) == (256, 12)
    x = torch.randn(2, 3, 256)
    with torch.no_grad():
        assert model(x).shape == (2, 3, 12)
        assert model.embed(x, reduction="none").shape == (2, 3, 16, 12)  # 256 / 16 patches of width 12
        assert torch.allclose(model(x), source(x), atol=1e-6)


def test_missing_directory(tmp_path):
    with pytest.raises(ComodoError):
        BACKBONES.get("moment")(str(tmp_path / "nowhere" / "moment"))


def test_directory_without_config(tmp_path):
    with pytest.raises(ComodoError, match="config.json"):
        BACKBONES.get("moment")(str(tmp_path))


def test_corrupt_safetensors(tmp_path):
    (tmp_path / "config.json").write_text((FIXTURE / "config.json").read_text())
    (tmp_path / "model.safetensors").write_bytes(b"\x08\x00\x00\x00\x00\x00\x00\x00not json")
    with pytest.raises(ComodoError, match="safetensors"):
        BACKBONES.get("moment")(str(tmp_path))


def test_weights_that_do_not_fit_the_config(tmp_path):
    raw = json.loads((FIXTURE / "config.json").read_text())
    raw["t5_config"]["num_layers"] = 3
    (tmp_path / "config.json").write_text(json.dumps(raw))
    (tmp_path / "model.safetensors").write_bytes((FIXTURE / "model.safetensors").read_bytes())
    with pytest.raises(ComodoError, match="missing"):
        BACKBONES.get("moment")(str(tmp_path))


def test_bad_config_and_options(tmp_path):
    (tmp_path / "config.json").write_text(json.dumps({"seq_len": 512}))
    with pytest.raises(ComodoError, match="t5_config"):
        BACKBONES.get("moment")(str(tmp_path))
    with pytest.raises(ComodoError, match="unknown MOMENT option"):
        BACKBONES.get("moment")(str(FIXTURE), reduction="mean")
