import pytest
import torch

from comodo.encoders import BACKBONES
from comodo.encoders.cnn import DilatedCNN
from comodo.errors import ComodoError


@pytest.mark.parametrize("per_channel, tokens", [(False, 1), (True, 6)])
def test_tokens_per_mode(per_channel, tokens):
    net = DilatedCNN(per_channel=per_channel, width=8, depth=2, dim=16, input_length=64)
    out = net(torch.randn(3, 6, 64))
    assert out.shape == (3, tokens, 16) and net.n_tokens(6) == tokens


def test_per_channel_mode_shares_one_network_across_channels():
    """Swapping two channels swaps their tokens: every channel goes through the same weights."""
    net = DilatedCNN(per_channel=True, width=8, depth=2, dim=16).eval()
    x = torch.randn(2, 6, 256)
    swapped = x[:, [1, 0, 2, 3, 4, 5]]
    torch.testing.assert_close(net(swapped), net(x)[:, [1, 0, 2, 3, 4, 5]])


def test_same_seed_same_weights():
    torch.manual_seed(3)
    a = DilatedCNN()
    torch.manual_seed(3)
    b = DilatedCNN()
    for p, q in zip(a.parameters(), b.parameters()):
        assert torch.equal(p, q)


@pytest.mark.parametrize("options, message", [
    (dict(depth="abc"), "dilated_cnn depth 'abc': expected a positive integer"),
    (dict(width=0), "dilated_cnn width 0: expected a positive integer"),
    (dict(dim=2.5), "dilated_cnn dim 2.5: expected a positive integer"),
    (dict(kernel=4), "dilated_cnn kernel: expected an odd size, got 4"),
    (dict(per_channel="yes"), "dilated_cnn per_channel 'yes': expected true or false"),
])
def test_nonsense_options_are_clear_errors(options, message):
    with pytest.raises(ComodoError, match=message):
        BACKBONES.get("dilated_cnn")(None, **options)


def test_unknown_option_and_checkpoint_are_refused():
    with pytest.raises(ComodoError, match=r"unknown option\(s\) \['layers'\]"):
        BACKBONES.get("dilated_cnn")(None, layers=3)
    with pytest.raises(ComodoError, match="dilated_cnn has no pretrained weights"):
        BACKBONES.get("dilated_cnn")("some/checkpoint")


def test_wrong_channel_count_is_a_clear_error():
    with pytest.raises(ComodoError, match=r"expected \(B, 6, L\), got \(2, 3, 256\)"):
        DilatedCNN()(torch.randn(2, 3, 256))
