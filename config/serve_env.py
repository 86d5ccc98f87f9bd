"""`python -m config.serve_env FILE`: write the throwaway settings `make serve` runs the
production stack with on this machine, unless FILE exists (its keys must stay the same:
they sign sessions and encrypt the provider secrets stored meanwhile).

Fresh random keys, only local hosts, and plain http (no HTTPS redirect or secure-only
cookies: there is no TLS on localhost). Values set in the environment win over the file's
(config/settings.py reads it through ENV_FILE), e.g. DATABASE_URL=postgres://... .
Never copy it to a server: production keys belong in the service's own environment.
"""

import secrets
import sys
from pathlib import Path

from cryptography.fernet import Fernet


def serve_settings(database: Path) -> str:
    return "\n".join(
        [
            "# Written by `make serve` for this machine only (config/serve_env.py).",
            f"SECRET_KEY={secrets.token_urlsafe(50)}",
            f"FIELD_ENCRYPTION_KEYS={Fernet.generate_key().decode()}",
            "ALLOWED_HOSTS=127.0.0.1,localhost,[::1]",
            f"DATABASE_URL=sqlite:///{database}",
            "SECURE_SSL_REDIRECT=false",
            "SESSION_COOKIE_SECURE=false",
            "CSRF_COOKIE_SECURE=false",
            "SECURE_HSTS_SECONDS=0",
            "",
        ]
    )


if __name__ == "__main__":
    path = Path(sys.argv[1]).resolve()
    if not path.exists():
        path.parent.mkdir(parents=True, exist_ok=True)
        path.write_text(serve_settings(path.parent / "serve.sqlite3"))
        path.chmod(0o600)
