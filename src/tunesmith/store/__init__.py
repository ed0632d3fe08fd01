"""Checkpoints: safetensors weights with a JSON header, the shipped model, export."""
