"""OpenAPI security schemes (drf-spectacular extensions) for the three credentials."""

from drf_spectacular.extensions import OpenApiAuthenticationExtension


class ApiTokenScheme(OpenApiAuthenticationExtension):
    target_class = "mesh.authentication.ApiTokenAuthentication"
    name = ["bearer_auth", "api_key"]

    def get_security_requirement(self, auto_schema):
        # Either header works: two alternative requirements, not one requiring both.
        return [{name: []} for name in self.name]

    def get_security_definition(self, auto_schema):
        return [
            {"type": "http", "scheme": "bearer", "description": "Owner API token."},
            {
                "type": "apiKey",
                "in": "header",
                "name": "X-Makima-Api-Key",
                "description": "Owner API token.",
            },
        ]


class SessionScheme(OpenApiAuthenticationExtension):
    target_class = "mesh.authentication.OwnerSessionAuthentication"
    name = "cookieAuth"

    def get_security_definition(self, auto_schema):
        return {"type": "apiKey", "in": "cookie", "name": "sessionid"}


class ToolKeyScheme(OpenApiAuthenticationExtension):
    target_class = "mesh.authentication.ToolKeyAuthentication"
    name = "tool_key"

    def get_security_definition(self, auto_schema):
        return {
            "type": "apiKey",
            "in": "header",
            "name": "X-Makima-Tool-Key",
            "description": "The calling task's tool key.",
        }


def add_consumer_endpoints(endpoints):
    """PREPROCESSING_HOOK: describe the Channels consumers (ask, poll) in the schema.

    They are served by mesh/question_consumers.py ahead of Django, so Django's URLconf does
    not list them; their documentation views (never routed) stand in here.
    """
    from mesh.question_views import SupervisorAskDoc, SupervisorPollDoc

    return [
        *endpoints,
        (
            "/api/v1/mesh/supervisor/questions",
            r"^api/v1/mesh/supervisor/questions$",
            "POST",
            SupervisorAskDoc.as_view(),
        ),
        (
            "/api/v1/mesh/supervisor/questions/{question_id}/poll",
            r"^api/v1/mesh/supervisor/questions/(?P<question_id>[^/]+)/poll$",
            "GET",
            SupervisorPollDoc.as_view(),
        ),
    ]
