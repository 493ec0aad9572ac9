"""Names the model UI tests share (a module of its own: `from conftest import` would depend on import order)."""

REPO = "XiaomiMiMo/MiMo-tiny"  # the fake Hub's repository holding the tiny checkpoint
SHARD = "model-00002-of-00003.safetensors"
