"""OpenAPI security schemes (drf-spectacular extensions) for the three credentials."""

from drf_spectacular.extensions import OpenApiAuthenticationExtension

from mesh.credentials.authentication import API_KEY_HEADER, TOOL_KEY_HEADER


class ApiTokenScheme(OpenApiAuthenticationExtension):
    target_class = "mesh.credentials.authentication.ApiTokenAuthentication"
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
                "name": API_KEY_HEADER,
                "description": "Owner API token.",
            },
        ]


class SessionScheme(OpenApiAuthenticationExtension):
    target_class = "mesh.credentials.authentication.OwnerSessionAuthentication"
    name = "cookieAuth"

    def get_security_definition(self, auto_schema):
        return {"type": "apiKey", "in": "cookie", "name": "sessionid"}


class ToolKeyScheme(OpenApiAuthenticationExtension):
    target_class = "mesh.credentials.authentication.ToolKeyAuthentication"
    name = "tool_key"

    def get_security_definition(self, auto_schema):
        return {
            "type": "apiKey",
            "in": "header",
            "name": TOOL_KEY_HEADER,
            "description": "The calling task's tool key.",
        }
