"""Files only the service's own user may read: applicants' uploads and the SQLite database (identity numbers,
password hashes). Folders 0700, files 0600, whatever the process's umask; the agencies' signing keys already are
(services/licences/signing.py).
"""

from __future__ import annotations

import logging
import os
from pathlib import Path

log = logging.getLogger(__name__)


def private_directory(path: Path) -> Path:
    """Make ``path`` and any missing parents 0700, and tighten ``path`` itself if it exists (an older installation
    made it 0755). Parents that already exist are left alone: they may be /var/lib or a home directory."""
    path = Path(path)
    missing = []
    probe = path
    while not probe.exists():
        missing.append(probe)
        probe = probe.parent
    for directory in reversed(missing):
        directory.mkdir(mode=0o700, exist_ok=True)
        os.chmod(directory, 0o700)  # mkdir's mode is masked by the umask, and exist_ok may have found another's
    if not missing:
        os.chmod(path, 0o700)
    return path


def write_private_file(path: Path, data: bytes) -> None:
    """Write ``data`` to a new file readable by the owner only: 0600 from its creation, never briefly wider."""
    fd = os.open(path, os.O_WRONLY | os.O_CREAT | os.O_EXCL, 0o600)
    with os.fdopen(fd, "wb") as handle:
        os.fchmod(handle.fileno(), 0o600)
        handle.write(data)


def private_sqlite_file(database: str | None) -> None:
    """Before SQLite opens ``database`` (a file path): its folder 0700, the file created 0600 if missing, and an
    existing file (with its -wal and -shm companions) tightened to 0600. SQLite gives the -wal and -shm files it
    creates the database file's own permissions."""
    if not database or database == ":memory:" or database.startswith("file:"):
        return
    path = Path(database)
    try:
        private_directory(path.parent)
        if not path.exists():
            os.close(os.open(path, os.O_WRONLY | os.O_CREAT, 0o600))
        for companion in (path, path.with_name(path.name + "-wal"), path.with_name(path.name + "-shm")):
            if companion.exists():
                os.chmod(companion, 0o600)
    except OSError:
        # A folder or file we do not own (a shared mount): say so, but do not refuse to start over it.
        log.warning("could not make %s private (0600 in a 0700 folder)", path, exc_info=True)
