"""The question shapes: the written-out pending item renders exactly what its fields declare."""

import pytest
from rest_framework import serializers

from mesh.questions.serializers import FeedQuestionSerializer, PendingQuestionSerializer
from tests import factories

pytestmark = pytest.mark.django_db


def declared(question) -> dict:
    """What DRF's own field machinery renders for the declared fields."""
    rendered = serializers.Serializer.to_representation(PendingQuestionSerializer(), question)
    if question.directive_id is None:
        rendered.pop("directive_id", None)
    return dict(rendered)


def test_the_pending_item_is_what_its_fields_render(task_and_key):
    question = factories.make_question(
        task_and_key[0], choices=["a", "b"], context="ctx", multi_select=True
    )
    assert PendingQuestionSerializer(question).data == declared(question)


def test_without_a_directive_both_directive_keys_are_omitted(owner):
    task, _ = factories.make_task(owner, None)
    question = factories.make_question(task)
    item = PendingQuestionSerializer(question).data
    assert "directive_id" not in item and "directive_title" not in item
    assert item == declared(question)


def test_the_feed_item_cuts_a_long_context_and_says_so(task_and_key):
    long = factories.make_question(task_and_key[0], context="😀" * 2500)
    short = factories.make_question(task_and_key[0], context="short")
    cut = FeedQuestionSerializer(long).data
    assert cut["context"] == "😀" * 2000
    assert cut["context_truncated"] is True
    assert "context_truncated" not in FeedQuestionSerializer(short).data
