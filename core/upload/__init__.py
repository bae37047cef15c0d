"""Upload of a patient's (or a cohort's) expression profile: read, check, convert to model-ready log2.

Use :func:`validate_upload`; it returns a :class:`ValidatedProfile` or raises :class:`UploadError`.
"""

from core.upload.errors import UploadError
from core.upload.scale import Scale
from core.upload.validate import (
    DEFAULT_MIN_COVERAGE,
    DEFAULT_WARN_COVERAGE,
    UploadCheck,
    ValidatedProfile,
    validate_upload,
)

__all__ = [
    "DEFAULT_MIN_COVERAGE",
    "DEFAULT_WARN_COVERAGE",
    "UploadCheck",
    "Scale",
    "UploadError",
    "ValidatedProfile",
    "validate_upload",
]
