from django.apps import AppConfig


class MockupsConfig(AppConfig):
    name = "mockups"
    default_auto_field = "django.db.models.BigAutoField"
