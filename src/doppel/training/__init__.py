"""Training: base-model loading, LoRA/QLoRA fitting, checkpoints."""
