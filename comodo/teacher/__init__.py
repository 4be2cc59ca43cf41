"""The embedded video teacher: pre-trained on the world's teacher domain, then frozen."""
