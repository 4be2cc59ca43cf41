import json

import pytest
import torch
import torch.nn.functional as F
from mantis.architecture import Mantis8M, MantisV1

from comodo.encoders import BACKBONES
from comodo.errors import ComodoError

TINY = dict(
    hidden_dim=32, hidden_dim_scalar_enc=8, transf_depth=1, transf_num_heads=2, transf_mlp_dim=32,
    transf_dim_head=8, device="cpu",
)


@pytest.fixture(scope="module")
def tiny_dir(tmp_path_factory):
    torch.manual_seed(0)
    network = MantisV1(**TINY).eval()
    path = tmp_path_factory.mktemp("mantis-tiny")
    network.save_pretrained(path)
    return path, network


def test_loads_and_embeds_each_channel(tiny_dir):
    path, network = tiny_dir
    model = BACKBONES.get("mantis")(str(path))
    assert not model.training
    assert (model.input_length, model.dim, model.per_channel) == (512, 32, True)
    x = torch.randn(2, 6, 512)
    with torch.no_grad():
        out = model(x)
        expected = network(x.reshape(12, 1, 512)).reshape(2, 6, 32)
    assert out.shape == (2, 6, 32)
    assert torch.allclose(out, expected, atol=1e-6)


def test_eval_is_deterministic_and_train_uses_dropout(tiny_dir):
    model = BACKBONES.get("mantis")(str(tiny_dir[0]))
    x = torch.randn(2, 6, 512)
    with torch.no_grad():
        assert torch.equal(model(x), model(x))
        model.train()
        torch.manual_seed(0)
        a = model(x)
        torch.manual_seed(1)
        assert not torch.allclose(a, model(x))


def test_input_length_is_resampled(tiny_dir):
    model = BACKBONES.get("mantis")(str(tiny_dir[0]))
    x = torch.randn(2, 6, 1000)
    with torch.no_grad():
        out = model(x)
        expected = model(F.interpolate(x, size=512, mode="linear", align_corners=False))
        assert model(torch.randn(2, 6, 200)).shape == (2, 6, 32)
    assert torch.allclose(out, expected, atol=1e-6)


def test_cpu_only_even_when_config_says_cuda(tiny_dir, tmp_path, monkeypatch):
    def no_cuda(*args, **kwargs):
        raise AssertionError("CUDA touched")

    monkeypatch.setattr(torch.cuda, "is_available", lambda: False)
    monkeypatch.setattr(torch.cuda, "_lazy_init", no_cuda)
    cfg = json.loads((tiny_dir[0] / "config.json").read_text())
    (tmp_path / "config.json").write_text(json.dumps({**cfg, "device": "cuda"}))
    (tmp_path / "model.safetensors").write_bytes((tiny_dir[0] / "model.safetensors").read_bytes())
    model = BACKBONES.get("mantis")(str(tmp_path))
    with torch.no_grad():
        out = model(torch.randn(1, 6, 512))
    assert out.device.type == "cpu"
    assert all(p.device.type == "cpu" for p in model.parameters())


def test_legacy_mantis8m_checkpoint_and_combined_token(tmp_path):
    torch.manual_seed(0)
    legacy = Mantis8M(**TINY).eval()
    legacy.save_pretrained(tmp_path)
    model = BACKBONES.get("mantis")(str(tmp_path))
    x = torch.randn(1, 3, 512)
    with torch.no_grad():
        assert torch.allclose(model(x), legacy(x.reshape(3, 1, 512)).reshape(1, 3, 32), atol=1e-6)
    combined = BACKBONES.get("mantis")(str(tmp_path), output_token="combined")
    with torch.no_grad():
        assert combined(x).shape == (1, 3, 64) and combined.dim == 64


def test_errors(tiny_dir, tmp_path):
    with pytest.raises(ComodoError):
        BACKBONES.get("mantis")(str(tmp_path / "nowhere" / "mantis"))
    with pytest.raises(ComodoError, match="no model.safetensors"):
        BACKBONES.get("mantis")(str(tmp_path))
    (tmp_path / "model.safetensors").write_bytes(b"garbage")
    with pytest.raises(ComodoError, match="unreadable"):
        BACKBONES.get("mantis")(str(tmp_path))
    cfg = json.loads((tiny_dir[0] / "config.json").read_text())
    (tmp_path / "config.json").write_text(json.dumps({**cfg, "hidden_dim": 64}))
    (tmp_path / "model.safetensors").write_bytes((tiny_dir[0] / "model.safetensors").read_bytes())
    with pytest.raises(ComodoError, match="do not fit"):
        BACKBONES.get("mantis")(str(tmp_path))
    with pytest.raises(ComodoError, match="unknown Mantis option"):
        BACKBONES.get("mantis")(str(tiny_dir[0]), reduction="mean")
    with pytest.raises(ComodoError, match="output_token"):
        BACKBONES.get("mantis")(str(tiny_dir[0]), output_token="last")
