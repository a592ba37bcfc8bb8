"""orders/services.py: the rules that hold whoever calls (API, admin, tasks)."""

from datetime import timedelta
from unittest import mock

import pytest
from django.db import IntegrityError
from django.utils import timezone

from makima_site.errors import ApplicationError
from makima_site.idempotency import IdempotencyKeyReused
from orders import services
from orders.models import IDEMPOTENCY_WINDOW, Order, OrderIdempotencyKey, label_errors
from tests import factories


def test_create_defaults(owner, directive):
    """A new order is open, medium, and has no labels unless told otherwise."""
    order = services.order_create(owner=owner, directive=directive, title="t", order_type="bug")
    assert (order.status, order.priority, order.labels) == ("open", "medium", [])


def test_create_on_another_owners_directive_is_refused(owner, other_owner):
    """The directive must be the owner's; nothing is stored otherwise."""
    foreign = factories.make_directive(other_owner)
    with pytest.raises(ApplicationError) as caught:
        services.order_create(owner=owner, directive=foreign, title="t", order_type="bug")
    assert caught.value.code == "VALIDATION_ERROR"
    assert "directive" in caught.value.details
    assert not Order.objects.exists()


def test_create_with_another_owners_task_is_refused(owner, directive, other_owner):
    """The filing task must be the owner's."""
    foreign_task, _ = factories.make_task(other_owner, factories.make_directive(other_owner))
    with pytest.raises(ApplicationError):
        services.order_create(
            owner=owner,
            directive=directive,
            title="t",
            order_type="spike",
            filed_by_task=foreign_task,
        )
    assert not Order.objects.exists()


def test_model_rules_hold_for_every_caller(owner, directive):
    """A service caller bypassing serializers still meets the model's rules (labels here)."""
    with pytest.raises(ApplicationError) as caught:
        services.order_create(
            owner=owner, directive=directive, title="t", order_type="bug", labels=["a", "a"]
        )
    assert "labels" in caught.value.details
    assert not Order.objects.exists()


def test_unknown_choice_is_refused(owner, directive):
    """An order type outside the four is a VALIDATION_ERROR naming orderType."""
    with pytest.raises(ApplicationError) as caught:
        services.order_create(owner=owner, directive=directive, title="t", order_type="epic")
    assert "orderType" in caught.value.details


def test_blank_description_and_url_are_stored_as_none(owner, directive):
    """ "" and None both mean "none" for description and repository URL."""
    order = services.order_create(
        owner=owner,
        directive=directive,
        title="t",
        order_type="bug",
        description="",
        repository_url="",
    )
    assert (order.description, order.repository_url) == (None, None)


def test_idempotency_key_needs_a_task(owner, directive):
    """A key without a filing task is a programming error."""
    with pytest.raises(ValueError):
        services.order_create(
            owner=owner, directive=directive, title="t", order_type="spike", idempotency_key="k"
        )


def test_losing_an_idempotency_race_returns_the_winners_order(owner, directive, task_and_key):
    """When the key was inserted between the lookup and the insert, the winner's order is
    returned and the loser's order is rolled back."""
    task, _ = task_and_key
    winner = services.order_create(
        owner=owner,
        directive=directive,
        title="winner",
        order_type="spike",
        filed_by_task=task,
        idempotency_key="k",
    )
    real_lookup = services.order_get_by_idempotency_key
    with mock.patch.object(
        services,
        "order_get_by_idempotency_key",
        side_effect=[None, real_lookup(task=task, key="k")],
    ):
        loser = services.order_create(
            owner=owner,
            directive=directive,
            title="loser",
            order_type="spike",
            filed_by_task=task,
            idempotency_key="k",
        )
    assert loser.pk == winner.pk
    assert list(Order.objects.values_list("title", flat=True)) == ["winner"]
    assert OrderIdempotencyKey.objects.count() == 1


def test_integrity_error_without_a_winner_is_raised(owner, directive, task_and_key):
    """An IntegrityError that is not a lost race propagates."""
    task, _ = task_and_key
    with (
        mock.patch.object(services, "order_get_by_idempotency_key", return_value=None),
        mock.patch.object(OrderIdempotencyKey.objects, "create", side_effect=IntegrityError),
        pytest.raises(IntegrityError),
    ):
        services.order_create(
            owner=owner,
            directive=directive,
            title="t",
            order_type="spike",
            filed_by_task=task,
            idempotency_key="k",
        )
    assert not Order.objects.exists()


HASH_A, HASH_B = "a" * 64, "b" * 64


def file_with_key(owner, directive, task, *, title="t", request_hash=HASH_A, key="k"):
    return services.order_create(
        owner=owner,
        directive=directive,
        title=title,
        order_type="spike",
        filed_by_task=task,
        idempotency_key=key,
        request_hash=request_hash,
    )


def stored_rows() -> tuple[list[dict], list[dict]]:
    return list(Order.objects.values()), list(OrderIdempotencyKey.objects.values())


def test_same_key_and_body_returns_the_first_order(owner, directive, task_and_key):
    """The same key with the same body fingerprint returns the first order; one row."""
    task, _ = task_and_key
    first = file_with_key(owner, directive, task)
    again = file_with_key(owner, directive, task)
    assert again.pk == first.pk
    assert Order.objects.count() == 1
    assert OrderIdempotencyKey.objects.get().request_hash == HASH_A


def test_same_key_with_another_body_is_refused(owner, directive, task_and_key):
    """The same key with another fingerprint raises IdempotencyKeyReused (422) and changes
    nothing."""
    task, _ = task_and_key
    file_with_key(owner, directive, task, title="first")
    before = stored_rows()
    with pytest.raises(IdempotencyKeyReused) as caught:
        file_with_key(owner, directive, task, title="second", request_hash=HASH_B)
    assert (caught.value.status_code, caught.value.code) == (422, "IDEMPOTENCY_KEY_REUSED")
    assert "new key" in caught.value.message
    assert stored_rows() == before


def test_key_stored_without_a_fingerprint_matches_any_body(owner, directive, task_and_key):
    """A key stored with no fingerprint (before they were kept) replays for any body."""
    task, _ = task_and_key
    first = file_with_key(owner, directive, task, request_hash="")
    again = file_with_key(owner, directive, task, title="other", request_hash=HASH_B)
    assert again.pk == first.pk
    assert Order.objects.count() == 1


def test_another_tasks_same_key_with_another_body_files_its_own(owner, directive, task_and_key):
    """Keys are per task: another task's same key and another body files a new order."""
    task, _ = task_and_key
    other_task, _ = factories.make_task(owner, directive)
    mine = file_with_key(owner, directive, task)
    theirs = file_with_key(owner, directive, other_task, request_hash=HASH_B)
    assert theirs.pk != mine.pk
    assert Order.objects.count() == 2


def test_expired_key_with_another_body_files_a_new_order(owner, directive, task_and_key):
    """Past IDEMPOTENCY_WINDOW a key with another body files a new order and takes the key."""
    task, _ = task_and_key
    first = file_with_key(owner, directive, task)
    OrderIdempotencyKey.objects.update(
        created_at=timezone.now() - IDEMPOTENCY_WINDOW - timedelta(seconds=1)
    )
    second = file_with_key(owner, directive, task, title="second", request_hash=HASH_B)
    assert second.pk != first.pk
    record = OrderIdempotencyKey.objects.get()
    assert (record.order_id, record.request_hash) == (second.pk, HASH_B)


def lose_the_race():
    """A stand-in lookup: the first call runs before the winner commits (nothing found),
    later ones are real."""
    real_lookup = services.order_get_by_idempotency_key
    answers = [None]

    def lookup(**kwargs):
        return answers.pop() if answers else real_lookup(**kwargs)

    return mock.patch.object(services, "order_get_by_idempotency_key", side_effect=lookup)


def test_losing_a_race_to_the_same_body_returns_the_winners_order(owner, directive, task_and_key):
    """A lost race with the winner's fingerprint returns the winner's order; the loser's is
    rolled back."""
    task, _ = task_and_key
    winner = file_with_key(owner, directive, task, title="winner")
    with lose_the_race():
        loser = file_with_key(owner, directive, task, title="loser")
    assert loser.pk == winner.pk
    assert list(Order.objects.values_list("title", flat=True)) == ["winner"]


def test_losing_a_race_to_another_body_is_refused(owner, directive, task_and_key):
    """When the key was inserted between the lookup and the insert with another body,
    IdempotencyKeyReused is raised and the loser's order is rolled back."""
    task, _ = task_and_key
    file_with_key(owner, directive, task, title="winner")
    with lose_the_race(), pytest.raises(IdempotencyKeyReused):
        file_with_key(owner, directive, task, title="loser", request_hash=HASH_B)
    assert list(Order.objects.values_list("title", flat=True)) == ["winner"]
    assert OrderIdempotencyKey.objects.count() == 1


def test_deleting_a_task_keeps_its_orders(owner, directive, task_and_key):
    """Orders outlive the task that filed them; only the link is cleared."""
    task, _ = task_and_key
    order = factories.make_order(owner, directive, filed_by_task=task)
    from mesh.tasks import services as task_services

    task_services.task_delete(task=task)
    order.refresh_from_db()
    assert order.filed_by_task_id is None


def test_update_refuses_fixed_fields(owner, directive):
    """owner, filing task and timestamps cannot be changed through order_update."""
    order = factories.make_order(owner, directive)
    with pytest.raises(ValueError):
        services.order_update(order=order, data={"owner": owner})


def test_bulk_status_counts_and_scopes(owner, directive, other_owner):
    """A bulk change touches exactly the given queryset and returns the count."""
    mine = factories.make_order(owner, directive)
    theirs = factories.make_order(other_owner, factories.make_directive(other_owner))
    count = services.order_bulk_set_status(
        orders=Order.objects.filter(owner=owner), status=Order.Status.DONE
    )
    assert count == 1
    mine.refresh_from_db()
    theirs.refresh_from_db()
    assert (mine.status, theirs.status) == ("done", "open")


def test_bulk_refuses_unknown_values(owner, directive):
    """A typo in a bulk status or priority is an error, not a silent write."""
    with pytest.raises(ValueError):
        services.order_bulk_set_status(orders=Order.objects.all(), status="finished")
    with pytest.raises(ValueError):
        services.order_bulk_set_priority(orders=Order.objects.all(), priority="urgent")


@pytest.mark.parametrize(
    ("labels", "ok"),
    [
        ([], True),
        (["a"], True),
        (["x" * 50], True),
        ([f"l{i}" for i in range(20)], True),
        (["Bug", "bug"], True),
        ("a", False),
        ([""], False),
        (["  "], False),
        (["x" * 51], False),
        ([f"l{i}" for i in range(21)], False),
        (["a", "a"], False),
        ([1], False),
        (["tab\tinside"], False),
    ],
)
def test_label_rules(labels, ok):
    """Up to 20 distinct printable strings of 1..50 characters (case matters)."""
    assert (label_errors(labels) == []) is ok
