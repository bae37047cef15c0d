"""The two locations the library reads and writes outside the repository.

Everything that depends on where the shared data or the feature cache lives goes through these
functions, so a single environment variable moves the project to another data folder.
"""

from __future__ import annotations

import os
from pathlib import Path

REPO_ROOT = Path(__file__).resolve().parent.parent
DATA_ROOT_ENV = "PDO_DATA_ROOT"
CACHE_DIR_ENV = "PDO_CACHE_DIR"
MODELS_DIR_ENV = "PDO_MODELS_DIR"


class DataRootMissingError(FileNotFoundError):
    """Raised when the shared data folder cannot be found."""


def data_root() -> Path:
    """Folder holding the public data (``invitro/``, ``patient/``, ...).

    ``$PDO_DATA_ROOT`` if set, else ``../shared/data`` beside the repository.
    """
    configured = os.environ.get(DATA_ROOT_ENV)
    root = Path(configured).expanduser() if configured else REPO_ROOT.parent / "shared" / "data"
    if not root.is_dir():
        raise DataRootMissingError(
            f"Data folder {root} not found. Set {DATA_ROOT_ENV} to the folder that holds "
            "invitro/, patient/, genes/, genesets/ and paper_resources/ (see README, 'Data')."
        )
    return root


def cache_dir() -> Path:
    """Folder for derived, re-computable files (drug descriptors); created on first use.

    ``$PDO_CACHE_DIR`` if set, else ``~/.cache/pdo_dashboard``. Never inside the repository.
    """
    configured = os.environ.get(CACHE_DIR_ENV)
    folder = Path(configured).expanduser() if configured else Path.home() / ".cache" / "pdo_dashboard"
    folder.mkdir(parents=True, exist_ok=True)
    return folder


def models_dir() -> Path:
    """Folder of model bundles the dashboard offers: ``$PDO_MODELS_DIR`` or ``trained_models/``."""
    configured = os.environ.get(MODELS_DIR_ENV)
    return Path(configured).expanduser() if configured else REPO_ROOT / "trained_models"
