"""PyTorch side: train, prune, fine-tune, quantize, integer mode, export."""
