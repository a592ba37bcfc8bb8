"""The schema's label and repository URL rules describe only values the API accepts
(orders/serializers.py), so a generated valid body is never refused for them."""

from django.core.validators import URLValidator
from hypothesis import given, settings
from hypothesis import strategies as st

from orders.models import label_errors
from orders.serializers import LABEL_PATTERN, REPOSITORY_URL_PATTERN


@settings(max_examples=100, deadline=None)
@given(st.from_regex(LABEL_PATTERN, fullmatch=True).filter(lambda s: 1 <= len(s) <= 50))
def test_a_label_the_schema_describes_is_accepted(label):
    assert label_errors([label]) == []


@settings(max_examples=100, deadline=None)
@given(st.from_regex(REPOSITORY_URL_PATTERN, fullmatch=True).filter(lambda s: 0 < len(s) <= 500))
def test_a_repository_url_the_schema_describes_is_accepted(url):
    URLValidator()(url)


def test_the_rules_the_schema_cannot_say_are_still_refused():
    assert label_errors(["   "]) and label_errors(["a\nb"]) and label_errors(["x"] * 21)
