"""Pages: the confirmation page of a signed answer link, and the owner's settings page.

An answer link's GET only shows what it would do (mail scanners open links); the POST
from that page answers (or declines) through mesh.questions.services, so a blocked ask
wakes. A forged link is 400; a used or expired one (the question is no longer pending) is
410. The settings page lists the owner's webhooks and channels with test buttons and
their recent deliveries.
"""

from django.contrib.auth.decorators import login_required
from django.core import signing
from django.http import HttpRequest, HttpResponse
from django.shortcuts import get_object_or_404, redirect, render
from django.views.decorators.http import require_http_methods

from makima_site.errors import ApplicationError
from mesh.models import Question
from mesh.questions import services as question_services
from notify import selectors, services
from notify.links import DECLINE, question_link, read_token
from notify.serializers import masked_target


def _refuse(request: HttpRequest, message: str, status: int) -> HttpResponse:
    return render(request, "notify/answer.html", {"error": message}, status=status)


@require_http_methods(["GET", "POST"])
def answer_link_page(request: HttpRequest, token: str) -> HttpResponse:
    try:
        link = read_token(token)
    except signing.BadSignature:
        return _refuse(request, "This link is not valid.", 400)
    question = Question.objects.select_related("owner", "task").filter(pk=link.question_id).first()
    if question is None:
        return _refuse(request, "This link is not valid.", 400)
    if question.status != Question.Status.PENDING or question.is_past_ttl:
        return _refuse(request, f"This question is no longer open ({question.status}).", 410)
    if link.choice == DECLINE:
        label = None
    else:
        try:
            label = question.choices[int(link.choice)]
        except (ValueError, IndexError):
            return _refuse(request, "This link is not valid.", 400)
    context = {"question": question, "choice": label, "link": question_link(question)}
    if request.method == "GET":
        return render(request, "notify/answer.html", context)
    try:
        if label is None:
            question_services.question_decline(question_id=question.id, owner=question.owner)
        else:
            question_services.question_answer(
                question_id=question.id, owner=question.owner, response=label
            )
    except ApplicationError as exc:
        return _refuse(request, exc.message, 410)
    return render(request, "notify/answer.html", {**context, "done": True})


@login_required
@require_http_methods(["GET", "POST"])
def settings_page(request: HttpRequest) -> HttpResponse:
    owner = request.user
    if request.method == "POST":
        kind, pk = request.POST.get("test", ""), request.POST.get("id", "")
        if kind == "webhook":
            services.webhook_send_test(
                webhook=get_object_or_404(selectors.webhook_list(owner=owner), pk=pk)  # type: ignore[arg-type]
            )
        elif kind == "channel":
            services.channel_send_test(
                channel=get_object_or_404(selectors.channel_list(owner=owner), pk=pk)  # type: ignore[arg-type]
            )
        return redirect("notify-settings")
    webhooks = [
        (webhook, list(selectors.delivery_list(webhook=webhook)[:5]))
        for webhook in selectors.webhook_list(owner=owner)  # type: ignore[arg-type]
    ]
    channels = [
        (channel, masked_target(channel))
        for channel in selectors.channel_list(owner=owner)  # type: ignore[arg-type]
    ]
    return render(request, "notify/settings.html", {"webhooks": webhooks, "channels": channels})
