"""Every write to a customer's account outside Django's own auth views goes through here."""

from django.core.exceptions import ValidationError
from django.core.validators import validate_email

from core.api import ApiError


class AccountError(ApiError):
    """An expected failure on the account pages, with text the customer can act on; `field` names the input."""

    def __init__(self, message, *, field=None, **kwargs):
        super().__init__(message, **kwargs)
        self.field = field


def account_change_email(*, user, email, password):
    """Set the account's e-mail address (where order mail and password resets go), given the current password."""
    email = email.strip() if isinstance(email, str) else ""
    try:
        validate_email(email)
    except ValidationError:
        raise AccountError("Enter a valid e-mail address.", field="email") from None
    if len(email) > user._meta.get_field("email").max_length:
        raise AccountError("The address is too long.", field="email")
    if not isinstance(password, str) or not user.check_password(password):
        raise AccountError("That is not your current password.", field="password")
    user.email = email
    user.save(update_fields=["email"])
    return user
