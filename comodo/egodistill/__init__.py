"""EgoDistill (Tan, Nagarajan, Grauman, NeurIPS 2023): a light student Φ that sees N = 1–4 sparse RGB
frames of a clip plus the head IMU of the same clip learns to reproduce a heavy clip-level video
classifier Ω, Φ(I, M) ≈ Ω(V), by matching its clip feature (L1) and its softened logits (KD) next to the
ground-truth labels (CE), after a self-supervised stage that predicts the IMU feature from the features
of the clip's first and last frames (in-batch InfoNCE) and fuses it towards the teacher's feature.
"""
