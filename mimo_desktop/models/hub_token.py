"""The Hugging Face token for gated repositories, kept in the OS keyring and nowhere else.

The token is never logged, printed or written to a file by this app: it goes from the keyring
straight into the Authorization header of Hub requests.
"""

from __future__ import annotations

from mimo_desktop.models.errors import ModelsError

KEYRING_SERVICE = "mimo-desktop"
KEYRING_USER = "huggingface"


class TokenStoreError(ModelsError):
    """The OS keyring is not available or refused the operation."""


def read_hub_token() -> str | None:
    """The saved token, or None when none is saved or no keyring is available (then public repos still work)."""
    import keyring

    try:
        token = keyring.get_password(KEYRING_SERVICE, KEYRING_USER)
    except Exception:  # noqa: BLE001 - backends raise their own types (D-Bus, locked wallet); public repos still work
        return None
    return token or None


def save_hub_token(token: str) -> None:
    import keyring
    from keyring.errors import KeyringError

    token = token.strip()
    if not token:
        raise TokenStoreError("The Hugging Face token is empty; paste the token from huggingface.co/settings/tokens.")
    try:
        keyring.set_password(KEYRING_SERVICE, KEYRING_USER, token)
    except KeyringError as exc:
        raise TokenStoreError(
            f"The token could not be saved in the system keyring ({type(exc).__name__}). "
            "Unlock or install a keyring service (e.g. GNOME Keyring or KWallet) and try again."
        ) from exc


def delete_hub_token() -> bool:
    """Remove the saved token; False when there was none."""
    import keyring
    from keyring.errors import KeyringError, PasswordDeleteError

    try:
        keyring.delete_password(KEYRING_SERVICE, KEYRING_USER)
    except PasswordDeleteError:
        return False
    except KeyringError as exc:
        raise TokenStoreError(f"The system keyring refused to remove the token ({type(exc).__name__}).") from exc
    return True
