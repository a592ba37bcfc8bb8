"""Django's admin autodiscovery imports this module: it registers each capability's admin
and names the site."""

from django.contrib import admin

from mesh.credentials import admin as credentials_admin
from mesh.questions import admin as questions_admin
from mesh.tasks import admin as tasks_admin

admin.site.site_header = "Makima mesh administration"
admin.site.site_title = "Makima mesh administration"

__all__ = ["credentials_admin", "questions_admin", "tasks_admin"]
# The app list already opens the admin; beside a list's filters it would leave the list
# too narrow for its columns at 1280 px.
admin.site.enable_nav_sidebar = False
