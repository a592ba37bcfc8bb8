from django.apps import AppConfig


class MeshConfig(AppConfig):
    default_auto_field = "django.db.models.BigAutoField"
    name = "mesh"

    def ready(self) -> None:
        # The OpenAPI security schemes register on import; signals connects the logout receiver.
        from mesh.credentials import schema  # noqa: F401
        from mesh.owners import signals  # noqa: F401
