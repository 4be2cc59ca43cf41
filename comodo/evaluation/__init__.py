"""Frozen-feature evaluation: the paper's SVM protocol and the prototype accuracy used during training."""
