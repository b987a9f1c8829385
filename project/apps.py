from django.apps import AppConfig


class ProjectConfig(AppConfig):
    name = "project"
    verbose_name = "Threadline"

    def ready(self):
        from django.conf import settings
        from django.db.models.signals import post_delete, post_save

        from project.auth import forget_cached_user

        for signal in (post_save, post_delete):
            signal.connect(forget_cached_user, sender=settings.AUTH_USER_MODEL, dispatch_uid="forget_cached_user")

