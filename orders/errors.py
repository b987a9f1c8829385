from core.api import ApiError


class OrderError(ApiError):
    """An expected failure in the orders domain, with text a customer (or staff member) can act on."""
