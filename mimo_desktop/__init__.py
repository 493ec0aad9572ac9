"""MiMo Desktop: chat with Xiaomi's omni-modal MiMo-V2.5 models about images, video and sound."""

__version__ = "0.1.0"
APP_NAME = "MiMo Desktop"
