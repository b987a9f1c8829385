"""Who may see or act on other customers' rows outside the admin: the admin's own rule, model permissions.

The is_staff flag alone only lets a person into the admin's front page; every list and object there needs a model
permission. Pages and the API follow the same rule, so a staff member sees another customer's rows only where the
admin would show them (issue 16, finding 6).
"""


def staff_may(user, *perms):
    """True if `user` is an active staff member holding every one of `perms` ("app.codename"); superusers hold all.

    No query for customers (the flag is checked first); a staff member's permissions are read once per request.
    """
    return bool(user.is_authenticated and user.is_active and user.is_staff and user.has_perms(perms))
