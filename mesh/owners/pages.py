"""The owners' login page."""

import math

from django.contrib.auth.views import LoginView

from makima_site import throttles


class OwnerLoginView(LoginView):
    """/accounts/login/: any active owner with a password (not only staff, as the admin's).

    Failed logins count against the client address like failed API authentications
    (the auth_failure throttle); over the limit, a login attempt is refused with 429 and
    Retry-After before the password is checked.
    """

    template_name = "registration/login.html"
    redirect_authenticated_user = True

    def post(self, request, *args, **kwargs):
        wait = throttles.auth_failure_wait(throttles.request_client_address(request))
        if wait is not None:
            form = self.get_form()
            form.add_error(
                None, f"Too many failed logins from your address; try again in {wait:.0f} s."
            )
            response = self.render_to_response(self.get_context_data(form=form), status=429)
            response["Retry-After"] = str(math.ceil(wait))
            return response
        return super().post(request, *args, **kwargs)

    def form_invalid(self, form):
        throttles.auth_failure_record(throttles.request_client_address(self.request))
        return super().form_invalid(form)
