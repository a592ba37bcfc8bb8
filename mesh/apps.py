from django.apps import AppConfig


class MeshConfig(AppConfig):
    default_auto_field = "django.db.models.BigAutoField"
    name = "mesh"

    def ready(self):
        from mesh import schema  # noqa: F401  (registers OpenAPI security schemes)
