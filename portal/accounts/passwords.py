"""Password rules, the same wherever a password is set (admin create/reset, profile change,
``flask users create-admin``): at least 10 characters, not the email address, not one of
the 30,000 most common passwords (the list zxcvbn ships)."""
from functools import lru_cache

MIN_LENGTH = 10
MAX_LENGTH = 200  # a bound on hashing work, far above any real password
RULES = f"At least {MIN_LENGTH} characters, not your email, not a common password."


@lru_cache(maxsize=1)
def _common():
    from zxcvbn.frequency_lists import FREQUENCY_LISTS

    # Shorter ones are refused by the length rule anyway.
    return frozenset(p for p in FREQUENCY_LISTS["passwords"] if len(p) >= MIN_LENGTH)


def password_problem(password, email=None):
    """Why ``password`` may not be used (a sentence for the person), or None."""
    password = password or ""
    if len(password) < MIN_LENGTH:
        return f"Use at least {MIN_LENGTH} characters."
    if len(password) > MAX_LENGTH:
        return f"Use at most {MAX_LENGTH} characters."
    folded = password.strip().lower()
    email = (email or "").strip().lower()
    if email and folded in (email, email.split("@", 1)[0]):
        return "The password must not be your email address."
    if folded in _common():
        return "That is one of the most common passwords; choose another."
    return None
