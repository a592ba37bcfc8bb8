"""Django's admin autodiscovery imports this module: it registers each capability's admin."""

from mesh.credentials import admin as credentials_admin
from mesh.tasks import admin as tasks_admin

__all__ = ["credentials_admin", "tasks_admin"]
