"""Writes of the orders app. Each runs in a transaction and returns what it wrote.

Callers validate their input shape (serializers, admin forms); these functions enforce the
rules that hold whoever calls them: the directive (and the filing task) belong to the
order's owner, and the model's own validators (lengths, choices, labels).
"""

from typing import TYPE_CHECKING, Any

from django.contrib.auth.models import User
from django.core.exceptions import NON_FIELD_ERRORS, ValidationError
from django.db import IntegrityError, transaction
from django.db.models import QuerySet
from django.utils import timezone
from djangorestframework_camel_case.util import camelize_re, underscore_to_camel

from directives.models import Directive
from makima_site.changes import record_change
from makima_site.errors import ApplicationError
from makima_site.idempotency import IdempotencyKeyReused
from orders.models import IDEMPOTENCY_WINDOW, Order, OrderIdempotencyKey

if TYPE_CHECKING:  # mesh depends on orders (its supervisor endpoint), not the other way
    from mesh.models import Task

# The fields an owner may change after creation (owner, filing task and timestamps are fixed).
ORDER_UPDATE_FIELDS = (
    "directive",
    "title",
    "description",
    "priority",
    "status",
    "order_type",
    "labels",
    "repository_url",
)

KEY_REUSED_MESSAGE = (
    "This Idempotency-Key was already used with a different body; send a new key for a new order."
)


def _validation_error(field: str, message: str) -> ApplicationError:
    return ApplicationError(message, code="VALIDATION_ERROR", details={field: [message]})


def _camel(field: str) -> str:
    if field == NON_FIELD_ERRORS:
        return "nonFieldErrors"
    return camelize_re.sub(underscore_to_camel, field)


def order_save(*, order: Order) -> Order:
    """check_* then do_*: validate a new or changed order and save it.

    The owner must own the directive and the filing task; every model validator runs.
    Call inside a transaction (the public services below, and the admin's, do).
    """
    if order.directive_id is not None and order.directive.owner_id != order.owner_id:
        raise _validation_error("directive", "The directive does not exist.")
    task = order.filed_by_task if order.filed_by_task_id is not None else None
    if task is not None and task.owner_id != order.owner_id:
        raise _validation_error("filedByTask", "The task does not exist.")
    if order.description == "":
        order.description = None
    if order.repository_url == "":
        order.repository_url = None
    try:
        # Foreign keys are checked above and by the database, the primary key is a fresh
        # UUID, and the check constraints mirror the choices full_clean validates: no queries.
        order.full_clean(
            exclude=["owner", "directive", "filed_by_task"],
            validate_unique=False,
            validate_constraints=False,
        )
    except ValidationError as exc:
        details = {_camel(field): list(messages) for field, messages in exc.message_dict.items()}
        first_field, first_messages = next(iter(details.items()))
        raise ApplicationError(
            f"{first_field}: {first_messages[0]}", code="VALIDATION_ERROR", details=details
        ) from exc
    order.save()
    return order


@transaction.atomic
def order_create(
    *,
    owner: User,
    directive: Directive,
    title: str,
    order_type: str,
    description: str | None = None,
    priority: str = Order.Priority.MEDIUM,
    status: str = Order.Status.OPEN,
    labels: list[str] | None = None,
    repository_url: str | None = None,
    filed_by_task: "Task | None" = None,
    idempotency_key: str | None = None,
    request_hash: str = "",
) -> Order:
    """File an order on one of the owner's directives.

    `repository_url` defaults to the directive's. With `idempotency_key` (only for a filing
    task), the same task sending the same key again within IDEMPOTENCY_WINDOW gets its first
    order back instead of a new one — also when both requests race: the unique (task, key)
    constraint lets exactly one insert win, and the loser returns the winner's order.
    `request_hash` is the fingerprint of the request's body (makima_site.idempotency): when
    the key was stored with another one, first or by the race's winner, IdempotencyKeyReused
    is raised and nothing is stored.
    """
    if idempotency_key is not None and filed_by_task is None:
        raise ValueError("An idempotency key needs the filing task it belongs to.")
    if idempotency_key is not None and filed_by_task is not None:
        earlier = order_get_by_idempotency_key(
            task=filed_by_task, key=idempotency_key, request_hash=request_hash
        )
        if earlier is not None:
            return earlier

    order = Order(
        owner=owner,
        directive=directive,
        title=title,
        description=description,
        priority=priority,
        status=status,
        order_type=order_type,
        labels=list(labels or []),
        repository_url=repository_url or directive.repository_url,
        filed_by_task=filed_by_task,
    )
    if idempotency_key is None or filed_by_task is None:
        order_save(order=order)
        record_change("order.created", order)
        return order

    try:
        with transaction.atomic():
            order_save(order=order)
            OrderIdempotencyKey.objects.create(
                task=filed_by_task, key=idempotency_key, request_hash=request_hash, order=order
            )
    except IntegrityError:
        # A concurrent request with the same key committed first; its order is the answer,
        # unless it came with another body.
        winner = order_get_by_idempotency_key(
            task=filed_by_task, key=idempotency_key, request_hash=request_hash
        )
        if winner is None:
            raise
        return winner
    record_change("order.created", order)
    return order


def order_get_by_idempotency_key(
    *, task: "Task", key: str, request_hash: str | None = None
) -> Order | None:
    """The order this task filed with this key within the window; forgets expired keys.

    With `request_hash`, a key stored with another body's fingerprint raises
    IdempotencyKeyReused instead.
    """
    record = (
        OrderIdempotencyKey.objects.select_related("order")
        .filter(task=task, key=key)
        .only("created_at", "request_hash", "order")
        .first()
    )
    if record is None:
        return None
    if timezone.now() - record.created_at < IDEMPOTENCY_WINDOW:
        # A key stored before fingerprints were kept has none: its body is unknown, and
        # refusing it could turn a true retry into an error, so it matches any body (as it
        # did before) until it expires.
        if request_hash is not None and record.request_hash not in ("", request_hash):
            raise IdempotencyKeyReused(KEY_REUSED_MESSAGE)
        return record.order
    # Expired: drop this task's stale keys, so the key can be used afresh and the table
    # holds no more than a day of keys per task.
    OrderIdempotencyKey.objects.filter(
        task=task, created_at__lte=timezone.now() - IDEMPOTENCY_WINDOW
    ).delete()
    return None


@transaction.atomic
def order_update(*, order: Order, data: dict[str, Any]) -> Order:
    """Change an order's fields (any of ORDER_UPDATE_FIELDS); any status may follow any other."""
    unknown = set(data) - set(ORDER_UPDATE_FIELDS)
    if unknown:
        raise ValueError(f"order_update cannot change {sorted(unknown)}")
    for field, value in data.items():
        setattr(order, field, value)
    order_save(order=order)
    record_change("order.updated", order)
    return order


@transaction.atomic
def order_delete(*, order: Order) -> None:
    order.delete()


@transaction.atomic
def order_bulk_set_status(*, orders: QuerySet[Order], status: str) -> int:
    """Set the status of every order in `orders` (already scoped by the caller); the count."""
    if status not in Order.Status.values:
        raise ValueError(f"Unknown order status {status!r}")
    return orders.update(status=status, updated_at=timezone.now())


@transaction.atomic
def order_bulk_set_priority(*, orders: QuerySet[Order], priority: str) -> int:
    """Set the priority of every order in `orders` (already scoped by the caller); the count."""
    if priority not in Order.Priority.values:
        raise ValueError(f"Unknown order priority {priority!r}")
    return orders.update(priority=priority, updated_at=timezone.now())
