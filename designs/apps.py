from django.apps import AppConfig


class DesignsConfig(AppConfig):
    name = "designs"
    default_auto_field = "django.db.models.BigAutoField"

    def ready(self):
        from django.db.models.signals import post_delete, post_save

        from designs import library

        for signal in (post_save, post_delete):  # admin edits and deletions; services move bulk writes themselves
            signal.connect(library.design_changed, sender="designs.Design", dispatch_uid="design_changed")
