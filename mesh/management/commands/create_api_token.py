from django.contrib.auth import get_user_model
from django.core.exceptions import ValidationError
from django.core.management.base import BaseCommand, CommandError

from mesh.credentials import services as credential_services
from mesh.owners import services as owner_services


class Command(BaseCommand):
    help = (
        "Create a personal API token for an owner. The raw token is the last line of the "
        "output (scripts: `manage.py create_api_token alice | tail -n 1`); it is shown only once."
    )

    def add_arguments(self, parser):
        parser.add_argument("username", help="The owner (a Django user).")
        parser.add_argument("--name", default="", help="A label for the token (max 100).")
        parser.add_argument(
            "--create-user",
            action="store_true",
            help="Create a plain, non-staff owner of that name first if none exists.",
        )

    def handle(self, *args, username: str, name: str, create_user: bool, **options):
        if len(name) > 100:
            raise CommandError("--name must be at most 100 characters.")
        User = get_user_model()
        owner = User.objects.filter(username=username).first()
        if owner is None:
            if not create_user:
                raise CommandError(
                    f"No owner named {username!r}; pass --create-user to create one."
                )
            try:
                User._meta.get_field("username").run_validators(username)
            except ValidationError as exc:
                raise CommandError(
                    f"Invalid username {username!r}: {' '.join(exc.messages)}"
                ) from exc
            owner = owner_services.owner_create(username=username)
            self.stderr.write(f"Created owner {username!r} (no password, not staff).")
        elif not owner.is_active:
            raise CommandError(f"The owner {username!r} is inactive; activate it first.")
        token, raw = credential_services.api_token_create(owner=owner, name=name)
        self.stderr.write(f"API token {token.prefix}… for {username!r}; shown once:")
        self.stdout.write(raw)
