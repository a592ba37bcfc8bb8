"""The owners' login page."""

from django.contrib.auth.views import LoginView


class OwnerLoginView(LoginView):
    """/accounts/login/: any active owner with a password (not only staff, as the admin's).

    makima_site/urls.py wraps it, like the admin's login, in
    mesh.owners.login_limits.login_limited (the failed-login limit, the login slots).
    """

    template_name = "registration/login.html"
    redirect_authenticated_user = True
