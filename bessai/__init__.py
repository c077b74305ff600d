"""BESSAI Edge: the operator software for a battery energy storage system's edge computer."""

from importlib.metadata import PackageNotFoundError, version

try:
    __version__ = version("bessai-edge")
except PackageNotFoundError:  # running from a source tree without an install
    __version__ = "0.0.0+source"
