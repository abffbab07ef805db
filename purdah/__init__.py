"""purdah: UK pre-election periods, worked out by statute, for councils and councillors."""

__version__ = "0.1.0"
