from django.apps import AppConfig


class MeshConfig(AppConfig):
    default_auto_field = "django.db.models.BigAutoField"
    name = "mesh"

    def ready(self):
        # schema registers the OpenAPI security schemes; signals connects the logout receiver.
        from mesh import schema, signals  # noqa: F401
