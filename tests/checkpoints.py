"""Tiny real checkpoints, built with transformers configs and ``save_pretrained`` (nothing is downloaded).

``tests/`` is on ``sys.path`` (its conftest.py), so any test can ``from checkpoints import ...``.
"""

from __future__ import annotations

from pathlib import Path

import torch

VIDEO_SMALL = dict(image_size=32, patch_size=16, num_frames=4, hidden_size=32, num_hidden_layers=1,
                   num_attention_heads=2, intermediate_size=64)


def video_processor(kind: str = "videomae", size: int = 32):
    from transformers import VideoMAEImageProcessor, VivitImageProcessor

    cls = VivitImageProcessor if kind == "vivit" else VideoMAEImageProcessor
    return cls(size={"shortest_edge": size}, crop_size={"height": size, "width": size})


def tiny_video_classifier(kind: str, path: Path, num_labels: int = 3, labels: list[str] | None = None) -> Path:
    """A tiny ``<Kind>ForVideoClassification`` (videomae, timesformer or vivit) with its processor, in ``path``."""
    import transformers as tf

    config = {"videomae": lambda: tf.VideoMAEConfig(**VIDEO_SMALL, tubelet_size=2),
              "timesformer": lambda: tf.TimesformerConfig(**VIDEO_SMALL),
              "vivit": lambda: tf.VivitConfig(**{k: v for k, v in VIDEO_SMALL.items() if k != "patch_size"},
                                              tubelet_size=[2, 16, 16])}[kind]()
    if labels is not None:
        num_labels = len(labels)
        config.id2label = dict(enumerate(labels))
        config.label2id = {k: i for i, k in enumerate(labels)}
    config.num_labels = num_labels
    model_cls = {"videomae": tf.VideoMAEForVideoClassification, "timesformer": tf.TimesformerForVideoClassification,
                 "vivit": tf.VivitForVideoClassification}[kind]
    torch.manual_seed(0)
    model_cls(config).save_pretrained(path)
    video_processor(kind).save_pretrained(path)
    return Path(path)


def tiny_resnet(path: Path, size: int = 32) -> Path:
    """A tiny ``ResNetForImageClassification`` in microsoft/resnet-18's layout, with its image processor."""
    from transformers import ResNetConfig, ResNetForImageClassification

    from comodo.egodistill.image import image_processor

    torch.manual_seed(0)
    cfg = ResNetConfig(embedding_size=8, hidden_sizes=[8, 16], depths=[1, 1], layer_type="basic", num_labels=3)
    ResNetForImageClassification(cfg).eval().save_pretrained(path)
    processor = image_processor(size)
    processor.crop_pct = 0.875  # as the hub's: resize the short side, then centre-crop
    processor.save_pretrained(path)
    return Path(path)
