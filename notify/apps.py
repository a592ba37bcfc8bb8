from django.apps import AppConfig


class NotifyConfig(AppConfig):
    default_auto_field = "django.db.models.BigAutoField"
    name = "notify"

    def ready(self) -> None:
        # The outbox receiver of makima_site.changes.state_changed.
        from notify import outbox  # noqa: F401
